#!/usr/bin/env bash
# The SIP core over TLS beside UDP, on loopback only (issue 26 "TLS load",
# issue 30 "TLS"): `make loadtest-tls`, or `TRANSPORT=tls make loadtest`.
#
# The load client is cmd/sipload (package internal/sipload says why not
# SIPp: Debian's SIPp has no TLS, and one client for both transports makes
# the comparison like for like). The switch listens on UDP and TLS at once
# with the same configuration in every run; only the phones' transport
# changes. Each run starts a fresh switch on a copy of one database
# (cmd/gendb: 3 carrier peers, 10,000 routes, max(PHONES, IDLE) phones)
# and stops it afterwards.
#
# Calls, ROUNDS rounds of UDP then TLS (A/B, like scripts/loadtest-ab.sh,
# so the machine's drift falls on both): PHONES phones register, each over
# its own TLS connection or UDP socket from its own address 127.1.x.y (the
# switch's CPU per registration: over TLS a full handshake each), place
# RATE calls/s for DURATION s held CALL_MS each to a carrier sipload runs
# on 127.0.0.2 (CPS, INVITE->200, the switch's CPU per call, over TLS on
# the connections they registered on), then every phone reconnects and
# registers again (over TLS resuming its session: the switch's CPU per
# resumed handshake + REGISTER). Handshake cost = the switch's CPU per
# registration over TLS minus over UDP.
#
# Idle, for each count in IDLE and each transport in IDLE_TRANSPORTS: that
# many phones register and stay idle HOLD_S seconds; the switch's RSS, Go
# heap in use and goroutines before and after (a garbage collection
# first: the switch's pprof is on for these runs only), divided by the
# count: the memory per registration, over TLS per connection (the UDP
# figure is the registration alone). Fails if a connection was closed.
# The Go heap and stack figures are what a connection costs; RSS is what
# the system sees, read once it has settled after the collection, and
# also holds freed heap the runtime keeps (gc_percent 200 lets the heap
# grow to 3x the live heap before a collection); the kernel's socket
# buffers are in neither.
#
# Prints a table per part and exits 1 when any run failed (a call or a
# registration failed, a connection dropped), 2 on a setup error.
#
# Variables:
#   RATE      calls per second                               [200]
#   DURATION  seconds of calls                               [10]
#   CALL_MS   call length after answer, ms                   [1000]
#   PHONES    phones of the calls runs                       [1000]
#   ROUNDS    rounds of the calls runs                       [2]
#   TRANSPORTS  transports of the calls runs, in order       ["udp tls"]
#   IDLE      idle counts, comma separated; "" skips         [1000,10000]
#   IDLE_TRANSPORTS  transports of the idle runs             ["udp tls"]
#   HOLD_S    seconds the idle registrations are held        [10]
#   SIP_PORT, TLS_PORT, HTTP_PORT, CARRIER_PORT  the switch's listeners on
#             127.0.0.1 and the carrier's port on 127.0.0.2: defaults apart
#             from scripts/loadtest.sh's so both can run at once
#                                                  [15260, 15261, 18280, 5271]
#   MEMORY_LIMIT  runtime.memory_limit of the switch         [900MiB]
#   CURVES    the key exchanges the TLS phones offer (sipload -curves:
#             x25519mlkem768, x25519, p256); "" Go's default, the hybrid
#             post-quantum X25519MLKEM768 first                  [""]
#   WORKDIR   keep the run's files here (default: a temp dir, removed)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/loadtest-lib.sh
. scripts/loadtest-lib.sh

