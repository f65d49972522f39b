#!/usr/bin/env bash
# What shared limits cost a call, for two builds side by side:
# scripts/loadtest-cluster.sh run ROUNDS times for each of four
# configurations, interleaved (A local, A shared, B local, B shared, then
# again) so the machine's drift falls on all of them: builds A and B, each
# with the limits in memory (SHARED=0) and in Redis (SHARED=1), on one host
# on PostgreSQL by default. Prints a table of the switch's CPU per call
# and PostgreSQL's and Redis's, the means, and for each build its shared
# run's CPU per call over its local run's. Exits 1 when any run had a
# failed call.
#
# Variables: A_NAME, B_NAME (labels) [a, b], A_BIN, B_BIN (sipswitch
# binaries; default: this tree's), ROUNDS [3], and those of
# loadtest-cluster.sh, with HOSTS [1], RATE [300], DURATION [20].
#
#	A_NAME=before A_BIN=/tmp/sipswitch-main B_NAME=after scripts/loadtest-cluster-ab.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "loadtest-cluster-ab: ROUNDS must be a positive integer, got '$ROUNDS'" >&2; exit 2; }
A_NAME=${A_NAME:-a} B_NAME=${B_NAME:-b}
export HOSTS=${HOSTS:-1} RATE=${RATE:-300} DURATION=${DURATION:-20}
OUT=$(mktemp -d /tmp/sipswitch-cluster-ab.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
# One build of this tree for whichever side names no binary, so both
# sides' runs start the same binary.
if [[ -z ${A_BIN:-} || -z ${B_BIN:-} ]]; then
	go build -o "$OUT/sipswitch" ./cmd/sipswitch
fi
A_BIN=${A_BIN:-$OUT/sipswitch} B_BIN=${B_BIN:-$OUT/sipswitch}
rc=0
for r in $(seq 1 "$ROUNDS"); do
	for side in A B; do
		name=$A_NAME bin=$A_BIN
		[[ $side = B ]] && name=$B_NAME bin=$B_BIN
		for shared in 0 1; do
			label=$name-local
			[[ $shared = 1 ]] && label=$name-shared
			echo "== round $r, $label" >&2
			if ! SHARED=$shared SIPSWITCH_BIN="$bin" scripts/loadtest-cluster.sh >"$OUT/$r-$label.out" 2>&1; then
				rc=1
			fi
			grep -E "^(host1|PostgreSQL and Redis CPU):" "$OUT/$r-$label.out" >&2 || tail -20 "$OUT/$r-$label.out" >&2
		done
	done
done
echo
printf '%-6s %-16s %8s %14s %18s\n' round setting failed "cpu us/call" "pg+redis us/call"
for f in "$OUT"/*.out; do
	b=$(basename "$f" .out)
	failed=$(sed -n 's/^host1: .* \([0-9]*\) failed,.*/\1/p' "$f")
	us=$(sed -n 's/^host1:.* = \([0-9]*\) us per call.*/\1/p' "$f")
	srv=$(sed -n 's/^PostgreSQL and Redis CPU:.* = \([0-9]*\) us per call.*/\1/p' "$f")
	printf '%-6s %-16s %8s %14s %18s\n' "${b%%-*}" "${b#*-}" "${failed:-?}" "${us:-?}" "${srv:-?}"
done | sort -k1,1n -k2,2 | tee "$OUT/table"
awk '{ n[$2]++; us[$2] += $4; srv[$2] += $5 } END {
	for (k in n) { m[k] = us[k] / n[k]; printf "mean   %-16s %8s %14.0f %18.0f\n", k, "", m[k], srv[k] / n[k] }
	for (k in n) if (k ~ /-shared$/) { l = k; sub(/-shared$/, "-local", l); if (l in m) printf "%s: shared over local %+.1f%%\n", substr(k, 1, length(k) - 7), (m[k] / m[l] - 1) * 100 }
}' "$OUT/table"
exit $rc
