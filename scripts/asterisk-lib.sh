# Shared by scripts/asterisk-check.sh and scripts/asterisk-run.sh: a chroot
# with Asterisk 20 at $ROOT, rendered files in $DIR, one SIP driver
# $DRIVER (pjsip or sip). Source it after setting ROOT, DIR and DRIVER.
[[ -x $ROOT/usr/sbin/asterisk ]] || { echo "asterisk: no asterisk in $ROOT" >&2; exit 2; }
case $DRIVER in pjsip) noload=chan_sip.so ;; sip) noload="res_pjsip.so chan_pjsip.so" ;; *) echo "asterisk: DRIVER must be pjsip or sip" >&2; exit 2 ;; esac

ETC=$ROOT/etc/asterisk
[[ -d $ROOT/etc/asterisk.orig ]] || cp -a "$ETC" "$ROOT/etc/asterisk.orig"
LOGF=$ROOT/var/log/asterisk/check.log
ast() { chroot "$ROOT" asterisk -rx "$1" 2>/dev/null; }

# prepare_etc [rendered-dir]: the stock configuration, plus the rendered
# files when a directory is given.
prepare_etc() {
	rm -rf "$ETC" && cp -a "$ROOT/etc/asterisk.orig" "$ETC"
	[[ -n ${1:-} ]] && cp "$1"/sip.conf "$1"/pjsip.conf "$1"/iax.conf "$1"/extensions.conf "$ETC"/
	# voicemail.conf: the mailboxes VoiceMail() records into (rendered
	# since sipswitch renders them).
	[[ -n ${1:-} && -f $1/voicemail.conf ]] && cp "$1"/voicemail.conf "$ETC"/
	# musiconhold.conf: the hold music classes lines name (rendered since
	# sipswitch renders them).
	# The operator supplies the music: a second of silence (raw mu-law)
	# stands in in each class's directory under astdatadir, as its files
	# would (a class without files is not loaded; a missing directory is
	# an ERROR).
	if [[ -n ${1:-} && -f $1/musiconhold.conf ]]; then
		cp "$1"/musiconhold.conf "$ETC"/
		local data
		data=$(sed -nE 's/^astdatadir *=> *//p' "$ETC/asterisk.conf" | head -1)
		grep -oE '^directory=.*' "$1"/musiconhold.conf | cut -d= -f2- | while read -r d; do
			mkdir -p "$ROOT${data:-/var/lib/asterisk}/$d"
			head -c 8000 /dev/zero | tr '\0' '\377' >"$ROOT${data:-/var/lib/asterisk}/$d/sipswitch-check.ulaw"
		done
	fi
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

# stop_asterisk stops the root's Asterisk and waits until it is gone: the
# next one binds the same ports (a loaded host takes seconds to release
# them, and "Address already in use" is not the rendered files' fault).
stop_asterisk() {
	ast "core stop now" >/dev/null || true
	for _ in $(seq 100); do
		pgrep -f "^asterisk -U root" >/dev/null || return 0
		sleep 0.2
	done
	pkill -9 -f "^asterisk -U root" || true
}

start_asterisk() {
	rm -f "$LOGF"
	stop_asterisk
	chroot "$ROOT" asterisk -U root -G root -f >/dev/null 2>&1 &
	for _ in $(seq 60); do ast "core waitfullybooted" >/dev/null && break; sleep 0.5; done
	ast "core waitfullybooted" >/dev/null || { echo "asterisk-check: asterisk did not boot" >&2; exit 2; }
	sleep 2
}

# ERROR lines without their time stamp and thread, to compare two runs.
# A packet chan_sip cannot send (qualify towards a peer's documentation
# address, with no route off this loopback-only host) says nothing about
# the files.
errors() { grep "ERROR" "$LOGF" | grep -v "__sip_xmit returns error" | sed -E 's/^\[[^]]*\] ERROR\[[0-9]+\] //' | sort -u; }

# prepare_root mounts /proc and writes /etc/hosts.
prepare_root() {
	mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
	mkdir -p "$ROOT/var/run/asterisk"
	# The host has no DNS for the example hosts the files name: resolve every
	# host name found in them to a documentation address, as a switch host's
	# DNS would resolve a carrier's.
	{ grep -ohE '[A-Za-z][A-Za-z0-9-]*(\.[A-Za-z0-9-]+)+' "$DIR"/*.conf || true; } | { grep -E '\.(example|net|com|org|invalid)$' || true; } | sort -u |
		awk -v self="$(hostname)" 'BEGIN { print "127.0.0.1 localhost " self } { printf "192.0.2.%d %s\n", 10 + NR, $1 }' >"$ROOT/etc/hosts"
}
