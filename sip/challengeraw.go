package sip

import (
	"bytes"
	"net/netip"
	"time"
)

// Stateless challenge in the read loop (readConn): a new INVITE on UDP
// without credentials, from an address that is no carrier's and no
// trunk's, is answered 407 from its raw bytes, as the digest round's
// first half always is for a line (authenticate): the same nonce book,
// realm, algorithms and watch on unanswered challenges
// (auth.AppendStatelessChallenge). sipgo never parses it, keeps no
// transaction for it and starts no goroutine; the phone's ACK of the 407
// is dropped unparsed by its To tag, as the ACK of a stateless 503 is.
// That is a third of the messages of a call taken (INVITE, 407, ACK of
// the six the phone's side exchanges before the answer) for a few
// microseconds each, where sipgo's parsing, transaction and timers cost
// tens (issue 30: CPU per call). Kamailio's proxy_challenge answers the
// same way (sl_send_reply).
//
// Anything the full path decides differently goes on to sipgo: an INVITE
// with a To tag or Proxy-Authorization, one the switch would refuse 503
// (draining, calls.max_cps or max_calls reached), one from a blocked
// address (403), from a peer's or a trunk's address (taken without a
// challenge, or the trunk's own challenge), one naming a registered
// trunk's line token in its Request-URI, and one whose headers this
// reading cannot find. A source over the flood limit gets nothing, as
// sipgo's read filter would drop it. A retransmitted INVITE gets the
// same bytes again (the tag from its Call-ID and CSeq, the nonce from
// them, its branch, its source and a coarse clock): RFC 3261 8.2.7 lets a
// stateless UAS answer each copy, and a phone matching retransmitted
// responses by content takes it for the same 407.

// challengeTagPrefix starts the To tag of the switch's stateless 407s.
const challengeTagPrefix = statelessTagPrefix + "407-"

// statelessACK says whether msg, a datagram read at now, is the ACK of
// a stateless answer of the read loop (a 503 of shedRaw, a 407 of
// challengeRaw) to be dropped unparsed: only while one was sent within
// a caller's retransmission time (64*T1), so that on a switch that sends
// none no ACK is read twice.
func (s *Server) statelessACK(msg []byte, now time.Time) bool {
	last := s.statelessLast.Load()
	if last == 0 || now.UnixNano()-last > int64(shedAckWindow) {
		return false
	}
	// Most ACKs are of 2xx answers: one search of the message leaves
	// them to sipgo without reading their headers.
	if !bytes.Contains(msg, []byte("tag="+statelessTagPrefix)) {
		return false
	}
	var h rawHeaders
	return readRawHeaders(msg, &h) && bytes.Contains(msg[h.to.start:h.to.end], []byte("tag="+statelessTagPrefix))
}

// challengeRaw answers msg, a new INVITE without credentials whose
// headers are h, read from from at now, with a stateless 407 when the
// full path would challenge it too; false passes it on to sipgo.
func (s *Server) challengeRaw(c *readConn, msg []byte, h *rawHeaders, from netip.AddrPort, now time.Time) bool {
	if s.draining.Load() || s.callLimitReached() {
		return false
	}
	src := netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if s.auth.Blocked(src.Addr()) {
		return false
	}
	if p, _ := s.peerAt(src, "UDP"); p != nil {
		return false
	}
	if s.trunkDir != nil {
		if _, ok := s.trunkDir.TrunkBySource(src, "UDP", s.cfg.peerMatch == PeerMatchAddress); ok {
			return false
		}
		if containsFold(msg[h.uri.start:h.uri.end], []byte(";line=")) {
			return false
		}
	}
	if s.cfg.floodLimit > 0 && !s.flood.allow(src, "UDP") {
		return true // dropped, as the flood guard drops it
	}
	seed := hashBranch(msg[h.callID.start:h.callID.end])
	seed = seed*1099511628211 ^ hashBranch(msg[h.cseq.start:h.cseq.end])
	seed = seed*1099511628211 ^ hashBranch(msg[h.vias[0].start:h.vias[0].end])
	a16 := src.Addr().As16()
	seed = seed*1099511628211 ^ hashBranch(a16[:]) ^ uint64(src.Port())<<48
	out := appendStatelessHead(c.out[:0], msg, h, "SIP/2.0 407 Proxy Authentication Required", challengeTagPrefix)
	out = s.auth.AppendStatelessChallenge(out, seed, src,
		string(rawUserOf(rawAddressURI(msg[h.from.start:h.from.end]))), string(rawHeaderValue(msg, h.userAgent)))
	c.out = append(out, "Content-Length: 0\r\n\r\n"...)
	s.sendStateless(c, from, now)
	s.stats.statelessChallenges.Add(1)
	return true
}

// rawAddressURI is the URI of a From or To header line: between < and >
// when there are brackets, else the value up to its parameters.
func rawAddressURI(line []byte) []byte {
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		line = line[i+1:] // past the header's name
	}
	if i := bytes.IndexByte(line, '<'); i >= 0 {
		line = line[i+1:]
		if j := bytes.IndexByte(line, '>'); j >= 0 {
			return line[:j]
		}
		return nil
	}
	line = bytes.TrimSpace(line)
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	return line
}

// rawUserOf is the user part of a SIP URI, nil when it has none (as
// sipgo parses it: not unescaped).
func rawUserOf(uri []byte) []byte {
	if i := bytes.IndexByte(uri, ':'); i >= 0 {
		uri = uri[i+1:]
	}
	if i := bytes.IndexByte(uri, '@'); i >= 0 {
		return uri[:i]
	}
	return nil
}

// rawHeaderValue is the value of the header line at sp, trimmed (nil when
// sp is empty).
func rawHeaderValue(msg []byte, sp span) []byte {
	if !sp.ok() {
		return nil
	}
	line := msg[sp.start:sp.end]
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		line = line[i+1:]
	}
	return bytes.TrimSpace(line)
}

// containsFold reports whether s holds sub, ASCII case-insensitively.
func containsFold(s, sub []byte) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if bytes.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
