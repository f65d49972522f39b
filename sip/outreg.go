package sip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// Outbound registration (RFC 3261 10.2, RFC 5626 4.5 for the retries): a
// sip_endpoint with registration=out (routing.EndpointTrunk.RegisterOut)
// is registered by the switch at its host, as the rendered register =>
// line (chan_sip) and type=registration section (res_pjsip) register it:
//
//   - REGISTER sip:host:port over the endpoint's transport (through its
//     outboundproxy when set), To and From sip:user@host where user is
//     its defaultuser (else its name), one Call-ID and From tag for the
//     registration's life and a CSeq that grows (RFC 3261 10.2.4), asking
//     for Expires the registration expiry (WithTrunkRegistration, default
//     3600 s: res_pjsip's expiration).
//   - Contact sip:<extension, else user>@<the switch's address>;line=<a
//     random token> (res_pjsip's line=yes): an INVITE whose Request-URI
//     carries the token came through this registration and is a call from
//     the endpoint (trunkcall.go), whatever address it comes from. The
//     rendered files give the same contact user (render: contact_user=,
//     register => .../extension).
//   - A 401 or 407 is answered with the user and remotesecret (else
//     secret), the rendered outbound auth; 423 Interval Too Brief is
//     retried at once with its Min-Expires (RFC 3261 10.2.8).
//   - The grant is the expires parameter of the registrar's Contact that
//     is ours (RFC 3261 10.2.4), else its Expires header, else what was
//     asked; the registration is refreshed before it ends: at
//     grant - min(grant/2, 30 s) (INFERRED: res_pjsip refreshes a few
//     seconds before, a margin of half the grant covers a short one).
//   - A failure (no answer, a refusal, credentials the registrar does not
//     take) is retried after a backoff that doubles from the retry
//     minimum to the retry maximum (defaults 5 s and 60 s: res_pjsip's
//     retry_interval as the ceiling), and restarts at the minimum after a
//     success. A 403 is retried at the maximum alone (res_pjsip's
//     forbidden_retry_interval would stop for good; a store change
//     restarts it anyway).
//   - When the endpoint is deleted or changed (a routing rebuild gives the
//     new set, trunkkeeper.go) and when the switch stops, a registration
//     that holds is removed (Expires: 0 on its Contact), bounded by the
//     unregister timeout.
//
// State: Server.Trunks (the daemon's sipswitch_sip_endpoint_registered
// gauge per endpoint) and a log line on every change: INFO "sip endpoint
// registered" with the grant, WARN "sip endpoint registration failed" with
// the status and the next try, INFO "sip endpoint unregistered". The
// secret never appears in either.

// outReg is one outbound registration.
type outReg struct {
	s       *Server
	t       routing.EndpointTrunk
	token   string
	callID  string
	fromTag string
	cseq    uint32

	mu    sync.Mutex
	state regState
}

// regState is what an outbound registration knows of itself.
type regState struct {
	registered bool
	until      time.Time // the grant's end while registered
	lastStatus int       // last final status (0: no answer)
	failures   int       // consecutive failures
}

func newOutReg(s *Server, t *routing.EndpointTrunk) *outReg {
	return &outReg{s: s, t: *t, token: randomToken(8), callID: randomToken(16) + "@sipswitch", fromTag: randomToken(8)}
}

// randomToken is n random bytes in hex.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// run registers and refreshes until ctx ends, then unregisters.
func (r *outReg) run(ctx context.Context) {
	cfg := r.s.cfg.trunkTiming
	backoff := cfg.retryMin
	for {
		granted, status, err := r.register(ctx, int(cfg.expires/time.Second))
		if ctx.Err() != nil {
			// Stopped during the REGISTER: the registrar may have taken
			// it, so it is removed as a registration that holds.
			r.mu.Lock()
			r.state.registered = r.state.registered || err != nil
			r.mu.Unlock()
			break
		}
		var wait time.Duration
		if err == nil {
			backoff = cfg.retryMin
			wait = refreshAfter(granted)
		} else {
			wait = backoff
			if status == 403 {
				wait = cfg.retryMax
			}
			backoff = min(backoff*2, cfg.retryMax)
			r.s.cfg.log.Warn("sip endpoint registration failed", "endpoint", r.t.Name, "registrar", r.t.Host.String(),
				"user", r.t.AuthUser, "status", status, "error", err, "retry_in", wait.String())
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
			continue
		}
		break
	}
	r.unregister()
}

// refreshAfter is when a registration granted for granted is refreshed.
func refreshAfter(granted time.Duration) time.Duration {
	return granted - min(granted/2, 30*time.Second)
}

