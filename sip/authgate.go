package sip

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/auth"
)

// AuthReason is why an authentication failed (Stats.AuthFailuresBy is
// indexed by it; its String is the metric label).
type AuthReason = auth.Reason

// numAuthReasons is the number of AuthReasons.
const numAuthReasons = auth.NumReasons

// authenticate checks the credentials of req (see auth.Authenticator.Check)
// and, once they prove a line, trusts their source for the flood limit: a
// registered phone or a trunk is never limited below its own rate. When
// it returns false req has been answered (challenge, stale challenge or
// 403). A REGISTER's transaction is then ended (see
// statelessUntilAuthenticated); a refused INVITE keeps its transaction for
// its ACK (the 407 retransmitted, a retransmitted INVITE answered with the
// same 407, RFC 3261 17.2.1), up to maxHeldChallenges per untrusted source
// address (challengeHold, which says why).
func (s *Server) authenticate(req *sip.Request, tx sip.ServerTransaction, src netip.Addr, proxy bool) (*routing.Phone, bool) {
	phone, ok := s.auth.Check(req, tx, src, proxy)
	if !ok {
		if proxy {
			ap, err := netip.ParseAddrPort(req.Source())
			s.challengeHold.keep(tx, src, err == nil && s.flood.trusted(ap))
		} else {
			tx.Terminate()
		}
		return nil, false
	}
	if ap, err := netip.ParseAddrPort(req.Source()); err == nil {
		s.flood.trust(ap, s.cfg.now())
	}
	return phone, true
}

// statelessUntilAuthenticated ends a non-INVITE server transaction that
// was answered without the request proving a line (a challenge, a 403, a
// 400), as Kamailio answers challenges with sl_send_reply: sipgo otherwise
// keeps every such transaction, request and response, for Timer J (32 s
// over UDP), about 4.6 KiB each, so a stranger sending unauthenticated
// REGISTERs makes the switch hold memory in proportion to what it sends
// (the 189,000 in 8 s: 448 MiB). A retransmission of the request
// is then a new transaction and is challenged again (a fresh nonce, which
// costs no memory: nonceBook.issue), which is what a stateless UAS does
// (RFC 3261 8.2.7). Once the request has authenticated the transaction
// stays, so a retransmitted REGISTER gets the same 200 and is not applied
// twice.
func statelessUntilAuthenticated(tx sip.ServerTransaction, authed *bool) {
	if !*authed {
		tx.Terminate()
	}
}
