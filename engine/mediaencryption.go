package engine

import "github.com/sipswitch/sipswitch/routing"

// mediaEncryptionParam is phones' and peers' media_encryption, a
// sipswitch addition (INFERRED, issue 26): neither seed page has an
// encryption setting, and Asterisk's own name for it is pjsip's
// media_encryption. none (the default, Asterisk's media_encryption=no):
// plain RTP, an RTP/SAVP offer from the party is refused; optional: SRTP
// with SDES keys when the party offers or accepts it (pjsip's
// media_encryption=sdes with media_encryption_optimistic=yes); required:
// SRTP only (media_encryption=sdes; chan_sip encryption=yes). SDES keys
// travel in the SDP, so the SIP core exchanges them only over TLS (sip
// package documentation, SRTP).
var mediaEncryptionParam = enum("media_encryption", String, routing.MediaEncryptionNone,
	routing.MediaEncryptionNone, routing.MediaEncryptionOptional, routing.MediaEncryptionRequired)
