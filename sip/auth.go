package sip

import (
	"crypto/subtle"
	"errors"
	"hash"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
)

// authenticate checks the digest credentials req carries (Authorization for
// REGISTER, Proxy-Authorization for INVITE when proxy is set) and returns
// the phone they prove. When it returns false it has already answered req
// (challenge, stale challenge or 403).
func (s *Server) authenticate(req *sip.Request, tx sip.ServerTransaction, src netip.Addr, proxy bool) (*routing.Phone, bool) {
	credName := "Authorization"
	if proxy {
		credName = "Proxy-Authorization"
	}
	h := findHeader(req, credName)
	if h == nil {
		s.challenge(req, tx, proxy, false)
		return nil, false
	}
	creds, err := parseDigestCredentials(h.Value())
	if err != nil {
		s.authFailed(req, tx, src, "", err)
		return nil, false
	}
	if creds.realm != s.cfg.realm {
		s.authFailed(req, tx, src, creds.username, errBadRealm)
		return nil, false
	}
	if !digestURIMatches(creds.uri, &req.Recipient) {
		// Credentials are for one Request-URI (RFC 3261 22.4, RFC 7616
		// 3.4.6): a response sniffed or replayed from a call to one number
		// must not place a call to another.
		s.authFailed(req, tx, src, creds.username, errURIMismatch)
		return nil, false
	}
	newHash, ok := s.offered(creds.algorithm)
	if !ok {
		s.authFailed(req, tx, src, creds.username, errAlgorithm)
		return nil, false
	}
	phone, ok := s.dir.Phone(creds.username)
	if !ok || phone.Password == "" {
		s.authFailed(req, tx, src, creds.username, errBadResponse)
		return nil, false
	}
	want := digestResponse(newHash, &creds, req.Method.String(), phone.Password)
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(creds.response))) != 1 {
		s.authFailed(req, tx, src, creds.username, errBadResponse)
		return nil, false
	}
	if err := s.nonces.check(creds.nonce, creds.nc, s.cfg.now()); err != nil {
		if errors.Is(err, errNonceStale) {
			// The password was right: the phone only needs a fresh nonce.
			s.challenge(req, tx, proxy, true)
			return nil, false
		}
		s.stats.authFailures.Add(1)
		s.guard.fail(src, s.cfg.now())
		s.cfg.log.Warn("sip auth refused", "method", req.Method.String(), "user", creds.username, "source", src.String(), "reason", err.Error())
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
	return phone, true
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

func (s *Server) authFailed(req *sip.Request, tx sip.ServerTransaction, src netip.Addr, user string, why error) {
	s.stats.authFailures.Add(1)
	// An algorithm the switch did not offer proves nothing about the
	// password: a phone configured for another algorithm is not guessing,
	// and must not get its whole address blocked.
	if !errors.Is(why, errAlgorithm) && s.guard.fail(src, s.cfg.now()) {
		s.cfg.log.Warn("sip address blocked after repeated auth failures", "source", src.String(), "block_for", s.cfg.authBlockFor.String())
	}
	s.cfg.log.Warn("sip auth failed", "method", req.Method.String(), "user", user, "source", src.String(), "reason", why.Error())
	respond(tx, req, 403, "Forbidden")
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

// sourceAllowed applies a phone's source: a comma or space separated list
// of IP addresses or CIDR prefixes; empty allows any address.
func sourceAllowed(list string, src netip.Addr) bool {
	if strings.TrimSpace(list) == "" {
		return true
	}
	for list != "" {
		var item string
		item, list = nextItem(list)
		if item == "" {
			continue
		}
		if strings.IndexByte(item, '/') >= 0 {
			if p, err := netip.ParsePrefix(item); err == nil && p.Contains(src) {
				return true
			}
			continue
		}
		if a, err := netip.ParseAddr(item); err == nil && a.Unmap() == src {
			return true
		}
	}
	return false
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

// nextItem splits the first item off a comma or space separated list.
func nextItem(list string) (item, rest string) {
	list = strings.TrimLeft(list, ", \t")
	i := strings.IndexAny(list, ", \t")
	if i < 0 {
		return list, ""
	}
	return list[:i], list[i:]
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
