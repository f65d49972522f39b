#!/usr/bin/env bash
# SIPp load test of sipswitch's SIP core, on loopback only.
#
# Builds sipswitch and the database generator, generates a database (3
# carrier peers, a plan of 10,000 routes, 1,000 phones) and the SIPp
# injection file, starts SIPp carriers on 127.0.0.2-4 and `sipswitch serve`
# on 127.0.0.1, runs the SIPp phone scenario at RATE calls/s and prints calls
# attempted / successful / failed, achieved CPS, response-time percentiles,
# the switch's own delays by stage (read loop, route, answer)
# (INVITE with credentials -> 200) and sipswitch's RSS before, at peak and
# after the calls. Exits 1 when any call failed, 2 on a setup error.
#
# Variables:
#   MODE      answer (carrier1 answers), failover (carrier1 answers 503,
#             carrier2 answers), concurrent (answer mode with long calls:
#             CALLS calls ramped at RATE, held CALL_MS each), media (RTP
#             through the switch's relay, see below)          [answer]
#   RATE      calls per second                                 [50; concurrent 500]
#   DURATION  seconds of call generation (answer/failover)     [10]
#   CALLS     calls to place (default RATE*DURATION; concurrent 20000)
#   CALL_MS   call length after answer, milliseconds           [1000; concurrent 60000]
#   LIMIT     max simultaneous calls in SIPp (-l)              [CALLS]
#   SIP_PORT, HTTP_PORT  sipswitch's listeners on 127.0.0.1   [15060, 18080]
#   CARRIER_PORT  carrier1's port (127.0.0.2); carrier2 and carrier3 on the
#             next two (127.0.0.3, .4): another run beside this one needs
#             other SIP_PORT, HTTP_PORT and CARRIER_PORT        [5071]
#   AFTER_S   seconds to watch RSS after the last call ended   [10; concurrent 180]
#   WORKDIR   keep the run's files here (default: a temp dir, removed)
#   SIPSWITCH_BIN  a sipswitch binary to run instead of building one from
#             this tree (e.g. another commit's, for loadtest-ab.sh's A_BIN
#             and B_BIN)
#   SERVER_CMD  command line that starts the SIP server instead of
#             `sipswitch serve` ({DB} and {SIP} are substituted); for
#             profiling builds.
#   SIPSWITCH_CONFIG_EXTRA  YAML lines appended to the generated config.
#   CALLED    the number every call dials (SIPp's -auth_uri is one
#             fixed uri and the switch binds credentials to it) [15000123456]
#   RECORDS   1 (default): call records on, checked one per call after
#             the run (the switch is stopped with SIGTERM to flush them); 0:
#             off, for the cost of records by comparison
#   MEMORY_LIMIT  runtime.memory_limit of the switch [900MiB, as
#             dist/sipswitch.example.yaml; "" for none]
#   LOG_LEVEL sipswitch's log level (warn; info writes a line per call
#             attempt, as on a production host: ~3% more CPU per call)
#   SSE_CLIENTS  event stream clients (/api/events, as the admin) kept
#             connected and reading through the run, for the cost of the
#             live views per call                              [0]
#   TRANSPORT udp (SIPp, this script) or tls: MODE=answer over TLS beside
#             UDP by scripts/loadtest-tls.sh (Debian's SIPp has no TLS; its
#             client is cmd/sipload), RATE, DURATION and CALL_MS passed on
#                                                              [udp]
#
# MODE=media measures the SIP core's RTP relay (media.relay MEDIA_RELAY,
# default always): for each count in MEDIA_CALLS (default 100,500,1000)
# the relayload command (cmd/relayload -sip) places that
# many calls through the switch as phone 2000000 and answers them as
# carrier1 (SIPp plays no part), then sends G.711 RTP both ways (50
# packets/s per stream, two streams a call) for DURATION seconds after 2 s
# of warm-up and prints per count: packets sent and received in the
# window, loss, latency p50/p99/max (the kernel's receive time at the
# generator less the send time: two loopback hops and the switch's
# scheduling; app_p50/app_p99 add the generator's own reading), jitter
# (RFC 3550), the switch's CPU over the window (no SIP flows in
# it: that is the relay's) as % of a core and ms of CPU per second per
# 1,000 streams, the generator's CPU, and the highest count whose loss
# stayed under 0.1%. Each count is bounded: setup, 2 s + DURATION + 0.5 s,
# BYE. The generator shares the machine with the switch.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/loadtest-lib.sh
. scripts/loadtest-lib.sh

