package sip

import (
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/sessiontimer"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

func (s *Server) handleInvite(req *sip.Request, tx sip.ServerTransaction) {
	var received time.Time
	if s.cfg.observeDelay != nil || s.cfg.overloadDelay > 0 {
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
		sipmsg.Respond(tx, req, 503, "Service Unavailable", s.retryAfter)
		return
	}
	if !received.IsZero() && s.shedInvite(req, tx, received) {
		// Past capacity (overload.go): refused before the digest round.
		s.stats.rejectedOverload.Add(1)
		s.stats.shedOverload.Add(1)
		sipmsg.Respond(tx, req, 503, "Service Unavailable", s.retryAfter)
		return
	}
	if s.callLimitReached() && !s.isEmergency(req.Recipient.User) {
		// Refused before the 407 round: an overloaded switch must not spend
		// two more datagrams and a digest on a call it will refuse anyway.
		s.stats.rejectedOverload.Add(1)
		sipmsg.Respond(tx, req, 503, "Service Unavailable", s.retryAfter)
		return
	}
	src := sipmsg.SourceAddr(req)
	var callerPhone *routing.Phone
	var fromPeer *routing.Peer
	credentials := sipmsg.Header(req, "Proxy-Authorization") != nil
	if !credentials {
		fromPeer = s.peerOf(req)
	}
	// A trunk (a sip_endpoint at a fixed host, trunkcall.go) is a carrier
	// whose calls are proved by its address, or challenged for its secret.
	var trunk *routing.EndpointTrunk
	if fromPeer == nil {
		trunk = s.trunkOf(req)
		switch {
		case trunk == nil || trunk.Line != nil:
		case credentials:
			trunk = nil // credentials: a line's call from the trunk's address
		default:
			fromPeer = &trunk.Peer
		}
	}
	// A carrier's calls are not held hostage by password guessing from its
	// address: the block applies to authenticating requests only.
	if fromPeer == nil && s.auth.Blocked(src) {
		s.stats.blocked.Add(1)
		sipmsg.Respond(tx, req, 403, "Forbidden")
		return
	}
	switch {
	case fromPeer != nil:
	case trunk != nil:
		p, fromTrunk, ok := s.authenticateTrunk(req, tx, src, trunk)
		if !ok {
			return
		}
		if fromTrunk {
			fromPeer = &trunk.Peer
		} else {
			callerPhone = p
		}
	default:
		p, ok := s.authenticate(req, tx, src, true)
		if !ok {
			return
		}
		callerPhone = p
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() <= 1 {
		sipmsg.Respond(tx, req, 483, "Too Many Hops")
		return
	}
	// An empty user is no dial string either: 484, as the rendered
	// dialplan answers (its entry context sees extension "s"). A line may
	// dial a trunk by its name; a carrier may not (trunkcall.go).
	called, ok := s.dialledBy(req.Recipient.User, callerPhone != nil)
	if !ok {
		// Never routed as written: 44%39%30%39 or 44.909 must not reach a
		// carrier past the route that bars 44909.
		s.stats.callsAttempted.Add(1)
		s.stats.countFailure(484, false, false)
		s.cfg.log.Info("sip call refused: called number is not a dial string", "call_id", req.CallID().Value(),
			"called", clipLog(req.Recipient.User), "source", src.String())
		sipmsg.Respond(tx, req, 484, "Address Incomplete")
		return
	}
	th := sessiontimer.Read(req)
	if tags := s.timers.Unsupported(&th); len(tags) > 0 {
		sipmsg.Respond(tx, req, 420, "Bad Extension", sip.NewHeader("Unsupported", strings.Join(tags, ", ")))
		return
	}
	aTimer, rej := s.timers.Caller(&th, s.cfg.now())
	if rej != nil {
		sipmsg.Respond(tx, req, rej.Code, rej.Reason, rej.Headers...)
		return
	}

	// An authenticated line's emergency call is never refused by a
	// limit (emergency.go).
	emergency := callerPhone != nil && s.dir.Emergency(called)
	if emergency {
		s.admitEmergency()
	} else if !s.admitCall() {
		s.stats.rejectedOverload.Add(1)
		sipmsg.Respond(tx, req, 503, "Service Unavailable", s.retryAfter)
		return
	}
	defer s.stats.activeCalls.Add(-1)

	// The caller's dialog runs over the transport its INVITE came on:
	// our Contact names that listener.
	ua := s.dialogUAFor(req.Transport(), callerPhone != nil)
	a, err := ua.ReadInvite(req, tx)
	if err != nil {
		sipmsg.Respond(tx, req, 400, "Bad Request")
		return
	}
	defer a.Close()
	c := &call{
		s:           s,
		a:           a,
		aTx:         tx,
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
	// A line presents the virtual line logged into it, if any
	// (routing/virtual.go).
	presenting := callerPhone
	if callerPhone != nil {
		presenting = s.dir.Presenting(callerPhone)
	}
	c.setIdentity(callerIdentity(req, presenting))
	c.newRecord(called, callerPhone)
	s.calls.put(a.ID, c)
	defer s.calls.del(a.ID)
	s.live.begin(c)
	defer s.live.end(c)
	s.stats.callsAttempted.Add(1)
	defer c.releaseAll()
	defer c.closeMedia()
	if callerPhone != nil {
		c.lineFeatures(callerPhone, true)
	}

	var res result
	switch {
	case c.screenCaller(req, callerPhone != nil) != nil:
		res = result{code: 488, reason: "Not Acceptable Here"}
		c.noteRefusal("bad SDP")
	case c.screenCallerEncryption(req.Transport(), req.Body()) != nil:
		res = result{code: 488, reason: "Not Acceptable Here"}
		c.noteRefusal("media encryption")
	case callerPhone != nil && emergency:
		if rel, ok := s.dir.AcquirePhone(callerPhone); ok {
			c.releases = append(c.releases, rel)
		}
		// Past the line's totalmaximum, uncounted.
		res = c.deliver(called, callerPhone)
	case callerPhone != nil:
		// The line's slot is taken as the call is delivered: with its
		// first attempt when it is routed out (486 when the line is at
		// its totalmaximum), before a local line or trunk rings.
		c.pendingLine = callerPhone
		res = c.deliver(called, callerPhone)
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
			if !res.operator {
				c.finish(487, "", time.Time{}, s.cfg.now(), 0, 0)
				return
			}
			c.finish(487, records.HangupOperator, time.Time{}, s.cfg.now(), 0, 0)
			if err := a.Respond(487, "Request Terminated", nil); err != nil {
				s.cfg.log.Debug("sip final response not sent", "call_id", c.callID, "error", err)
			}
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

// dialled is what the switch decides a called number on
// (routing.Dialled): a line's name, else the number's dial string; false
// when neither (484 Address Incomplete).
func (s *Server) dialled(user string) (string, bool) {
	return s.dialledBy(user, false)
}

// dialledBy is dialled for a call a line makes (lineCall: a trunk's name
// too is decided on as it is) or a carrier's.
func (s *Server) dialledBy(user string, lineCall bool) (string, bool) {
	n, err := routing.Dialled(user, s.localName(lineCall))
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
