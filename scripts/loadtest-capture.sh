#!/usr/bin/env bash
# The cost of HEP capture (capture.address) on the SIPp load test: capture
# off and on, interleaved (scripts/loadtest-ab.sh), with every SIP message
# copied to a HEP listener on 127.0.0.1:CAPTURE_PORT [9060] that reads and
# discards (python3; a capture server that answers nothing, as Homer). The
# figure is the sipswitch CPU per call of each; capture's own sending is in
# it. Variables: CAPTURE_PORT, and those of loadtest-ab.sh and loadtest.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
CAPTURE_PORT=${CAPTURE_PORT:-9060}
command -v python3 >/dev/null || { echo "loadtest-capture: needs python3 for the HEP listener" >&2; exit 2; }
python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(('127.0.0.1', $CAPTURE_PORT))
while True:
    s.recv(65536)
" &
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT
A_NAME=off A_EXTRA="" B_NAME=capture B_EXTRA=$'capture:\n  address: 127.0.0.1:'"$CAPTURE_PORT" scripts/loadtest-ab.sh
