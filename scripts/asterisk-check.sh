#!/usr/bin/env bash
# Loads rendered configuration into a real Asterisk 20 and checks that it
# logs no ERROR and shows every object that was rendered.
#
#   scripts/asterisk-check.sh ROOTFS DIR DRIVER
#
# ROOTFS  a root file system with Asterisk 20 installed (this repository
#         was checked with Ubuntu 24.04's asterisk 20.6, see
#         render/README.md "Acceptance by Asterisk 20" for how to make one)
# DIR     rendered sip.conf, pjsip.conf, iax.conf and extensions.conf
# DRIVER  pjsip or sip: which SIP channel driver to load (both bind 5060)
#
# Runs as root (chroot). Exits 0 when Asterisk loaded everything cleanly,
# 1 when it logged an ERROR or an object is missing, 2 on a setup error.
set -euo pipefail
ROOT=${1:?rootfs}; DIR=${2:?dir}; DRIVER=${3:?pjsip or sip}
[[ -x $ROOT/usr/sbin/asterisk ]] || { echo "asterisk-check: no asterisk in $ROOT" >&2; exit 2; }
case $DRIVER in pjsip) noload=chan_sip.so ;; sip) noload="res_pjsip.so chan_pjsip.so" ;; *) echo "asterisk-check: DRIVER must be pjsip or sip" >&2; exit 2 ;; esac

ETC=$ROOT/etc/asterisk
[[ -d $ROOT/etc/asterisk.orig ]] || cp -a "$ETC" "$ROOT/etc/asterisk.orig"
LOGF=$ROOT/var/log/asterisk/check.log
ast() { chroot "$ROOT" asterisk -rx "$1" 2>/dev/null; }

# prepare_etc [rendered-dir]: the stock configuration, plus the rendered
# files when a directory is given.
prepare_etc() {
	rm -rf "$ETC" && cp -a "$ROOT/etc/asterisk.orig" "$ETC"
	[[ -n ${1:-} ]] && cp "$1"/sip.conf "$1"/pjsip.conf "$1"/iax.conf "$1"/extensions.conf "$ETC"/
	# Modules that decline to load without services of their own (IMAP,
	# ODBC, RADIUS, a database...) are left out: their errors say nothing
	# about the rendered files.
	for m in $noload app_voicemail_imap.so app_voicemail_odbc.so res_resolver_unbound.so \
		res_pjsip_transport_websocket.so cdr_radius.so cel_radius.so cdr_pgsql.so cel_pgsql.so cdr_tds.so cel_tds.so \
		cdr_sqlite3_custom.so cel_sqlite3_custom.so pbx_dundi.so chan_unistim.so res_hep_rtcp.so res_hep_pjsip.so \
		res_phoneprov.so res_pjsip_phoneprov_provider.so; do
		sed -i "/^\\[modules\\]/a noload => $m" "$ETC/modules.conf"
	done
	# An operator who asks for TLS installs a certificate: a self-signed
	# one stands in at the paths the files name.
	local cert key
	cert=$(grep -ohE '^(tlscertfile|cert_file)=.*' "$ETC"/sip.conf "$ETC"/pjsip.conf 2>/dev/null | head -1 | cut -d= -f2- || true)
	key=$(grep -ohE '^(tlsprivatekey|priv_key_file)=.*' "$ETC"/sip.conf "$ETC"/pjsip.conf 2>/dev/null | head -1 | cut -d= -f2- || true)
	if [[ -n ${1:-} && -n $cert ]]; then
		mkdir -p "$ROOT$(dirname "$cert")"
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=sipswitch-check \
			-keyout "$ROOT${key:-$cert.key}" -out "$ROOT$cert" >/dev/null 2>&1
	fi
	cat >"$ETC/logger.conf" <<'LOG'
[general]
[logfiles]
check.log => notice,warning,error,verbose(3)
LOG
}

start_asterisk() {
	rm -f "$LOGF"
	ast "core stop now" >/dev/null || true
	sleep 1
	chroot "$ROOT" asterisk -U root -G root -f >/dev/null 2>&1 &
	for _ in $(seq 60); do ast "core waitfullybooted" >/dev/null && break; sleep 0.5; done
	ast "core waitfullybooted" >/dev/null || { echo "asterisk-check: asterisk did not boot" >&2; exit 2; }
	sleep 2
}

# ERROR lines without their time stamp and thread, to compare two runs.
errors() { grep "ERROR" "$LOGF" | sed -E 's/^\[[^]]*\] ERROR\[[0-9]+\] //' | sort -u; }

mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
mkdir -p "$ROOT/var/run/asterisk"
# The host has no DNS for the example hosts the files name: resolve every
# host name found in them to a documentation address, as a switch host's
# DNS would resolve a carrier's.
{ grep -ohE '[A-Za-z][A-Za-z0-9-]*(\.[A-Za-z0-9-]+)+' "$DIR"/*.conf || true; } | { grep -E '\.(example|net|com|org|invalid)$' || true; } | sort -u |
	awk 'BEGIN { print "127.0.0.1 localhost" } { printf "192.0.2.%d %s\n", 10 + NR, $1 }' >"$ROOT/etc/hosts"

# Baseline: what the distribution's own configuration logs as ERROR.
prepare_etc
start_asterisk
ast "core stop now" >/dev/null || true
sleep 1
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
ast "core stop now" >/dev/null || true
sleep 1

NEW=$(comm -13 <(echo "$BASE") <(errors))
if [[ -n $NEW ]]; then
	echo "$NEW"
	echo "asterisk-check: ERROR lines above appear with the rendered files" >&2
	rc=1
fi
# Warnings are shown, not judged: DNS, NAT advice and the like.
grep "WARNING" "$LOGF" | sed -E 's/^\[[^]]*\] //' | grep -E "sip|iax|pbx|config|acl" | sort -u | head -40 || true
# Every section of every rendered file must be visible.
section_names() { grep -oE '^\[[^]]+\]' "$1" | tr -d '[]' | grep -vE '^(general|globals)$' | sort -u; }
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
section_names "$DIR/extensions.conf" | sed 's/^/'"'"'/; s/$/'"'"'/' | want - "$OUT/dialplan" context || rc=1
echo "asterisk-check: outputs in $OUT"
[[ $rc = 0 ]] && echo "asterisk-check: OK ($DRIVER)"
exit $rc
