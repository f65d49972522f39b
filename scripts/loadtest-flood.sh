#!/usr/bin/env bash
# The cost of the default flood limit (calls.flood_limit) on the SIPp load
# test: the limit off (flood_limit: 0) and the default, interleaved
# (scripts/loadtest-ab.sh). SIPp's phone sends from one address,
# 127.0.0.1: the first authenticated INVITE makes its source trusted, so
# with the limit on no call may fail and no source is blocked (the flood
# blocks column). Variables: those of loadtest-ab.sh and loadtest.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
A_NAME=off A_EXTRA=$'calls:\n  flood_limit: 0' B_NAME=default B_EXTRA="" exec scripts/loadtest-ab.sh
