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
# SIPSWITCH_BIN; default: this tree's), ROUNDS [2], and
# those of scripts/loadtest.sh (MODE, RATE, DURATION, ...), AFTER_S
# defaulting to 2. Used by loadtest-flood.sh and loadtest-capture.sh.
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
		extra=${A_EXTRA:-} bin=${A_BIN:-}
		[[ $setting = "$B_NAME" ]] && extra=${B_EXTRA:-} bin=${B_BIN:-}
		echo "== round $r, $setting" >&2
		if ! WORKDIR="$OUT/$r-$setting.d" SIPSWITCH_CONFIG_EXTRA="$extra" SIPSWITCH_BIN="$bin" scripts/loadtest.sh >"$OUT/$r-$setting.out" 2>&1; then
			rc=1
		fi
		grep -E "^(calls (attempted|successful|failed)|achieved CPS|sipswitch CPU):" "$OUT/$r-$setting.out" >&2 || tail -20 "$OUT/$r-$setting.out" >&2
	done
done
echo
printf '%-6s %-10s %8s %8s %14s %12s\n' round setting cps failed "cpu us/call" "flood blocks"
for f in "$OUT"/*.out; do
	b=$(basename "$f" .out)
	cps=$(sed -n 's/^achieved CPS: *\([0-9.]*\).*/\1/p' "$f")
	failed=$(sed -n 's/^calls failed: *\([0-9]*\).*/\1/p' "$f")
	us=$(sed -n 's/^sipswitch CPU:.* \([0-9]*\) us per call.*/\1/p' "$f")
	blocks=$(grep -c "over the flood limit" "$OUT/$b.d/sipswitch.err" 2>/dev/null || true)
	printf '%-6s %-10s %8s %8s %14s %12s\n' "${b%%-*}" "${b#*-}" "${cps:-?}" "${failed:-?}" "${us:-?}" "${blocks:-0}"
done | tee "$OUT/table"
awk '{ n[$2]++; cps[$2] += $3; us[$2] += $5 } END { for (k in n) printf "mean   %-10s %8.1f %8s %14.0f\n", k, cps[k] / n[k], "", us[k] / n[k] }' "$OUT/table"
exit $rc
