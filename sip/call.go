package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/media"
	"golang.org/x/time/rate"
)

// maxHops bounds how often one call may be sent on (forwarding, busy,
// no-answer and unregistered destinations) so that two lines forwarding
// to each other cannot loop.
const maxHops = 5

// byeTimeout bounds the BYE we send when tearing a call down.
const byeTimeout = 4 * time.Second

// dialogTable maps dialog IDs of both legs to their call: the A-leg in
// UAS form, the B-leg in UAC form (they never collide: each leg has its
// own Call-ID).
type dialogTable struct{ m sync.Map }

func (t *dialogTable) put(id string, c *call) { t.m.Store(id, c) }
func (t *dialogTable) del(id string)          { t.m.Delete(id) }
func (t *dialogTable) get(id string) *call {
	v, ok := t.m.Load(id)
	if !ok {
		return nil
	}
	return v.(*call)
}

// call is one A-leg and the B-legs it spawns. Its fields are owned by the
// A-leg INVITE handler goroutine, except b (read by in-dialog handlers).
type call struct {
	s        *Server
	a        *sipgo.DialogServerSession
	callID   string
	caller   string // caller number as routed
	pres     routing.Presentation
	extName  string // display name the B-legs to peers show ("" none)
	fromUser string // From user the B-legs to phones show
	fromName string // display name the B-legs to phones show
	intPres  routing.Presentation
	start    time.Time
	events   chan legEvent
	done     chan struct{} // closed when the call stops collecting leg events
	releases []func()
	b        atomic.Pointer[leg]
	attempts int
	// diversions are the lines that sent the call on, oldest first.
	diversions []diversion
	// line is whose call this is (record.go): it pays, its spend limit
	// applies. rec is the call's record, recorded once it is handed on.
	line     *routing.Phone
	rec      records.Call
	recorded bool
	// charge holds the line to its spend limit once the call is answered
	// (the answering leg's reservation).
	charge *routing.Charge
	// callerBye is set before the caller's BYE is handed to sipgo. The
	// dialog state cannot tell it: an ACK handled after the BYE (each
	// request has its own goroutine) moves the state back to confirmed.
	callerBye atomic.Bool
	// aTimer is the caller leg's session timer (nil when none); the
	// callee's is on its leg. refreshed wakes the bridge when either leg
	// refreshed its session.
	aTimer    *sessionTimer
	refreshed chan struct{}
	// Media (callmedia.go). callerPhone and callerPeer are who called (one
	// of them, or neither for a call in the test harness): their codec
	// policy shapes the offers. mode is media.relay when the call began;
	// media is its relay session (nil: SDP end to end); bOffered is set
	// once a callee leg was offered through it. sentA is the last SDP sent
	// to the caller; ackBody the caller's ACK body (a late-offer answer).
	callerPhone *routing.Phone
	callerPeer  *routing.Peer
	mode        media.Mode
	callerNAT   bool
	media       *media.Session
	bOffered    bool
	sentA       sdpSent
	ackBody     atomic.Pointer[[]byte]
	// received is when the handler of the call's INVITE began, routeTimed
	// whether its first B-leg was timed (DelayRoute); zero when nothing
	// is timed.
	received   time.Time
	routeTimed bool
}

// poke tells the bridge that a session timer moved.
func (c *call) poke() {
	select {
	case c.refreshed <- struct{}{}:
	default:
	}
}

