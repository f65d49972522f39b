// Package capture sends a copy of every SIP message the switch reads and
// writes to a capture server (Homer, or anything that reads HEP) in
// HEPv3, as Asterisk's res_hep and Kamailio's siptrace do.
//
// # HEPv3
//
// A HEP packet is "HEP3", its total length (uint16, network order), then
// chunks: vendor id (0: generic), type id and length (uint16 each, the
// length counting the 6-byte chunk header) and the value. Packet writes
// the chunks a capture server needs to place a message in a call flow:
// IP family (1) and protocol (2), source and destination address (3, 4
// for IPv4; 5, 6 for IPv6) and port (7, 8), time in seconds and
// microseconds (9, 10), protocol type (11: 1 is SIP), capture agent id
// (12), authentication key (14, when a password is set), the message
// (15) and the correlation id (17: the SIP Call-ID, as res_hep sends, so
// that both legs' messages of a B2BUA call sit side by side once the
// server correlates them). Unmarshal reads every chunk type and skips
// those it does not know, as a capture server does.
//
// # Never on the call path's critical section
//
// The SIP transport hands each message to a hook of the Sender: sipgo's
// (SIPTraceRead, SIPTraceWrite: addresses as strings) for what sipgo reads
// and writes, the read loop's (SIPTraceReadAddr, SIPTraceWriteAddr: the
// sip package's AddrTracer; addresses as the socket gave them, a read
// stamped with its arrival as the read loop took it) for the rest. The
// hook appends the message, behind room for the packet's head, to one
// buffer the queued messages lie in one after the other, and returns: no
// parsing, no system call, no allocation once the buffer has grown to a
// busy round's, one lock held for the append (BenchmarkCapture). One goroutine wakes every flush interval
// (WithFlush, capture.flush, DefaultFlush 20 ms), or once a batch waits
// (128 messages over UDP, 512 over TCP), and takes the whole buffer,
// swapping in its emptied last one (a channel took a lock per message on
// both sides; a buffer and a queue entry of each message's own cost the
// two cores their lines passed back and forth, most of capture's cost in
// a load test's profile). It masks SDES keys, finds each message's
// Call-ID, reads its addresses (sipgo's strings remembered: a switch
// talks to few), writes the HEP head into the room before the copy (the
// message is not copied again; BenchmarkEncode) and sends the lot: over
// UDP a datagram a packet, with a sendmmsg(2) per 128 packets
// (internal/udpbatch) on a connected socket; over TCP (tcp://host:port)
// the packets one after the other on one connection, with a writev(2)
// per 512. Waking per message cost the SIP core a goroutine switch per
// message; and on the sending host the kernel's cost is per datagram,
// several times what the same bytes cost on a stream, so TCP is the
// cheaper transport where the capture server takes it (heplify-server's
// HEPTCPAddr). A copy reaches the capture server at most the flush
// interval late; its timestamp is when it was read or written.
//
// A capture server, or a network, slower than the switch's signalling
// costs copies, never calls: the queue (WithQueue, capture.queue, 8,192
// messages: seconds of a busy switch; and as many times 2 KiB and the
// head's room) fills and each further copy is dropped and counted
// (Stats.Dropped, sipswitch_capture_packets_total{result="dropped"}); one
// the kernel refuses to send is counted as failed. Over TCP a write that does not
// complete within 2 s ends the connection; the sender connects again
// after 1 s, doubling to 30 s while the server stays away, and counts the
// packets it could not send meanwhile as failed. Over TCP and TLS the transport's
// hook sees each read of the stream, which may hold part of a message or
// several (INFERRED: sent as read; SIP over UDP, the common case, is one
// message a datagram).
//
// # SDES keys
//
// SRTP with SDES keys (RFC 4568) carries each party's master key in the
// clear in the SDP (a=crypto ... inline:<key>): a capture server, and
// anyone who reads its database or its web interface, would hold the key
// of every SRTP call the switch carried. Every copy therefore has the key
// material of each a=crypto attribute overwritten with '*' (the same
// length, so Content-Length still holds) before it is sent
// (sip/sipmsg.MaskSDESKeys). Over TCP and TLS a key split between two
// reads of the stream is masked in each part it is recognised in; the
// part after the split (no "inline:" before it) is not recognised.
// INFERRED: no option turns the masking off; a capture that needs the
// keys (decrypting SRTP in Homer) is a tap on the phone, not the switch.
//
// The hook is sipgo's tracer (sip.SIPDebugTracer), which belongs to the
// process: Install sets it once, before the SIP core starts, as the
// transaction timers are set.
package capture
