#!/usr/bin/env bash
# What shared limits cost a call, for two builds side by side: each round
# runs scripts/loadtest-cluster.sh with four hosts on one PostgreSQL store
# under the same SIPp load at the same time, build A and build B each with
# the limits in memory and in Redis (HOST_BINS, HOST_SHARED), so the
# machine's load at the time falls on all four alike; the hosts' places
# rotate from round to round. Prints each host's CPU per call, and per
# round and as the median over the rounds each build's shared run over
# its local one. Exits 1 when any run had a failed call.
#
# Variables: A_NAME, B_NAME (labels) [a, b], A_BIN, B_BIN (sipswitch
# binaries; default: this tree's), ROUNDS [5], and those of
# loadtest-cluster.sh, with RATE per host [100] and DURATION [30].
#
#	A_NAME=before A_BIN=/tmp/sipswitch-main B_NAME=after scripts/loadtest-cluster-ab.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "loadtest-cluster-ab: ROUNDS must be a positive integer, got '$ROUNDS'" >&2; exit 2; }
A_NAME=${A_NAME:-a} B_NAME=${B_NAME:-b}
export RATE=${RATE:-100} DURATION=${DURATION:-30}
OUT=$(mktemp -d /tmp/sipswitch-cluster-ab.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
# One build of this tree for whichever side names no binary.
if [[ -z ${A_BIN:-} || -z ${B_BIN:-} ]]; then
	go build -o "$OUT/sipswitch" ./cmd/sipswitch
fi
A_BIN=${A_BIN:-$OUT/sipswitch} B_BIN=${B_BIN:-$OUT/sipswitch}
labels=("$A_NAME-local" "$A_NAME-shared" "$B_NAME-local" "$B_NAME-shared")
bins=("$A_BIN" "$A_BIN" "$B_BIN" "$B_BIN")
shared=(0 1 0 1)
rc=0
: >"$OUT/table"
for r in $(seq 1 "$ROUNDS"); do
	order=() hb=() hs=()
	for i in 0 1 2 3; do
		k=$(((i + r - 1) % 4))
		order+=("${labels[$k]}") hb+=("${bins[$k]}") hs+=("${shared[$k]}")
	done
	echo "== round $r: hosts 1-4 are ${order[*]}" >&2
	if ! HOSTS=4 HOST_BINS="${hb[*]}" HOST_SHARED="${hs[*]}" scripts/loadtest-cluster.sh >"$OUT/$r.out" 2>&1; then
		rc=1
	fi
	for i in 0 1 2 3; do
		line=$(grep "^host$((i + 1)):" "$OUT/$r.out" || true)
		[[ -n $line ]] || { tail -20 "$OUT/$r.out" >&2; continue; }
		echo "$line" >&2
		failed=$(sed -n 's/^host[0-9]*: .* \([0-9]*\) failed,.*/\1/p' <<<"$line")
		us=$(sed -n 's/^host[0-9]*:.* = \([0-9]*\) us per call.*/\1/p' <<<"$line")
		printf '%-6s %-16s %6s %8s %12s\n' "$r" "${order[$i]}" "host$((i + 1))" "$failed" "$us" >>"$OUT/table"
	done
	grep "^PostgreSQL and Redis CPU:" "$OUT/$r.out" >&2 || true
done
echo
printf '%-6s %-16s %6s %8s %12s\n' round setting host failed "cpu us/call"
sort -k1,1n -k2,2 "$OUT/table"
awk -v a="$A_NAME" -v b="$B_NAME" '
	{ us[$1, $2] = $5; rounds[$1] = 1 }
	function median(v, n,   i, j, t) {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
		return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	END {
		split(a " " b, names, " ")
		for (k = 1; k <= 2; k++) {
			name = names[k]; n = 0; line = ""
			for (r in rounds) if (us[r, name "-local"] > 0 && us[r, name "-shared"] > 0) {
				v[++n] = (us[r, name "-shared"] / us[r, name "-local"] - 1) * 100
				line = line sprintf(" %+.1f%%", v[n])
			}
			if (n) printf "%s: shared over local, per round:%s; median %+.1f%%\n", name, line, median(v, n)
			n = 0
			for (r in rounds) if (us[r, name "-shared"] > 0) { w[++n] = us[r, name "-shared"] }
			if (n) printf "%s-shared: median %.0f us per call\n", name, median(w, n)
			n = 0
			for (r in rounds) if (us[r, name "-local"] > 0) { w[++n] = us[r, name "-local"] }
			if (n) printf "%s-local: median %.0f us per call\n", name, median(w, n)
		}
	}' "$OUT/table"
exit $rc
