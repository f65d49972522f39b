#!/usr/bin/env bash
# Call records under a crash, with SIPp on loopback: the load test's phone
# places RATE calls a second of CALL_MS each through `sipswitch serve`
# (SQLite), the switch is killed with SIGKILL KILL_AFTER seconds in, SIPp
# is stopped, the switch is started again (it commits what its call
# journal holds) and stopped with SIGTERM; then the answered calls'
# records are counted against the calls SIPp completed (its BYE answered
# 200: every one of them ended before the kill). Prints both counts and
# exits 1 when a completed call has no record.
#
# Variables: RATE [100], CALL_MS [100], KILL_AFTER seconds [7.6],
# SIPSWITCH_BIN (a binary to run instead of building this tree's),
# SIP_PORT [15060], HTTP_PORT [18080], CARRIER_PORT [5071], WORKDIR (keep
# the run's files there).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/loadtest-lib.sh
. scripts/loadtest-lib.sh
RATE=${RATE:-100} CALL_MS=${CALL_MS:-100} KILL_AFTER=${KILL_AFTER:-7.6}
SIP_PORT=${SIP_PORT:-15060} HTTP_PORT=${HTTP_PORT:-18080} CARRIER_PORT=${CARRIER_PORT:-5071}
require_positive loadtest-kill RATE CALL_MS SIP_PORT HTTP_PORT CARRIER_PORT
[[ $KILL_AFTER =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "loadtest-kill: KILL_AFTER must be seconds such as 7.6, got '$KILL_AFTER'" >&2; exit 2; }
command -v sipp >/dev/null || { echo "loadtest-kill: sipp not found (apt-get install sip-tester)" >&2; exit 2; }
if [[ -n ${WORKDIR:-} ]]; then
	mkdir -p "$WORKDIR"
	WORK=$(cd "$WORKDIR" && pwd)
	rm -rf "$WORK"/load.db* "$WORK"/*.csv "$WORK"/*.out "$WORK"/*.err
	KEEP=1
else
	WORK=$(mktemp -d /tmp/sipswitch-loadtest-kill.XXXXXX)
	KEEP=0
fi
PIDS=()
cleanup() {
	local rc=$?
	stop_pids
	if [[ $KEEP = 0 ]]; then rm -rf "$WORK"; else echo "loadtest-kill: files kept in $WORK"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
SC=$ROOT/testdata/sipp
CALLS=$((RATE * (${KILL_AFTER%.*} + 5)))
if [[ -n ${SIPSWITCH_BIN:-} ]]; then
	cp "$SIPSWITCH_BIN" "$WORK/sipswitch"
else
	go build -o "$WORK/sipswitch" ./cmd/sipswitch
fi
go build -o "$WORK/gendb" ./cmd/gendb
CALLED=15000123456
"$WORK/gendb" -db "$WORK/load.db" -csv "$WORK/calls.csv" -calls "$CALLS" -called "$CALLED" -carrier-port "$CARRIER_PORT" >/dev/null 2>&1
cat >"$WORK/sipswitch.yaml" <<EOF
database: $WORK/load.db
http: 127.0.0.1:$HTTP_PORT
sip: [udp://127.0.0.1:$SIP_PORT]
digest_algorithms: [MD5, SHA-256]
log: {level: warn, format: text}
call_records: true
EOF
(cd "$WORK" && exec sipp -sf "$SC/uas_answer.xml" -i 127.0.0.2 -p "$CARRIER_PORT" -nostdin -buff_size 4194304 >"$WORK/carrier.out" 2>&1) &
PIDS+=($!)

start_switch() { # log file
	SIPSWITCH_ADMIN_PASSWORD=loadtest-admin "$WORK/sipswitch" serve --config "$WORK/sipswitch.yaml" 2>"$WORK/$1" &
	SWITCH=$!
	PIDS+=("$SWITCH")
	for i in $(seq 100); do
		line=$(ss -Hlunp "sport = :$SIP_PORT" 2>/dev/null || true)
		[[ -n $line && ($line != *users:* || $line == *"pid=$SWITCH,"*) ]] && return
		kill -0 "$SWITCH" 2>/dev/null || { echo "loadtest-kill: sipswitch exited:" >&2; cat "$WORK/$1" >&2; exit 2; }
		[[ $i = 100 ]] && { echo "loadtest-kill: sipswitch not listening after 10s" >&2; exit 2; }
		sleep 0.1
	done
}
start_switch first.err
echo "== $RATE calls/s of $CALL_MS ms, SIGKILL after ${KILL_AFTER}s"
(cd "$WORK" && exec sipp 127.0.0.1:"$SIP_PORT" -sf "$SC/uac_call.xml" -inf "$WORK/calls.csv" -auth_uri "$CALLED@127.0.0.1:$SIP_PORT" -i 127.0.0.1 -p 0 \
	-r "$RATE" -m "$CALLS" -d "$CALL_MS" -recv_timeout 3000 -timeout "$((${KILL_AFTER%.*} + 10))s" -nostdin -buff_size 4194304 \
	-trace_stat -stf "$WORK/stat.csv" -fd 1 >"$WORK/uac.out" 2>&1) &
UAC=$!
PIDS+=("$UAC")
sleep "$KILL_AFTER"
kill -9 "$SWITCH"
wait "$SWITCH" 2>/dev/null || true
L=$(cut -d' ' -f1 /proc/loadavg)
# No answer can come now: what SIPp completed, it completed before the kill.
sleep 1
kill -INT "$UAC" 2>/dev/null || true
wait "$UAC" 2>/dev/null || true
COMPLETED=$(sipp_stat 'SuccessfulCall(C)' "$WORK/stat.csv")
STORED_AT_KILL=$("$WORK/sipswitch" calls export --db "$WORK/load.db" 2>/dev/null | tail -n +2 | wc -l)
start_switch second.err
kill -TERM "$SWITCH"
for _ in $(seq 300); do kill -0 "$SWITCH" 2>/dev/null || break; sleep 0.1; done
"$WORK/sipswitch" calls export --db "$WORK/load.db" 2>/dev/null >"$WORK/calls.out"
ANSWERED=$(tail -n +2 "$WORK/calls.out" | awk -F'"?,"?' '{ print $2 }' | sort -u | wc -l)
echo "load average at the kill:      $L"
echo "calls completed (SIPp):        $COMPLETED"
echo "records in the store at kill:  $STORED_AT_KILL"
echo "records after the restart:     $(($(wc -l <"$WORK/calls.out") - 1)) ($ANSWERED distinct call ids)"
grep -h "earlier run" "$WORK/second.err" | cut -c1-200 || true
if [[ $ANSWERED -lt $COMPLETED ]]; then
	echo "loadtest-kill: FAILED ($((COMPLETED - ANSWERED)) completed calls without a record)"
	exit 1
fi
echo "loadtest-kill: OK"
