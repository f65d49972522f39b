package auth

import (
	"encoding/base64"
	"encoding/binary"
	"net/netip"
	"time"
)

// AppendStatelessChallenge appends the Proxy-Authenticate header lines
// (one per offered algorithm, each ending CRLF) of a 407 that the SIP
// core sends from the raw bytes of an INVITE, without a transaction
// (RFC 3261 8.2.7, a stateless UAS; Kamailio's proxy_challenge answers
// the same way), and notes the challenge for the watch as Check does.
//
// A stateless UAS answers a retransmitted request anew, so the answer
// must be the same bytes: a caller that matches retransmitted responses
// by content (SIPp does) takes a 407 with another nonce for a new one
// and fails the call. The nonce is therefore made from seed (the
// request's Call-ID, CSeq, top Via branch and source, so no two requests
// share one) and the time rounded down to a step of at most 4 s (an
// eighth of the nonce's lifetime when that is shorter), instead of a
// random part and the exact time: the same INVITE within the step gets
// the same challenge. It is as unforgeable as any other nonce (the same
// MAC), and used once like any other (nonceBook.check).
func (a *Authenticator) AppendStatelessChallenge(dst []byte, seed uint64, src netip.AddrPort, fromUser, userAgent string) []byte {
	now := a.now()
	a.watch.challenged(challengeKey{src: src, user: fromUser}, "INVITE", userAgent, now)
	var raw [nonceRawLen]byte
	step := min(4*time.Second, a.nonceTTL/8)
	issued := now
	if step > 0 {
		issued = now.Truncate(step)
	}
	binary.BigEndian.PutUint64(raw[:8], uint64(issued.UnixNano()))
	binary.BigEndian.PutUint64(raw[8:16], seed)
	a.nonces.mac(raw[:16], raw[16:])
	var nonce [44]byte // base64 of nonceRawLen bytes, unpadded
	base64.RawURLEncoding.Encode(nonce[:], raw[:])
	for _, alg := range a.algorithms {
		dst = append(dst, `Proxy-Authenticate: Digest realm="`...)
		dst = append(dst, a.realm...)
		dst = append(dst, `", nonce="`...)
		dst = append(dst, nonce[:base64.RawURLEncoding.EncodedLen(nonceRawLen)]...)
		dst = append(dst, `", algorithm=`...)
		dst = append(dst, alg...)
		dst = append(dst, `, qop="auth"`+"\r\n"...)
	}
	return dst
}
