package sip

import (
	"bytes"
	"errors"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/media"
	"github.com/sipswitch/sipswitch/sip/registrar"
)

// SRTP with SDES keys (RFC 3711, RFC 4568) on the calls of lines and
// peers whose media_encryption asks for it; the rules are the package
// documentation's (SRTP). The relay terminates SRTP per leg
// (sip/media: each leg gets the relay's own key), so a call that
// involves SRTP on either side is always relayed.

// errSDESNeedsTLS: a party whose media_encryption is required is reached
// (or called from) over a transport SDES keys may not travel on.
var errSDESNeedsTLS = errors.New("media: SRTP required and SDES keys travel over TLS only")

// errSRTPNoRelay: the call needs SRTP (a party's policy, or a=crypto in
// the offer) and the switch has no relay to terminate it.
var errSRTPNoRelay = errors.New("media: SRTP needs the media relay")

// WithSDESWithoutTLS lets SDES keys (RFC 4568 a=crypto: the SRTP master
// key, in the clear inside the SDP) travel over UDP and TCP. Off by
// default, and unsafe: anyone who can read the signalling on the path
// (a shared LAN, the carrier's network, a mirror port) then has the key
// and decrypts the call's media, so the SRTP only looks secure (RFC 4568
// 8.3: SDES must be carried over a secure transport). Turn it on only
// for phones on a network the operator controls end to end, or in a lab.
func WithSDESWithoutTLS(allow bool) Option {
	return func(c *config) error { c.sdesWithoutTLS = allow; return nil }
}

// policyEncryption is a media_encryption value as the relay takes it;
// anything else (the empty value of an endpoint line) is none.
func policyEncryption(v string) media.Encryption {
	switch v {
	case routing.MediaEncryptionOptional:
		return media.EncryptionOptional
	case routing.MediaEncryptionRequired:
		return media.EncryptionRequired
	}
	return media.EncryptionNone
}

// sdesTransport reports whether SDES keys may travel over transport
// (sipgo's names): TLS and secure WebSocket, any under
// WithSDESWithoutTLS.
func (s *Server) sdesTransport(transport string) bool {
	return strings.EqualFold(transport, "TLS") || strings.EqualFold(transport, "WSS") || s.cfg.sdesWithoutTLS
}

// legEncryption is what a party with media_encryption policy, whose SIP
// travels over transport, gets: the policy itself where SDES keys may
// travel; elsewhere plain RTP (a key it offers is not taken, an RTP/SAVP
// offer then fails 488), or errSDESNeedsTLS when the policy requires SRTP.
func (s *Server) legEncryption(policy, transport string) (media.Encryption, error) {
	enc := policyEncryption(policy)
	if enc == media.EncryptionNone || s.sdesTransport(transport) {
		return enc, nil
	}
	if enc == media.EncryptionRequired {
		return media.EncryptionNone, errSDESNeedsTLS
	}
	return media.EncryptionNone, nil
}

// screenCallerEncryption decides the caller's leg: its line's or peer's
// policy over the transport its INVITE came on. A caller that requires
// SRTP over a transport SDES may not use is refused (488); one whose
// offer carries keys over such a transport has them ignored, and logged.
func (c *call) screenCallerEncryption(transport string, body []byte) error {
	if c.callerWebRTC {
		// A browser's media is DTLS-SRTP (media/doc.go, WebRTC),
		// whatever its line's media_encryption says of SDES.
		return nil
	}
	policy := ""
	switch {
	case c.callerPhone != nil:
		policy = c.callerPhone.MediaEncryption
	case c.callerPeer != nil:
		policy = c.callerPeer.MediaEncryption
	}
	enc, err := c.s.legEncryption(policy, transport)
	c.callerEnc = enc
	if err == nil && hasSDES(body) && !c.s.sdesTransport(transport) {
		c.s.stats.sdesRefused.Add(1)
		c.s.cfg.log.Info("sip SDES keys over an insecure transport not taken", "call_id", c.callID, "transport", transport)
	}
	return err
}

// hasSDES reports whether an SDP may carry SRTP with SDES keys: an
// a=crypto attribute or an RTP/SAVP(F) profile (" RTP/SAVP": not
// WebRTC's UDP/TLS/RTP/SAVPF, whose keys DTLS makes). A cheap scan: a
// false positive only relays a call that did not need it.
func hasSDES(body []byte) bool {
	return bytes.Contains(body, []byte("a=crypto:")) || bytes.Contains(body, []byte(" RTP/SAVP"))
}

// needsSRTP reports whether the call must go through the relay for SRTP:
// a party's policy asks for it, or the offer carries keys (which must
// never pass on to the callee, whatever its transport).
func (c *call) needsSRTP(body []byte, calleeEnc media.Encryption) bool {
	return c.callerEnc != media.EncryptionNone || calleeEnc != media.EncryptionNone || hasSDES(body)
}

// peerEncryption is the callee leg's encryption towards a peer's host.
func (c *call) peerEncryption(p *routing.Peer, h routing.HostPort) (media.Encryption, error) {
	return c.s.legEncryption(p.MediaEncryption, h.Transport)
}

// lineEncryption is the callee leg's encryption towards a line's
// contacts, all rung with one offer: SRTP only where every contact
// registered over a transport SDES may use. A line that requires SRTP
// rings only such contacts (errSDESNeedsTLS when it has none).
func (c *call) lineEncryption(p *routing.Phone, contacts []registrar.Binding) (media.Encryption, []registrar.Binding, error) {
	enc := policyEncryption(p.MediaEncryption)
	if enc == media.EncryptionNone {
		return enc, contacts, nil
	}
	secure := contacts[:0:0]
	for _, b := range contacts {
		if c.s.sdesTransport(b.Reg.Transport) {
			secure = append(secure, b)
		}
	}
	switch {
	case len(secure) == len(contacts):
		return enc, contacts, nil
	case enc == media.EncryptionOptional:
		return media.EncryptionNone, contacts, nil
	case len(secure) == 0:
		return media.EncryptionNone, nil, errSDESNeedsTLS
	}
	return enc, secure, nil
}
