#!/usr/bin/env bash
# The cost of HEP capture (capture.address) on the SIPp load test: capture
# off and on, interleaved; scripts/loadtest-observe.sh with OBSERVE=capture
# (its variables apply).
set -euo pipefail
cd "$(dirname "$0")/.."
OBSERVE=capture exec scripts/loadtest-observe.sh
