#!/usr/bin/env bash
# Starts or stops a real Asterisk 20 on rendered configuration, for tests
# that place calls through it (sip/differential_test.go with
# ASTERISK_ROOTFS set):
#
#   scripts/asterisk-run.sh ROOTFS DIR DRIVER start|stop
#
# start leaves Asterisk running on the rendered files in DIR (log in
# ROOTFS/var/log/asterisk/check.log); stop ends it. Runs as root (chroot).
set -euo pipefail
ROOT=${1:?rootfs}; DIR=${2:?dir}; DRIVER=${3:?pjsip or sip}; ACTION=${4:?start or stop}
# shellcheck source=scripts/asterisk-lib.sh
. "$(dirname "$0")/asterisk-lib.sh"
case $ACTION in
start)
	prepare_root
	prepare_etc "$DIR"
	start_asterisk
	echo "asterisk-run: running on $DIR ($DRIVER)"
	;;
stop)
	stop_asterisk
	;;
*) echo "asterisk-run: ACTION must be start or stop" >&2; exit 2 ;;
esac
