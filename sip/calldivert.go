package sip

import (
	"strings"

	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/media"
)

// deliver sends a phone's call to target: a local line, or outside
// through the routing decision of the caller's plan. The calling line's
// slot (pendingLine) is taken here before a line or trunk rings, by
// routeOut's first admitted attempt otherwise.
func (c *call) deliver(target string, caller *routing.Phone) result {
	if p, ok := c.s.dir.Phone(target); ok {
		if !c.takeLine() {
			return result{code: 486, reason: "Busy Here"}
		}
		c.rec.Direction = records.Local
		return c.ringPhone(p, 0)
	}
	if t, ok := c.s.trunkNamed(target); ok {
		if !c.takeLine() {
			return result{code: 486, reason: "Busy Here"}
		}
		c.rec.Direction = records.Local
		return c.ringTrunk(t)
	}
	return c.routeOut(target, caller)
}

// takeLine takes the slot of the calling line the call has yet to take
// (pendingLine); false: the line is at its totalmaximum.
func (c *call) takeLine() bool {
	p := c.pendingLine
	if p == nil {
		return true
	}
	rel, ok := c.s.dir.AcquirePhone(p)
	if !ok {
		return false
	}
	c.pendingLine = nil
	c.releases = append(c.releases, rel)
	return true
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
	offer, err := c.relayBody(c.a.InviteRequest.Body(), false, false, media.EncryptionNone)
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
	number, ok := c.s.dialledBy(number, true)
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
	if t, ok := c.s.trunkNamed(number); ok {
		// A trunk the line sends its call on to: the call goes there as
		// the line's own call to it would (no slot of the line, as for a
		// line it is sent on to).
		return c.ringTrunk(t)
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