RATE=${RATE:-200}
DURATION=${DURATION:-10}
CALL_MS=${CALL_MS:-1000}
PHONES=${PHONES:-1000}
ROUNDS=${ROUNDS:-2}
TRANSPORTS=${TRANSPORTS:-udp tls}
IDLE=${IDLE-1000,10000}
IDLE_TRANSPORTS=${IDLE_TRANSPORTS:-udp tls}
HOLD_S=${HOLD_S:-10}
SIP_PORT=${SIP_PORT:-15260}
TLS_PORT=${TLS_PORT:-15261}
HTTP_PORT=${HTTP_PORT:-18280}
CARRIER_PORT=${CARRIER_PORT:-5271}
require_positive loadtest-tls RATE DURATION CALL_MS PHONES ROUNDS HOLD_S SIP_PORT TLS_PORT HTTP_PORT CARRIER_PORT
[[ -z $IDLE || $IDLE =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "loadtest-tls: IDLE must be counts separated by commas, got '$IDLE'" >&2; exit 2; }
for t in $TRANSPORTS $IDLE_TRANSPORTS; do
	[[ $t = udp || $t = tcp || $t = tls ]] || { echo "loadtest-tls: TRANSPORTS and IDLE_TRANSPORTS take udp, tcp and tls, got '$t'" >&2; exit 2; }
done
MAX_PHONES=$PHONES
for n in ${IDLE//,/ }; do ((n > MAX_PHONES)) && MAX_PHONES=$n; done
((MAX_PHONES <= 60000)) || { echo "loadtest-tls: at most 60000 phones" >&2; exit 2; }

if [[ -n ${WORKDIR:-} ]]; then
	mkdir -p "$WORKDIR"
	WORK=$(cd "$WORKDIR" && pwd)
	rm -rf "$WORK"/*.out "$WORK"/run.db* "$WORK"/template.db*
	KEEP=1
else
	WORK=$(mktemp -d /tmp/sipswitch-loadtest-tls.XXXXXX)
	KEEP=0
fi
PIDS=()
SWITCH=
cleanup() {
	local rc=$?
	stop_pids
	if [[ $KEEP = 0 ]]; then rm -rf "$WORK"; else echo "loadtest-tls: files kept in $WORK"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A descriptor per connection on each side: 10,000 phones need 10,000 in
# the switch and as many in sipload.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (($(ulimit -n) < MAX_PHONES + 1000)); then
	echo "loadtest-tls: the descriptor limit $(ulimit -n) is too low for $MAX_PHONES phones (raise the hard limit)" >&2
	exit 2
fi

echo "== building"
go build -o "$WORK/sipswitch" ./cmd/sipswitch
go build -o "$WORK/gendb" ./cmd/gendb
go build -o "$WORK/sipload" ./cmd/sipload
echo "== generating the database ($MAX_PHONES phones) and the certificate"
"$WORK/gendb" -db "$WORK/template.db" -phones "$MAX_PHONES" -calls 1 -carrier-port "$CARRIER_PORT" 2>&1 | grep -v ' INFO audit ' || true
[[ -s $WORK/template.db ]] || { echo "loadtest-tls: gendb made no database" >&2; exit 2; }
"$WORK/sipload" -gencert "$WORK" >/dev/null

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# start_switch [pprof]: a fresh switch on a copy of the database.
start_switch() {
	rm -rf "$WORK"/run.db*  # the database and its call-record journal (run.db.calls/)
	cp "$WORK/template.db" "$WORK/run.db"
	cat >"$WORK/sipswitch.yaml" <<EOF
database: $WORK/run.db
http: 127.0.0.1:$HTTP_PORT
sip: [udp://127.0.0.1:$SIP_PORT, tcp://127.0.0.1:$SIP_PORT, tls://127.0.0.1:$TLS_PORT]
log:
  level: warn
  format: text
tls:
  cert_file: $WORK/cert.pem
  key_file: $WORK/key.pem
  http: plain
runtime:
  memory_limit: "${MEMORY_LIMIT:-900MiB}"
pprof: $([[ ${1:-} = pprof ]] && echo true || echo false)
EOF
	SIPSWITCH_ADMIN_PASSWORD=loadtest-admin "$WORK/sipswitch" serve --config "$WORK/sipswitch.yaml" 2>"$WORK/sipswitch.err" &
	SWITCH=$!
	PIDS+=("$SWITCH")
	for i in $(seq 100); do
		if curl -sf --max-time 1 "http://127.0.0.1:$HTTP_PORT/metrics" >/dev/null 2>&1 &&
			[[ -n $(ss -Hltn "sport = :$TLS_PORT" 2>/dev/null) && -n $(ss -Hlun "sport = :$SIP_PORT" 2>/dev/null) ]]; then
			return 0
		fi
		kill -0 "$SWITCH" 2>/dev/null || { echo "loadtest-tls: sipswitch exited:" >&2; cat "$WORK/sipswitch.err" >&2; exit 2; }
		[[ $i = 100 ]] && { echo "loadtest-tls: sipswitch not listening after 10 s" >&2; cat "$WORK/sipswitch.err" >&2; exit 2; }
		sleep 0.1
	done
}

stop_switch() {
	kill -TERM "$SWITCH" 2>/dev/null || true
	for _ in $(seq 300); do kill -0 "$SWITCH" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$SWITCH" 2>/dev/null || true
	wait "$SWITCH" 2>/dev/null || true
	if [[ -s $WORK/sipswitch.err ]]; then
		echo "   sipswitch warnings/errors: $(wc -l <"$WORK/sipswitch.err") lines, first: $(head -1 "$WORK/sipswitch.err" | cut -c1-200)"
	fi
}

switch_uri() { # transport
	case $1 in
	udp) echo "udp://127.0.0.1:$SIP_PORT" ;;
	tls) echo "tls://127.0.0.1:$TLS_PORT" ;;
	tcp) echo "tcp://127.0.0.1:$SIP_PORT" ;;
	esac
}

rc=0
HOLD=$(awk -v ms="$CALL_MS" 'BEGIN { printf "%gs", ms / 1000 }')
CALLS_TIMEOUT=$((DURATION + CALL_MS / 1000 + PHONES / 20 + 120))
echo "== calls: $ROUNDS rounds of [$TRANSPORTS], $PHONES phones, $RATE calls/s for ${DURATION}s held ${CALL_MS}ms; load average $(loadavg)"
for r in $(seq "$ROUNDS"); do
	for t in $TRANSPORTS; do
		out=$WORK/calls-$r-$t.out
		start_switch
		echo "-- round $r $t (load average $(loadavg))"
		set +e
		timeout "$CALLS_TIMEOUT" "$WORK/sipload" -mode calls -switch "$(switch_uri "$t")" -ca "$WORK/cert.pem" \
			-carrier "127.0.0.2:$CARRIER_PORT" -phones "$PHONES" -rate "$RATE" -duration "${DURATION}s" -hold "$HOLD" \
			-switch-pid "$SWITCH" -metrics "http://127.0.0.1:$HTTP_PORT/metrics" -curves "${CURVES:-}" >"$out" 2>&1
		code=$?
		set -e
		((code == 0)) || rc=1
		echo "load average after: $(loadavg)" >>"$out"
		grep -E '^(register|calls failed|achieved CPS|INVITE->200|switch CPU|reconnect):' "$out" | sed 's/^/   /'
		((code == 0)) || { echo "   sipload exit $code:"; tail -3 "$out" | sed 's/^/   /'; }
		stop_switch
	done
done

# field FILE REGEX: the number after REGEX (anchored with ^) on the first
# line it matches; "-" when none.
field() {
	local v
	v=$(sed -n "s/$2 *\(-\{0,1\}[0-9][0-9.]*\).*/\1/p" "$1" 2>/dev/null | head -1)
	echo "${v:--}"
}
echo
echo "== calls over UDP and TLS ($PHONES phones, $RATE calls/s, ${DURATION}s, ${CALL_MS}ms calls; switch CPU per event, us)"
printf '%-6s %-4s %8s %7s %9s %9s %10s %10s %10s %9s\n' round tp cps failed inv_mean inv_p99 cpu/call cpu/reg cpu/rereg resumed
for r in $(seq "$ROUNDS"); do
	for t in $TRANSPORTS; do
		f=$WORK/calls-$r-$t.out
		printf '%-6s %-4s %8s %7s %9s %9s %10s %10s %10s %9s\n' "$r" "$t" \
			"$(field "$f" '^achieved CPS:')" "$(field "$f" '^calls failed:')" \
			"$(field "$f" '^INVITE->200 ms: *mean')" "$(field "$f" '^INVITE->200 ms:.*p99')" \
			"$(field "$f" '^switch CPU calls:.* s, ')" "$(field "$f" '^switch CPU register:.* s, ')" \
			"$(field "$f" '^switch CPU reconnect:.* s, ')" "$(field "$f" '^reconnect:.*resumed')"
	done
done | tee "$WORK/calls.table"
awk '{ n[$2]++; for (i = 3; i <= 10; i++) s[$2, i] += $i }
	END {
		for (t in n) printf "%-6s %-4s %8.1f %7d %9.2f %9.2f %10.0f %10.0f %10.0f %9.0f\n", "mean", t,
			s[t, 3] / n[t], s[t, 4], s[t, 5] / n[t], s[t, 6] / n[t], s[t, 7] / n[t], s[t, 8] / n[t], s[t, 9] / n[t], s[t, 10] / n[t]
		if (("udp" in n) && ("tls" in n) && s["udp", 7] > 0) {
			u = s["udp", 7] / n["udp"]; l = s["tls", 7] / n["tls"]
			printf "TLS/UDP switch CPU per call: %.2fx; CPS %.2fx\n", l / u, (s["tls", 3] / n["tls"]) / (s["udp", 3] / n["udp"])
			printf "handshake + REGISTER over TLS beyond UDP (switch CPU): full %.0f us, resumed %.0f us\n",
				s["tls", 8] / n["tls"] - s["udp", 8] / n["udp"], s["tls", 9] / n["tls"] - s["udp", 9] / n["udp"]
		}
	}' "$WORK/calls.table"

if [[ -n $IDLE ]]; then
	echo
	echo "== idle registrations: [${IDLE//,/ }] over [$IDLE_TRANSPORTS], held ${HOLD_S}s; load average $(loadavg)"
	for n in ${IDLE//,/ }; do
		for t in $IDLE_TRANSPORTS; do
			out=$WORK/idle-$n-$t.out
			start_switch pprof
			echo "-- $n $t (load average $(loadavg))"
			set +e
			timeout $((n / 20 + HOLD_S + 120)) "$WORK/sipload" -mode idle -switch "$(switch_uri "$t")" -ca "$WORK/cert.pem" \
				-phones "$n" -hold "${HOLD_S}s" -switch-pid "$SWITCH" -metrics "http://127.0.0.1:$HTTP_PORT/metrics" -curves "${CURVES:-}" -gc >"$out" 2>&1
			code=$?
			set -e
			((code == 0)) || rc=1
			grep -E '^(register|held|switch (before|after)|per registration):' "$out" | sed 's/^/   /'
			((code == 0)) || { echo "   sipload exit $code:"; tail -3 "$out" | sed 's/^/   /'; }
			stop_switch
		done
	done
	echo
	echo "== switch memory per idle registration (per connection over TLS/TCP), after a GC"
	printf '%-7s %-4s %8s %9s %9s %10s %11s %11s\n' phones tp held rss_KiB heap_KiB stack_KiB goroutines cpu/reg_us
	for n in ${IDLE//,/ }; do
		for t in $IDLE_TRANSPORTS; do
			f=$WORK/idle-$n-$t.out
			held=$(field "$f" '^held:')
			[[ $t = udp ]] && held=$(field "$f" '^held:.*switch registrations')
			printf '%-7s %-4s %8s %9s %9s %10s %11s %11s\n' "$n" "$t" "${held:-?}" \
				"$(field "$f" '^per registration: *RSS')" "$(field "$f" '^per registration:.*Go heap in use')" \
				"$(field "$f" '^per registration:.*stacks')" "$(field "$f" '^per registration:.*goroutines')" \
				"$(field "$f" '^switch CPU register:.* s, ')"
		done
	done
fi
echo "load average at the end: $(loadavg)"
if ((rc != 0)); then
	echo "loadtest-tls: FAILED (a run had a failed call, registration or dropped connection; files in $WORK)"
	KEEP=1
	exit 1
fi
echo "loadtest-tls: OK"