// leg is one outgoing INVITE (B-leg) of a call.
type leg struct {
	c         *call
	dlg       *sipgo.DialogClientSession
	peer      *routing.Peer // nil for a leg to a phone
	phone     string        // phone rung, for logs
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
	timer  *sessionTimer
	resend func(sessionSecs int) (*sipgo.DialogClientSession, error)
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

type legEvent struct {
	leg      *leg
	res      *sip.Response
	err      error
	final    bool
	answered bool
}

// result is how ringing one or more legs ended.
type result struct {
	answered *leg
	code     int
	reason   string
	timedOut bool
	canceled bool
	limit    bool
}

func (s *Server) handleInvite(req *sip.Request, tx sip.ServerTransaction) {
	var received time.Time
	if s.cfg.observeDelay != nil {
		received = time.Now()
	}
	if to := req.To(); to != nil && to.Params.Has("tag") {
		s.handleInDialog(req, tx)
		return
	}
	if s.accepted.seen(req, s.cfg.now()) {
		// A retransmission of an INVITE answered 2xx whose transaction has
		// ended (Timer L): absorbed, as RFC 6026 7.1's Accepted state does;
		// the 2xx itself is retransmitted until the ACK (answerUntilAck).
		s.stats.inviteRetransmissions.Add(1)
		return
	}
	if s.draining.Load() {
		s.stats.rejected503.Add(1)
		respond(tx, req, 503, "Service Unavailable", s.retryAfter)
		return
	}
	if s.callLimitReached() {
		// Refused before the 407 round: an overloaded switch must not spend
		// two more datagrams and a digest on a call it will refuse anyway.
		s.stats.rejectedOverload.Add(1)
		respond(tx, req, 503, "Service Unavailable", s.retryAfter)
		return
	}
	src := sourceAddr(req)
	var callerPhone *routing.Phone
	var fromPeer *routing.Peer
	if findHeader(req, "Proxy-Authorization") == nil {
		fromPeer = s.peerOf(req)
	}
	// A carrier's calls are not held hostage by password guessing from its
	// address: the block applies to authenticating requests only.
	if fromPeer == nil && s.guard.blocked(src, s.cfg.now()) {
		s.stats.blocked.Add(1)
		respond(tx, req, 403, "Forbidden")
		return
	}
	if fromPeer == nil {
		p, ok := s.authenticate(req, tx, src, true)
		if !ok {
			return
		}
		callerPhone = p
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() <= 1 {
		respond(tx, req, 483, "Too Many Hops")
		return
	}
	// An empty user is no dial string either: 484, as the rendered
	// dialplan answers (its entry context sees extension "s").
	called, ok := s.dialled(req.Recipient.User)
	if !ok {
		// Never routed as written: 44%39%30%39 or 44.909 must not reach a
		// carrier past the route that bars 44909.
		s.stats.callsAttempted.Add(1)
		s.stats.countFailure(484, false, false)
		s.cfg.log.Info("sip call refused: called number is not a dial string", "call_id", req.CallID().Value(),
			"called", clipLog(req.Recipient.User), "source", src.String())
		respond(tx, req, 484, "Address Incomplete")
		return
	}
	th := timerHeadersOf(req)
	if tags := s.unsupportedRequire(&th); len(tags) > 0 {
		respond(tx, req, 420, "Bad Extension", sip.NewHeader("Unsupported", strings.Join(tags, ", ")))
		return
	}
	aTimer, rej := s.callerSessionTimer(&th)
	if rej != nil {
		respond(tx, req, rej.code, rej.reason, rej.hdrs...)
		return
	}

	if !s.admitCall() {
		s.stats.rejectedOverload.Add(1)
		respond(tx, req, 503, "Service Unavailable", s.retryAfter)
		return
	}
	defer s.stats.activeCalls.Add(-1)

	ua := &s.dialogUA
	if callerPhone != nil {
		ua = &s.natDialogUA
	}
	a, err := ua.ReadInvite(req, tx)
	if err != nil {
		respond(tx, req, 400, "Bad Request")
		return
	}
	defer a.Close()
	c := &call{
		s:           s,
		a:           a,
		callID:      req.CallID().Value(),
		start:       s.cfg.now(),
		events:      make(chan legEvent),
		done:        make(chan struct{}),
		aTimer:      aTimer,
		refreshed:   make(chan struct{}, 1),
		callerPhone: callerPhone,
		callerPeer:  fromPeer,
		received:    received,
	}
	c.setIdentity(callerIdentity(req, callerPhone))
	c.newRecord(called, callerPhone)
	s.calls.put(a.ID, c)
	defer s.calls.del(a.ID)
	s.live.begin(c)
	defer s.live.end(c)
	s.stats.callsAttempted.Add(1)
	defer c.releaseAll()
	defer c.closeMedia()

	var res result
	switch {
	case c.screenCaller(req, callerPhone != nil) != nil:
		res = result{code: 488, reason: "Not Acceptable Here"}
		c.noteRefusal("bad SDP")
	case callerPhone != nil:
		if rel, ok := s.dir.AcquirePhone(callerPhone); !ok {
			res = result{code: 486, reason: "Busy Here"}
		} else {
			c.releases = append(c.releases, rel)
			res = c.deliver(called, callerPhone)
		}
	default:
		// Inbound from a peer may only reach local lines: never a relay.
		if p, ok := s.dir.Phone(called); ok {
			res = c.ringPhone(p, 0)
		} else {
			res = result{code: 404, reason: "Not Found"}
		}
	}
	close(c.done)

	if res.answered == nil {
		if res.canceled {
			s.stats.countFailure(487, true, false)
			c.finish(487, "", time.Time{}, s.cfg.now(), 0, 0)
			return
		}
		if res.code == 0 {
			res.code, res.reason = 500, "Server Internal Error"
		}
		s.stats.countFailure(res.code, false, res.limit)
		c.finish(res.code, "", time.Time{}, s.cfg.now(), 0, 0)
		if err := a.Respond(res.code, res.reason, nil); err != nil {
			s.cfg.log.Debug("sip final response not sent", "call_id", c.callID, "error", err)
		}
		return
	}
	c.connected(res.answered)
}

// peerOf returns the peer req comes from, under the configured peer
// match, or nil.
func (s *Server) peerOf(req *sip.Request) *routing.Peer {
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return nil
	}
	p, _ := s.peerAt(src, req.Transport())
	return p
}

func (s *Server) peerAt(src netip.AddrPort, transport string) (*routing.Peer, bool) {
	if s.cfg.peerMatch == PeerMatchAddress {
		return s.dir.PeerByAddress(src.Addr().Unmap())
	}
	return s.dir.PeerBySource(netip.AddrPortFrom(src.Addr().Unmap(), src.Port()), transport)
}

// SetCallAdmission changes the call admission limits of a running switch
// (see WithCallAdmission); calls already admitted are not affected.
// Negative values are taken as 0, no limit.
func (s *Server) SetCallAdmission(maxCalls, maxCPS int) {
	s.maxCalls.Store(int64(max(maxCalls, 0)))
	if maxCPS <= 0 {
		s.callRate.Store(nil)
		return
	}
	s.callRate.Store(rate.NewLimiter(rate.Limit(maxCPS), max(1, maxCPS/10)))
}

// callLimitReached says, without taking anything, whether admitCall
// would refuse a call now: the call-rate bucket is empty or the concurrent
// calls are at the limit. The slot itself is taken after authentication,
// so that requests failing it never use one.
func (s *Server) callLimitReached() bool {
	if r := s.callRate.Load(); r != nil && r.Tokens() < 1 {
		return true
	}
	limit := s.maxCalls.Load()
	return limit > 0 && s.stats.activeCalls.Load() >= limit
}

// admitCall takes a slot for a new call under the call-rate and
// concurrent-call limits; the caller gives it back with activeCalls.Add(-1).
func (s *Server) admitCall() bool {
	if r := s.callRate.Load(); r != nil && !r.Allow() {
		return false
	}
	max := s.maxCalls.Load()
	if max == 0 {
		max = routing.Unlimited
	}
	return routing.AcquireUnder(&s.stats.activeCalls, max)
}

// dialled is what the switch decides a called number on
// (routing.Dialled): a line's name, else the number's dial string; false
// when neither (484 Address Incomplete).
func (s *Server) dialled(user string) (string, bool) {
	n, err := routing.Dialled(user, s.lineName)
	return n, err == nil
}

// lineName is the stored name of the line called name.
func (s *Server) lineName(name string) (string, bool) {
	if p, ok := s.dir.Phone(name); ok {
		return p.Name, true
	}
	return "", false
}

// clipLog bounds what a log line repeats of an outside string.
func clipLog(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// deliver sends a phone's call to target: a local line, or outside
// through the routing decision of the caller's plan.
func (c *call) deliver(target string, caller *routing.Phone) result {
	if p, ok := c.s.dir.Phone(target); ok {
		c.rec.Direction = records.Local
		return c.ringPhone(p, 0)
	}
	return c.routeOut(target, caller)
}

// Diversion reasons (RFC 5806 4), one for each way a line sends a call on.
const (
	divertForwarding   = "unconditional"
	divertBusy         = "user-busy"
	divertNoAnswer     = "no-answer"
	divertUnregistered = "unavailable"
)

// diversion is one line's sending on of the call.
type diversion struct{ line, reason string }

// follow applies one of a line's destinations: "hangup" (or no number)
// ends the call with code, any other type diverts the call to number.
func (c *call) follow(p *routing.Phone, typ, number, why string, code int, reason string, hops int) result {
	switch {
	case typ == "" || strings.EqualFold(typ, "hangup"):
		return result{code: code, reason: reason}
	case strings.EqualFold(typ, "voicemail"):
		return c.voicemail(p, number, why, code, reason)
	}
	return c.divert(p, why, number, code, reason, hops)
}

// voicemail sends the call to line p's mailbox (number, else the line's
// mailbox) on the voicemail server (WithVoicemail), with a Diversion header
// naming the line and why: the server (the Asterisk hosting the rendered
// voicemail context) records the message. Without a server the call ends
// with code: a mailbox is never rung as a number.
func (c *call) voicemail(p *routing.Phone, number, why string, code int, reason string) result {
	box := number
	if box == "" {
		box = p.Mailbox
	}
	box, _, _ = strings.Cut(box, "@") // box@context: the server's own context
	server := c.s.cfg.voicemail
	if server == nil || box == "" {
		c.s.cfg.log.Info("sip voicemail destination not taken: no voicemail server or mailbox", "call_id", c.callID, "line", p.Name)
		c.noteRefusal("voicemail not available")
		return result{code: code, reason: reason}
	}
	c.diversions = append(c.diversions, diversion{line: p.Name, reason: why})
	offer, err := c.relayBody(c.a.InviteRequest.Body(), false)
	if err != nil {
		code, reason, refusal := mediaFailure(err)
		c.noteRefusal(refusal)
		return result{code: code, reason: reason}
	}
	l, err := c.startVoicemailLeg(box, *server, offer)
	if err != nil {
		c.s.cfg.log.Warn("sip leg to voicemail not started", "call_id", c.callID, "line", p.Name, "error", err)
		return result{code: code, reason: reason}
	}
	return c.collect([]*leg{l}, c.s.cfg.peerTimeout, c.s.cfg.maxRing)
}

// divert sends the call on from line p to number: to a local line, or
// outside as a forwarded call of p. A forwarded call is p's call, however
// it reached p (from another line or from a peer): it takes a slot of p's
// totalmaximum, is routed on p's plan and carries a Diversion header
// naming p, so a caller cannot use a line's forwarding to reach places
// the line itself may not call.
func (c *call) divert(p *routing.Phone, why, number string, code int, reason string, hops int) result {
	if number == "" || hops >= maxHops {
		return result{code: code, reason: reason}
	}
	// Stored numbers are dial strings since the API normalises them; one
	// stored before it did is normalised here, never routed as written.
	number, ok := c.s.dialled(number)
	if !ok {
		c.s.cfg.log.Warn("sip call not sent on: the line's number is not a dial string", "call_id", c.callID, "line", p.Name, "reason", why)
		c.noteRefusal("destination is not a dial string")
		return result{code: code, reason: reason}
	}
	q, local := c.s.dir.Phone(number)
	if local && q.ID == p.ID {
		// A line that sends its calls on to itself: a busy line would ring
		// itself busy again, up to the hop limit.
		return result{code: code, reason: reason}
	}
	c.diversions = append(c.diversions, diversion{line: p.Name, reason: why})
	if local {
		return c.ringPhone(q, hops+1)
	}
	rel, ok := c.s.dir.AcquirePhone(p)
	if !ok {
		c.s.cfg.log.Info("sip call not forwarded: line at totalmaximum", "call_id", c.callID, "line", p.Name, "to", number)
		c.noteRefusal("forwarding line at totalmaximum")
		return result{code: 486, reason: "Busy Here"}
	}
	c.releases = append(c.releases, rel)
	// From here it is the forwarding line's call: it pays, its class of
	// service and spend limit apply.
	c.setLine(p)
	c.rec.Direction, c.rec.ForwardedBy = records.Forwarded, p.Name
	c.s.stats.forwarded.Add(1)
	c.s.cfg.log.Info("sip call forwarded", "call_id", c.callID, "line", p.Name, "reason", why, "caller", c.caller, "to", number)
	return c.routeOut(number, p)
}

// ringPhone rings every registered contact of p at once for its ring time.
func (c *call) ringPhone(p *routing.Phone, hops int) result {
	s := c.s
	c.noteLine(p)
	if p.UseForwarding == 1 && p.Forwarding != "" && hops < maxHops {
		return c.divert(p, divertForwarding, p.Forwarding, 480, "Temporarily Unavailable", hops)
	}
	if p.DND == 1 {
		return result{code: 486, reason: "Busy Here"}
	}
	if p.ACR == 1 && c.intPres != routing.PresentationAllowed {
		return result{code: 433, reason: "Anonymity Disallowed"}
	}
	rel, ok := s.dir.AcquirePhone(p)
	if !ok {
		return c.follow(p, p.BType, p.BNumber, divertBusy, 486, "Busy Here", hops)
	}
	c.releases = append(c.releases, rel)
	contacts := s.bindings.reachable(p.Name, s.cfg.now(), nil)
	if len(contacts) == 0 {
		rel()
		return c.follow(p, p.UType, p.UNumber, divertUnregistered, 480, "Temporarily Unavailable", hops)
	}
	offer, err := c.policyBody(routing.LineCodecOffer(p, c.callerPeer, c.callerPhone))
	if err == nil {
		offer, err = c.relayBody(offer, anyBehindNAT(contacts))
	}
	if err != nil {
		rel()
		code, reason, refusal := mediaFailure(err)
		c.noteRefusal(refusal)
		c.s.cfg.log.Info("sip call attempt", "call_id", c.callID, "caller", c.caller, "called", p.Name, "phone", p.Name,
			"outcome", causeOfStatus(code), "status", code, "reason", refusal)
		return result{code: code, reason: reason}
	}
	legs := make([]*leg, 0, len(contacts))
	for i := range contacts {
		l, err := c.startPhoneLeg(p, &contacts[i], offer)
		if err != nil {
			s.cfg.log.Warn("sip leg to phone not started", "call_id", c.callID, "phone", p.Name, "error", err)
			continue
		}
		legs = append(legs, l)
	}
	if len(legs) == 0 {
		rel()
		return c.follow(p, p.UType, p.UNumber, divertUnregistered, 480, "Temporarily Unavailable", hops)
	}
	ring := s.cfg.maxRing
	if p.RingTime > 0 {
		ring = min(ring, time.Duration(p.RingTime)*time.Second)
	}
	res := c.collect(legs, 0, ring)
	if res.answered != nil || res.canceled {
		return res
	}
	rel()
	switch {
	case res.code == 486 || res.code == 600 || res.code == 603:
		return c.follow(p, p.BType, p.BNumber, divertBusy, 486, "Busy Here", hops)
	default:
		return c.follow(p, p.DType, p.DNumber, divertNoAnswer, 480, "Temporarily Unavailable", hops)
	}
}

// routeOut routes the call outside on line's plan: the attempts of the
// routing decision in order, with admission, fail_percent, the failover
// policy and the per-peer timeout. line is the calling line, or the line
// that forwards the call.
func (c *call) routeOut(called string, line *routing.Phone) result {
	s := c.s
	dec, err := s.dir.Decide(routing.CallRequest{
		Plan:         s.dir.PlanOf(line),
		Called:       called,
		Caller:       c.caller,
		Presentation: c.pres,
		Media:        line.CallMedia(),
		Now:          s.cfg.now(),
		Line:         line,
	})
	if err != nil {
		code, reason := decideFailure(err)
		detail := reason
		if errors.Is(err, routing.ErrCOSBarred) {
			// Which class and rule is in routes/simulate; the log says
			// whose class it was.
			detail = "cos_barred (line " + line.Name + ")"
		}
		c.logAttempt(called, 0, nil, code, causeOfStatus(code), detail, 0)
		c.noteRefusal(refusalReason(code, detail))
		return result{code: code, reason: reason}
	}
	routeID := 0
	if dec.Route != nil {
		routeID = dec.Route.ID
	}
	c.rec.Route = routeID
	last := result{code: 503, reason: "Service Unavailable"}
	limited, tried, overSpend, noCodec := 0, 0, 0, 0
	for _, at := range dec.Attempts {
		if at.Peer == nil {
			continue
		}
		if !at.Peer.IsSIP() {
			s.cfg.log.Info("sip attempt skipped: peer is not sip", "call_id", c.callID, "peer", at.Peer.Name, "type", at.Peer.Type)
			continue
		}
		// The codec policy first: an attempt that cannot carry the
		// caller's media takes no slot and is the switch's own 488, after
		// which the next peer follows whatever the failover policy says
		// of a peer's 488 (the peer never saw the call).
		body, err := c.policyBody(routing.PeerCodecOffer(at.Peer, c.callerPhone))
		if err != nil {
			code, reason, refusal := mediaFailure(err)
			c.logAttempt(at.Called, routeID, at.Peer, code, causeOfStatus(code), refusal, 0)
			if !errors.Is(err, media.ErrNoCommonCodec) {
				c.noteRefusal(refusal)
				return result{code: code, reason: reason}
			}
			noCodec++
			last = result{code: code, reason: reason}
			continue
		}
		tariff, chargeable := s.dir.Tariff(at.Peer, called, c.caller, line.CallMedia(), s.cfg.now())
		var charge *routing.Charge
		if chargeable && tariff.Chargeable() {
			var ok bool
			if charge, ok = s.dir.ReserveSpend(line, tariff, s.cfg.now()); !ok {
				// A line at its daily spend limit makes no chargeable
				// call; a peer that charges nothing may still carry it.
				overSpend++
				c.logAttempt(at.Called, routeID, at.Peer, 403, causeSpendLimit, "", 0)
				continue
			}
		}
		rel, ok := s.dir.AcquirePeer(at.Peer)
		if !ok {
			charge.End(s.cfg.now())
			limited++
			c.logAttempt(at.Called, routeID, at.Peer, 503, causeLimit, "outmaximum", 0)
			if !s.dir.ShouldTryNext(routing.AttemptOutcome{LimitReached: true}) {
				break
			}
			continue
		}
		tried++
		if c.attempts > 0 {
			s.stats.failovers.Add(1)
		}
		c.attempts++
		if s.dir.FailPercentHit(at.Peer) {
			rel()
			charge.End(s.cfg.now())
			c.logAttempt(at.Called, routeID, at.Peer, 503, causeUnavailable, "fail_percent", 0)
			last = result{code: 503, reason: "Service Unavailable"}
			if !s.dir.ShouldTryNext(routing.AttemptOutcome{Code: 503}) {
				break
			}
			continue
		}
		res, next := c.tryPeer(at, routeID, rel, tariff, charge, body)
		if res.answered == nil {
			// Failed, cancelled or timed out: the reservation is given
			// back before the next peer reserves its own first step.
			charge.End(s.cfg.now())
		}
		if res.answered != nil || res.canceled {
			return res
		}
		last = res
		if !next {
			break
		}
	}
	if overSpend > 0 && tried == 0 {
		c.noteRefusal("spend limit reached")
		return result{code: 403, reason: "Forbidden"}
	}
	if limited > 0 && tried == 0 {
		c.noteRefusal("outmaximum reached")
		return result{code: 503, reason: "Service Unavailable", limit: true}
	}
	if noCodec > 0 && tried == 0 {
		c.noteRefusal("no common codec")
	}
	if last.timedOut {
		last.code, last.reason = 408, "Request Timeout"
	}
	return last
}

// tryPeer sends an attempt to each host of its peer's destination in
// order, as pjsip tries a peer's contacts: the next host follows a failure
// the failover policy moves on from, and when every host failed next says
// whether the next attempt (another peer) follows. rel is the peer's slot:
// the answering leg keeps it, anything else gives it back. charge is the
// attempt's reservation (nil: free); the answering leg takes it, and the
// caller ends it otherwise.
func (c *call) tryPeer(at routing.Attempt, routeID int, rel func(), tariff routing.Tariff, charge *routing.Charge, body []byte) (res result, next bool) {
	s := c.s
	res = result{code: 503, reason: "Service Unavailable"}
	hosts, err := routing.ParseDestinations(at.Peer.Destination)
	if err == nil && len(hosts) == 0 {
		err = errors.New("no destination")
	}
	if err != nil {
		rel()
		c.logAttempt(at.Called, routeID, at.Peer, 503, causeUnavailable, "bad destination: "+err.Error(), 0)
		return res, s.dir.ShouldTryNext(routing.AttemptOutcome{Code: 503})
	}
	for i, h := range hosts {
		if i > 0 {
			s.stats.failovers.Add(1)
		}
		c.noteAttempt(at.Peer, at.Called)
		offer, err := c.relayBody(body, false)
		if err != nil {
			rel()
			code, reason, refusal := mediaFailure(err)
			c.logAttempt(at.Called, routeID, at.Peer, code, causeOfStatus(code), refusal, 0)
			c.noteRefusal(refusal)
			return result{code: code, reason: reason}, false
		}
		l, err := c.startPeerLeg(at, h, routeID, offer)
		if err != nil {
			c.logAttempt(at.Called, routeID, at.Peer, 503, causeUnavailable, "send failed: "+err.Error(), 0)
			res = result{code: 503, reason: "Service Unavailable"}
		} else {
			l.tariff, l.charge = tariff, charge
			res = c.collect([]*leg{l}, s.cfg.peerTimeout, s.cfg.maxRing)
			switch {
			case res.answered != nil:
				res.answered.release = rel
				return res, false
			case res.canceled:
				rel()
				return res, false
			}
		}
		if !s.dir.ShouldTryNext(routing.AttemptOutcome{Code: res.code, TimedOut: res.timedOut}) {
			rel()
			return res, false
		}
	}
	rel()
	return res, true
}

func decideFailure(err error) (int, string) {
	switch {
	case errors.Is(err, routing.ErrNoRoute):
		return 404, "Not Found"
	case errors.Is(err, routing.ErrInvalidNumber):
		return 484, "Address Incomplete"
	case errors.Is(err, routing.ErrCallBarred):
		return 403, "Forbidden"
	case errors.Is(err, routing.ErrNoPeer), errors.Is(err, routing.ErrLimitReached), errors.Is(err, routing.ErrUnknownPlan):
		return 503, "Service Unavailable"
	}
	return 500, "Server Internal Error"
}

// collect waits for the legs: it relays their ringing to the caller and
// returns on the first answer, when all have failed, when the caller
// cancels, when no leg rang within noRing (0: no such limit) or when the
// ring limit passes. Legs still pending are cancelled and left to clean
// up after themselves.
func (c *call) collect(legs []*leg, noRing, ringLimit time.Duration) result {
	for _, l := range legs {
		go l.run()
	}
	pending := len(legs)
	var noRingC <-chan time.Time
	if noRing > 0 {
		t := time.NewTimer(noRing)
		defer t.Stop()
		noRingC = t.C
	}
	ringT := time.NewTimer(ringLimit)
	defer ringT.Stop()
	res := result{code: 480, reason: "Temporarily Unavailable"}
	busy := false
	abandonAll := func() {
		for _, l := range legs {
			if !l.abandoned {
				l.abandon()
			}
		}
	}
	for pending > 0 {
		select {
		case ev := <-c.events:
			l := ev.leg
			if l.abandoned {
				if ev.answered {
					go l.hangupOrphan()
				}
				continue
			}
			switch {
			case ev.answered && c.takeAnswer(l) != nil:
				// An answer the relay cannot use: the callee is hung up
				// and the leg fails as if it had said 488.
				l.abandoned = true
				pending--
				go l.hangupOrphan()
				c.logAttemptLeg(l, 488, causeMedia, "bad SDP in answer")
				if !busy {
					res.code, res.reason = 488, "Not Acceptable Here"
				}
			case ev.answered:
				l.abandoned = true // no longer pending
				for _, o := range legs {
					if o != l && !o.abandoned {
						o.abandon()
					}
				}
				c.logAttemptLeg(l, 200, causeAnswered, "")
				return result{answered: l}
			case ev.final:
				l.abandoned = true
				pending--
				code, reason := finalStatus(ev)
				c.logAttemptLeg(l, code, causeOfStatus(code), reason)
				if code == 422 {
					// The callee refused the switch's session timer offer
					// even after a retry: the caller asked nothing of the
					// kind, so it hears of a failed call, not of intervals.
					code, reason = 503, "Service Unavailable"
				}
				if code == 486 || code == 600 || code == 603 {
					busy = true
				}
				if !busy || code == 486 || code == 600 || code == 603 {
					res.code, res.reason = code, reason
				}
			default:
				if l.ringing.Load() {
					noRingC = nil
				}
				c.relayProvisional(ev.res)
			}
		case <-noRingC:
			abandonAll()
			for _, l := range legs {
				c.logAttemptLeg(l, 408, causeTimeout, "no provisional response within calls.peer_timeout")
			}
			return result{code: 408, reason: "Request Timeout", timedOut: true}
		case <-ringT.C:
			abandonAll()
			for _, l := range legs {
				c.logAttemptLeg(l, 480, causeNoAnswer, "")
			}
			return result{code: 480, reason: "Temporarily Unavailable", timedOut: true}
		case <-c.a.Context().Done():
			abandonAll()
			for _, l := range legs {
				c.logAttemptLeg(l, 487, causeCanceled, "")
			}
			return result{canceled: true, code: 487, reason: "Request Terminated"}
		}
	}
	return res
}

func finalStatus(ev legEvent) (int, string) {
	if res := responseOf(ev.err); res != nil {
		return res.StatusCode, res.Reason
	}
	if errors.Is(ev.err, sip.ErrTransactionTimeout) {
		return 408, "Request Timeout"
	}
	return 503, "Service Unavailable"
}

// relayProvisional passes 180/183 (with its SDP, through the relay when
// the call has one) to the caller.
func (c *call) relayProvisional(r *sip.Response) {
	body := c.relayedProvisional(r)
	res := sip.NewResponseFromRequest(c.a.InviteRequest, r.StatusCode, r.Reason, body)
	if ct := r.ContentType(); ct != nil && len(body) > 0 {
		res.AppendHeader(sip.HeaderClone(ct))
	}
	if err := c.a.WriteResponse(res); err != nil {
		c.s.cfg.log.Debug("sip provisional not relayed", "call_id", c.callID, "error", err)
	}
}

// errNoAck: the caller's ACK never came within 64*T1 of the 2xx.
var errNoAck = errors.New("no ACK for the 2xx within 64*T1")

// answerUntilAck goes on retransmitting the caller's 2xx after its INVITE
// transaction ended (Timer L is short, see TransactionTimers) until the ACK
// arrives, the dialog ends, or 64*T1 after the first 2xx: RFC 3261 13.3.1.4
// makes that the UAS core's duty, so it does not need the transaction.
// Retransmissions are written straight to the transport every T2, as
// sipgo's own loop does after its first.
func (c *call) answerUntilAck(res *sip.Response, firstSent time.Time) error {
	states := c.a.StateRead()
	deadline := time.NewTimer(time.Until(firstSent.Add(64 * sip.T1)))
	defer deadline.Stop()
	retransmit := time.NewTimer(0)
	defer retransmit.Stop()
	for {
		switch c.a.LoadState() {
		case sip.DialogStateConfirmed:
			return nil
		case sip.DialogStateEnded:
			return errors.New("dialog ended before the ACK")
		}
		select {
		case <-retransmit.C:
			if err := c.s.srv.WriteResponse(res); err != nil {
				return fmt.Errorf("retransmitting the 2xx: %w", err)
			}
			retransmit.Reset(sip.T2)
		case <-states:
		case <-deadline.C:
			return errNoAck
		}
	}
}

// connected bridges an answered call until either side hangs up or the
// maximum call duration passes.
func (c *call) connected(b *leg) {
	s := c.s
	defer b.dlg.Close()
	b.timer = s.calleeSessionTimer(b.dlg.InviteResponse)
	c.b.Store(b)
	s.calls.put(b.dlg.ID, c)
	defer s.calls.del(b.dlg.ID)
	if b.release != nil {
		c.releases = append(c.releases, b.release)
	}
	if b.peer != nil {
		c.rec.Peer = b.peer.Name
	}
	if b.charge != nil {
		c.rec.CostRow = b.tariff.CostID
	}
	// From here the leg's reservation is the call's. Every way out below
	// ends it; this end, which does nothing after theirs, keeps a path
	// that forgot from holding the line's money for the rest of the day.
	c.charge = b.charge
	defer func() { c.charge.End(s.cfg.now()) }()

	// A late offer (the caller's INVITE had no SDP, the callee's 2xx
	// makes the offer) is answered in the caller's ACK, which the ACK to
	// the callee must carry: that ACK waits for the caller's.
	lateOffer := len(c.a.InviteRequest.Body()) == 0 && len(b.answer) > 0
	if !lateOffer {
		c.ackCallee(b, nil)
	}
	res := sip.NewResponseFromRequest(c.a.InviteRequest, 200, "OK", b.answer)
	if len(b.answer) > 0 {
		if ct := b.dlg.InviteResponse.ContentType(); ct != nil {
			res.AppendHeader(sip.HeaderClone(ct))
		} else {
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		}
	}
	c.aTimer.addAnswerHeaders(res)
	res.AppendHeader(s.allowHeader)
	if s.supportedHeader != nil {
		res.AppendHeader(s.supportedHeader)
	}
	c.sentA.store(b.answer)
	// WriteResponse retransmits the 2xx until the caller's ACK arrives. A
	// BYE may overtake the ACK (each request has its own goroutine): the
	// caller then has seen the answer and hung up at once.
	s.timeDelay(DelayAnswer, b.answeredAt)
	s.accepted.note(c.a.InviteRequest, struct{}{}, s.cfg.now())
	firstSent := time.Now()
	err := c.a.WriteResponse(res)
	if errors.Is(err, sip.ErrTransactionTerminated) && c.a.LoadState() == sip.DialogStateEstablished {
		err = c.answerUntilAck(res, firstSent)
	}
	if lateOffer {
		answer, aerr := c.lateAnswer()
		if aerr != nil && err == nil {
			s.cfg.log.Warn("sip late offer: caller's answer not usable", "call_id", c.callID, "error", aerr)
		}
		c.ackCallee(b, answer)
	}
	if err != nil {
		switch {
		case errors.Is(context.Cause(c.a.Context()), sip.ErrTransactionCanceled):
			// The caller's CANCEL crossed the callee's answer: the
			// reservation is given back.
			s.stats.countFailure(487, true, false)
			c.byeB(b)
			c.charge.End(s.cfg.now())
			c.finish(487, "", time.Time{}, s.cfg.now(), 0, 0)
			return
		case !c.callerBye.Load() && c.a.LoadState() != sip.DialogStateEnded:
			s.cfg.log.Warn("sip caller did not confirm answer", "call_id", c.callID, "error", err)
			s.stats.countFailure(0, false, false)
			c.byeB(b)
			// The callee answered (its carrier bills the answer): a call of
			// no talk time.
			now := s.cfg.now()
			c.noteRefusal("caller did not confirm the answer")
			c.charge.Answer(now)
			cost, billsec := c.chargeFor(now, now)
			c.finish(200, "caller_lost", now, now, cost, billsec)
			return
		}
	}
	s.stats.callsAnswered.Add(1)
	if c.media != nil {
		c.media.Answered()
	}
	answeredAt := s.cfg.now()
	c.aTimer.touch(answeredAt)
	b.timer.touch(answeredAt)
	c.charge.Answer(answeredAt)
	s.live.answered(c, b, answeredAt)
	ender := c.bridge(b)
	end := s.cfg.now()
	cost, billsec := c.chargeFor(answeredAt, end)
	if ender == hangupSpendLimit {
		c.noteRefusal("spend limit reached")
	}
	st, relayed := c.finish(200, ender, answeredAt, end, cost, billsec)
	c.callLog(st, relayed).Info("sip call ended", "call_id", c.callID, "caller", c.caller, "called", b.called,
		"hangup", ender, "talk", end.Sub(answeredAt).String(), "cost", cost)
}

// ackCallee ACKs the callee's 2xx, with body when it made the offer.
func (c *call) ackCallee(b *leg, body []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	var err error
	if body == nil {
		err = b.dlg.Ack(ctx)
	} else {
		err = ackWithBody(ctx, b, body)
		b.sent.store(body)
	}
	if err != nil {
		c.s.cfg.log.Warn("sip ack to callee failed", "call_id", c.callID, "error", err)
	}
}

// hangupSpendLimit is the hangup of a call its line's spend limit ended.
const hangupSpendLimit = "spend_limit"

// chargeFor is the cost and billed seconds of the call answered at
// answered and ended at end: its charge's (which commits the cost to the
// line's day), or nothing.
func (c *call) chargeFor(answered, end time.Time) (float64, int) {
	if c.charge != nil {
		return c.charge.End(end)
	}
	return 0, int(math.Ceil(end.Sub(answered).Seconds()))
}

// bridge holds an answered call until it ends, keeping both legs' session
// timers, and returns what ended it.
func (c *call) bridge(b *leg) string {
	s := c.s
	maxT := time.NewTimer(s.cfg.maxCall)
	defer maxT.Stop()
	sessT := time.NewTimer(time.Hour)
	sessT.Stop()
	defer sessT.Stop()
	// At most one refresh per leg is in flight, so this never blocks.
	outcomes := make(chan refreshOutcome, 2)
	operator := s.live.hangupOf(c)
	for {
		var sessC <-chan time.Time
		if next, ok := c.nextTimerEvent(b); ok {
			sessT.Reset(next.Sub(s.cfg.now()))
			sessC = sessT.C
		}
		select {
		case <-c.a.Context().Done():
			c.byeB(b)
			return "caller"
		case <-b.dlg.Context().Done():
			c.byeA()
			return "callee"
		case <-maxT.C:
			c.byeA()
			c.byeB(b)
			return "max_duration"
		case <-operator:
			// calls/hangup (live.go).
			c.byeA()
			c.byeB(b)
			return records.HangupOperator
		case <-c.charge.Done():
			c.s.cfg.log.Warn("sip call ended: line at its spend limit", "call_id", c.callID, "line", c.line.Name)
			c.byeA()
			c.byeB(b)
			return hangupSpendLimit
		case <-s.closed:
			c.byeA()
			c.byeB(b)
			return "shutdown"
		case ev := <-c.mediaTimedOut():
			// A party stopped sending RTP while the call is up: without
			// this its carrier would bill silence until a session timer or
			// the maximum duration noticed.
			s.stats.mediaTimeouts.Add(1)
			s.cfg.log.Warn("sip call ended: media timeout", "call_id", c.callID, "leg", ev.Side.String(), "hold", ev.Hold, "idle", ev.Idle.Round(time.Millisecond).String())
			c.noteRefusal(ev.Err().Error())
			c.byeA()
			c.byeB(b)
			return hangupMediaTimeout
		case <-c.refreshed:
		case <-sessC:
			if ender := c.sessionTimersDue(b, outcomes); ender != "" {
				return ender
			}
		case r := <-outcomes:
			t := b.timer
			if r.toA {
				t = c.aTimer
			}
			t.inFlight.Store(false)
			if !r.dead {
				t.touch(s.cfg.now())
				continue
			}
			s.stats.sessionTimeouts.Add(1)
			s.cfg.log.Warn("sip session refresh failed: ending call", "call_id", c.callID, "caller_leg", r.toA, "code", r.code, "error", r.err)
			c.endAfterLoss(b, r.toA)
			if r.toA {
				return "caller_lost"
			}
			return "callee_lost"
		}
	}
}

// nextTimerEvent is the earliest time a session timer of either leg needs
// the bridge; refreshes in flight wait for their outcome instead.
func (c *call) nextTimerEvent(b *leg) (time.Time, bool) {
	var next time.Time
	found := false
	for _, t := range [2]*sessionTimer{c.aTimer, b.timer} {
		if t == nil || t.inFlight.Load() {
			continue
		}
		if d := t.due(); !found || d.Before(next) {
			next, found = d, true
		}
	}
	return next, found
}

// sessionTimersDue starts the refreshes that are due and ends the call
// when a leg the far end should have refreshed has expired.
func (c *call) sessionTimersDue(b *leg, outcomes chan<- refreshOutcome) string {
	now := c.s.cfg.now()
	for i, t := range [2]*sessionTimer{c.aTimer, b.timer} {
		toA := i == 0
		if t == nil || t.inFlight.Load() || now.Before(t.due()) {
			continue
		}
		if t.weRefresh {
			t.inFlight.Store(true)
			go func() { outcomes <- c.refresh(b, toA) }()
			continue
		}
		c.s.stats.sessionTimeouts.Add(1)
		c.s.cfg.log.Warn("sip session expired without refresh: ending call", "call_id", c.callID, "caller_leg", toA, "interval", t.interval.String())
		c.endAfterLoss(b, toA)
		if toA {
			return "caller_lost"
		}
		return "callee_lost"
	}
	return ""
}

// endAfterLoss sends BYE on both legs (RFC 4028 10). The BYE to the leg
// that is gone can only time out, so the call does not wait for it: its
// slots are released as soon as the live leg is told.
func (c *call) endAfterLoss(b *leg, lostA bool) {
	if lostA {
		go c.byeA()
		c.byeB(b)
		return
	}
	go c.byeB(b)
	c.byeA()
}

func (c *call) byeA() {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := c.a.Bye(ctx); err != nil {
		c.s.cfg.log.Debug("sip bye to caller failed", "call_id", c.callID, "error", err)
	}
}

func (c *call) byeB(b *leg) {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := b.dlg.Bye(ctx); err != nil {
		c.s.cfg.log.Debug("sip bye to callee failed", "call_id", c.callID, "error", err)
	}
}

func (c *call) releaseAll() {
	for _, r := range c.releases {
		r()
	}
}

// logAttempt logs one attempt of the call and hands it to the observer:
// outcome is a word of the one vocabulary the log and the metrics share
// (see causeOfStatus), status the SIP code, reason the far end's text or
// what the switch saw.
func (c *call) logAttempt(called string, route int, peer *routing.Peer, status int, outcome, reason string, d time.Duration) {
	peerName := ""
	if peer != nil {
		peerName = peer.Name
	}
	if c.infoLogged() {
		c.s.cfg.log.Info("sip call attempt", "call_id", c.callID, "caller", c.caller, "called", called,
			"route", route, "peer", peerName, "outcome", outcome, "status", status, "reason", reason, "duration", d.String())
	}
	c.observe(AttemptResult{Peer: peerName, Cause: outcome, Duration: d})
}

// infoLogged says whether the per-attempt line is written: its arguments
// are built only then (6 of the ~1,700 allocations of a call at level warn).
func (c *call) infoLogged() bool {
	return c.s.cfg.log.Enabled(context.Background(), slog.LevelInfo)
}

func (c *call) observe(r AttemptResult) {
	if f := c.s.cfg.observe; f != nil {
		f(r)
	}
}

func (c *call) logAttemptLeg(l *leg, status int, outcome, reason string) {
	d := c.s.cfg.now().Sub(l.started)
	if l.peer == nil {
		if c.infoLogged() {
			c.s.cfg.log.Info("sip call attempt", "call_id", c.callID, "caller", c.caller, "called", l.called,
				"phone", l.phone, "outcome", outcome, "status", status, "reason", reason, "duration", d.String())
		}
		c.observe(AttemptResult{Phone: l.phone, Cause: outcome, Duration: d})
		return
	}
	c.logAttempt(l.called, l.route, l.peer, status, outcome, reason, d)
}
