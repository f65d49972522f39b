#!/usr/bin/env bash
# The relay's yardstick: sipswitch's RTP relay (sip/media, run by
# cmd/relayload in a child process) and rtpengine (Debian's
# rtpengine-daemon, userspace only: no kernel module) relaying the same
# G.711 load from the same generator, run by run, on loopback. For each
# round and each count in MEDIA_CALLS both relays get one run (the order
# swaps every round, so the machine's drift falls on both), then a table
# side by side per run and the median per relay and count: loss, path
# latency p50/p99 (the kernel's receive time at the generator less the
# send time: what the relay adds, plus two loopback hops), RFC 3550
# jitter, the relay's CPU in ms per second per 1,000 streams, and
# "others": the rest of the machine's busy time during the window (other
# processes' and the kernel's, % of a core), the noise each run had.
# Exits 1 when any run lost 0.1% or more, 2 on a setup error.
#
# rtpengine runs in the foreground on 127.0.0.1 with its own port range,
# its ng control protocol on 127.0.0.1:NG_PORT, --table=-1 (no kernel
# forwarding: the kernel module would relay in the kernel, which is not
# what sipswitch's relay does), RTPE_THREADS worker threads and no
# configuration file. When it is missing and this runs as root with
# apt-get, rtpengine-daemon is installed (without its recommendations:
# no recording daemon, no kernel module); else the script says how.
#
# Variables:
#   MEDIA_CALLS   call counts, comma separated (each call: 2 streams of
#                 50 packets/s)                               [250,500,1000,1500]
#   DURATION      measured seconds per run (after 2 s of warm-up) [10]
#   ROUNDS        runs per relay and count                    [2]
#   NG_PORT       rtpengine's ng control port on 127.0.0.1    [22222]
#   RTPE_PORTS    rtpengine's media port range                [40000-49999]
#   RELAY_PORTS   sipswitch's relay's port range              [20000-29999]
#   RTPE_THREADS  rtpengine's --num-threads (its default: the number of
#                 cores)                                       [nproc]
#   RELAYLOAD_FLAGS  more flags for every relayload run (e.g. -poll 1)
#   RELAY_FLAGS   more flags for the sipswitch relay's runs only
#   WORKDIR       keep the runs' output here (default: a temp dir, removed)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/loadtest-lib.sh
. scripts/loadtest-lib.sh

