package importer

import (
	"strings"

	"github.com/sipswitch/sipswitch/routing"
)

// Media encryption: pjsip's media_encryption (with
// media_encryption_optimistic) and chan_sip's encryption become a line's
// or peer's media_encryption, as render writes them back
// (render/README.md, Media encryption): sdes with optimistic is
// optional, sdes alone required; chan_sip's encryption=yes required.
// DTLS-SRTP (media_encryption=dtls) is for WebRTC endpoints and is not
// imported.

// pjsipEncryption maps an endpoint's media encryption options.
func pjsipEncryption(b *build, last func(string) (opt, bool)) {
	enc, hasEnc := last("media_encryption")
	opt, hasOpt := last("media_encryption_optimistic")
	switch {
	case !hasEnc || strings.EqualFold(enc.Value, "no"):
		if hasEnc {
			b.implied(enc)
		}
		if hasOpt {
			b.implied(opt) // without SDES it changes nothing
		}
	case strings.EqualFold(enc.Value, "sdes") && hasOpt && yes(opt.Value):
		b.set("media_encryption", routing.MediaEncryptionOptional, enc, opt)
	case strings.EqualFold(enc.Value, "sdes"):
		b.set("media_encryption", routing.MediaEncryptionRequired, enc)
		if hasOpt {
			b.implied(opt)
		}
	default:
		b.warn(enc, "not imported: the SIP core terminates SRTP with SDES keys only (media_encryption none, optional or required)")
		if hasOpt {
			b.implied(opt)
		}
	}
}

// chanSIPEncryption maps encryption=: yes is SRTP only. chan_sip takes an
// SRTP offer either way, so no is the default (none).
func chanSIPEncryption(b *build, last func(string) (opt, bool)) {
	o, ok := last("encryption")
	switch {
	case !ok:
	case yes(o.Value):
		b.set("media_encryption", routing.MediaEncryptionRequired, o)
	case no(o.Value):
		b.implied(o)
	default:
		b.warn(o, "not imported: not yes or no")
	}
}
