package sip

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
)

// authenticate checks the digest credentials req carries (Authorization for
// REGISTER, Proxy-Authorization for INVITE when proxy is set) and returns
// the phone they prove. When it returns false it has already answered req
// (challenge, stale challenge or 403).
//
// A refused INVITE keeps its transaction (the 407 is retransmitted and its
// ACK absorbed as RFC 3261 17.2.1 says), unlike a refused REGISTER
// (statelessUntilAuthenticated), up to maxHeldChallenges per source
// address (challengeHold, which says why).
func (s *Server) authenticate(req *sip.Request, tx sip.ServerTransaction, src netip.Addr, proxy bool) (*routing.Phone, bool) {
	phone, ok := s.checkCredentials(req, tx, src, proxy)
	if !ok && proxy {
		ap, err := netip.ParseAddrPort(req.Source())
		s.challengeHold.keep(tx, src, err == nil && s.flood.trusted(ap))
	}
	return phone, ok
}

func (s *Server) checkCredentials(req *sip.Request, tx sip.ServerTransaction, src netip.Addr, proxy bool) (*routing.Phone, bool) {
	credName := "Authorization"
	if proxy {
		credName = "Proxy-Authorization"
	}
	key := challengeKeyOf(req)
	h := findHeader(req, credName)
	if h == nil {
		// Noted before it is sent: the phone's answer may be handled on
		// another goroutine before this one runs again.
		s.authWatch.challenged(key, req.Method.String(), headerValue(req, "User-Agent"), s.cfg.now())
		s.challenge(req, tx, proxy, false)
		return nil, false
	}
	s.authWatch.answered(key)
	creds, err := parseDigestCredentials(h.Value())
	if err != nil {
		s.authFailed(req, tx, src, "", AuthMalformed, err.Error())
		return nil, false
	}
	if creds.realm != s.cfg.realm {
		s.authFailed(req, tx, src, creds.username, AuthRealm,
			fmt.Sprintf("the phone answered for realm %q, the switch's realm is %q", creds.realm, s.cfg.realm))
		return nil, false
	}
	newHash, ok := s.offered(creds.algorithm)
	if !ok {
		s.authFailed(req, tx, src, creds.username, AuthAlgorithm,
			fmt.Sprintf("the phone answered with algorithm %s, the switch offers %s (digest_algorithms)", creds.algorithm, strings.Join(s.cfg.algorithms, ", ")))
		return nil, false
	}
	if creds.qop != "" && !strings.EqualFold(creds.qop, "auth") {
		s.authFailed(req, tx, src, creds.username, AuthQop,
			fmt.Sprintf("the phone answered with qop=%s, the switch offers qop=auth", creds.qop))
		return nil, false
	}
	if !digestURIMatches(creds.uri, &req.Recipient) {
		// Credentials are for one Request-URI (RFC 3261 22.4, RFC 7616
		// 3.4.6): a response sniffed or replayed from a call to one number
		// must not place a call to another.
		s.authFailed(req, tx, src, creds.username, AuthURI,
			fmt.Sprintf("credentials computed for uri %q, not for the Request-URI %s (a replay, or a phone that hashes another uri)", creds.uri, req.Recipient.String()))
		return nil, false
	}
	phone, ok := s.dir.Phone(creds.username)
	if !ok || phone.Password == "" {
		s.authFailed(req, tx, src, creds.username, AuthUnknownUser, "no line with this username and a password")
		return nil, false
	}
	want := digestResponse(newHash, &creds, req.Method.String(), phone.Password)
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(creds.response))) != 1 {
		s.authFailed(req, tx, src, creds.username, AuthWrongPassword, "wrong password for the line")
		return nil, false
	}
	if err := s.nonces.check(creds.nonce, creds.nc, s.cfg.now()); err != nil {
		if errors.Is(err, errNonceStale) {
			// The password was right: the phone only needs a fresh nonce.
			s.challenge(req, tx, proxy, true)
			return nil, false
		}
		s.countAuthFailure(src, AuthNonce)
		s.logAuthFailure(req, src, creds.username, AuthNonce, err.Error())
		s.challenge(req, tx, proxy, false)
		return nil, false
	}
	if !sourceAllowed(phone.Source, src) {
		s.cfg.log.Warn("sip request from address not allowed for phone", "method", req.Method.String(), "phone", phone.Name, "source", src.String())
		respond(tx, req, 403, "Forbidden")
		return nil, false
	}
	if !userAgentAllowed(phone.AllowedUA, headerValue(req, "User-Agent")) {
		s.cfg.log.Warn("sip user agent not allowed for phone", "method", req.Method.String(), "phone", phone.Name, "user_agent", headerValue(req, "User-Agent"))
		respond(tx, req, 403, "Forbidden")
		return nil, false
	}
	// The source has proved a line: the flood limit no longer applies to
	// it (a registered phone or a trunk is never limited below its own
	// rate).
	if ap, err := netip.ParseAddrPort(req.Source()); err == nil {
		s.flood.trust(ap, s.cfg.now())
	}
	return phone, true
}

