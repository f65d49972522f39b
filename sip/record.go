package sip

import (
	"math"
	"strings"
	"time"

	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/media"
)

// Every call the switch routes (after authentication or a peer match)
// ends in one record (WithCallRecords): the call gathers it as it goes.

// noteLine makes p the line whose call this is, unless one already is.
func (c *call) noteLine(p *routing.Phone) {
	if c.line == nil {
		c.setLine(p)
	}
	c.s.live.update(c, p.Name)
}

// setLine makes p the line whose call this is: it pays for it and its
// spend limit applies.
func (c *call) setLine(p *routing.Phone) {
	c.line = p
	c.rec.Line, c.rec.Customer = p.Name, p.Customer
}

// noteAttempt records a routing attempt sent to peer with number called.
func (c *call) noteAttempt(peer *routing.Peer, called string) {
	if c.rec.PeersTried != "" {
		c.rec.PeersTried += ","
	}
	c.rec.PeersTried += peer.Name
	c.rec.CalledSent = called
	c.s.live.update(c, "")
}

// noteRefusal says why the switch refused the call, when it did.
func (c *call) noteRefusal(reason string) {
	if c.rec.Reason == "" {
		c.rec.Reason = reason
	}
}

// finish completes the record with how the call ended and hands it on,
// once. answered is when the callee answered (zero: never); talk ends at
// end.
// The relay's statistics of the call (when it has a session) go into the
// record and the metrics observer, and come back for the call's log line.
func (c *call) finish(cause int, hangup string, answered, end time.Time, cost float64, billsec int) (media.Stats, bool) {
	if c.recorded {
		return media.Stats{}, false
	}
	c.recorded = true
	st, relayed := c.noteMedia()
	if !answered.IsZero() {
		c.s.stats.callsCompleted.Add(1)
		c.s.stats.talkMillis.Add(uint64(max(end.Sub(answered).Milliseconds(), 0)))
	}
	if c.s.cfg.record == nil {
		return st, relayed
	}
	r := &c.rec
	r.End, r.Cause, r.Hangup = end.Unix(), cause, hangup
	if !answered.IsZero() {
		r.Answer = answered.Unix()
		r.Duration = int(math.Ceil(end.Sub(answered).Seconds()))
		r.Billsec = billsec
		r.Cost = cost
	}
	c.s.cfg.record(*r)
	return st, relayed
}

// newRecord starts the record of a call to called.
func (c *call) newRecord(called string, caller *routing.Phone) {
	c.rec = records.Call{CallID: c.callID, Start: c.start.Unix(), Called: called, Caller: c.caller, Direction: records.Inbound}
	if caller != nil {
		c.rec.Direction = records.Outbound
		if c.rec.Caller == "" {
			c.rec.Caller = caller.Name
		}
		c.setLine(caller)
	}
}

// refusalReason is the record's reason for a failure the switch decided.
func refusalReason(code int, outcome string) string {
	switch {
	case strings.HasPrefix(outcome, "cos_barred"):
		return "barred by class of service"
	case code == 403:
		return "barred by route"
	case code == 404:
		return "no route"
	}
	return outcome
}
