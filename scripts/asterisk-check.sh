#!/usr/bin/env bash
# Loads rendered configuration into a real Asterisk 20 and checks that it
# logs no ERROR and shows every object that was rendered.
#
#   scripts/asterisk-check.sh ROOTFS DIR DRIVER
#
# ROOTFS  a root file system with Asterisk 20 installed (built from source
#         by the steering repository's tools/asterisk-rootfs.sh; see
#         render/README.md "Acceptance by Asterisk 20")
# DIR     rendered sip.conf, pjsip.conf, iax.conf, extensions.conf,
#         voicemail.conf and musiconhold.conf
# DRIVER  pjsip or sip: which SIP channel driver to load (both bind 5060)
#
# Runs as root (chroot). Exits 0 when Asterisk loaded everything cleanly,
# 1 when it logged an ERROR or an object is missing, 2 on a setup error.
set -euo pipefail
ROOT=${1:?rootfs}; DIR=${2:?dir}; DRIVER=${3:?pjsip or sip}
# shellcheck source=scripts/asterisk-lib.sh
. "$(dirname "$0")/asterisk-lib.sh"
prepare_root

# Baseline: what the distribution's own configuration logs as ERROR.
prepare_etc
start_asterisk
stop_asterisk
BASE=$(errors)

prepare_etc "$DIR"
start_asterisk
rc=0
OUT=$(mktemp -d)
ast "pjsip show endpoints" >"$OUT/pjsip-endpoints"
ast "pjsip show aors" >"$OUT/pjsip-aors"
ast "pjsip show auths" >"$OUT/pjsip-auths"
ast "pjsip show registrations" >"$OUT/pjsip-registrations"
ast "pjsip show identifies" >"$OUT/pjsip-identifies"
ast "sip show peers" >"$OUT/sip-peers"
ast "sip show registry" >"$OUT/sip-registry"
ast "iax2 show peers" >"$OUT/iax-peers"
ast "dialplan show" >"$OUT/dialplan"
ast "module show like chan_" >"$OUT/modules"
ast "voicemail show users" >"$OUT/voicemail-users"
ast "moh show classes" >"$OUT/moh-classes"
ast "core show application MixMonitor" >"$OUT/mixmonitor"
stop_asterisk

NEW=$(comm -13 <(echo "$BASE") <(errors))
if [[ -n $NEW ]]; then
	echo "$NEW"
	echo "asterisk-check: ERROR lines above appear with the rendered files" >&2
	rc=1
fi
# Warnings are shown, not judged: DNS, NAT advice and the like.
grep "WARNING" "$LOGF" | sed -E 's/^\[[^]]*\] //' | grep -E "sip|iax|pbx|config|acl" | sort -u | head -40 || true
# Every section of every rendered file must be visible.
# (a file with no sections but [general], iax.conf without peers, lists
# nothing: that is not a failure, so no grep's "no match" may fail it)
section_names() { { grep -oE '^\[[^]]+\]' "$1" || true; } | tr -d '[]' | { grep -vE '^(general|globals)$' || true; } | sort -u; }
want() { # file command-output kind
	local missing=0
	while read -r name; do
		grep -qF -- "$name" "$2" || { echo "asterisk-check: $3 $name not shown by Asterisk" >&2; missing=1; }
	done
	return $missing
}
if [[ $DRIVER = pjsip ]]; then
	awk '/^\[/{n=$0; gsub(/[][]/,"",n)} /^type=endpoint/{print n}' "$DIR/pjsip.conf" | sort -u | want - "$OUT/pjsip-endpoints" endpoint || rc=1
	awk '/^\[/{n=$0; gsub(/[][]/,"",n)} /^type=aor/{print n}' "$DIR/pjsip.conf" | sort -u | want - "$OUT/pjsip-aors" aor || rc=1
	awk '/^\[/{n=$0; gsub(/[][]/,"",n)} /^type=auth/{print n}' "$DIR/pjsip.conf" | sort -u | want - "$OUT/pjsip-auths" auth || rc=1
	awk '/^\[/{n=$0; gsub(/[][]/,"",n)} /^type=registration/{print n}' "$DIR/pjsip.conf" | sort -u | want - "$OUT/pjsip-registrations" registration || rc=1
else
	section_names "$DIR/sip.conf" | want - "$OUT/sip-peers" "sip peer" || rc=1
fi
section_names "$DIR/iax.conf" | want - "$OUT/iax-peers" "iax peer" || rc=1
# voicemail.conf: every mailbox ("box => pin,name" outside [general]).
if [[ -f $DIR/voicemail.conf ]]; then
	awk '/^\[/{s=$0} s!="[general]" && / => /{print $1}' "$DIR/voicemail.conf" | sort -u | want - "$OUT/voicemail-users" mailbox || rc=1
fi
# musiconhold.conf: every class.
if [[ -f $DIR/musiconhold.conf ]]; then
	section_names "$DIR/musiconhold.conf" | sed 's/^/Class: /' | want - "$OUT/moh-classes" "music class" || rc=1
fi
# The recording application the dialplan starts must exist.
if grep -q MixMonitor "$DIR/extensions.conf" && ! grep -q "MixMonitor" "$OUT/mixmonitor"; then
	echo "asterisk-check: MixMonitor is not an application of this Asterisk" >&2
	rc=1
fi
section_names "$DIR/extensions.conf" | sed 's/^/'"'"'/; s/$/'"'"'/' | want - "$OUT/dialplan" context || rc=1
echo "asterisk-check: outputs in $OUT"
[[ $rc = 0 ]] && echo "asterisk-check: OK ($DRIVER)"
exit $rc