// challengeKeyOf names the phone behind req for the challenge watch: its
// source address and port, and its From user.
func challengeKeyOf(req *sip.Request) challengeKey {
	var k challengeKey
	if ap, err := netip.ParseAddrPort(req.Source()); err == nil {
		k.src = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	if from := req.From(); from != nil {
		k.user = from.Address.User
	}
	return k
}

func (s *Server) offered(alg string) (func() hash.Hash, bool) {
	if alg == "" {
		alg = "MD5"
	}
	for _, a := range s.cfg.algorithms {
		if strings.EqualFold(a, alg) {
			h, ok := hashFor(a)
			return h, ok
		}
	}
	return nil, false
}

// challenge answers 401/407 with one challenge per offered algorithm.
func (s *Server) challenge(req *sip.Request, tx sip.ServerTransaction, proxy, stale bool) {
	code, reason, name := 401, "Unauthorized", "WWW-Authenticate"
	if proxy {
		code, reason, name = 407, "Proxy Authentication Required", "Proxy-Authenticate"
	}
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	nonce := s.nonces.issue(s.cfg.now())
	for _, alg := range s.cfg.algorithms {
		var b strings.Builder
		b.Grow(128)
		b.WriteString(`Digest realm="`)
		b.WriteString(s.cfg.realm)
		b.WriteString(`", nonce="`)
		b.WriteString(nonce)
		b.WriteString(`", algorithm=`)
		b.WriteString(alg)
		b.WriteString(`, qop="auth"`)
		if stale {
			b.WriteString(", stale=true")
		}
		res.AppendHeader(sip.NewHeader(name, b.String()))
	}
	if err := tx.Respond(res); err != nil {
		s.cfg.log.Debug("sip challenge not sent", "error", err)
	}
}

// authFailed refuses req with 403 and counts the failure. Only a failure
// that says something about the password counts towards blocking the
// address: a phone set to another algorithm, realm or qop is not
// guessing, and one such phone must not get a whole office behind its
// NAT blocked.
func (s *Server) authFailed(req *sip.Request, tx sip.ServerTransaction, src netip.Addr, user string, reason AuthReason, cause string) {
	s.countAuthFailure(src, reason)
	s.logAuthFailure(req, src, user, reason, cause)
	respond(tx, req, 403, "Forbidden")
}

func (s *Server) countAuthFailure(src netip.Addr, reason AuthReason) {
	s.stats.authFailures[reason].Add(1)
	switch reason {
	case AuthAlgorithm, AuthRealm, AuthQop:
		return
	}
	if s.guard.fail(src, s.cfg.now()) {
		s.cfg.log.Warn("sip address blocked after repeated auth failures", "source", src.String(), "block_for", s.cfg.authBlockFor.String())
	}
}

// logAuthFailure logs a failure once per source and reason an interval,
// with the count of the same left out since the last line.
func (s *Server) logAuthFailure(req *sip.Request, src netip.Addr, user string, reason AuthReason, cause string) {
	ok, more := s.authWatch.shouldLog(src, reason, s.cfg.now())
	if !ok {
		return
	}
	s.cfg.log.Warn("sip auth failed", "method", req.Method.String(), "user", user, "source", src.String(),
		"reason", reason.String(), "cause", cause, "user_agent", headerValue(req, "User-Agent"), "same_since_last_log", more)
}

// reportAuthWatch logs and counts the challenges never answered, and the
// failures left out of the log by sources that went quiet.
func (s *Server) reportAuthWatch(now time.Time) {
	for _, u := range s.authWatch.expire(now) {
		s.stats.authFailures[AuthUnanswered].Add(1)
		src := u.src.Addr()
		if ok, _ := s.authWatch.shouldLog(src, AuthUnanswered, now); !ok {
			continue
		}
		s.cfg.log.Warn("sip challenge never answered", "method", u.method, "user", u.user, "source", u.src.String(),
			"challenges", u.count, "user_agent", u.userAgent, "reason", AuthUnanswered.String(), "cause", s.unansweredCause())
	}
	for _, l := range s.authWatch.sweep(now) {
		s.cfg.log.Warn("sip auth failures not logged", "source", l.src.String(), "reason", l.reason.String(), "count", l.count)
	}
}

// unansweredCause names the likely reason a phone gives up on a challenge.
func (s *Server) unansweredCause() string {
	for _, a := range s.cfg.algorithms {
		if !strings.EqualFold(a, "MD5") {
			return fmt.Sprintf("the phone may not support a digest algorithm the switch offers (%s): many phones refuse a challenge naming one they do not know; digest_algorithms: [MD5] suits them", strings.Join(s.cfg.algorithms, ", "))
		}
	}
	return fmt.Sprintf("the phone has no credentials for realm %q, or gave up (check its username and password)", s.cfg.realm)
}

// digestURIMatches reports whether the uri of digest credentials names the
// request's Request-URI: same scheme, user and host (case-insensitive), and
// port, an absent port being the scheme's default. URI parameters are not
// compared: clients differ in which they repeat, and none changes who is
// called.
func digestURIMatches(credURI string, reqURI *sip.Uri) bool {
	var u sip.Uri
	if err := sip.ParseUri(credURI, &u); err != nil {
		return false
	}
	return strings.EqualFold(u.Scheme, reqURI.Scheme) && u.User == reqURI.User &&
		strings.EqualFold(u.Host, reqURI.Host) && uriPort(&u) == uriPort(reqURI)
}

func uriPort(u *sip.Uri) int {
	switch {
	case u.Port != 0:
		return u.Port
	case strings.EqualFold(u.Scheme, "sips"):
		return 5061
	}
	return routing.DefaultSIPPort
}

// sourceAllowed applies a phone's source: the list routing.ParseSource
// reads ("" allows every address).
func sourceAllowed(list string, src netip.Addr) bool {
	return routing.SourceAllows(list, src)
}

// userAgentAllowed applies a phone's allowed_ua: a comma separated list of
// User-Agent fragments; the request's User-Agent must contain one of them
// (case-insensitive). Empty allows any User-Agent.
func userAgentAllowed(list, ua string) bool {
	if strings.TrimSpace(list) == "" {
		return true
	}
	ua = strings.ToLower(ua)
	for list != "" {
		var item string
		item, list, _ = strings.Cut(list, ",")
		item = strings.TrimSpace(item)
		if item != "" && strings.Contains(ua, strings.ToLower(item)) {
			return true
		}
	}
	return false
}

func headerValue(req *sip.Request, name string) string {
	if h := findHeader(req, name); h != nil {
		return h.Value()
	}
	return ""
}

// findHeader is the first header called name (case-insensitive). sipgo's
// GetHeader lowers every header name it compares, an allocation for each
// mixed-case one, several per lookup on the INVITE path.
func findHeader(m interface{ Headers() []sip.Header }, name string) sip.Header {
	for _, h := range m.Headers() {
		if strings.EqualFold(h.Name(), name) {
			return h
		}
	}
	return nil
}

func respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	_ = tx.Respond(res)
}

// statelessUntilAuthenticated ends a non-INVITE server transaction that
// was answered without the request proving a line (a challenge, a 403, a
// 400), as Kamailio answers challenges with sl_send_reply: sipgo otherwise
// keeps every such transaction, request and response, for Timer J (32 s
// over UDP), about 4.6 KiB each, so a stranger sending unauthenticated
// REGISTERs makes the switch hold memory in proportion to what it sends
// (the issue's 189,000 in 8 s: 448 MiB). A retransmission of the request
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
