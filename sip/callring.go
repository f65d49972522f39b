package sip

import (
	"errors"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/media"
	"github.com/sipswitch/sipswitch/sip/registrar"
)

// ringPhone rings every registered contact of p at once for its ring
// time; a virtual line's call rings its device's contacts.
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
	// Recorded and hold music from here on, as the rendered dialplan's
	// MixMonitor (callrecord.go).
	c.lineFeatures(p, false)
	rel, ok := s.dir.AcquirePhone(p)
	if !ok {
		return c.follow(p, p.BType, p.BNumber, divertBusy, 486, "Busy Here", hops)
	}
	c.releases = append(c.releases, rel)
	// A virtual line rings the device of the line it is logged into
	// (routing/virtual.go): that line's contacts, delivery and codecs.
	dev := p
	if d, ok := s.dir.Device(p); ok {
		dev = d
	}
	contacts := s.reg.Reachable(dev.Name, nil)
	if len(contacts) == 0 {
		rel()
		return c.follow(p, p.UType, p.UNumber, divertUnregistered, 480, "Temporarily Unavailable", hops)
	}
	// The device's contacts, media policy and codecs.
	contacts, browsers := c.browserContacts(dev, contacts)
	enc := media.EncryptionNone
	var err error
	if !browsers {
		// A browser's media is DTLS-SRTP whatever the line's
		// media_encryption: SDES is for the other contacts.
		enc, contacts, err = c.lineEncryption(dev, contacts)
	}
	var offer []byte
	if err == nil {
		offer, err = c.policyBody(routing.LineCodecOffer(dev, c.callerPeer, c.callerPhone))
	}
	if err == nil {
		offer, err = c.relayBody(offer, registrar.AnyBehindNAT(contacts), browsers, enc)
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
		l, err := c.startPhoneLeg(p, dev, &contacts[i], offer)
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
		case <-c.operatorHangup:
			// calls/hangup while ringing (live.go): no next peer.
			abandonAll()
			for _, l := range legs {
				c.logAttemptLeg(l, 487, causeCanceled, "ended by the operator")
			}
			return result{canceled: true, operator: true, code: 487, reason: "Request Terminated"}
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

// browserContacts picks the contacts a call to p rings: all of them, and
// whether they are browsers (registered over ws or wss: they get a WebRTC
// offer). One offer goes to every contact of a round and the relay's
// callee leg is WebRTC or not, so a line with browser and other contacts
// at once rings only the others (INFERRED: a desk phone is the line's
// surer device; its web phone rings when it is the only one registered).
func (c *call) browserContacts(p *routing.Phone, contacts []registrar.Binding) ([]registrar.Binding, bool) {
	n := 0
	for i := range contacts {
		if contacts[i].WebSocket() {
			n++
		}
	}
	switch n {
	case 0:
		return contacts, false
	case len(contacts):
		return contacts, true
	}
	others := make([]registrar.Binding, 0, len(contacts)-n)
	for i := range contacts {
		if !contacts[i].WebSocket() {
			others = append(others, contacts[i])
		}
	}
	c.s.cfg.log.Info("sip call rings the line's other contacts, not its browsers", "call_id", c.callID, "phone", p.Name, "browsers", n)
	return others, false
}
