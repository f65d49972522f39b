package auth

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
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// Check checks the digest credentials req carries (Authorization for
// REGISTER, Proxy-Authorization for INVITE when proxy is set) from source
// address src and returns the phone they prove. When it returns false it
// has already answered req (challenge, stale challenge or 403).
func (a *Authenticator) Check(req *sip.Request, tx sip.ServerTransaction, src netip.Addr, proxy bool) (*routing.Phone, bool) {
	return a.CheckWith(req, tx, src, proxy, a.phones)
}

// CheckWith is Check with the credentials looked up in phones instead of
// the authenticator's lines: a trunk's calls are proved with its own
// secret (sip/trunkcall.go), under the same nonces, guard and watch.
func (a *Authenticator) CheckWith(req *sip.Request, tx sip.ServerTransaction, src netip.Addr, proxy bool, phones Phones) (*routing.Phone, bool) {
	credName := "Authorization"
	if proxy {
		credName = "Proxy-Authorization"
	}
	key := challengeKeyOf(req)
	h := sipmsg.Header(req, credName)
	if h == nil {
		// Noted before it is sent: the phone's answer may be handled on
		// another goroutine before this one runs again.
		a.watch.challenged(key, req.Method.String(), sipmsg.HeaderValue(req, "User-Agent"), a.now())
		a.challenge(req, tx, proxy, false)
		return nil, false
	}
	a.watch.answered(key)
	creds, err := ParseCredentials(h.Value())
	if err != nil {
		a.authFailed(req, tx, src, "", Malformed, err.Error())
		return nil, false
	}
	if creds.Realm != a.realm {
		a.authFailed(req, tx, src, creds.Username, BadRealm,
			fmt.Sprintf("the phone answered for realm %q, the switch's realm is %q", creds.Realm, a.realm))
		return nil, false
	}
	newHash, ok := a.offered(creds.Algorithm)
	if !ok {
		a.authFailed(req, tx, src, creds.Username, BadAlgorithm,
			fmt.Sprintf("the phone answered with algorithm %s, the switch offers %s (digest_algorithms)", creds.Algorithm, strings.Join(a.algorithms, ", ")))
		return nil, false
	}
	if creds.Qop != "" && !strings.EqualFold(creds.Qop, "auth") {
		a.authFailed(req, tx, src, creds.Username, BadQop,
			fmt.Sprintf("the phone answered with qop=%s, the switch offers qop=auth", creds.Qop))
		return nil, false
	}
	if !digestURIMatches(creds.URI, &req.Recipient) {
		// Credentials are for one Request-URI (RFC 3261 22.4, RFC 7616
		// 3.4.6): a response sniffed or replayed from a call to one number
		// must not place a call to another.
		a.authFailed(req, tx, src, creds.Username, BadURI,
			fmt.Sprintf("credentials computed for uri %q, not for the Request-URI %s (a replay, or a phone that hashes another uri)", creds.URI, req.Recipient.String()))
		return nil, false
	}
	phone, ok := phones.Phone(creds.Username)
	if !ok || phone.Password == "" {
		a.authFailed(req, tx, src, creds.Username, UnknownUser, "no line with this username and a password")
		return nil, false
	}
	want := Response(newHash, &creds, req.Method.String(), phone.Password)
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(creds.Response))) != 1 {
		a.authFailed(req, tx, src, creds.Username, WrongPassword, "wrong password for the line")
		return nil, false
	}
	if err := a.nonces.check(creds.Nonce, creds.NC, a.now()); err != nil {
		if errors.Is(err, errNonceStale) {
			// The password was right: the phone only needs a fresh nonce.
			a.challenge(req, tx, proxy, true)
			return nil, false
		}
		a.countFailure(src, BadNonce)
		a.logFailure(req, src, creds.Username, BadNonce, err.Error())
		a.challenge(req, tx, proxy, false)
		return nil, false
	}
	if !sourceAllowed(phone.Source, src) {
		a.log.Warn("sip request from address not allowed for phone", "method", req.Method.String(), "phone", phone.Name, "source", src.String())
		sipmsg.Respond(tx, req, 403, "Forbidden")
		return nil, false
	}
	if !routing.UserAgentAllows(phone.AllowedUA, sipmsg.HeaderValue(req, "User-Agent")) {
		a.log.Warn("sip user agent not allowed for phone", "method", req.Method.String(), "phone", phone.Name, "user_agent", sipmsg.HeaderValue(req, "User-Agent"))
		sipmsg.Respond(tx, req, 403, "Forbidden")
		return nil, false
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

func (a *Authenticator) offered(alg string) (func() hash.Hash, bool) {
	if alg == "" {
		alg = "MD5"
	}
	for _, o := range a.algorithms {
		if strings.EqualFold(o, alg) {
			h, ok := hashFor(o)
			return h, ok
		}
	}
	return nil, false
}

// challenge answers 401/407 with one challenge per offered algorithm.
func (a *Authenticator) challenge(req *sip.Request, tx sip.ServerTransaction, proxy, stale bool) {
	code, reason, name := 401, "Unauthorized", "WWW-Authenticate"
	if proxy {
		code, reason, name = 407, "Proxy Authentication Required", "Proxy-Authenticate"
	}
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	nonce := a.nonces.issue(a.now())
	for _, alg := range a.algorithms {
		var b strings.Builder
		b.Grow(128)
		b.WriteString(`Digest realm="`)
		b.WriteString(a.realm)
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
		a.log.Debug("sip challenge not sent", "error", err)
	}
}

// authFailed refuses req with 403 and counts the failure. Only a failure
// that says something about the password counts towards blocking the
// address: a phone set to another algorithm, realm or qop is not
// guessing, and one such phone must not get a whole office behind its
// NAT blocked.
func (a *Authenticator) authFailed(req *sip.Request, tx sip.ServerTransaction, src netip.Addr, user string, reason Reason, cause string) {
	a.countFailure(src, reason)
	a.logFailure(req, src, user, reason, cause)
	sipmsg.Respond(tx, req, 403, "Forbidden")
}

func (a *Authenticator) countFailure(src netip.Addr, reason Reason) {
	a.failures[reason].Add(1)
	switch reason {
	case BadAlgorithm, BadRealm, BadQop:
		return
	}
	if a.guard.fail(src, a.now()) {
		a.log.Warn("sip address blocked after repeated auth failures", "source", src.String(), "block_for", a.blockFor.String())
	}
}

// logFailure logs a failure once per source and reason an interval,
// with the count of the same left out since the last line.
func (a *Authenticator) logFailure(req *sip.Request, src netip.Addr, user string, reason Reason, cause string) {
	ok, more := a.watch.shouldLog(src, reason, a.now())
	if !ok {
		return
	}
	a.log.Warn("sip auth failed", "method", req.Method.String(), "user", user, "source", src.String(),
		"reason", reason.String(), "cause", cause, "user_agent", sipmsg.HeaderValue(req, "User-Agent"), "same_since_last_log", more)
}

// Sweep forgets nonces past their lifetime and guard records past their
// window, and logs and counts the challenges never answered and the
// failures left out of the log by sources that went quiet. Call it at
// least every SweepEvery.
func (a *Authenticator) Sweep(now time.Time) {
	a.nonces.sweep(now)
	a.guard.sweep(now)
	for _, u := range a.watch.expire(now) {
		a.failures[Unanswered].Add(1)
		src := u.src.Addr()
		if ok, _ := a.watch.shouldLog(src, Unanswered, now); !ok {
			continue
		}
		a.log.Warn("sip challenge never answered", "method", u.method, "user", u.user, "source", u.src.String(),
			"challenges", u.count, "user_agent", u.userAgent, "reason", Unanswered.String(), "cause", a.unansweredCause())
	}
	for _, l := range a.watch.sweep(now) {
		a.log.Warn("sip auth failures not logged", "source", l.src.String(), "reason", l.reason.String(), "count", l.count)
	}
}

// unansweredCause names the likely reason a phone gives up on a challenge.
func (a *Authenticator) unansweredCause() string {
	for _, alg := range a.algorithms {
		if !strings.EqualFold(alg, "MD5") {
			return fmt.Sprintf("the phone may not support a digest algorithm the switch offers (%s): many phones refuse a challenge naming one they do not know; digest_algorithms: [MD5] suits them", strings.Join(a.algorithms, ", "))
		}
	}
	return fmt.Sprintf("the phone has no credentials for realm %q, or gave up (check its username and password)", a.realm)
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
