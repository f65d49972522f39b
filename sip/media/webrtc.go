package media

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/sipswitch/sipswitch/internal/udpbatch"
)

// WebRTC legs: what the relay does for a party that is a browser, tying
// together the SDP (webrtc_sdp.go), ICE-lite (webrtc_ice.go) and DTLS-SRTP
// (webrtc_dtls.go); the rules are the package documentation's (WebRTC).

// demuxVerdict is what demuxWebRTC made of a datagram.
type demuxVerdict uint8

const (
	demuxMedia   demuxVerdict = iota // SRTP/SRTCP from the nominated source, keys installed: goes on
	demuxHandled                     // STUN or DTLS, taken
	demuxSource                      // not from the party (DroppedSource)
	demuxInvalid                     // nothing the relay reads (DroppedInvalid)
)

// demuxWebRTC sorts a datagram at a WebRTC end (RFC 7983): STUN checks
// are answered, DTLS from a source that passed a check goes to the
// handshake, SRTP and SRTCP go on (to be decrypted) only from the
// nominated source once the handshake has keyed the end: before that
// the relay could not read them. The RTCP port of a WebRTC end carries
// nothing (rtcp-mux is required, RFC 8834 5.1.1).
//
// Called with end.mu held.
func (r *reader) demuxWebRTC(w *webrtcEnd, b []byte, src netip.AddrPort) demuxVerdict {
	if r.rtcpSock {
		return demuxInvalid
	}
	switch classify(b) {
	case classSTUN:
		switch w.handleSTUN(b, src) {
		case stunAnswered:
			return demuxHandled
		case stunRefused:
			r.end.s.e.counters.iceRefused.Add(1)
			return demuxSource
		}
		return demuxInvalid
	case classDTLS:
		if !w.isChecked(src) {
			return demuxSource
		}
		w.dtls.input(b, src)
		return demuxHandled
	case classRTP:
		if src != w.nominated {
			return demuxSource
		}
		if !w.dtls.done.Load() {
			return demuxInvalid
		}
		return demuxMedia
	}
	return demuxInvalid
}

// webrtc returns the end's WebRTC side, making it on first use. Called
// under the session mutex.
func (end *streamEnd) webrtc() *webrtcEnd {
	end.setMux(true) // RFC 8834 5.1.1: a WebRTC party multiplexes
	if w := end.wrtc.Load(); w != nil {
		return w
	}
	w := newWebRTCEnd(end)
	if sock := end.pair.rtp; sock.conn != nil {
		w.out, _ = udpbatch.NewWriter(sock.conn, 1)
	} else {
		w.out = fdWriter(sock.fd, 1)
	}
	end.wrtc.Store(w)
	return w
}

// nominate makes src, which passed a connectivity check, the party's
// media address: what it sends is taken from there alone, and what the
// relay sends it goes there once DTLS has keyed the end (never in the
// clear). Called with end.mu held.
func (end *streamEnd) nominate(src netip.AddrPort) {
	end.sigRTP, end.sigRTCP = src, src
	c := *end.cfg.Load()
	c.src.rtp, c.src.rtcp = src, src
	end.cfg.Store(&c)
	end.rx.learn = learner{}
	if w := end.wrtc.Load(); w != nil && w.dtls.done.Load() {
		end.dstRTP.Store(newEndpoint(src, true))
	}
	end.s.e.log.Debug("media ICE nominated", "session", end.s.id, "leg", end.leg.side.String(), "port", end.pair.port, "source", src.String())
}

// keyed is called once the DTLS handshake installed the end's keys: media
// to the party may flow to the nominated address.
func (end *streamEnd) keyed() {
	end.mu.Lock()
	defer end.mu.Unlock()
	if w := end.wrtc.Load(); w != nil && w.nominated.IsValid() {
		end.dstRTP.Store(newEndpoint(w.nominated, true))
	}
}

// close ends the DTLS side (its goroutine returns).
func (w *webrtcEnd) close() {
	w.closing.Store(true)
	w.dtls.pipe.Close()
}

