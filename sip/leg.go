package sip

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/registrar"
	"github.com/sipswitch/sipswitch/sip/sessiontimer"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// leg is one outgoing INVITE (B-leg) of a call.
type leg struct {
	c         *call
	dlg       calleeDialog
	peer      *routing.Peer // nil for a leg to a phone
	phone     string        // phone rung, for logs
	endpoint  string        // trunk rung (trunkcall.go), for logs and the record
	route     int
	called    string
	release   func() // peer slot, idempotent; nil for phones
	ctx       context.Context
	cancel    context.CancelCauseFunc
	user      string
	pass      string
	responded atomic.Bool
	ringing   atomic.Bool
	abandoned bool // coordinator only
	started   time.Time
	// answeredAt is when the leg's 2xx arrived (DelayAnswer; zero when
	// nothing is timed).
	answeredAt time.Time
	// timer is the leg's session timer once answered (nil when the callee
	// did not take one). resend rebuilds the INVITE with another
	// Session-Expires after a 422.
	timer  *sessiontimer.Timer
	resend func(sessionSecs int) (calleeDialog, error)
	// tariff is what the leg's peer charges for the call; charge is the
	// attempt's reservation of the line's money (nil: the call costs
	// nothing).
	tariff routing.Tariff
	charge *routing.Charge
	// answer is the SDP of the leg's 2xx as the caller gets it
	// (takeAnswer); sent the last SDP sent to it (its INVITE's first).
	answer []byte
	sent   sdpSent
}

// newLegRequest builds a fresh INVITE (new Call-ID, tags and CSeq; the
// client adds the Via) carrying body (the caller's SDP as the callee is to
// get it: codec policy, relay) and the switch's session timer offer of
// sessionSecs.
func (c *call) newLegRequest(recipient sip.Uri, toUser, fromUser, fromName string, sessionSecs int, body []byte) *sip.Request {
	s := c.s
	req := sip.NewRequest(sip.INVITE, recipient)
	// The transport and destination sipgo would derive from the
	// Request-URI, set now: it derives them again at each of the several
	// times it asks, each time from a walk of the headers for the Via it
	// adds last and for a Route there is none of (peerInvite, trunkInvite
	// and Binding.RouteTo set others where the leg goes elsewhere).
	req.SetTransport(uriTransport(recipient))
	req.SetDestination(uriDestination(recipient, req.Transport()))
	contact := s.dialogUA.ContactHDR.Address
	from := &sip.FromHeader{DisplayName: fromName, Address: sip.Uri{Scheme: "sip", User: fromUser, Host: contact.Host}}
	if fromUser == "anonymous" {
		from.DisplayName = "Anonymous"
		from.Address.Host = "anonymous.invalid"
	}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: toUser, Host: recipient.Host, Port: recipient.Port}})
	// Call-ID and CSeq as sipgo would add them (RFC 3261 8.1.1.4: a
	// cryptographically random Call-ID), given here because sipgo looks
	// for each first, and a header that is not there costs a walk of all
	// the others, lower-casing each name (an allocation per header).
	callID := sip.CallIDHeader(rand.Text())
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	req.AppendHeader(&sip.ContactHeader{Address: contact})
	req.AppendHeader(s.uaHeader)
	a := c.a.InviteRequest
	// Carry the hop count across the B2BUA so that a routing loop between
	// switches ends with 483 instead of going round for ever.
	if mf := a.MaxForwards(); mf != nil {
		hops := sip.MaxForwardsHeader(mf.Val() - 1)
		req.AppendHeader(&hops)
	}
	if len(body) > 0 {
		if ct := a.ContentType(); ct != nil {
			req.AppendHeader(sip.HeaderClone(ct))
		} else {
			req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		}
		req.SetBody(body)
	}
	c.addDiversions(req)
	req.AppendHeader(s.allowHeader)
	s.timers.AddOffer(req, sessionSecs)
	return req
}

// uriTransport is the transport sipgo derives for a request to uri with
// neither Via nor Route: the uri's transport parameter, else UDP, TLS for
// TCP and WSS for WS to a sips: uri.
func uriTransport(uri sip.Uri) string {
	tp := "UDP"
	if uri.UriParams != nil {
		if v, ok := uri.UriParams.Get("transport"); ok && v != "" {
			tp = strings.ToUpper(v)
		}
	}
	if uri.IsEncrypted() {
		switch tp {
		case "TCP":
			tp = "TLS"
		case "WS":
			tp = "WSS"
		}
	}
	return tp
}