case ${TRANSPORT:-udp} in
udp) ;;
tls)
	[[ ${MODE:-answer} = answer ]] || { echo "loadtest: TRANSPORT=tls runs MODE=answer only, got MODE=$MODE" >&2; exit 2; }
	exec scripts/loadtest-tls.sh
	;;
*)
	echo "loadtest: TRANSPORT must be udp or tls, got '$TRANSPORT'" >&2
	exit 2
	;;
esac

MODE=${MODE:-answer}
case $MODE in
answer | failover) ;;
media)
	MEDIA_CALLS=${MEDIA_CALLS:-100,500,1000}
	[[ $MEDIA_CALLS =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "loadtest: MEDIA_CALLS must be counts separated by commas, got '$MEDIA_CALLS'" >&2; exit 2; }
	MEDIA_RELAY=${MEDIA_RELAY:-always}
	[[ $MEDIA_RELAY = always || $MEDIA_RELAY = auto ]] || { echo "loadtest: MEDIA_RELAY must be always or auto (the phone is not behind NAT: auto relays nothing)" >&2; exit 2; }
	CALLS=10 # the injection file only
	;;
concurrent)
	RATE=${RATE:-500}
	CALLS=${CALLS:-20000}
	CALL_MS=${CALL_MS:-60000}
	# Past sipgo's 32 s transaction timers and Go's 2 min forced GC, after
	# which the scavenger returns freed memory to the OS.
	AFTER_S=${AFTER_S:-180}
	;;
*)
	echo "loadtest: MODE must be answer, failover, concurrent or media, got '$MODE'" >&2
	exit 2
	;;
esac
RATE=${RATE:-50}
DURATION=${DURATION:-10}
require_positive loadtest RATE DURATION
CALLS=${CALLS:-$((RATE * DURATION))}
CALL_MS=${CALL_MS:-1000}
LIMIT=${LIMIT:-$CALLS}
AFTER_S=${AFTER_S:-10}
SIP_PORT=${SIP_PORT:-15060}
HTTP_PORT=${HTTP_PORT:-18080}
CARRIER_PORT=${CARRIER_PORT:-5071}
require_positive loadtest RATE CALLS CALL_MS LIMIT AFTER_S SIP_PORT HTTP_PORT CARRIER_PORT
command -v sipp >/dev/null || { echo "loadtest: sipp not found (Debian/Ubuntu: apt-get install sip-tester)" >&2; exit 2; }

