#!/usr/bin/env bash
# Two configurations of the switch side by side on the SIPp load test:
# scripts/loadtest.sh run ROUNDS times with configuration A and with B,
# interleaved (A, B, A, B...) so the machine's drift falls on both, then a
# table of achieved CPS, failed calls, sipswitch CPU per call and flood
# blocks (the switch's "over the flood limit" WARN lines) for each run, and
# the mean of each. Exits 1 when any run had a failed call.
#
# Variables: A_NAME, B_NAME (labels), A_EXTRA, B_EXTRA (YAML lines added to
# the generated configuration, as SIPSWITCH_CONFIG_EXTRA), A_BIN, B_BIN
# (sipswitch binaries to compare, e.g. two commits' builds, as
# SIPSWITCH_BIN; default: this tree's), A_SSE_CLIENTS, B_SSE_CLIENTS
# (event stream clients kept reading through each run, as SSE_CLIENTS;
# default SSE_CLIENTS or 0), ROUNDS [2], and
# those of scripts/loadtest.sh (MODE, RATE, DURATION, ...), AFTER_S
# defaulting to 2. Used by loadtest-flood.sh, loadtest-capture.sh and
# loadtest-observe.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-2}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "loadtest-ab: ROUNDS must be a positive integer, got '$ROUNDS'" >&2; exit 2; }
A_NAME=${A_NAME:-a} B_NAME=${B_NAME:-b}
export AFTER_S=${AFTER_S:-2}
OUT=$(mktemp -d /tmp/sipswitch-loadtest-ab.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
rc=0
for r in $(seq 1 "$ROUNDS"); do
	for setting in "$A_NAME" "$B_NAME"; do
		extra=${A_EXTRA:-} bin=${A_BIN:-} sse=${A_SSE_CLIENTS:-${SSE_CLIENTS:-0}}
		[[ $setting = "$B_NAME" ]] && extra=${B_EXTRA:-} bin=${B_BIN:-} sse=${B_SSE_CLIENTS:-${SSE_CLIENTS:-0}}
		echo "== round $r, $setting" >&2
		if ! WORKDIR="$OUT/$r-$setting.d" SIPSWITCH_CONFIG_EXTRA="$extra" SIPSWITCH_BIN="$bin" SSE_CLIENTS="$sse" scripts/loadtest.sh >"$OUT/$r-$setting.out" 2>&1; then
			rc=1
		fi
		grep -E "^(calls (attempted|successful|failed)|achieved CPS|sipswitch CPU):" "$OUT/$r-$setting.out" >&2 || tail -20 "$OUT/$r-$setting.out" >&2
	done
done
echo
printf '%-6s %-10s %8s %8s %14s %14s %12s\n' round setting cps failed "cpu us/call" "kernel us/call" "flood blocks"
for f in "$OUT"/*.out; do
	b=$(basename "$f" .out)
	cps=$(sed -n 's/^achieved CPS: *\([0-9.]*\).*/\1/p' "$f")
	failed=$(sed -n 's/^calls failed: *\([0-9]*\).*/\1/p' "$f")
	us=$(sed -n 's/^sipswitch CPU:.* \([0-9]*\) us per call.*/\1/p' "$f")
	sys=$(sed -n 's/^sipswitch CPU:.*(\([0-9]*\) us of it in the kernel).*/\1/p' "$f")
	blocks=$(grep -c "over the flood limit" "$OUT/$b.d/sipswitch.err" 2>/dev/null || true)
	printf '%-6s %-10s %8s %8s %14s %14s %12s\n' "${b%%-*}" "${b#*-}" "${cps:-?}" "${failed:-?}" "${us:-?}" "${sys:-?}" "${blocks:-0}"
done | tee "$OUT/table"
awk -v a="$A_NAME" -v b="$B_NAME" '$5 != "?" { n[$2]++; cps[$2] += $3; us[$2] += $5; sys[$2] += $6 } END {
	for (k in n) printf "mean   %-10s %8.1f %8s %14.0f %14.0f\n", k, cps[k] / n[k], "", us[k] / n[k], sys[k] / n[k]
	if (n[a] && n[b] && us[a] > 0) printf "%s vs %s: CPU per call %+.1f%%, kernel part %+.0f us\n", b, a, 100 * (us[b] / n[b] / (us[a] / n[a]) - 1), sys[b] / n[b] - sys[a] / n[a]
}' "$OUT/table"
exit $rc