// uriDestination is the address sipgo derives for a request to uri over
// transport with no Route: its host and port, else the transport's
// default port.
func uriDestination(uri sip.Uri, transport string) string {
	port := uri.Port
	if port <= 0 {
		port = sip.DefaultPort(transport)
	}
	return uri.Host + ":" + strconv.Itoa(port)
}

// addDiversions names the line that sent the call on last, and why (RFC
// 5806), so the far end (a carrier billing a forwarded call, a voicemail
// server) knows whose call it is; counter says how many times the call
// was sent on. INFERRED: one header, the most recent diversion, where RFC
// 5806 3 allows one per diversion: Asterisk's res_pjsip sends only the
// last (REDIRECTING(from), any earlier Diversion erased), a carrier
// checks the top-most, and a forwarded call must look the same to the
// carrier through the SIP core and through the rendered files.
func (c *call) addDiversions(req *sip.Request) {
	n := len(c.diversions)
	if n == 0 {
		return
	}
	d := c.diversions[n-1]
	req.AppendHeader(sip.NewHeader("Diversion", "<sip:"+d.line+"@"+c.s.dialogUA.ContactHDR.Address.Host+">;reason="+d.reason+";counter="+strconv.Itoa(n)))
}

func (c *call) newLeg(offer []byte) *leg {
	l := &leg{c: c, started: c.s.cfg.now()}
	l.sent.store(offer)
	l.ctx, l.cancel = context.WithCancelCause(context.Background())
	return l
}

// startPeerLeg sends the INVITE of one routing attempt to one host of its
// peer.
func (c *call) startPeerLeg(at routing.Attempt, dest routing.HostPort, route int, offer []byte) (*leg, error) {
	p := at.Peer
	fromUser := routing.SentFrom(p, at.CallerID, c.pres)
	l := c.newLeg(offer)
	l.peer, l.route, l.called = p, route, at.Called
	l.user, l.pass = p.Username, p.Password
	if l.user == "" {
		l.user = p.Name
	}
	l.resend = func(sessionSecs int) (calleeDialog, error) {
		req := c.peerInvite(at, dest, fromUser, sessionSecs, offer, true)
		// The request's transport: the peer's, or TCP for an emergency
		// call's location too large for UDP (emergency.go).
		ua := c.s.dialogUAFor(req.Transport(), false)
		req.ReplaceHeader(&sip.ContactHeader{Address: ua.ContactHDR.Address})
		sess, err := c.s.writeInvite(l.ctx, ua, req, locatedOptions(req)...)
		if err != nil && req.GetHeader("Geolocation") != nil {
			// The location could not be sent (emergency.go: over TCP):
			// the emergency call goes on without it.
			c.s.cfg.log.Warn("sip emergency location not sent", "call_id", c.callID, "peer", p.Name, "error", err)
			req = c.peerInvite(at, dest, fromUser, sessionSecs, offer, false)
			ua = c.s.dialogUAFor(req.Transport(), false)
			req.ReplaceHeader(&sip.ContactHeader{Address: ua.ContactHDR.Address})
			sess, err = c.s.writeInvite(l.ctx, ua, req)
		}
		return sess, err
	}
	return l.start()
}

