package sip

import (
	"errors"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/media"
)

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
	if dec.Emergency {
		c.emergencyLine = line
		c.rec.Emergency = 1
		s.stats.emergencyCalls.Add(1)
		s.cfg.log.Warn("sip emergency call", "call_id", c.callID, "line", line.Name, "called", called, "callerid", dec.Caller)
		if dec.Caller != "" {
			// The number the emergency service calls back: presented,
			// with the line's name, when the line has a callerid_location;
			// otherwise the caller as it is (a withheld caller's name is
			// never sent with callerid_withheld).
			c.caller, c.pres = dec.Caller, dec.Presentation
			c.extName = ""
			if dec.Presentation == routing.PresentationAllowed {
				c.extName = line.CallerNameExternal
			}
		}
	}
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
attempts:
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
		adm := routing.Admission{SlotLine: c.pendingLine, Peer: at.Peer, Now: s.cfg.now()}
		tariff, chargeable := s.dir.Tariff(at.Peer, called, c.caller, line.CallMedia(), adm.Now)
		if chargeable && tariff.Chargeable() && !dec.Emergency {
			// An emergency call reserves nothing of the line's spend
			// limit: it is never refused for it (its cost is recorded).
			adm.SpendLine, adm.Tariff = line, tariff
		}
		// The line's slot (on the call's first admitted attempt), the
		// peer's and the spend's first step: one round trip on a host of
		// a cluster; each further peer tried costs one more.
		admitted := s.dir.Admit(adm)
		switch admitted.Refused {
		case routing.AdmitLine:
			// The calling line is at its totalmaximum: the call is
			// refused whichever peer would carry it.
			return result{code: 486, reason: "Busy Here"}
		case routing.AdmitSpend:
			// A line at its daily spend limit makes no chargeable call;
			// a peer that charges nothing may still carry it.
			overSpend++
			c.logAttempt(at.Called, routeID, at.Peer, 403, causeSpendLimit, "", 0)
			continue
		case routing.AdmitPeer:
			limited++
			c.logAttempt(at.Called, routeID, at.Peer, 503, causeLimit, "outmaximum", 0)
			if !s.dir.ShouldTryNext(routing.AttemptOutcome{LimitReached: true}) {
				break attempts
			}
			continue
		}
		if admitted.Line != nil {
			c.pendingLine = nil
			c.releases = append(c.releases, admitted.Line)
		}
		rel, charge := admitted.Peer, admitted.Charge
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
		enc, err := c.peerEncryption(at.Peer, h)
		if err != nil {
			// The peer requires SRTP and this host is not reached over
			// TLS: the host fails as a 488 of its own would.
			code, reason, refusal := mediaFailure(err)
			c.logAttempt(at.Called, routeID, at.Peer, code, causeOfStatus(code), refusal, 0)
			res = result{code: code, reason: reason}
			if !s.dir.ShouldTryNext(routing.AttemptOutcome{Code: code}) {
				rel()
				c.noteRefusal(refusal)
				return res, false
			}
			continue
		}
		offer, err := c.relayBody(body, false, false, enc)
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
