package sip

import (
	"bytes"
	"net/netip"
	"strconv"
	"time"
)

// Stateless refusal in the read loop (readConn): while the switch sheds
// load, the share of new INVITEs on UDP it refuses (shedState) is
// answered 503 with Retry-After from their raw bytes, as a stateless UAS
// may (RFC 3261 8.2.7): Via, From, To (with a tag of ours), Call-ID and
// CSeq copied, sent to where it came from, as sipgo answers UDP; the
// caller's ACK of that 503 is dropped unparsed by its To tag. Nothing
// else is answered here: what is not a new INVITE, an INVITE with
// credentials (the second round of a call taken), one to an emergency
// number and one whose headers this reading does not find go on to
// sipgo, as do the INVITEs not refused, whose handler measures their
// wait. A source over the flood limit gets nothing, as from sipgo.

// shedTagPrefix starts the To tag of the switch's stateless 503s.
const shedTagPrefix = statelessTagPrefix + "503-"

// statelessTagPrefix starts the To tag of every answer the read loop
// sends itself (503 here, 407 in challengeraw.go), by which their ACKs
// are known.
const statelessTagPrefix = "sipswitch-"

// rawHeaders are the header lines of a request the stateless answer
// needs, as offsets into the message.
type rawHeaders struct {
	vias                   [8]span
	nvia                   int
	from, to, callID, cseq span
	auth                   bool // Proxy-Authorization
	uri                    span // the Request-URI
	userAgent              span
}

type span struct{ start, end int }

func (s span) ok() bool { return s.end > s.start }

// readRawHeaders reads the request line and the headers of msg (compact
// forms, any case, continuation lines); false when it cannot be answered
// from them (too many Vias, a header missing).
func readRawHeaders(msg []byte, h *rawHeaders) bool {
	eol := bytes.IndexByte(msg, '\n')
	if eol < 0 {
		return false
	}
	line := bytes.TrimSuffix(msg[:eol], []byte("\r"))
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 < 0 {
		return false
	}
	sp2 := bytes.IndexByte(line[sp1+1:], ' ')
	if sp2 < 0 {
		return false
	}
	h.uri = span{sp1 + 1, sp1 + 1 + sp2}
	pos := eol + 1
	var last *span
	for pos < len(msg) {
		i := bytes.IndexByte(msg[pos:], '\n')
		if i < 0 {
			return false
		}
		end := pos + i
		lineEnd := end
		if lineEnd > pos && msg[lineEnd-1] == '\r' {
			lineEnd--
		}
		line := msg[pos:lineEnd]
		if len(line) == 0 {
			break // the end of the headers
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last != nil {
				last.end = lineEnd // a continuation of the header before
			}
			pos = end + 1
			continue
		}
		last = nil
		colon := bytes.IndexByte(line, ':')
		if colon > 0 {
			name := bytes.TrimRight(line[:colon], " \t")
			sp := span{pos, lineEnd}
			switch {
			case bytes.EqualFold(name, []byte("via")) || bytes.EqualFold(name, []byte("v")):
				if h.nvia == len(h.vias) {
					return false
				}
				h.vias[h.nvia] = sp
				last = &h.vias[h.nvia]
				h.nvia++
			case bytes.EqualFold(name, []byte("from")) || bytes.EqualFold(name, []byte("f")):
				h.from, last = sp, &h.from
			case bytes.EqualFold(name, []byte("to")) || bytes.EqualFold(name, []byte("t")):
				h.to, last = sp, &h.to
			case bytes.EqualFold(name, []byte("call-id")) || bytes.EqualFold(name, []byte("i")):
				h.callID, last = sp, &h.callID
			case bytes.EqualFold(name, []byte("cseq")):
				h.cseq, last = sp, &h.cseq
			case bytes.EqualFold(name, []byte("proxy-authorization")):
				h.auth = true
			case bytes.EqualFold(name, []byte("user-agent")):
				h.userAgent, last = sp, &h.userAgent
			}
		}
		pos = end + 1
	}
	return h.nvia > 0 && h.from.ok() && h.to.ok() && h.callID.ok() && h.cseq.ok()
}

// hasTag says whether a To or From header line carries a tag parameter
// (after the URI's closing '>' when there is one: a URI may carry
// parameters of its own).
func hasTag(line []byte) bool {
	if i := bytes.LastIndexByte(line, '>'); i >= 0 {
		line = line[i+1:]
	} else if i := bytes.IndexByte(line, ':'); i >= 0 {
		line = line[i+1:] // past the header's name
	}
	for {
		i := bytes.IndexByte(line, ';')
		if i < 0 {
			return false
		}
		line = line[i+1:]
		p := bytes.TrimLeft(line, " \t")
		if len(p) >= 3 && bytes.EqualFold(p[:3], []byte("tag")) {
			if q := bytes.TrimLeft(p[3:], " \t"); len(q) > 0 && q[0] == '=' {
				return true
			}
		}
	}
}

