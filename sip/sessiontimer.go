package sip

import (
	"context"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/sessiontimer"
)

// Session timers (RFC 4028): the negotiation and the header reading are
// package sessiontimer's; the call keeps a Timer per leg (call.aTimer,
// leg.timer), the bridge (callbridge.go) wakes when one is due, and
// refresh below sends the switch's refreshes.

// refreshOutcome is how a refresh of ours on one leg ended.
type refreshOutcome struct {
	toA  bool
	dead bool
	code int
	err  error
}

// refresh sends a session refresh on one leg: UPDATE without a body when
// the leg allows it, else a re-INVITE repeating the SDP the leg last got
// from the switch (an unchanged offer, RFC 3264 8: the relay's rewrite on
// a relayed call, the held description on a held one). Its answer is the
// party's SDP unchanged, so the relay is not told. A timeout, a transport
// error, 408 or 481 means the leg is gone (RFC 4028 10); any other answer
// shows the far end alive.
func (c *call) refresh(b *leg, toA bool) refreshOutcome {
	t, body := b.timer, b.sent.load()
	if toA {
		t, body = c.aTimer, c.sentA.load()
	}
	ctx, cancel := context.WithTimeout(context.Background(), sessiontimer.RefreshTimeout(t.Interval))
	defer cancel()
	method := sip.INVITE
	if t.UseUpdate || len(body) == 0 {
		method, body = sip.UPDATE, nil
	}
	req := sip.NewRequest(method, c.remoteTarget(b, toA))
	req.AppendHeader(t.RequestHeader())
	req.AppendHeader(sip.NewHeader(sessiontimer.HdrSupported, sessiontimer.OptionTag))
	if len(body) > 0 {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(body)
	}
	res, err := c.sendInDialog(ctx, b, toA, req)
	switch {
	case err != nil:
		return refreshOutcome{toA: toA, dead: true, err: err}
	case res.StatusCode == 408 || res.StatusCode == 481:
		return refreshOutcome{toA: toA, dead: true, code: res.StatusCode}
	}
	return refreshOutcome{toA: toA, code: res.StatusCode}
}
