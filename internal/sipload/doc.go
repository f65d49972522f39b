// Package sipload is the SIP load client of the switch's TLS load test
// (cmd/sipload, scripts/loadtest-tls.sh): a fleet of phones, each
// registering with digest authentication over its own connection (TLS or
// TCP) or its own UDP socket, placing calls through the switch at a
// steady rate, and the carrier those calls are routed to, answering them.
// It measures what issue 26 ("TLS load") and issue 30 ("TLS") ask of the
// SIP core over TLS beside UDP: calls per second, INVITE->200 latency,
// the switch's CPU per call, per registration (a full TLS handshake) and
// per re-registration on a resumed handshake, and the switch's memory per
// idle TLS connection.
//
// # Why a client of our own and not SIPp
//
// The SIPp of Debian (sip-tester) is built without TLS, and a TLS SIPp
// means building it from the source package in CI: a C++ toolchain,
// OpenSSL headers and SIPp's own build on every run. This client is Go
// on sipgo's public API (user agents, dialogs, digest), already a
// dependency, so the load test needs nothing the test suite does not.
// The same client drives UDP and TLS, with the same messages, the same
// pacing and the same latency measure, so the two columns of the
// comparison differ only in the transport; SIPp-over-UDP beside
// Go-client-over-TLS would also compare two clients. And it holds 10,000
// idle connections, each phone its own connection from its own source
// address, where SIPp's TLS mode multiplexes its calls over few sockets.
// SIPp stays the UDP load generator of `make loadtest` and of the
// Kamailio comparison (scripts/loadtest.sh).
//
// # What a phone is
//
// Phone i is the line FirstPhone+i (gendb's 2000000, 2000001...) with the
// password PasswordPrefix+name (gendb's pw2000000...). Each phone is a
// sipgo user agent of its own, bound to its own loopback source address
// (Sources: 127.1.0.1, 127.1.0.2...), as real phones come from their own
// addresses: the switch's flood limit (sip.floodGuard: per source
// address, strangers only) sees two messages from each address before its
// REGISTER proves it, as from a real office, instead of 10,000 strangers
// from one address. Over TLS and TCP the phone's connection is opened by
// its first REGISTER and kept: its calls (and anything the switch sends
// it) travel on it, the connection reuse of RFC 5626 3.1 that the switch
// relies on (sip/transports.go). Its Contact names port 5061 of its
// address, where nothing listens, as a phone behind NAT.
//
// Over TLS each phone verifies the switch's certificate (Roots) and keeps
// a client session cache of its own: Reconnect closes every phone's
// connection and registers again on a new one, resuming the TLS session
// (RFC 8446 2.2, a PSK with (EC)DHE: the key exchange is redone, the
// certificate and its signature are not), and counts the handshakes that
// resumed. Go's tls server issues session tickets unless told not to;
// the switch does not tell it.
//
// # Calls
//
// Calls places calls at Rate per second for Duration, each from the next
// phone in turn: INVITE with SDP, the 407 challenge answered (sipgo's
// DialogClientSession.WaitAnswer), 200, ACK, Hold, BYE. INVITE->200 is
// timed from the authenticated INVITE (sent as the 407 is read) to its
// 200, as scripts/loadtest.sh's SIPp scenario times it (rtd 1); BYE->200
// likewise. A call not answered within CallTimeout fails. The pacing
// starts each call at its due time whether or not earlier calls have
// ended, up to MaxInFlight calls at once (past that a call waits, and the
// achieved rate falls below the target: reported, never hidden).
//
// The carrier (StartCarrier) answers each INVITE with 180 and a 200 with
// SDP, as testdata/sipp/uas_answer.xml does, and answers the BYE.
//
// # Measures of the switch
//
// Process reads the switch's CPU time (user+system, /proc/PID/stat, as
// scripts/loadtest.sh does), its RSS (/proc/PID/status VmRSS) and, from
// its /metrics, the Go heap and stacks in use, goroutines and
// registrations; with the switch's pprof on, CollectGarbage makes it
// collect first (GET /debug/pprof/heap?gc=1), so that a difference of
// heaps is live memory and not garbage. EstablishedTo counts the
// connections still up. Linux only.
package sipload
