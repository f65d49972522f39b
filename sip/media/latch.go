package media

import "net/netip"

// Strict latching: which source a stream end's media is taken from. The
// rules are the package documentation's (Latching); this file is the
// state machine, kept free of sockets so that it can be tested and fuzzed
// on its own (FuzzLatch).

// Probation is how many consecutive in-sequence packets (one SSRC, each
// sequence number the previous one plus one) an allowed source other than
// the latched one must send before the latch moves to it: Asterisk's
// strictrtp=seqno learning with its default probation of 4. Packets of a
// source on probation are dropped (DroppedLearning); the one that
// completes the run is the first relayed.
const Probation = 4

// sources is who may latch one stream end: the party's SIP source
// addresses on any port (a NAT maps the media port as it likes) and the
// address its SDP signalled, on that port only, when the signalled
// address is trusted (trustedAddress). Immutable, part of endConfig.
type sources struct {
	hosts []netip.Addr   // the party's SIP source addresses, any port
	rtp   netip.AddrPort // the signalled RTP (or UDPTL) address, exact; invalid: not trusted
	rtcp  netip.AddrPort // the signalled RTCP address, exact; invalid: not trusted
}

// host reports whether a is one of the party's SIP source addresses.
func (s *sources) host(a netip.Addr) bool {
	for _, h := range s.hosts {
		if h == a {
			return true
		}
	}
	return false
}

// allowsRTP reports whether src may latch the end's RTP (or UDPTL).
func (s *sources) allowsRTP(src netip.AddrPort) bool {
	return (s.rtp.IsValid() && src == s.rtp) || s.host(src.Addr())
}

// allowsRTCP reports whether src may latch the end's RTCP port: the
// signalled RTCP address, and, once the RTP is latched, any port of the
// latched host (RTCP comes from the host that sends the RTP, through the
// same NAT); before that, any port of the party's SIP source addresses.
func (s *sources) allowsRTCP(src, rtpLatched netip.AddrPort) bool {
	if s.rtcp.IsValid() && src == s.rtcp {
		return true
	}
	if rtpLatched.IsValid() {
		return src.Addr() == rtpLatched.Addr()
	}
	return s.host(src.Addr())
}

// trustedAddress says whether a party's signalled (SDP) address may latch
// its media: a globally routable address, or any address of a party not
// behind NAT (a peer, whose interconnect may well be private; a phone
// whose SDP names the address its SIP came from). The private address of
// a phone behind NAT names a host on the phone's network, not the phone
// as the switch sees it: whoever has that address on the switch's side
// is someone else.
func trustedAddress(a netip.Addr, nat bool) bool {
	return a.IsValid() && (!nat || isPublic(a))
}

// isPublic reports whether a is a globally routable unicast address: not
// private (RFC 1918, RFC 4193), shared (RFC 6598), loopback, link-local,
// multicast or unspecified.
func isPublic(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is4() {
		if b := a.As4(); b[0] == 100 && b[1]&0xc0 == 64 {
			return false // 100.64.0.0/10
		}
	}
	return a.IsGlobalUnicast() && !a.IsPrivate()
}

// verdict is what the latch makes of one packet.
type verdict uint8

const (
	verdictAccept   verdict = iota // from the latched source
	verdictLatch                   // latches (first packet, or a completed probation): accepted
	verdictSource                  // from no allowed source: dropped (DroppedSource)
	verdictLearning                // from an allowed source on probation: dropped (DroppedLearning)
)

// learner follows the one allowed source, other than the latched one,
// that is on probation: its address, SSRC, last sequence number and how
// many consecutive in-sequence packets it has sent.
type learner struct {
	src  netip.AddrPort
	ssrc uint32
	seq  uint16
	run  int
}

// observe counts a packet of src and reports whether src has now sent
// Probation consecutive in-sequence packets. A packet of another source,
// another SSRC or out of sequence starts a new run with itself; a
// duplicate (the same sequence number again) neither advances nor breaks
// the run.
func (l *learner) observe(src netip.AddrPort, ssrc uint32, seq uint16) bool {
	same := l.run > 0 && src == l.src && ssrc == l.ssrc
	switch {
	case same && seq == l.seq+1:
		l.run++
	case same && seq == l.seq:
		return false
	default:
		*l = learner{src: src, ssrc: ssrc, run: 1}
	}
	l.seq = seq
	if l.run >= Probation {
		*l = learner{}
		return true
	}
	return false
}

// decide is the latch's verdict on a packet from src (ssrc and seq: its
// RTP header; UDPTL: SSRC 0 and the UDPTL sequence number). latched is the
// latched source, invalid when none. A first packet from an allowed
// source latches at once (no audio is clipped at the start of a call);
// once latched, another allowed source takes over only after Probation
// consecutive in-sequence packets; a source not allowed never does.
func (s *sources) decide(latched netip.AddrPort, l *learner, src netip.AddrPort, ssrc uint32, seq uint16) verdict {
	if latched.IsValid() && src == latched {
		return verdictAccept
	}
	if !s.allowsRTP(src) {
		return verdictSource
	}
	if !latched.IsValid() {
		*l = learner{}
		return verdictLatch
	}
	if l.observe(src, ssrc, seq) {
		return verdictLatch
	}
	return verdictLearning
}