// peerInvite is the INVITE of one routing attempt; located says whether
// an emergency call's location goes in it (emergency.go).
func (c *call) peerInvite(at routing.Attempt, dest routing.HostPort, fromUser string, sessionSecs int, offer []byte, located bool) *sip.Request {
	p := at.Peer
	name := c.extName
	if at.Peer.CallerID != "" {
		// A forced caller id is the peer's, not the caller's: no name.
		name = ""
	}
	req := c.newLegRequest(sip.Uri{Scheme: "sip", User: at.Called, Host: dest.Host, Port: dest.PortOrDefault()}, at.Called, fromUser, name, sessionSecs, offer)
	if dest.Transport != "" {
		// sipgo sends over the request's transport; the Request-URI says
		// it too, for whatever the peer does with it.
		req.SetTransport(strings.ToUpper(dest.Transport))
		req.Recipient.UriParams = sip.NewParams()
		req.Recipient.UriParams.Add("transport", dest.Transport)
	}
	asserted := at.CallerID
	if c.pres == routing.PresentationWithheld && p.SendPrivacy == 1 && p.CallerID == "" && c.caller != "" {
		// A trusted peer (send_privacy) gets the withheld caller's real
		// number in the identity headers, marked private (Privacy: id,
		// privacy=full; RFC 3325): carriers need it for emergency calls
		// and billing. Any other peer only ever sees callerid_withheld.
		asserted = c.caller
	}
	if asserted != "" {
		ident := "<sip:" + asserted + "@" + c.s.dialogUA.ContactHDR.Address.Host + ">"
		if p.SendAssertedIdentity == 1 {
			req.AppendHeader(sip.NewHeader("P-Asserted-Identity", ident))
			// Privacy: id asks the trusted network to remove the asserted
			// identity before it leaves (RFC 3325 9.3): it goes with one,
			// never alone (res_pjsip sends it the same way; From is
			// anonymous already for a caller who may not be shown).
			if p.SendPrivacy == 1 && c.pres != routing.PresentationAllowed {
				req.AppendHeader(sip.NewHeader("Privacy", "id"))
			}
		}
		if p.SendRPID == 1 {
			privacy := "off"
			if c.pres != routing.PresentationAllowed {
				privacy = "full"
			}
			req.AppendHeader(sip.NewHeader("Remote-Party-ID", ident+";party=calling;screen=yes;privacy="+privacy))
		}
	}
	if located && c.emergencyLine != nil && p.SendsLocation(c.emergencyLine) {
		c.addLocation(req, c.emergencyLine, c.s.dialogUA.ContactHDR.Address.Host)
	}
	if p.Proxy != "" {
		if proxy, err := routing.ParseHostPort(p.Proxy); err == nil {
			req.SetDestination(sipmsg.JoinHostPort(proxy.Host, proxy.PortOrDefault()))
		}
	}
	return req
}

// startPhoneLeg sends an INVITE to one registered contact of dev, the
// device that rings for line p (p itself, or the line virtual line p is
// logged into), to the address the registration came from (phones behind
// NAT, RFC 3581), in a dialog whose later requests go where the phone's
// answer came from. To names p: a virtual line's call shows the phone
// whose call it is, with p's callername_internal as display name
// (INFERRED: the name p shows other lines).
func (c *call) startPhoneLeg(p, dev *routing.Phone, b *registrar.Binding, offer []byte) (*leg, error) {
	l := c.newLeg(offer)
	l.phone, l.called = p.Name, p.Name
	l.resend = func(sessionSecs int) (calleeDialog, error) {
		target := *b.URI.Clone()
		if strings.EqualFold(dev.Delivery, "last_number") {
			// delivery=last_number: the Request-URI carries the number the
			// call was sent to (a PBX behind the line routes on it), not the
			// registered contact's user.
			target.User = p.Name
		}
		req := c.newLegRequest(target, p.Name, c.fromUser, c.fromName, sessionSecs, offer)
		if p != dev && p.CallerNameInternal != "" {
			if to := req.To(); to != nil {
				to.DisplayName = p.CallerNameInternal
			}
		}
		b.RouteTo(req)
		// Over the phone's own connection when it registered over TCP or
		// TLS (transports.go), our Contact naming that listener.
		ua := c.s.dialogUAFor(b.Reg.Transport, true)
		req.ReplaceHeader(&sip.ContactHeader{Address: ua.ContactHDR.Address})
		return c.s.writeInvite(l.ctx, ua, req)
	}
	return l.start()
}

// startVoicemailLeg sends the call to mailbox box on the voicemail server.
func (c *call) startVoicemailLeg(box string, server routing.HostPort, offer []byte) (*leg, error) {
	l := c.newLeg(offer)
	l.phone, l.called = "voicemail", box
	l.resend = func(sessionSecs int) (calleeDialog, error) {
		req := c.newLegRequest(sip.Uri{Scheme: "sip", User: box, Host: server.Host, Port: server.PortOrDefault()}, box, c.fromUser, c.fromName, sessionSecs, offer)
		return c.s.writeInvite(l.ctx, &c.s.dialogUA, req)
	}
	return l.start()
}

// start sends the leg's first INVITE.
func (l *leg) start() (*leg, error) {
	dlg, err := l.resend(l.c.s.timers.OfferSeconds())
	if err != nil {
		l.cancel(nil)
		return nil, err
	}
	l.dlg = dlg
	if c := l.c; !c.routeTimed {
		c.routeTimed = true
		c.s.timeDelay(DelayRoute, c.received)
	}
	return l, nil
}

