package sip

import (
	"context"
	"log/slog"
	"time"

	"github.com/sipswitch/sipswitch/routing"
)

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
		if c.infoLogged() && l.endpoint != "" {
			c.s.cfg.log.Info("sip call attempt", "call_id", c.callID, "caller", c.caller, "called", l.called,
				"endpoint", l.endpoint, "outcome", outcome, "status", status, "reason", reason, "duration", d.String())
		} else if c.infoLogged() {
			c.s.cfg.log.Info("sip call attempt", "call_id", c.callID, "caller", c.caller, "called", l.called,
				"phone", l.phone, "outcome", outcome, "status", status, "reason", reason, "duration", d.String())
		}
		c.observe(AttemptResult{Phone: l.phone, Cause: outcome, Duration: d})
		return
	}
	c.logAttempt(l.called, l.route, l.peer, status, outcome, reason, d)
}
