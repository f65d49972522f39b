#!/usr/bin/env bash
# Memory of `sipswitch serve` under large API bodies, on loopback only
# (issue 23, finding 4).
#
# 1. PARALLEL simultaneous `POST /api/json/peers/costs/import/` with
#    Content-Type text/csv, a MIB MiB body and wrong credentials in the
#    query string (curl sends the body at once: no Expect: 100-continue);
#    then the same with the wrong credentials in a form body instead.
# 2. The import of a real rate deck of ROWS rows, with the right
#    credentials in the query string (the README's example).
# Prints the switch's peak RSS (VmHWM) after its start and after each
# step, and the answers. Exits 1 when an answer is not the expected one, 2
# on a setup error.
#
# Variables:
#   BIN        sipswitch binary to run (default: built from this tree)
#   PARALLEL   simultaneous bodies                     [8]
#   MIB        size of each body, MiB                  [60]
#   ROWS       rows of the imported deck               [200000]
#   HTTP_PORT, SIP_PORT  the switch's listeners on 127.0.0.1 [18380, 15380]
#   WORKDIR    keep the run's files here (default: a temp dir, removed)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=loadtest-lib.sh
. "$here/loadtest-lib.sh"

PARALLEL=${PARALLEL:-8}
MIB=${MIB:-60}
ROWS=${ROWS:-200000}
HTTP_PORT=${HTTP_PORT:-18380}
SIP_PORT=${SIP_PORT:-15380}
require_positive bodyflood.sh PARALLEL MIB ROWS HTTP_PORT SIP_PORT

if [[ -n ${WORKDIR:-} ]]; then
	work=$WORKDIR
	mkdir -p "$work"
else
	work=$(mktemp -d)
	trap 'stop_pids; rm -rf "$work"' EXIT
fi
PIDS=()
if [[ -z ${BIN:-} ]]; then
	BIN=$work/sipswitch
	(cd "$here/.." && go build -o "$BIN" ./cmd/sipswitch) || exit 2
fi

password=bodyflood-admin-pw
cat >"$work/sipswitch.yaml" <<EOF
database: $work/sipswitch.db
http: 127.0.0.1:$HTTP_PORT
sip: [udp://127.0.0.1:$SIP_PORT]
call_records: false
log: {level: error}
EOF
api=http://127.0.0.1:$HTTP_PORT/api/json
# start_switch (re)starts the switch on the same store: a fresh process
# for each step, so its peak RSS is that step's alone, and the failed
# logins of one step (kept in memory) do not block the next.
start_switch() {
	stop_pids
	PIDS=()
	SIPSWITCH_ADMIN_PASSWORD=$password "$BIN" serve --config "$work/sipswitch.yaml" >>"$work/switch.log" 2>&1 &
	switch=$!
	PIDS+=("$switch")
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null 2>&1 && break
		sleep 0.1
	done
	curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null || { echo "bodyflood.sh: the switch did not start:" >&2; cat "$work/switch.log" >&2; exit 2; }
	echo "peak RSS after start: $(peak_mib) MiB"
}
peak_mib() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$switch/status"; }
failed=0
expect() { # what answer want
	if [[ $2 != *"$3"* ]]; then
		echo "  UNEXPECTED $1: $2" >&2
		failed=1
	fi
}

head -c $((MIB << 20)) /dev/zero | tr '\0' 'x' >"$work/body"

flood() { # name url content-type want
	local i
	for i in $(seq "$PARALLEL"); do
		curl -s -o "$work/answer.$i" -w '%{http_code}\n' -H 'Expect:' -H "Content-Type: $3" \
			--data-binary @"$work/body" "$2" >"$work/status.$i" 2>/dev/null &
	done
	wait_curls
	echo "peak RSS after $PARALLEL x $MIB MiB $1: $(peak_mib) MiB; answers:"
	for i in $(seq "$PARALLEL"); do
		echo "  HTTP $(cat "$work/status.$i") $(cat "$work/answer.$i")"
	done | sort | uniq -c
	for i in $(seq "$PARALLEL"); do
		expect "$1" "$(cat "$work/answer.$i")" "$4"
	done
}
# wait_curls waits for the background curls, not the switch.
wait_curls() { local j; for j in $(jobs -p); do [[ $j == "$switch" ]] || wait "$j" || true; done; }

start_switch
flood "text/csv, wrong password in the query" "$api/peers/costs/import/?auth_username=admin;auth_password=wrong;peer=1" text/csv '"code":"401"'
start_switch
flood "form body, wrong password in the body" "$api/plans/create/" application/x-www-form-urlencoded '"code":'

start_switch
auth="auth_username=admin;auth_password=$password"
curl -s "$api/peers/create/?$auth;name=carrier-a;type=sip;destination=192.0.2.10" >/dev/null
awk -v n="$ROWS" 'BEGIN {
	print "called_prefix,cost,connectfee,increment,description"
	for (i = 0; i < n; i++) printf "%d,0.%04d,0.01,60,Destination %d\n", 440000000 + i, i % 10000, i
}' >"$work/deck.csv"
answer=$(curl -s -H 'Content-Type: text/csv' --data-binary @"$work/deck.csv" "$api/peers/costs/import/?$auth;peer=1;replace=1")
echo "peak RSS after importing $ROWS rows ($(($(stat -c %s "$work/deck.csv") >> 20)) MiB): $(peak_mib) MiB; answer: $answer"
expect "import" "$answer" "\"imported\":$ROWS"
exit $failed
