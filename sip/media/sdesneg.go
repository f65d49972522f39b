package media

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// SDES negotiation (RFC 4568 5, 7) in the relay's Offer and Answer: each
// leg has its own keys, so the relay answers a party's a=crypto with its
// own key and offers the other party its own lines, per the leg's
// Encryption (SetEncryption).

// Encryption is what a leg's party may or must speak (the SIP core's
// media_encryption, with SDES allowed on the leg's transport).
type Encryption uint8

const (
	// EncryptionNone: plain RTP. a=crypto the party sends is ignored (and
	// never passed on); an m= line offered as RTP/SAVP(F) cannot be
	// answered, ErrMediaEncryption. The relay offers the party RTP/AVP(F).
	EncryptionNone Encryption = iota
	// EncryptionOptional: SRTP when the party offers or accepts it. The
	// relay offers the party RTP/AVP(F) with its a=crypto lines
	// (best-effort SRTP, as Asterisk's media_encryption_optimistic and
	// FreeSWITCH's rtp_secure_media=optional), or RTP/SAVP(F) once the
	// party offered that itself: a party that answers with a=crypto gets
	// SRTP, one that answers without it plain RTP.
	EncryptionOptional
	// EncryptionRequired: SRTP only. The relay offers the party
	// RTP/SAVP(F); an offer or answer from it without a usable a=crypto
	// on an RTP line is ErrMediaEncryption.
	EncryptionRequired
)

func (e Encryption) String() string {
	switch e {
	case EncryptionOptional:
		return "optional"
	case EncryptionRequired:
		return "required"
	}
	return "none"
}

// ErrMediaEncryption is returned by Offer and Answer for SDP that the
// legs' Encryption cannot accept: RTP/SAVP where SRTP is not allowed, or
// no usable a=crypto where it is required (RFC 4568 7.1.2: the answerer
// rejects the stream). The SIP core answers 488.
var ErrMediaEncryption = errors.New("media: media encryption not acceptable")

// sdesStream is the SDES state of one leg on one m= line.
type sdesStream struct {
	// local are the relay's master keys towards the party, by suite
	// (index in cryptoSuites), drawn when first needed and kept for the
	// party (re-offers name the same keys, and a kept key keeps its
	// context: see newSRTPTransform); dropped when the party's SRTP
	// stops or the leg is reset, so that a context is never made twice
	// from one key.
	local [len(cryptoSuites)]*cryptoAttr
	// offered is what the relay last offered the party (tags 1...).
	offered []cryptoAttr
	// accepted is the party's line the relay took from its last offer.
	accepted *cryptoAttr
	// protos is the transport of the party's last offer (the answer
	// echoes it: RTP/SAVP, or RTP/AVP with a=crypto).
	protos []string
	// keyed: the end's SRTP keys are SDES's. Keys installed otherwise
	// (SetSRTP: DTLS-SRTP) are not SDES's to remove.
	keyed bool
}

// SetEncryption sets what a leg's party may or must speak (see
// Encryption); the zero value is EncryptionNone. Call it before the
// offer or answer of that party, or of the other party towards it: for
// the callee's leg, before each Offer that goes to a new party (a
// failover's next peer may have another policy).
func (s *Session) SetEncryption(side Side, enc Encryption) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.legs[side].enc = enc
}

func (l *leg) sdesAt(i int) *sdesStream {
	for len(l.sdes) <= i {
		l.sdes = append(l.sdes, sdesStream{})
	}
	return &l.sdes[i]
}

// localKey is the relay's key towards the party for suite si.
func (st *sdesStream) localKey(si int) (*cryptoAttr, error) {
	if st.local[si] == nil {
		k, err := newLocalKey(cryptoSuites[si])
		if err != nil {
			return nil, err
		}
		st.local[si] = &k
	}
	return st.local[si], nil
}

func suiteIndex(name string) int {
	for i, s := range cryptoSuites {
		if s.name == name {
			return i
		}
	}
	return -1
}