// SetWebRTC says that the party on side is a WebRTC agent (a browser that
// registered over WebSocket) before it has signalled: the offers the
// relay sends it are DTLS-SRTP with ICE-lite (webrtcAttrs). A party whose
// own SDP has a DTLS-SRTP line is one without being told.
func (s *Session) SetWebRTC(side Side) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.legs[side].webrtc = true
}

// WebRTC reports whether the party on side is a WebRTC agent.
func (s *Session) WebRTC(side Side) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.legs[side].webrtc
}

// noteWebRTC marks the leg of a party whose SDP has a DTLS-SRTP line and
// checks the DTLS role it asks for: the relay is the DTLS server, so an
// offer must leave it the choice (actpass) or take active, and an answer
// take active (RFC 8842 5.2, 5.3). INFERRED: a party that insists on
// passive is refused (ErrBadSDP) rather than served by a DTLS client
// role browsers do not need.
func (s *Session) noteWebRTC(side Side, lines []mediaLine, offer bool) error {
	for _, l := range lines {
		if l.webrtc == nil || l.port == 0 {
			continue
		}
		s.legs[side].webrtc = true
		switch l.webrtc.setup {
		case "active":
		case "actpass", "":
			if !offer {
				return fmt.Errorf("%w: a DTLS answer must say setup:active", ErrBadSDP)
			}
		default:
			return fmt.Errorf("%w: setup:%s (the relay is the DTLS server)", ErrBadSDP, l.webrtc.setup)
		}
		if l.webrtc.fp == nil || l.webrtc.ufrag == "" || l.webrtc.pwd == "" {
			return fmt.Errorf("%w: a DTLS-SRTP line needs a=fingerprint, a=ice-ufrag and a=ice-pwd", ErrBadSDP)
		}
	}
	return nil
}

// webrtcLocal fills the WebRTC attributes of the relay's m= line i towards
// the WebRTC party on side to (ls.rtpPort already set); mid is the line's
// mid (the offerer's, in an answer).
func (s *Session) webrtcLocal(ls *localStream, to Side, i int, mid string, offer bool) error {
	st := s.stream(i)
	if st == nil || ls.rtpPort == 0 {
		return nil
	}
	cert, err := s.e.dtlsCertificate()
	if err != nil {
		return err
	}
	w := st.ends[to].webrtc()
	setup := "passive"
	if offer {
		setup = "actpass"
	}
	if mid == "" {
		mid = strconv.Itoa(i)
	}
	ls.mux = true
	ls.webrtc = &webrtcAttrSet{mid: mid, creds: w.local, fingerprint: cert.fingerprint, setup: setup,
		addr: s.e.cfg.advertised.String(), port: ls.rtpPort}
	return nil
}

// webrtcFor sets what line i of the SDP for the party on side to needs
// beyond the relay's port: DTLS-SRTP attributes when that party is a
// WebRTC agent, or plain RTP/AVP when the line came from one (src: the
// line as the offerer signalled it, which carries the mid).
func (s *Session) webrtcFor(ls *localStream, to Side, i int, src mediaLine, offer bool) error {
	if ls.kind != kindRTP {
		return nil
	}
	if s.legs[to].webrtc {
		ls.toWebRTC = true
		mid := ""
		if src.webrtc != nil {
			mid = src.webrtc.mid
		}
		return s.webrtcLocal(ls, to, i, mid, offer)
	}
	if s.legs[to.other()].webrtc || src.webrtc != nil {
		ls.plain = true
	}
	return nil
}

// IsWebRTC reports whether an SDP has a DTLS-SRTP m= line that is not
// declined: its sender is a WebRTC agent.
func IsWebRTC(body []byte) bool {
	if !bytes.Contains(body, []byte("UDP/TLS/RTP/SAVP")) {
		return false
	}
	_, lines, err := parseSDP(body)
	if err != nil {
		return false
	}
	for _, l := range lines {
		if l.webrtc != nil && l.port != 0 {
			return true
		}
	}
	return false
}