// register sends one REGISTER asking for expires seconds (0 removes the
// registration) and answers its challenge; it returns the grant.
func (r *outReg) register(ctx context.Context, expires int) (time.Duration, int, error) {
	ctx, cancel := context.WithTimeout(ctx, 32*sip.T1)
	defer cancel()
	res, err := r.send(ctx, expires)
	if err == nil && res.StatusCode == 423 && expires > 0 {
		// Interval Too Brief: once more with the registrar's minimum.
		if m, perr := strconv.Atoi(sipmsg.HeaderValue(res, "Min-Expires")); perr == nil && m > expires {
			expires = m
			res, err = r.send(ctx, expires)
		}
	}
	status := 0
	if res != nil {
		status = res.StatusCode
	}
	switch {
	case err != nil:
		err = fmt.Errorf("register at %s: %w", r.t.Host.String(), err)
	case !res.IsSuccess():
		err = fmt.Errorf("register at %s: %d %s", r.t.Host.String(), res.StatusCode, res.Reason)
	}
	if expires == 0 {
		return 0, status, err
	}
	now := r.s.cfg.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state.lastStatus = status
	if err != nil {
		r.state.failures++
		if r.state.registered && now.After(r.state.until) {
			r.state.registered = false
		}
		return 0, status, err
	}
	granted := r.granted(res, expires)
	was := r.state.registered
	r.state.registered, r.state.until, r.state.failures = true, now.Add(granted), 0
	if !was {
		r.s.cfg.log.Info("sip endpoint registered", "endpoint", r.t.Name, "registrar", r.t.Host.String(), "user", r.t.AuthUser, "expires", granted.String())
	}
	return granted, status, nil
}

// granted reads the grant of a 2xx to a REGISTER that asked for asked
// seconds: our Contact's expires, else Expires, else asked.
func (r *outReg) granted(res *sip.Response, asked int) time.Duration {
	secs := asked
	if v, err := strconv.Atoi(sipmsg.HeaderValue(res, "Expires")); err == nil && v > 0 {
		secs = v
	}
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok || c.Address.UriParams == nil {
			continue
		}
		if tok, _ := c.Address.UriParams.Get("line"); tok != r.token {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				secs = n
			}
		}
	}
	return time.Duration(secs) * time.Second
}

// send sends one REGISTER and answers a challenge with the endpoint's
// outbound credentials.
func (r *outReg) send(ctx context.Context, expires int) (*sip.Response, error) {
	req := r.request(expires)
	client := r.s.clientFor(req.Transport())
	res, err := client.Do(ctx, req)
	if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) && r.t.OutSecret != "" {
		res, err = client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: r.t.AuthUser, Password: r.t.OutSecret})
	}
	if cs := req.CSeq(); cs != nil {
		r.cseq = cs.SeqNo // DoDigestAuth took the next one
	}
	return res, err
}

// request builds the next REGISTER of the registration.
func (r *outReg) request(expires int) *sip.Request {
	t := &r.t
	transport := t.Host.Transport
	uri := sip.Uri{Scheme: "sip", Host: t.Host.Host, Port: t.Host.PortOrDefault()}
	if transport != "udp" {
		uri.UriParams = sip.NewParams()
		uri.UriParams.Add("transport", transport)
	}
	req := sip.NewRequest(sip.REGISTER, uri)
	aor := sip.Uri{Scheme: "sip", User: t.AuthUser, Host: t.Host.Host}
	from := &sip.FromHeader{Address: aor}
	from.Params = sip.NewParams()
	from.Params.Add("tag", r.fromTag)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	callID := sip.CallIDHeader(r.callID)
	req.AppendHeader(&callID)
	r.cseq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: r.cseq, MethodName: sip.REGISTER})
	contact := *r.s.dialogUAFor(transport, false).ContactHDR.Address.Clone()
	contact.User = t.ContactUser
	if contact.UriParams == nil {
		contact.UriParams = sip.NewParams()
	}
	contact.UriParams.Add("line", r.token)
	req.AppendHeader(&sip.ContactHeader{Address: contact})
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	req.AppendHeader(r.s.uaHeader)
	req.SetTransport(transportName(transport))
	if t.Proxy != nil {
		req.SetDestination(sipmsg.JoinHostPort(t.Proxy.Host, t.Proxy.PortOrDefault()))
	}
	return req
}

// unregister removes a registration that holds (Expires: 0), within the
// unregister timeout, whatever stopped the registration.
func (r *outReg) unregister() {
	r.mu.Lock()
	held := r.state.registered
	r.state.registered = false
	r.mu.Unlock()
	if !held {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.s.cfg.trunkTiming.unregister)
	defer cancel()
	_, status, err := r.register(ctx, 0)
	if err != nil {
		r.s.cfg.log.Warn("sip endpoint not unregistered", "endpoint", r.t.Name, "registrar", r.t.Host.String(), "status", status, "error", err)
		return
	}
	r.s.cfg.log.Info("sip endpoint unregistered", "endpoint", r.t.Name, "registrar", r.t.Host.String(), "user", r.t.AuthUser)
}

// snapshot is the registration's state now.
func (r *outReg) snapshot(now time.Time) regState {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.state
	if st.registered && !now.Before(st.until) {
		st.registered = false
	}
	return st
}
