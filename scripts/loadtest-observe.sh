#!/usr/bin/env bash
# The cost of watching the switch on the SIPp load test (issue 30): live
# views (CLIENTS event stream clients on /api/events, logged in as the
# admin, curl reading and discarding) and HEP capture (capture.address, every
# SIP message copied over CAPTURE_TRANSPORT to a listener on
# 127.0.0.1:CAPTURE_PORT that reads and discards, python3: a capture server
# that answers nothing, as Homer),
# against neither, interleaved (scripts/loadtest-ab.sh). The figure is the
# sipswitch CPU per call of each (the kernel's part beside it); the
# observers' own processes are not in it.
#
# Variables:
#   OBSERVE       what B adds to A: both, sse or capture        [both]
#   CLIENTS       event stream clients for sse and both          [20]
#   CAPTURE_PORT  the HEP listener's port                        [9060]
#   CAPTURE_TRANSPORT  udp or tcp                                 [udp]
#   A_OBSERVE     1: A is observed as B is (for two builds under
#                 observation: A_BIN and B_BIN)                   [0]
# and those of loadtest-ab.sh (ROUNDS, A_BIN, B_BIN) and loadtest.sh
# (RATE, DURATION, ...). E.g. issue 30's figure at 1,000 calls/s:
#   RATE=1000 DURATION=10 ROUNDS=3 scripts/loadtest-observe.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OBSERVE=${OBSERVE:-both}
CLIENTS=${CLIENTS:-20}
CAPTURE_PORT=${CAPTURE_PORT:-9060}
CAPTURE_TRANSPORT=${CAPTURE_TRANSPORT:-udp}
[[ $CAPTURE_TRANSPORT = udp || $CAPTURE_TRANSPORT = tcp ]] || { echo "loadtest-observe: CAPTURE_TRANSPORT must be udp or tcp, got '$CAPTURE_TRANSPORT'" >&2; exit 2; }
[[ $CLIENTS =~ ^[0-9]+$ ]] || { echo "loadtest-observe: CLIENTS must be a count, got '$CLIENTS'" >&2; exit 2; }
# UDP as host:port, which builds before tcp:// existed read too (A_BIN).
capture=$'capture:\n  address: 127.0.0.1:'"$CAPTURE_PORT"
[[ $CAPTURE_TRANSPORT = tcp ]] && capture=$'capture:\n  address: tcp://127.0.0.1:'"$CAPTURE_PORT"
case $OBSERVE in
both) B_EXTRA=$capture B_SSE_CLIENTS=$CLIENTS ;;
sse) B_EXTRA="" B_SSE_CLIENTS=$CLIENTS ;;
capture) B_EXTRA=$capture B_SSE_CLIENTS=0 ;;
*)
	echo "loadtest-observe: OBSERVE must be both, sse or capture, got '$OBSERVE'" >&2
	exit 2
	;;
esac
A_NAME=off A_EXTRA="" A_SSE_CLIENTS=0
if [[ ${A_OBSERVE:-0} = 1 ]]; then
	A_NAME=a-$OBSERVE A_EXTRA=$B_EXTRA A_SSE_CLIENTS=$B_SSE_CLIENTS
	B_NAME=b-$OBSERVE
else
	B_NAME=$OBSERVE
fi
if [[ $CAPTURE_TRANSPORT = tcp && $OBSERVE != sse ]]; then
	A_NAME=${A_NAME/%-$OBSERVE/-$OBSERVE-tcp} B_NAME=$B_NAME-tcp
fi
if [[ $B_EXTRA = "$capture" ]]; then
	command -v python3 >/dev/null || { echo "loadtest-observe: needs python3 for the HEP listener" >&2; exit 2; }
	python3 -c "
import socket, sys, threading
if sys.argv[1] == 'udp':
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(('127.0.0.1', $CAPTURE_PORT))
    while True:
        s.recv(65536)
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $CAPTURE_PORT))
s.listen(16)
def drain(c):
    while c.recv(1 << 20):
        pass
while True:
    threading.Thread(target=drain, args=(s.accept()[0],), daemon=True).start()
" "$CAPTURE_TRANSPORT" &
	sink=$!
	trap 'kill $sink 2>/dev/null || true' EXIT
fi
export A_NAME A_EXTRA A_SSE_CLIENTS B_NAME B_EXTRA B_SSE_CLIENTS
scripts/loadtest-ab.sh
