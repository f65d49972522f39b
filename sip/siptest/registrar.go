package siptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Registrar makes an agent a registrar (a carrier the switch registers
// to) for one user and password, with RFC 3261 10.3's digest check: a
// REGISTER without credentials gets 401 (realm "carrier", qop=auth, a
// fresh nonce), one whose answer is right 200 with its Contact granted
// for min(Expires asked, Grant) seconds (the grant in the Contact's
// expires and in Expires), a wrong answer 403. Each REGISTER it takes is
// sent on Taken.
type Registrar struct {
	User, Password string
	// Taken receives each REGISTER the registrar accepted.
	Taken chan Registration

	mu     sync.Mutex
	grant  int
	refuse int
	nonces map[string]bool
}

// Registration is one REGISTER a Registrar accepted.
type Registration struct {
	Contact sip.Uri
	Asked   int // Expires asked (0: a removal)
	Granted int
	CallID  string
	CSeq    uint32
	Source  string
	AuthUsr string // the digest username it proved
}

// ServeRegistrar makes a the registrar of user/password, granting at
// most grant seconds.
func (a *Agent) ServeRegistrar(user, password string, grant int) *Registrar {
	r := &Registrar{User: user, Password: password, Taken: make(chan Registration, 64), grant: grant, nonces: map[string]bool{}}
	a.HandleRegister(r.serve)
	return r
}

// SetGrant changes the longest grant.
func (r *Registrar) SetGrant(secs int) {
	r.mu.Lock()
	r.grant = secs
	r.mu.Unlock()
}

// RefuseWith makes the registrar answer every REGISTER with code (0:
// serve them again).
func (r *Registrar) RefuseWith(code int) {
	r.mu.Lock()
	r.refuse = code
	r.mu.Unlock()
}

// Next waits for the next accepted REGISTER.
func (r *Registrar) Next(ctx context.Context) (Registration, error) {
	select {
	case reg := <-r.Taken:
		return reg, nil
	case <-ctx.Done():
		return Registration{}, ctx.Err()
	}
}

func (r *Registrar) serve(req *sip.Request, tx sip.ServerTransaction) {
	r.mu.Lock()
	refuse, grant := r.refuse, r.grant
	r.mu.Unlock()
	respond := func(code int, reason string, hdrs ...sip.Header) {
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		for _, h := range hdrs {
			res.AppendHeader(h)
		}
		tx.Respond(res)
	}
	if refuse != 0 {
		respond(refuse, "Refused By Test")
		return
	}
	h := req.GetHeader("Authorization")
	if h == nil {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		nonce := hex.EncodeToString(b)
		r.mu.Lock()
		r.nonces[nonce] = true
		r.mu.Unlock()
		chal := digest.Challenge{Realm: "carrier", Nonce: nonce, Algorithm: "MD5", QOP: []string{"auth"}}
		respond(401, "Unauthorized", sip.NewHeader("WWW-Authenticate", chal.String()))
		return
	}
	creds, err := digest.ParseCredentials(h.Value())
	if err != nil {
		respond(400, "Bad Authorization")
		return
	}
	r.mu.Lock()
	known := r.nonces[creds.Nonce]
	r.mu.Unlock()
	want, err := digest.Digest(&digest.Challenge{Realm: "carrier", Nonce: creds.Nonce, Algorithm: "MD5", QOP: []string{"auth"}},
		digest.Options{Method: "REGISTER", URI: creds.URI, Username: r.User, Password: r.Password, Cnonce: creds.Cnonce, Count: creds.Nc})
	if err != nil || !known || creds.Username != r.User || creds.Response != want.Response {
		respond(403, "Forbidden")
		return
	}
	asked := 3600
	if e := req.GetHeader("Expires"); e != nil {
		if n, err := strconv.Atoi(e.Value()); err == nil {
			asked = n
		}
	}
	granted := min(asked, grant)
	ct := req.Contact()
	if ct == nil {
		respond(400, "No Contact")
		return
	}
	reg := Registration{Contact: *ct.Address.Clone(), Asked: asked, Granted: granted, CallID: req.CallID().Value(),
		CSeq: req.CSeq().SeqNo, Source: req.Source(), AuthUsr: creds.Username}
	back := &sip.ContactHeader{Address: *ct.Address.Clone()}
	back.Params = sip.NewParams()
	back.Params.Add("expires", strconv.Itoa(granted))
	// The Expires header says the asked time: the Contact's parameter is
	// what holds (RFC 3261 10.3 step 8), and a client must read it.
	respond(200, "OK", back, sip.NewHeader("Expires", strconv.Itoa(asked)))
	select {
	case r.Taken <- reg:
	default:
	}
}

// AnswerAuthenticated answers a call with sdp once its INVITE proves user
// and password: the first INVITE of a call gets 407 (realm "carrier",
// qop=auth), a right answer 200, a wrong one 403: a far end that
// challenges the switch's calls.
func AnswerAuthenticated(user, password, sdp string) func(d *sipgo.DialogServerSession, req *sip.Request) {
	var mu sync.Mutex
	nonces := map[string]bool{}
	return func(d *sipgo.DialogServerSession, req *sip.Request) {
		h := req.GetHeader("Proxy-Authorization")
		if h == nil {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			nonce := hex.EncodeToString(b)
			mu.Lock()
			nonces[nonce] = true
			mu.Unlock()
			chal := digest.Challenge{Realm: "carrier", Nonce: nonce, Algorithm: "MD5", QOP: []string{"auth"}}
			d.Respond(407, "Proxy Authentication Required", nil, sip.NewHeader("Proxy-Authenticate", chal.String()))
			return
		}
		creds, err := digest.ParseCredentials(h.Value())
		if err != nil {
			d.Respond(400, "Bad Authorization", nil)
			return
		}
		mu.Lock()
		known := nonces[creds.Nonce]
		mu.Unlock()
		want, err := digest.Digest(&digest.Challenge{Realm: "carrier", Nonce: creds.Nonce, Algorithm: "MD5", QOP: []string{"auth"}},
			digest.Options{Method: "INVITE", URI: creds.URI, Username: user, Password: password, Cnonce: creds.Cnonce, Count: creds.Nc})
		if err != nil || !known || creds.Username != user || creds.Response != want.Response {
			d.Respond(403, "Forbidden", nil)
			return
		}
		AnswerWith(sdp)(d, req)
	}
}