MEDIA_CALLS=${MEDIA_CALLS:-250,500,1000,1500}
[[ $MEDIA_CALLS =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "loadtest-rtpengine: MEDIA_CALLS must be counts separated by commas, got '$MEDIA_CALLS'" >&2; exit 2; }
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
NG_PORT=${NG_PORT:-22222}
RTPE_PORTS=${RTPE_PORTS:-40000-49999}
RELAY_PORTS=${RELAY_PORTS:-20000-29999}
RTPE_THREADS=${RTPE_THREADS:-$(nproc)}
require_positive loadtest-rtpengine DURATION ROUNDS NG_PORT RTPE_THREADS
[[ $DURATION -le 600 ]] || { echo "loadtest-rtpengine: DURATION is at most 600 s" >&2; exit 2; }
for v in RTPE_PORTS RELAY_PORTS; do
	[[ ${!v} =~ ^[0-9]+-[0-9]+$ ]] || { echo "loadtest-rtpengine: $v must be LOW-HIGH, got '${!v}'" >&2; exit 2; }
done

if ! command -v rtpengine >/dev/null; then
	if [[ $(id -u) = 0 ]] && command -v apt-get >/dev/null; then
		echo "== installing rtpengine-daemon (apt-get)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends rtpengine-daemon >/dev/null ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends rtpengine-daemon >/dev/null; }
	fi
	command -v rtpengine >/dev/null || {
		echo "loadtest-rtpengine: rtpengine not found; as root: apt-get install --no-install-recommends rtpengine-daemon (Debian 12: 10.5)" >&2
		exit 2
	}
fi

if [[ -n ${WORKDIR:-} ]]; then
	mkdir -p "$WORKDIR"
	WORK=$(cd "$WORKDIR" && pwd)
	KEEP=1
else
	WORK=$(mktemp -d /tmp/sipswitch-rtpengine.XXXXXX)
	KEEP=0
fi
PIDS=()
cleanup() {
	local rc=$?
	stop_pids
	[[ $KEEP = 1 ]] || rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 65536 2>/dev/null || true

go build -o "$WORK/relayload" ./cmd/relayload

# The ng port must be free: another rtpengine there would be measured
# instead of this one.
if ss -Hlun "sport = :$NG_PORT" 2>/dev/null | grep -q .; then
	echo "loadtest-rtpengine: udp port $NG_PORT is taken (NG_PORT)" >&2
	exit 2
fi
echo "== rtpengine $(rtpengine --version 2>&1 | sed 's/^Version: //'), userspace, $RTPE_THREADS threads, ng 127.0.0.1:$NG_PORT, ports $RTPE_PORTS"
rtpengine --config-file=none --foreground --log-stderr --log-level=4 --table=-1 \
	--interface=127.0.0.1 --listen-ng="127.0.0.1:$NG_PORT" \
	--port-min="${RTPE_PORTS%-*}" --port-max="${RTPE_PORTS#*-}" --num-threads="$RTPE_THREADS" \
	--delete-delay=0 --timeout=120 2>"$WORK/rtpengine.err" &
RTPE=$!
PIDS+=("$RTPE")
for i in $(seq 100); do
	ss -Hlun "sport = :$NG_PORT" 2>/dev/null | grep -q . && break
	kill -0 "$RTPE" 2>/dev/null || { echo "loadtest-rtpengine: rtpengine exited:" >&2; cat "$WORK/rtpengine.err" >&2; exit 2; }
	[[ $i = 100 ]] && { echo "loadtest-rtpengine: rtpengine not listening on udp 127.0.0.1:$NG_PORT after 10 s" >&2; exit 2; }
	sleep 0.1
done

# run RELAY CALLS ROUND: one bounded relayload run; its result line goes
# to $WORK/runs.
run() {
	local relay=$1 calls=$2 round=$3 out flags
	out="$WORK/$round-$calls-$relay.out"
	# shellcheck disable=SC2206
	flags=(-calls "$calls" -duration "${DURATION}s" ${RELAYLOAD_FLAGS:-})
	if [[ $relay = rtpengine ]]; then
		flags+=(-rtpengine "127.0.0.1:$NG_PORT" -rtpengine-pid "$RTPE")
	else
		# shellcheck disable=SC2206
		flags+=(-ports "$RELAY_PORTS" ${RELAY_FLAGS:-})
	fi
	echo "== round $round, $calls calls, $relay" >&2
	if ! timeout $((DURATION + 120)) "$WORK/relayload" "${flags[@]}" >"$out" 2>&1; then
		echo "loadtest-rtpengine: relayload failed:" >&2
		tail -5 "$out" >&2
		exit 2
	fi
	kill -0 "$RTPE" 2>/dev/null || { echo "loadtest-rtpengine: rtpengine died:" >&2; tail -5 "$WORK/rtpengine.err" >&2; exit 2; }
	awk -v r="$round" -v relay="$relay" '$1 ~ /^[0-9]+$/ && NF >= 15 { print r, relay, $0 }' "$out" >>"$WORK/runs"
}

: >"$WORK/runs"
IFS=, read -ra COUNTS <<<"$MEDIA_CALLS"
for r in $(seq "$ROUNDS"); do
	order=(sipswitch rtpengine)
	((r % 2 == 0)) && order=(rtpengine sipswitch)
	for n in "${COUNTS[@]}"; do
		for relay in "${order[@]}"; do run "$relay" "$n" "$r"; done
	done
done

# runs: round relay calls mode sent received loss% p50 p99 max app_p50
# app_p99 jit relay_cpu% gen_cpu% others% ms/s/1k
echo
echo "per run (latencies in ms, CPU per 1,000 streams in ms per second = 0.1% of a core; others: the rest of the machine, % of a core):"
printf '%-6s %-10s %5s %8s %7s %7s %7s %8s %7s %9s %7s\n' calls relay round loss% p50 p99 max jit_ms cpu/1k relay_cpu others
sort -k3n -k2 -k1n "$WORK/runs" | awk '{ printf "%-6s %-10s %5s %8s %7.2f %7.2f %7.2f %8.3f %7.0f %9s %7s\n", $3, $2, $1, $7, $8 / 1000, $9 / 1000, $10 / 1000, $13 / 1000, $17, $14, $16 }'
echo
echo "median of the rounds:"
printf '%-6s %-10s %8s %7s %7s %8s %7s %7s\n' calls relay loss% p50 p99 jit_ms cpu/1k others
# The median of column c over the runs of one count and relay.
for n in "${COUNTS[@]}"; do
	for relay in sipswitch rtpengine; do
		awk -v n="$n" -v relay="$relay" '
			function median(c,   i, j, k, t, v) {
				k = 0
				for (i = 1; i <= NR; i++) if (key[i]) { k++; t = col[i, c]; gsub(/%/, "", t); v[k] = t + 0 }
				for (i = 2; i <= k; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
				return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
			}
			{ key[NR] = ($3 == n && $2 == relay); for (i = 1; i <= NF; i++) col[NR, i] = $i }
			END { printf "%-6s %-10s %8.4f %7.2f %7.2f %8.3f %7.0f %6.1f%%\n", n, relay, median(7), median(8) / 1000, median(9) / 1000, median(13) / 1000, median(17), median(16) }' "$WORK/runs"
	done
done
if awk '{ gsub(/%/, "", $7); if ($7 + 0 >= 0.1) bad = 1 } END { exit !bad }' "$WORK/runs"; then
	echo "loadtest-rtpengine: some run lost 0.1% or more of its packets" >&2
	exit 1
fi
