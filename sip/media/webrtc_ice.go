package media

import (
	"bytes"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/stun/v3"

	"github.com/sipswitch/sipswitch/internal/udpbatch"
)

// ICE-lite (RFC 8445 2.5, 7.3; RFC 8839) on a stream end whose party is a
// WebRTC agent: the relay has one host candidate, its RTP port, and only
// answers the browser's connectivity checks; the browser is the
// controlling agent and nominates.

// packetClass is what a datagram at a WebRTC end is, by its first octet
// (RFC 7983 7, RFC 9443): 0-3 STUN, 20-63 DTLS, 128-191 RTP and RTCP
// (SRTP, SRTCP); anything else (ZRTP, TURN channels, QUIC) is dropped.
type packetClass uint8

const (
	classOther packetClass = iota
	classSTUN
	classDTLS
	classRTP
)

func classify(b []byte) packetClass {
	if len(b) == 0 {
		return classOther
	}
	switch c := b[0]; {
	case c <= 3:
		return classSTUN
	case c >= 20 && c <= 63:
		return classDTLS
	case c >= 128 && c <= 191:
		return classRTP
	}
	return classOther
}

// maxChecked is how many sources that passed a connectivity check an end
// remembers (DTLS is accepted from them): a browser checks from each of
// its candidates, a few at most towards one relay candidate.
const maxChecked = 4

// webrtcEnd is the ICE-lite and DTLS side of a stream end facing a
// WebRTC party. The fields marked so are used under the stream end's mu
// (the reader's lock).
type webrtcEnd struct {
	end   *streamEnd
	local iceCredentials
	// remote is the party's SDP (ufrag, pwd, fingerprint, setup), set by
	// configure; nil until the party has signalled. signalled is closed
	// once it names a fingerprint.
	remote     atomic.Pointer[webrtcLine]
	signalled  chan struct{}
	signalOnce sync.Once

	msg       stun.Message               // under mu: the check being read
	checked   [maxChecked]netip.AddrPort // under mu: sources that passed a check, newest first
	nominated netip.AddrPort             // under mu: the pair the browser nominated (or first checked)

	outMu sync.Mutex
	out   *udpbatch.Writer // the end's own RTP socket: STUN answers, DTLS

	dtls    *dtlsSide
	closing atomic.Bool // the session is closing (close)
}

func newWebRTCEnd(end *streamEnd) *webrtcEnd {
	w := &webrtcEnd{end: end, local: newICECredentials(), signalled: make(chan struct{})}
	w.dtls = newDTLSSide(w)
	return w
}

// setRemote takes the party's SDP attributes.
func (w *webrtcEnd) setRemote(r *webrtcLine) {
	w.remote.Store(r)
	if r != nil && r.fp != nil {
		w.signalOnce.Do(func() { close(w.signalled) })
	}
}

// send writes one datagram from the end's RTP socket.
func (w *webrtcEnd) send(b []byte, to netip.AddrPort) bool {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	if w.out == nil {
		return false
	}
	d := udpbatch.NewDest(to)
	w.out.Add(b, &d)
	failed, _ := w.out.Flush()
	return failed == 0
}

// isChecked reports whether src passed a connectivity check (under mu).
func (w *webrtcEnd) isChecked(src netip.AddrPort) bool {
	for _, c := range w.checked {
		if c == src {
			return true
		}
	}
	return false
}

// stunVerdict is what a STUN datagram at a WebRTC end came to.
type stunVerdict uint8

const (
	stunAnswered stunVerdict = iota // a valid check: answered
	stunInvalid                     // not a binding request we can read (no FINGERPRINT, malformed)
	stunRefused                     // another username or a wrong MESSAGE-INTEGRITY: not the party
)

// handleSTUN answers a connectivity check from src (RFC 8445 7.3): a
// Binding request whose USERNAME starts with the relay's ufrag (and, once
// the party's SDP is known, ends with its ufrag), whose MESSAGE-INTEGRITY
// is keyed with the relay's ice-pwd (which only the party has: it came in
// the relay's SDP over the party's signalling) and with a FINGERPRINT
// (RFC 8445 7.2.2). The answer is a Binding success response with
// XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT (RFC 8445
// 7.3.1.4, RFC 8489). A check with USE-CANDIDATE nominates its source
// (RFC 8445 7.3.1.5), and so does the first valid check while nothing is
// nominated: that source is where the party's media goes and the only one
// whose DTLS, SRTP and SRTCP are taken.
//
// Called with end.mu held. It allocates (pion/stun builds the answer): a
// browser sends a check every few seconds (consent freshness, RFC 7675).
func (w *webrtcEnd) handleSTUN(b []byte, src netip.AddrPort) stunVerdict {
	m := &w.msg
	m.Raw = append(m.Raw[:0], b...)
	if err := m.Decode(); err != nil || m.Type != stun.BindingRequest {
		return stunInvalid
	}
	if err := stun.Fingerprint.Check(m); err != nil {
		return stunInvalid
	}
	var user stun.Username
	if err := user.GetFrom(m); err != nil {
		return stunRefused
	}
	local, remote, ok := bytes.Cut(user, []byte(":"))
	if !ok || string(local) != w.local.ufrag {
		return stunRefused
	}
	if r := w.remote.Load(); r != nil && r.ufrag != "" && string(remote) != r.ufrag {
		return stunRefused
	}
	if err := stun.NewShortTermIntegrity(w.local.pwd).Check(m); err != nil {
		return stunRefused
	}
	res, err := stun.Build(stun.NewTransactionIDSetter(m.TransactionID), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: src.Addr().AsSlice(), Port: int(src.Port())},
		stun.NewShortTermIntegrity(w.local.pwd), stun.Fingerprint)
	if err != nil {
		return stunInvalid
	}
	if !w.isChecked(src) {
		copy(w.checked[1:], w.checked[:])
		w.checked[0] = src
	}
	if m.Contains(stun.AttrUseCandidate) || !w.nominated.IsValid() {
		if w.nominated != src {
			w.nominated = src
			w.end.nominate(src)
		}
	}
	w.send(res.Raw, src)
	return stunAnswered
}
