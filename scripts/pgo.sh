#!/usr/bin/env bash
# Refreshes cmd/sipswitch/default.pgo, the CPU profile the Go compiler
# optimises the daemon with (profile-guided optimisation; `go build` picks
# up default.pgo beside main by itself): runs `make loadtest` in answer
# mode on a build made without the current profile, takes PROFILE_S
# seconds of CPU profile from the middle of the run, and writes it.
#
#   scripts/pgo.sh            (RATE, DURATION, PROFILE_S, HTTP_PORT)
#
# Keep it current after changes to the call path: a stale profile still
# helps, but less (`make pgo` runs this).
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-1200}
DURATION=${DURATION:-40}
PROFILE_S=${PROFILE_S:-20}
HTTP_PORT=${HTTP_PORT:-18080}
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
(
	sleep $((DURATION / 4))
	curl -sf --max-time $((PROFILE_S + 10)) -o "$raw" "http://127.0.0.1:$HTTP_PORT/debug/pprof/profile?seconds=$PROFILE_S"
) &
grab=$!
# The profile is what this run is for: calls failing on a loaded machine
# do not spoil it.
GOFLAGS=-pgo=off SIPSWITCH_CONFIG_EXTRA="pprof: true" MODE=answer RATE=$RATE DURATION=$DURATION HTTP_PORT=$HTTP_PORT scripts/loadtest.sh >&2 ||
	echo "pgo: the load test reported failures; the profile is kept" >&2
wait $grab || { echo "pgo: no profile taken" >&2; exit 1; }
[[ -s $raw ]] || { echo "pgo: empty profile" >&2; exit 1; }
install -m 0644 "$raw" cmd/sipswitch/default.pgo
echo "pgo: cmd/sipswitch/default.pgo written ($(wc -c <cmd/sipswitch/default.pgo) bytes)"