// isSecureProto: RTP/SAVP or RTP/SAVPF.
func isSecureProto(protos []string) bool {
	for _, p := range protos {
		if strings.EqualFold(p, "SAVP") || strings.EqualFold(p, "SAVPF") {
			return true
		}
	}
	return false
}

// withProfile is protos with the RTP profile made secure (SAVP, SAVPF)
// or plain (AVP, AVPF).
func withProfile(protos []string, secure bool) []string {
	out := make([]string, len(protos))
	for i, p := range protos {
		switch strings.ToUpper(p) {
		case "AVP", "SAVP":
			p = "AVP"
			if secure {
				p = "SAVP"
			}
		case "AVPF", "SAVPF":
			p = "AVPF"
			if secure {
				p = "SAVPF"
			}
		}
		out[i] = p
	}
	return out
}

// cryptoLines are the a=crypto attributes of an m= line that parse and
// the relay can use, in order; a line that does not is skipped (RFC 4568
// 7.1.2: the answerer picks one it supports).
func cryptoLines(md *sdp.MediaDescription) []cryptoAttr {
	var out []cryptoAttr
	for _, a := range md.Attributes {
		if a.Key != "crypto" {
			continue
		}
		if c, err := parseCrypto(a.Value); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// sdesOffer reads the SDES of an offer from side from (already parsed:
// sd, lines) into that leg's state: the line it accepts per RTP m= line,
// or ErrMediaEncryption. Nothing is changed on error.
func (s *Session) sdesOffer(from Side, sd *sdp.SessionDescription, lines []mediaLine) error {
	l := s.legs[from]
	accepted := make([]*cryptoAttr, len(lines))
	for i, md := range sd.MediaDescriptions {
		ml := lines[i]
		if ml.kind != kindRTP || ml.port == 0 || ml.webrtc != nil || l.webrtc {
			continue // a WebRTC party's SRTP is DTLS's (webrtc.go)
		}
		secure := isSecureProto(md.MediaName.Protos)
		if l.enc == EncryptionNone {
			if secure {
				return fmt.Errorf("%w: m= line %d is %s and SRTP is not allowed on the leg", ErrMediaEncryption, i, strings.Join(md.MediaName.Protos, "/"))
			}
			continue
		}
		if cs := cryptoLines(md); len(cs) > 0 {
			c := cs[0]
			accepted[i] = &c
			continue
		}
		if secure || l.enc == EncryptionRequired {
			return fmt.Errorf("%w: m= line %d offers no a=crypto the relay can use (%s)", ErrMediaEncryption, i, strings.Join(cryptoSuiteNames(), ", "))
		}
	}
	for i, md := range sd.MediaDescriptions {
		st := l.sdesAt(i)
		st.accepted = accepted[i]
		st.protos = md.MediaName.Protos
	}
	return nil
}

func cryptoSuiteNames() []string {
	var n []string
	for _, s := range cryptoSuites {
		n = append(n, s.name)
	}
	return n
}

// sdesApplyOffer installs the offerer's SRTP (its accepted key, the
// relay's key of the same suite) on the streams that exist, and makes the
// offer for the other leg: per m= line, its profile and the relay's
// a=crypto lines (sdesLocal). Called with s.mu held, after ensureStream.
func (s *Session) sdesApplyOffer(from Side, sd *sdp.SessionDescription, lines []mediaLine, local []localStream) error {
	lf, lt := s.legs[from], s.legs[from.other()]
	for i, md := range sd.MediaDescriptions {
		to := lt.sdesAt(i)
		to.offered = nil
		if lines[i].kind != kindRTP || lines[i].port == 0 {
			continue
		}
		if !lf.webrtc {
			if err := s.sdesInstall(lf, i, lf.sdesAt(i).accepted); err != nil {
				return err
			}
		}
		if lt.webrtc {
			continue // DTLS-SRTP towards a WebRTC party (webrtcFor)
		}
		// RTP/SAVP where SRTP is required, and to a party that offered
		// RTP/SAVP itself (a re-offer must not ask an SRTP-only phone for
		// RTP/AVP); RTP/AVP otherwise, with keys when optional. A line
		// from a WebRTC party goes on as RTP/AVP or RTP/SAVP.
		secure := lt.enc == EncryptionRequired || (lt.enc == EncryptionOptional && isSecureProto(to.protos))
		protos := md.MediaName.Protos
		if lines[i].webrtc != nil {
			protos = []string{"RTP", "AVP"}
		}
		local[i].protos = withProfile(protos, secure)
		if lt.enc == EncryptionNone {
			continue
		}
		for si := range offeredSuites {
			k, err := to.localKey(si)
			if err != nil {
				return err
			}
			c := *k
			c.tag = uint32(si + 1)
			to.offered = append(to.offered, c)
			local[i].crypto = append(local[i].crypto, c.value())
		}
	}
	return nil
}

// sdesAnswer reads the SDES of an answer from side from to the relay's
// offer: the line the party chose among those offered (by tag and
// suite), installed with the party's key; and makes the answer for the
// offerer: its own profile, and the relay's key in the suite of the line
// the relay accepted from it. ErrMediaEncryption when the party's leg
// requires SRTP and the answer has none. Called with s.mu held, after
// the answer's lines were checked against the offer.
func (s *Session) sdesAnswer(from Side, sd *sdp.SessionDescription, lines []mediaLine, local []localStream) error {
	la, lo := s.legs[from], s.legs[from.other()]
	chosen := make([]*cryptoAttr, len(lines))
	for i, md := range sd.MediaDescriptions {
		if lines[i].kind != kindRTP || lines[i].port == 0 || local[i].rtpPort == 0 {
			continue
		}
		st := la.sdesAt(i)
		if la.enc == EncryptionNone || len(st.offered) == 0 || la.webrtc {
			continue
		}
		for _, c := range cryptoLines(md) {
			if int(c.tag) <= len(st.offered) && c.tag > 0 && st.offered[c.tag-1].suite.name == c.suite.name {
				chosen[i] = &c
				break
			}
		}
		if chosen[i] == nil && la.enc == EncryptionRequired {
			return fmt.Errorf("%w: the answer's m= line %d has no a=crypto of those offered", ErrMediaEncryption, i)
		}
	}
	for i := range sd.MediaDescriptions {
		if lines[i].kind != kindRTP {
			continue
		}
		if !la.webrtc {
			if err := s.sdesInstall(la, i, chosen[i]); err != nil {
				return err
			}
		}
		if lo.webrtc {
			continue // DTLS-SRTP towards a WebRTC party (webrtcFor)
		}
		off := lo.sdesAt(i)
		if off.protos != nil {
			local[i].protos = off.protos
		}
		if off.accepted == nil || local[i].rtpPort == 0 || lines[i].port == 0 {
			continue
		}
		k, err := off.localKey(suiteIndex(off.accepted.suite.name))
		if err != nil {
			return err
		}
		c := *k
		c.tag = off.accepted.tag
		local[i].crypto = []string{c.value()}
	}
	return nil
}

// sdesInstall keys the party's side of m= line i: remote is the party's
// line (nil: plain RTP), the relay's key is the local one of its suite.
// A party whose SRTP stops loses the relay's keys: new ones are drawn if
// it starts again.
func (s *Session) sdesInstall(l *leg, i int, remote *cryptoAttr) error {
	st := s.stream(i)
	if st == nil {
		return nil
	}
	end := st.ends[l.side]
	ss := l.sdesAt(i)
	if remote == nil {
		if !ss.keyed {
			return nil
		}
		ss.keyed = false
		ss.local = [len(cryptoSuites)]*cryptoAttr{}
		return end.setSRTP(nil)
	}
	k, err := ss.localKey(suiteIndex(remote.suite.name))
	if err != nil {
		return err
	}
	ss.keyed = true
	return end.setSRTP(&SRTPKeys{
		Profile:   remote.suite.profile,
		RemoteKey: remote.key, RemoteSalt: remote.salt, RemoteMKI: remote.mki,
		LocalKey: k.key, LocalSalt: k.salt,
	})
}