// run waits for the leg's answer and reports to the call. A leg that
// fails, or answers after the call stopped listening, cleans up after
// itself (slot released, a late 2xx ACKed and BYEd); an answered leg the
// call takes over is released by the call.
func (l *leg) run() {
	defer l.cancel(nil)
	err := l.waitAnswer()
	if secs, ok := l.c.s.retryInterval(err); ok {
		// 422: the callee wants a longer session interval (RFC 4028 7.3).
		l.dlg.Close()
		l.responded.Store(false)
		if dlg, rerr := l.resend(secs); rerr == nil {
			l.dlg = dlg
			err = l.waitAnswer()
		}
	}
	c := l.c
	if err == nil {
		if c.s.cfg.observeDelay != nil {
			l.answeredAt = time.Now()
		}
		select {
		case c.events <- legEvent{leg: l, answered: true}:
		case <-c.done:
			l.hangupOrphan()
		}
		return
	}
	if r := l.dlg.Answer(); r != nil && r.IsSuccess() {
		// A 2xx raced our CANCEL: the callee thinks it is connected.
		l.hangupOrphan()
	} else {
		l.dlg.Close()
		if l.release != nil {
			l.release()
		}
	}
	select {
	case c.events <- legEvent{leg: l, final: true, err: err}:
	case <-c.done:
	}
}

func (l *leg) waitAnswer() (err error) {
	defer func() {
		// sipgo v1.7.2 to v1.7.4 dereference a nil response in
		// DialogClientSession.inviteCancel when the user agent closes
		// under a CANCEL (ClientTx.Terminate closes Done before it sets
		// Err, so Do returns nil, nil). That happens only in Close; it
		// must not take the daemon down before its call records are
		// written. Any other panic is a bug and stays one.
		if r := recover(); r != nil {
			select {
			case <-l.c.s.closed:
				err = fmt.Errorf("leg's CANCEL ended by the server closing: %v", r)
			default:
				panic(r)
			}
		}
	}()
	err = l.dlg.WaitAnswer(l.ctx, sipgo.AnswerOptions{
		OnResponse: l.onResponse,
		Username:   l.user,
		Password:   l.pass,
	})
	if res := responseOf(err); res != nil && res.StatusCode >= 300 {
		// Remembered so that a retransmitted refusal is ACKed after the
		// transaction ended (strayResponse).
		req := l.dlg.Invite()
		refusal := refusedInvite{uri: req.Recipient.String()}
		for _, h := range sipmsg.Headers(req, "Route") {
			refusal.routes = append(refusal.routes, h.Value())
		}
		l.c.s.refused.note(res, refusal, l.c.s.cfg.now())
	}
	return err
}

// retryInterval says whether a B-leg failure is a 422 worth one retry, and
// with which Session-Expires: the callee's Min-SE, if the switch's Min-SE
// and its own offer do not already exceed it (then 422 is final).
func (s *Server) retryInterval(err error) (int, bool) {
	res := responseOf(err)
	if res == nil || res.StatusCode != 422 || s.cfg.sessionExpires <= 0 {
		return 0, false
	}
	want := sessiontimer.Read(res).MinSE
	if want <= s.timers.OfferSeconds() || time.Duration(want)*time.Second > s.cfg.maxCall {
		return 0, false
	}
	return want, true
}

// responseOf is the final response behind a dialog error, if any.
func responseOf(err error) *sip.Response {
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) && de.Res != nil {
		return de.Res
	}
	var dv sipgo.ErrDialogResponse
	if errors.As(err, &dv) && dv.Res != nil {
		return dv.Res
	}
	return nil
}

func (l *leg) onResponse(r *sip.Response) error {
	l.responded.Store(true)
	if r.StatusCode != 180 && r.StatusCode != 183 {
		return nil
	}
	l.ringing.Store(true)
	select {
	case l.c.events <- legEvent{leg: l, res: r}:
	case <-l.c.done:
	case <-l.ctx.Done():
	}
	return nil
}

// abandon cancels a pending leg: a CANCEL when it has answered anything,
// else a forced local cancel (RFC 3261 9.1: no CANCEL before a response),
// so that a silent peer does not hold the call for Timer B.
func (l *leg) abandon() {
	l.abandoned = true
	if l.responded.Load() {
		l.cancel(context.Canceled)
		return
	}
	l.cancel(sipgo.WaitAnswerForceCancelErr)
}

// hangupOrphan ends a leg that answered when nobody wanted it any more.
func (l *leg) hangupOrphan() {
	defer l.dlg.Close()
	if l.release != nil {
		defer l.release()
	}
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := l.dlg.Ack(ctx); err != nil {
		return
	}
	_ = l.dlg.Bye(ctx)
}