// rawURIUser is the user part of a SIP or tel URI ("" when none).
func rawURIUser(uri []byte) []byte {
	if i := bytes.IndexByte(uri, ':'); i >= 0 {
		uri = uri[i+1:]
	}
	if i := bytes.IndexByte(uri, '@'); i >= 0 {
		return uri[:i]
	}
	if i := bytes.IndexAny(uri, ";?"); i >= 0 {
		return uri[:i] // tel:112;phone-context=...
	}
	return uri
}

// shedAckWindow is how long after its last stateless answer the read
// loop looks for their ACKs (64*T1, as long as a caller retransmits).
const shedAckWindow = 32 * time.Second

// answerRaw answers or drops msg, a datagram from from read at now, when
// it is a new INVITE the read loop refuses (shedRaw, while the switch
// sheds load) or challenges (challengeRaw), or the ACK of such an
// answer; false passes it on to sipgo. On every other datagram: a prefix
// compared, and an atomic load for an ACK.
func (s *Server) answerRaw(c *readConn, msg []byte, from netip.AddrPort, now time.Time) bool {
	if bytes.HasPrefix(msg, []byte("ACK ")) {
		return s.statelessACK(msg, now)
	}
	if !bytes.HasPrefix(msg, []byte("INVITE ")) {
		return false
	}
	shedding := c.shed && s.shed.shedding.Load()
	if !shedding && !c.challenge {
		return false
	}
	var h rawHeaders
	if !readRawHeaders(msg, &h) || h.auth || hasTag(msg[h.to.start:h.to.end]) {
		return false
	}
	if shedding && s.shedRaw(c, msg, &h, from, now) {
		return true
	}
	return c.challenge && s.challengeRaw(c, msg, &h, from, now)
}

// shedRaw refuses msg, a new INVITE without credentials whose headers are
// h, with a stateless 503 when the shedding controller says so; false
// leaves it to the rest of the read loop and to sipgo.
func (s *Server) shedRaw(c *readConn, msg []byte, h *rawHeaders, from netip.AddrPort, now time.Time) bool {
	if !s.shed.refuse(s.cfg.overloadDelay) {
		return false // taken: its handler measures its wait
	}
	if s.isEmergency(string(rawURIUser(msg[h.uri.start:h.uri.end]))) {
		return false
	}
	if s.cfg.floodLimit > 0 && !s.flood.allow(netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), "UDP") {
		return true // dropped, as the flood guard drops it
	}
	c.out = appendStateless503(c.out[:0], msg, h, s.cfg.retryAfter)
	s.sendStateless(c, from, now)
	s.stats.rejectedOverload.Add(1)
	s.stats.shedOverload.Add(1)
	return true
}

// sendStateless sends the answer built in c.out to from, where the
// request came from (as sipgo answers UDP), and notes when, so that its
// ACK is looked for (statelessACK).
func (s *Server) sendStateless(c *readConn, from netip.AddrPort, now time.Time) {
	c.traceIn() // the request before its answer
	if err := c.writeTo(c.out, from); err != nil {
		s.cfg.log.Debug("sip stateless answer not sent", "to", from.String(), "error", err)
	}
	s.statelessLast.Store(now.UnixNano())
}

// appendStateless503 appends the 503 answering the INVITE msg (its
// headers h): the same tag for a retransmission, from its Call-ID and
// CSeq.
func appendStateless503(dst, msg []byte, h *rawHeaders, retryAfter int) []byte {
	dst = appendStatelessHead(dst, msg, h, "SIP/2.0 503 Service Unavailable", shedTagPrefix)
	dst = append(dst, "Retry-After: "...)
	dst = strconv.AppendInt(dst, int64(retryAfter), 10)
	return append(dst, "\r\nContent-Length: 0\r\n\r\n"...)
}

// appendStatelessHead appends the status line and the headers every
// stateless answer to msg copies (RFC 3261 8.2.6.2): its Vias, From, To
// with a tag of ours (tagPrefix and a hash of the Call-ID and CSeq, so a
// retransmission is answered alike), Call-ID and CSeq, each line ending
// CRLF.
func appendStatelessHead(dst, msg []byte, h *rawHeaders, status, tagPrefix string) []byte {
	crlf := []byte("\r\n")
	dst = append(append(dst, status...), crlf...)
	for _, v := range h.vias[:h.nvia] {
		dst = append(append(dst, msg[v.start:v.end]...), crlf...)
	}
	dst = append(append(dst, msg[h.from.start:h.from.end]...), crlf...)
	dst = append(dst, bytes.TrimRight(msg[h.to.start:h.to.end], " \t")...)
	dst = append(dst, ";tag="+tagPrefix...)
	dst = strconv.AppendUint(dst, hashBranch(msg[h.callID.start:h.callID.end])^hashBranch(msg[h.cseq.start:h.cseq.end]), 16)
	dst = append(dst, crlf...)
	dst = append(append(dst, msg[h.callID.start:h.callID.end]...), crlf...)
	return append(append(dst, msg[h.cseq.start:h.cseq.end]...), crlf...)
}
