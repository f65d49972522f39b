#!/usr/bin/env bash
# The cost of the default flood limit (calls.flood_limit) on the SIPp load
# test: scripts/loadtest.sh run ROUNDS times with the limit off
# (flood_limit: 0) and with the default, interleaved (off, on, off, on...)
# so the machine's drift falls on both, then a table of achieved CPS, failed
# calls and sipswitch CPU per call for each run, and the mean of each
# setting. SIPp's phone sends from one address, 127.0.0.1: the first
# authenticated INVITE makes its source trusted, so with the limit on no
# call may fail, and no source is blocked (the flood blocks column counts
# the switch's "over the flood limit" WARN lines). Exits 1 when any run had
# a failed call.
#
# Variables: ROUNDS [2], and those of scripts/loadtest.sh (MODE, RATE,
# DURATION, SIP_PORT, HTTP_PORT, CARRIER_PORT...), AFTER_S defaulting to 2.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-2}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "loadtest-flood: ROUNDS must be a positive integer, got '$ROUNDS'" >&2; exit 2; }
export AFTER_S=${AFTER_S:-2}
OUT=$(mktemp -d /tmp/sipswitch-loadtest-flood.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
rc=0
for r in $(seq 1 "$ROUNDS"); do
	for setting in off default; do
		extra=""
		[[ $setting = off ]] && extra=$'calls:\n  flood_limit: 0'
		echo "== round $r, flood limit $setting" >&2
		if ! WORKDIR="$OUT/$r-$setting.d" SIPSWITCH_CONFIG_EXTRA="$extra" scripts/loadtest.sh >"$OUT/$r-$setting.out" 2>&1; then
			rc=1
		fi
		grep -E "^(calls (attempted|successful|failed)|achieved CPS|sipswitch CPU):" "$OUT/$r-$setting.out" >&2 || tail -20 "$OUT/$r-$setting.out" >&2
	done
done
echo
printf '%-6s %-8s %8s %8s %14s %12s\n' round limit cps failed "cpu us/call" "flood blocks"
for f in "$OUT"/*.out; do
	b=$(basename "$f" .out)
	cps=$(sed -n 's/^achieved CPS: *\([0-9.]*\).*/\1/p' "$f")
	failed=$(sed -n 's/^calls failed: *\([0-9]*\).*/\1/p' "$f")
	us=$(sed -n 's/^sipswitch CPU:.* \([0-9]*\) us per call.*/\1/p' "$f")
	# Each block is one WARN line of the switch (a block of SIPp's own
	# address would be a fault of the limit).
	blocks=$(grep -c "over the flood limit" "$OUT/$b.d/sipswitch.err" 2>/dev/null || true)
	printf '%-6s %-8s %8s %8s %14s %12s\n' "${b%%-*}" "${b#*-}" "${cps:-?}" "${failed:-?}" "${us:-?}" "${blocks:-0}"
done | tee "$OUT/table"
awk '{ n[$2]++; cps[$2] += $3; us[$2] += $5 } END { for (k in n) printf "mean   %-8s %8.1f %8s %14.0f\n", k, cps[k] / n[k], "", us[k] / n[k] }' "$OUT/table"
exit $rc
