package media

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pion/srtp/v3"
)

// SRTP termination (RFC 3711): the seam between key management and the
// forwarding path. A stream end may carry a transform: the contexts that
// check and decrypt what its party sends (SRTP, SRTCP) and encrypt what
// the relay sends to it. Keys come from SDES (RFC 4568, the relay's own
// Offer/Answer, sdes.go) or from a DTLS-SRTP handshake (RFC 5764); either
// way they are installed with Session.SetSRTP, and the forwarding path
// does not know where they came from.
//
// Each context is used under one lock, so pion/srtp's contexts (not safe
// for concurrent use) need none of their own: the decrypting one ("in")
// only by the readers of its own end, under that end's mu; the encrypting
// one ("out") only by the readers of the peer end (they forward to this
// end's party), under the peer's mu.

// srtpOverhead is the most a packet grows when the relay encrypts it:
// SRTCP's index (4) and an AEAD tag (16), rounded up. Read buffers have
// this room past maxDatagram so that encryption happens in place.
const srtpOverhead = 32

// srtpReplayWindow is the replay window of the decrypting contexts
// (RFC 3711 3.3.2: at least 64; libsrtp uses 128).
const srtpReplayWindow = 128

// ErrNoStream is returned by SetSRTP for an m= line the session does not
// relay.
var ErrNoStream = errors.New("media: no relayed stream at that m= line")

// SRTPKeys are the master keys of one party's SRTP and SRTCP (RFC 3711
// 3.2.1) on one stream: the party's own (Remote: what it sends is
// authenticated and decrypted with them) and the relay's (Local: what
// the relay sends to the party). SDES carries each in the SDP of its
// sender; DTLS-SRTP exports both from the handshake
// (srtp.Config.ExtractSessionKeysFromDTLS). Keys are secrets: the type
// prints and logs as "[redacted]".
type SRTPKeys struct {
	Profile               srtp.ProtectionProfile
	RemoteKey, RemoteSalt []byte
	RemoteMKI             []byte // the MKI the party's packets carry (RFC 3711 3.1); nil: none
	LocalKey, LocalSalt   []byte
}

// LogValue keeps keys out of logs.
func (SRTPKeys) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// String keeps keys out of anything formatted with %v or %s.
func (SRTPKeys) String() string { return "[redacted]" }

// GoString keeps keys out of %#v.
func (SRTPKeys) GoString() string { return "media.SRTPKeys{[redacted]}" }

func (k *SRTPKeys) remoteEqual(o *SRTPKeys) bool {
	return k.Profile == o.Profile && subtle.ConstantTimeCompare(k.RemoteKey, o.RemoteKey) == 1 &&
		subtle.ConstantTimeCompare(k.RemoteSalt, o.RemoteSalt) == 1 && bytes.Equal(k.RemoteMKI, o.RemoteMKI)
}

func (k *SRTPKeys) localEqual(o *SRTPKeys) bool {
	return k.Profile == o.Profile && subtle.ConstantTimeCompare(k.LocalKey, o.LocalKey) == 1 &&
		subtle.ConstantTimeCompare(k.LocalSalt, o.LocalSalt) == 1
}

func (k *SRTPKeys) clone() SRTPKeys {
	return SRTPKeys{
		Profile:   k.Profile,
		RemoteKey: bytes.Clone(k.RemoteKey), RemoteSalt: bytes.Clone(k.RemoteSalt), RemoteMKI: bytes.Clone(k.RemoteMKI),
		LocalKey: bytes.Clone(k.LocalKey), LocalSalt: bytes.Clone(k.LocalSalt),
	}
}

// srtpTransform is one stream end's SRTP: immutable once stored (the
// contexts change state, under the locks named above).
type srtpTransform struct {
	keys SRTPKeys
	in   *srtp.Context // the party's keys: authenticates and decrypts what it sends
	out  *srtp.Context // the relay's keys: encrypts what is sent to it
}

// newSRTPTransform makes the contexts for keys, keeping those of old
// whose keys are unchanged: a context made again from the same master
// key would start its packet index afresh and encrypt with key stream
// already used (RFC 3711 9.1), and the decrypting one would forget its
// replay window.
func newSRTPTransform(keys *SRTPKeys, old *srtpTransform) (*srtpTransform, error) {
	t := &srtpTransform{keys: keys.clone()}
	if old != nil && old.keys.remoteEqual(keys) {
		t.in = old.in
	} else {
		opts := []srtp.ContextOption{srtp.SRTPReplayProtection(srtpReplayWindow), srtp.SRTCPReplayProtection(srtpReplayWindow)}
		if len(keys.RemoteMKI) > 0 {
			opts = append(opts, srtp.MasterKeyIndicator(keys.RemoteMKI))
		}
		in, err := srtp.CreateContext(keys.RemoteKey, keys.RemoteSalt, keys.Profile, opts...)
		if err != nil {
			return nil, fmt.Errorf("media: SRTP keys of the party: %w", err)
		}
		t.in = in
	}
	if old != nil && old.keys.localEqual(keys) {
		t.out = old.out
	} else {
		out, err := srtp.CreateContext(keys.LocalKey, keys.LocalSalt, keys.Profile)
		if err != nil {
			return nil, fmt.Errorf("media: SRTP keys of the relay: %w", err)
		}
		t.out = out
	}
	return t, nil
}

// SetSRTP protects the party's side of m= line stream on side: what the
// party sends there must be SRTP and SRTCP under keys' Remote key (what
// is not, or fails authentication or the replay check, is dropped and
// counted as DroppedAuth, before it can latch anything), and what the
// relay sends to it is encrypted under the Local key. nil makes the side
// plain RTP again. The other side is unaffected: media crossing from an
// SRTP side to a plain one is decrypted, from a plain side to an SRTP one
// encrypted, between two SRTP sides decrypted and encrypted again under
// the other side's keys. Setting the keys the side already has changes
// nothing (the contexts keep their rollover counters and replay windows).
func (s *Session) SetSRTP(side Side, stream int, keys *SRTPKeys) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	st := s.stream(stream)
	if st == nil {
		return fmt.Errorf("%w: %d", ErrNoStream, stream)
	}
	return st.ends[side].setSRTP(keys)
}

// SRTP reports whether the party's side of m= line stream is SRTP.
func (s *Session) SRTP(side Side, stream int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stream(stream)
	return st != nil && st.ends[side].srtp.Load() != nil
}

// setSRTP swaps the end's transform (nil: plain). A batch under way
// finishes with the transform it loaded; the contexts it shares with the
// new one are still used under one lock each.
func (end *streamEnd) setSRTP(keys *SRTPKeys) error {
	var t *srtpTransform
	old := end.srtp.Load()
	if keys != nil {
		if old != nil && old.keys.remoteEqual(keys) && old.keys.localEqual(keys) {
			return nil
		}
		var err error
		if t, err = newSRTPTransform(keys, old); err != nil {
			return err
		}
	}
	end.srtp.Store(t)
	return nil
}