if [[ -n ${WORKDIR:-} ]]; then
	mkdir -p "$WORKDIR"
	WORK=$(cd "$WORKDIR" && pwd)
	rm -rf "$WORK"/load.db* "$WORK"/calls.csv "$WORK"/stat.csv "$WORK"/rss.log "$WORK"/uac_call_* "$WORK"/*.out
	KEEP=1
else
	WORK=$(mktemp -d /tmp/sipswitch-loadtest.XXXXXX)
	KEEP=0
fi

PIDS=()
cleanup() {
	local rc=$?
	stop_pids
	if [[ $KEEP = 0 ]]; then rm -rf "$WORK"; else echo "loadtest: files kept in $WORK"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SC=$ROOT/testdata/sipp
# SIPp wants a descriptor per open call; raise the soft limit where allowed.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "== building"
if [[ -n ${SIPSWITCH_BIN:-} ]]; then
	cp "$SIPSWITCH_BIN" "$WORK/sipswitch"
else
	go build -o "$WORK/sipswitch" ./cmd/sipswitch
fi
go build -o "$WORK/gendb" ./cmd/gendb
echo "== generating database and injection file ($CALLS calls)"
# One called number for every call: the switch binds digest credentials to
# the Request-URI and SIPp computes them for one fixed uri (-auth_uri).
# Route lookups over the whole table are measured by the engine's
# benchmarks instead.
CALLED=${CALLED:-15000123456}
"$WORK/gendb" -db "$WORK/load.db" -csv "$WORK/calls.csv" -calls "$((CALLS + 10))" -called "$CALLED" -carrier-port "$CARRIER_PORT"

cat >"$WORK/sipswitch.yaml" <<EOF
database: $WORK/load.db
http: 127.0.0.1:$HTTP_PORT
sip: [udp://127.0.0.1:$SIP_PORT]
# SIPp answers only the first challenge, and only with MD5.
digest_algorithms: [MD5, SHA-256]
log:
  level: ${LOG_LEVEL:-warn}
  format: text
call_records: $([[ ${RECORDS:-1} = 1 ]] && echo true || echo false)
# As the shipped example (gc_percent 200 is the default).
runtime:
  memory_limit: "${MEMORY_LIMIT:-900MiB}"
$([[ $MODE = media ]] && printf 'media:\n  relay: %s\n  timeout: 120s\n' "$MEDIA_RELAY")
${SIPSWITCH_CONFIG_EXTRA:-}
EOF

# Carriers. SIPp answers on its own socket; -nostdin because it runs in the
# background, -trace_err for the post-mortem.
start_uas() { # name scenario ip port
	(cd "$WORK" && exec sipp -sf "$SC/$2" -i "$3" -p "$4" -nostdin -trace_err -buff_size 4194304 \
		-trace_stat -stf "$WORK/$1.stat.csv" -fd 1 >"$WORK/$1.out" 2>&1) &
	PIDS+=($!)
}
case $MODE in
answer | concurrent) start_uas carrier1 uas_answer.xml 127.0.0.2 "$CARRIER_PORT" ;;
failover) start_uas carrier1 uas_503.xml 127.0.0.2 "$CARRIER_PORT" ;;
media) ;; # relayload answers as carrier1
esac
start_uas carrier2 uas_answer.xml 127.0.0.3 "$((CARRIER_PORT + 1))"
start_uas carrier3 uas_busy.xml 127.0.0.4 "$((CARRIER_PORT + 2))"

echo "== starting sipswitch (udp://127.0.0.1:$SIP_PORT)"
if [[ -n ${SERVER_CMD:-} ]]; then
	cmd=${SERVER_CMD//\{DB\}/$WORK/load.db}
	cmd=${cmd//\{SIP\}/udp://127.0.0.1:$SIP_PORT}
	# shellcheck disable=SC2086
	$cmd 2>"$WORK/sipswitch.err" &
else
	SIPSWITCH_ADMIN_PASSWORD=loadtest-admin "$WORK/sipswitch" serve --config "$WORK/sipswitch.yaml" 2>"$WORK/sipswitch.err" &
fi
SWITCH=$!
PIDS+=("$SWITCH")
for i in $(seq 100); do
	# Listening, and by this switch (not another run's on the same port):
	# ss names the owner where it may (root).
	line=$(ss -Hlunp "sport = :$SIP_PORT" 2>/dev/null || true)
	[[ -n $line && ($line != *users:* || $line == *"pid=$SWITCH,"*) ]] && break
	kill -0 "$SWITCH" 2>/dev/null || { echo "loadtest: sipswitch exited:" >&2; cat "$WORK/sipswitch.err" >&2; exit 2; }
	[[ $i = 100 ]] && { echo "loadtest: sipswitch not listening on udp 127.0.0.1:$SIP_PORT after 10s" >&2; cat "$WORK/sipswitch.err" >&2; exit 2; }
	sleep 0.1
done

# Event stream readers (SSE_CLIENTS): each reads /api/events through the
# run; they end with the script. The run waits until each has its
# stream's first bytes: logging in is a bcrypt comparison each (tens of
# ms of CPU; 20 at once are 20 of them, the first not yet cached), which
# must not fall inside the CPU measured per call.
rm -f "$WORK"/sse.*
for i in $(seq "${SSE_CLIENTS:-0}"); do
	curl -sN -u admin:loadtest-admin "http://127.0.0.1:$HTTP_PORT/api/events" 2>/dev/null | { head -c 6 >"$WORK/sse.$i"; cat >/dev/null; } &
	PIDS+=($!)
done
if [[ ${SSE_CLIENTS:-0} -gt 0 ]]; then
	for t in $(seq 300); do
		n=$(find "$WORK" -maxdepth 1 -name 'sse.*' -size +0 | wc -l)
		[[ $n -ge $SSE_CLIENTS ]] && break
		[[ $t = 300 ]] && { echo "loadtest: $n of $SSE_CLIENTS event stream clients connected after 30s" >&2; exit 2; }
		sleep 0.1
	done
	echo "== $SSE_CLIENTS event stream clients connected"
fi

# CPU time sipswitch has used, in clock ticks (user + system, /proc/PID/stat
# fields 14 and 15, counted after the ")" that ends the command name).
cpu_ticks() { sed 's/.*) //' "/proc/$SWITCH/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0; }
# System (kernel) part of it: on loopback the sender's sendto also runs the
# receiver's side of the UDP stack, so this is mostly per-datagram cost.
sys_ticks() { sed 's/.*) //' "/proc/$SWITCH/stat" 2>/dev/null | awk '{ print $13 }' || echo 0; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$SWITCH/status" 2>/dev/null || echo 0; }
# Live Go heap (bytes in allocated objects, MiB) from serve's /metrics; "?"
# without it. Unlike RSS it drops as soon as a GC has run.
heap_mib() {
	{ curl -s --max-time 2 "http://127.0.0.1:$HTTP_PORT/metrics" 2>/dev/null || true; } |
		awk '$1 == "go_memstats_heap_alloc_bytes" { printf "%d", $2 / 1048576; f = 1 } END { if (!f) printf "?" }'
}

if [[ $MODE = media ]]; then
	go build -o "$WORK/relayload" ./cmd/relayload
	RSS_START=$(rss_kb)
	echo "== media: calls $MEDIA_CALLS through the relay (media.relay $MEDIA_RELAY), ${DURATION}s measured each"
	"$WORK/relayload" -sip "udp://127.0.0.1:$SIP_PORT" -carrier "127.0.0.2:$CARRIER_PORT" -phone 2000000 -password pw2000000 -called "$CALLED" \
		-switch-pid "$SWITCH" -metrics "http://127.0.0.1:$HTTP_PORT/metrics" -calls "$MEDIA_CALLS" -duration "${DURATION}s"
	echo "sipswitch RSS:         start $((RSS_START / 1024)) MiB, after the runs $(($(rss_kb) / 1024)) MiB"
	if [[ -s $WORK/sipswitch.err ]]; then
		echo "sipswitch warnings/errors: $(wc -l <"$WORK/sipswitch.err") lines, first:"
		head -5 "$WORK/sipswitch.err" | cut -c1-300
	fi
	echo "loadtest: OK"
	exit 0
fi

# One call before the run: proves the whole path (digest, route, carrier)
# and tells a setup problem from a load problem.
echo "== probe call"
if ! (cd "$WORK" && timeout 30 sipp 127.0.0.1:"$SIP_PORT" -sf "$SC/uac_call.xml" -inf "$WORK/calls.csv" -auth_uri "$CALLED@127.0.0.1:$SIP_PORT" \
	-i 127.0.0.1 -p 0 -m 1 -d 100 -recv_timeout 5000 -timeout 20s -timeout_error -nostdin -trace_err -trace_msg >"$WORK/probe.out" 2>&1); then
	echo "loadtest: the probe call failed; SIPp's errors:" >&2
	cat "$WORK"/uac_call_*_errors.log >&2 2>/dev/null || tail -20 "$WORK/probe.out" >&2
	if grep -qs 'must use MD5' "$WORK"/uac_call_*_errors.log; then
		echo "loadtest: SIPp only answers the first challenge and only with MD5: sipswitch must offer MD5 first" >&2
	fi
	exit 2
fi
rm -f "$WORK"/uac_call_*

# RSS sampler: every 0.5 s while sipswitch runs, bounded by the run time.
RUN_S=$((CALLS / RATE + CALL_MS / 1000 + AFTER_S + 120))
(for _ in $(seq $((RUN_S * 2))); do echo "$(date +%s.%N) $(rss_kb)"; sleep 0.5; done) >"$WORK/rss.log" &
SAMPLER=$!
PIDS+=("$SAMPLER")
RSS_START=$(rss_kb)
HEAP_START=$(heap_mib)
# Datagrams the kernel dropped for full receive buffers (all UDP sockets of
# the machine: sipswitch's and SIPp's); drops mean retransmissions.
udp_drops() { awk '/^Udp:/ { n++; if (n == 1) for (i = 1; i <= NF; i++) c[$i] = i; else print $c["RcvbufErrors"] }' /proc/net/snmp; }
DROPS_START=$(udp_drops)
CPU_START=$(cpu_ticks)
SYS_START=$(sys_ticks)
# Busy and total ticks of the whole machine (/proc/stat "cpu" line), to
# show what SIPp and the kernel took beside the switch.
read -r MBUSY_START MTOTAL_START < <(machine_ticks)

echo "== $MODE: $CALLS calls at $RATE cps, $CALL_MS ms each, at most $LIMIT at once"
TIMEOUT=$((CALLS / RATE + CALL_MS / 1000 + 60))
T0=$(date +%s.%N)
set +e
(cd "$WORK" && exec sipp 127.0.0.1:"$SIP_PORT" -sf "$SC/uac_call.xml" -inf "$WORK/calls.csv" -auth_uri "$CALLED@127.0.0.1:$SIP_PORT" -i 127.0.0.1 -p 0 \
	-r "$RATE" -m "$CALLS" -l "$LIMIT" -d "$CALL_MS" -recv_timeout 20000 -timeout "${TIMEOUT}s" -timeout_error \
	-buff_size 4194304 -nostdin -trace_err -trace_stat -stf "$WORK/stat.csv" -fd 1 -trace_rtt -rtt_freq 100 \
	-trace_screen >"$WORK/uac.out" 2>&1)
SIPP_RC=$?
set -e
T1=$(date +%s.%N)
DROPS=$(($(udp_drops) - DROPS_START))
CPU_TICKS=$(($(cpu_ticks) - CPU_START))
SYS_TICKS=$(($(sys_ticks) - SYS_START))
read -r MBUSY_END MTOTAL_END < <(machine_ticks)
RSS_END=$(rss_kb)
HEAP_END=$(heap_mib)
AFTER_LOG=""
for ((t = 0; t < AFTER_S; t += 30)); do
	step=$((AFTER_S - t < 30 ? AFTER_S - t : 30))
	sleep "$step"
	AFTER_LOG+=" +$((t + step))s: RSS $(($(rss_kb) / 1024)) MiB heap $(heap_mib) MiB;"
done
RSS_AFTER=$(rss_kb)
kill "$SAMPLER" 2>/dev/null || true

# Cumulative counters from the last line of SIPp's statistics file, by
# column name.
stat() { # column [file]
	sipp_stat "$1" "${2:-$WORK/stat.csv}"
}
CREATED=$(stat 'OutgoingCall(C)')
OK=$(stat 'SuccessfulCall(C)')
FAILED=$(stat 'FailedCall(C)')
# Generation time: until the last call was created (first stats row that
# shows every call created), 1 s resolution.
GEN_S=$(awk -F';' -v want="$CREATED" 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "OutgoingCall(C)") c = i; if ($i == "ElapsedTime(C)") e = i }; next }
	$c + 0 >= want + 0 && want > 0 { split($e, t, ":"); print t[1] * 3600 + t[2] * 60 + t[3]; exit }' "$WORK/stat.csv")
PEAK_CALLS=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "CurrentCall") c = i; next } $c + 0 > m { m = $c + 0 } END { print m + 0 }' "$WORK/stat.csv")
RSS_PEAK=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$WORK/rss.log")

echo
echo "== results ($MODE, RATE=$RATE CALLS=$CALLS CALL_MS=$CALL_MS)"
echo "sipp exit code:        $SIPP_RC"
echo "calls attempted:       $CREATED"
echo "calls successful:      $OK"
echo "calls failed:          $FAILED"
awk -v n="$CREATED" -v g="${GEN_S:-0}" -v t0="$T0" -v t1="$T1" -v rate="$RATE" 'BEGIN {
	if (g > 0) printf "achieved CPS:          %.0f (%d calls created in ~%d s; target %s)\n", n / g, n, g, rate
	printf "wall time of the run:  %.1f s\n", t1 - t0 }'
echo "peak concurrent calls: $PEAK_CALLS"
# The switch's own cost of a call, independent of what SIPp leaves it of
# the machine: below saturation this is what capacity planning divides by.
awk -v t="$CPU_TICKS" -v k="$SYS_TICKS" -v hz="$(getconf CLK_TCK)" -v n="$CREATED" -v t0="$T0" -v t1="$T1" 'BEGIN {
	s = t / hz
	if (n > 0) printf "sipswitch CPU:         %.1f s (%.2f cores over the run), %.0f us per call (%.0f us of it in the kernel)\n", s, s / (t1 - t0), s / n * 1e6, k / hz / n * 1e6 }'
awk -v b="$((MBUSY_END - MBUSY_START))" -v t="$((MTOTAL_END - MTOTAL_START))" -v own="$CPU_TICKS" -v cores="$(nproc)" 'BEGIN {
	if (t > 0) printf "machine CPU:           %.0f%% busy of %d cores; SIPp and the kernel beside the switch: %.2f cores\n", 100 * b / t, cores, (b - own) / t * cores }'
echo "UDP receive-buffer drops (whole machine): $DROPS"
# The carriers' own counts (calls in the probe included) show where calls went.
sleep 1.2
for c in carrier1 carrier2 carrier3; do
	[[ -s $WORK/$c.stat.csv ]] && printf '%s INVITEs received:  %s\n' "$c" "$(stat 'IncomingCall(C)' "$WORK/$c.stat.csv")"
done
# Response time 1: authenticated INVITE sent -> 200 OK received; 2: BYE -> 200.
rtt_report "$WORK"/uac_call_*_rtt.csv
# The switch's own view (sipswitch_sip_delay_seconds): a datagram's time in
# the read loop, INVITE handler to B-leg INVITE, callee's 2xx to the
# caller's; quantiles as the histogram bucket that holds them (upper bound).
{ curl -s --max-time 2 "http://127.0.0.1:$HTTP_PORT/metrics" 2>/dev/null || true; } |
	awk -F'[{}" ]+' '$1 == "sipswitch_sip_delay_seconds_bucket" {
		stage = $3; le = $5; n = $NF
		if (!(stage in first)) { first[stage] = 1; order[++k] = stage }
		b[stage, ++m[stage]] = le; c[stage, m[stage]] = n
	} END {
		for (i = 1; i <= k; i++) {
			s = order[i]; total = c[s, m[s]]
			if (total == 0) continue
			line = ""
			split(".5 .99", qs, " ")
			for (j = 1; j <= 2; j++) {
				for (x = 1; x <= m[s]; x++) if (c[s, x] >= qs[j] * total) break
				le = b[s, x]; v = (le == "+Inf") ? "inf" : sprintf("%.2f", le * 1000)
				line = line sprintf("  p%s <=%s", (j == 1 ? "50" : "99"), v)
			}
			printf "switch delay %-7s ms:%s  (n=%d)\n", s, line, total
		}
	}'
# What the observers got (loadtest-observe.sh): HEP copies sent, dropped
# and failed; events stream clients lost.
{ curl -s --max-time 2 "http://127.0.0.1:$HTTP_PORT/metrics" 2>/dev/null || true; } |
	awk -F'[{}" ]+' '$1 == "sipswitch_capture_packets_total" && $NF > 0 { c = c sprintf(" %s %d", $3, $NF) }
		$1 == "sipswitch_live_events_lost_total" && $NF > 0 { l = sprintf("live events lost by stream clients: %d", $NF) }
		END { if (c != "") print "HEP capture packets:  " c; if (l != "") print l }'
# The UDP read loops' batches (readconn.go): datagrams a recvmmsg got;
# Go's processors as runtime.procs left them (internal/procs).
{ curl -s --max-time 2 "http://127.0.0.1:$HTTP_PORT/metrics" 2>/dev/null || true; } |
	awk '$1 == "sipswitch_sip_read_loop_reads_total" { r += $2 } $1 == "sipswitch_sip_read_loop_datagrams_total" { d += $2 }
		$1 == "sipswitch_runtime_procs" { p = $2 } $1 == "sipswitch_runtime_procs_changes_total" { pc = $2 }
		END { if (r > 0) printf "read loop:             %d datagrams in %d reads (%.2f a read)\n", d, r, d / r
			if (p != "") printf "Go processors:         %d at the end, %d changes (runtime.procs)\n", p, pc }'
# New INVITEs the switch refused 503 to stay within calls.overload_delay
# (overload shedding); SIPp counts them among the failed calls.
SHED=$({ curl -s --max-time 2 "http://127.0.0.1:$HTTP_PORT/metrics" 2>/dev/null || true; } |
	awk '$1 == "sipswitch_sip_shed_overload_total" { n += $2 } END { printf "%d", n }')
echo "refused 503 (shed):    $SHED"
echo "sipswitch RSS:         start $((RSS_START / 1024)) MiB, peak $((RSS_PEAK / 1024)) MiB, at end of calls $((RSS_END / 1024)) MiB, ${AFTER_S}s after $((RSS_AFTER / 1024)) MiB"
echo "sipswitch Go heap:     start $HEAP_START MiB, at end of calls $HEAP_END MiB"
echo "after the calls:      $AFTER_LOG"
if [[ -s $WORK/sipswitch.err ]]; then
	echo "sipswitch warnings/errors: $(wc -l <"$WORK/sipswitch.err") lines, first:"
	head -5 "$WORK/sipswitch.err" | cut -c1-300
fi
if [[ $SIPP_RC -ne 0 || $FAILED -ne 0 || $OK -ne $CALLS ]]; then
	echo "loadtest: FAILED ($FAILED failed, $OK of $CALLS successful, sipp exit $SIPP_RC)"
	ls "$WORK"/uac_call_*_errors.log >/dev/null 2>&1 && head -c 2000 "$WORK"/uac_call_*_errors.log
	exit 1
fi
# Call records: a SIGTERM drain writes them all; every call of the run
# (and the probe call) must have exactly one.
if [[ ${RECORDS:-1} = 1 && -z ${SERVER_CMD:-} ]]; then
	kill -TERM "$SWITCH"
	for _ in $(seq 300); do kill -0 "$SWITCH" 2>/dev/null || break; sleep 0.1; done
	"$WORK/sipswitch" calls export --db "$WORK/load.db" 2>/dev/null >"$WORK/calls.csv.out"
	RECORDS_N=$(($(wc -l <"$WORK/calls.csv.out") - 1))
	RECORDS_UNIQ=$(tail -n +2 "$WORK/calls.csv.out" | cut -d, -f2 | sort -u | wc -l)
	echo "call records:          $RECORDS_N for $((CREATED + 1)) calls (the probe included), $RECORDS_UNIQ distinct call ids"
	if [[ $RECORDS_N -ne $((CREATED + 1)) || $RECORDS_UNIQ -ne $RECORDS_N ]]; then
		echo "loadtest: FAILED (call records do not match the calls one to one)"
		exit 1
	fi
fi
echo "loadtest: OK"
