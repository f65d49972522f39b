#!/usr/bin/env bash
# How much of its capacity the switch keeps answering at twice its
# capacity (issue 30: >= 90%), with overload shedding on (the default
# calls.overload_delay) and off (0s), interleaved.
#
# 1. Capacity: scripts/loadtest.sh MODE=answer at each rate of LADDER for
#    STEP_S seconds, shedding on; the capacity C is the answered calls per
#    second of the highest rate whose every call was answered (a ladder
#    stops at the first rate that failed a call). CAPACITY=N skips this.
# 2. Overload: RATE=2*C for DURATION seconds, ROUNDS times, shedding on
#    and off in turn (scripts/loadtest-ab.sh); for each run the calls
#    answered per second of generation, the share of C that is, the calls
#    refused 503 (shed) and the calls that failed otherwise (timeouts: the
#    retransmission storm shedding exists to prevent).
#
# The SIPp phone and carriers share the machine with the switch: at 2*C
# SIPp alone takes much of a core, so C is the machine's capacity with its
# load generator, not the switch's alone, and the same C is used for both
# settings. Variables: LADDER [1200,1600,2000,2400,2800,3200], STEP_S [10],
# CAPACITY, DURATION [20], ROUNDS [2], and those of loadtest.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
LADDER=${LADDER:-1200,1600,2000,2400,2800,3200}
STEP_S=${STEP_S:-10}
DURATION=${DURATION:-20}
ROUNDS=${ROUNDS:-2}
[[ $LADDER =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "loadtest-overload: LADDER must be rates separated by commas, got '$LADDER'" >&2; exit 2; }
for v in STEP_S DURATION ROUNDS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "loadtest-overload: $v must be a positive integer, got '${!v}'" >&2; exit 2; }
done
OUT=$(mktemp -d /tmp/sipswitch-overload.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

stat() { sed -n "s/^$1: *\([0-9.]*\).*/\1/p" "$2"; }

if [[ -z ${CAPACITY:-} ]]; then
	CAPACITY=0
	IFS=, read -ra rates <<<"$LADDER"
	for r in "${rates[@]}"; do
		echo "== capacity: $r cps for $STEP_S s" >&2
		MODE=answer RATE=$r DURATION=$STEP_S AFTER_S=2 scripts/loadtest.sh >"$OUT/cap-$r.out" 2>&1 || true
		ok=$(stat "calls successful" "$OUT/cap-$r.out")
		failed=$(stat "calls failed" "$OUT/cap-$r.out")
		echo "   $r cps: ${ok:-?} answered, ${failed:-?} failed" >&2
		[[ ${failed:-1} = 0 && -n $ok ]] || break
		CAPACITY=$((ok / STEP_S))
	done
	[[ $CAPACITY -gt 0 ]] || { echo "loadtest-overload: no rate of LADDER answered every call" >&2; exit 1; }
fi
[[ $CAPACITY =~ ^[1-9][0-9]*$ ]] || { echo "loadtest-overload: CAPACITY must be a positive integer, got '$CAPACITY'" >&2; exit 2; }
RATE=$((2 * CAPACITY))
echo "== capacity $CAPACITY cps; overload at $RATE cps for $DURATION s, $ROUNDS rounds" >&2

printf '%-6s %-9s %9s %10s %10s %9s %9s\n' round shedding offered answered/s "of cap." "503" "failed"
for r in $(seq 1 "$ROUNDS"); do
	for setting in on off; do
		extra=""
		[[ $setting = off ]] && extra=$'calls:\n  overload_delay: 0s'
		f="$OUT/$r-$setting.out"
		MODE=answer RATE=$RATE DURATION=$DURATION AFTER_S=2 SIPSWITCH_CONFIG_EXTRA="$extra" scripts/loadtest.sh >"$f" 2>&1 || true
		ok=$(stat "calls successful" "$f")
		failed=$(stat "calls failed" "$f")
		refused=$(sed -n 's/^refused 503 (shed): *\([0-9]*\).*/\1/p' "$f")
		awk -v r="$r" -v s="$setting" -v rate="$RATE" -v ok="${ok:-0}" -v d="$DURATION" -v c="$CAPACITY" -v f="${failed:-?}" -v x="${refused:-?}" \
			'BEGIN { printf "%-6s %-9s %9d %10.0f %9.0f%% %9s %9s\n", r, s, rate, ok / d, 100 * ok / d / c, x, f }'
	done
done
