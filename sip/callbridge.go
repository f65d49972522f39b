package sip

import (
	"context"
	"errors"
	"fmt"
	"github.com/sipswitch/sipswitch/records"
	"math"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/sessiontimer"
)

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
			if err := c.writeAnswerAgain(res); err != nil {
				return fmt.Errorf("retransmitting the 2xx: %w", err)
			}
			retransmit.Reset(sip.T2)
		case <-states:
		case <-deadline.C:
			return errNoAck
		}
	}
}

// writeAnswerAgain sends res, the caller's 2xx, once more after its
// INVITE transaction has ended: through the socket the INVITE came on
// when the read loop kept that transaction (sipgo has never seen the
// caller then, and finds no connection to it), else through sipgo.
func (c *call) writeAnswerAgain(res *sip.Response) error {
	if tx, ok := c.aTx.(*inviteTx); ok {
		return tx.conn.writeTo(marshalResponse(res), tx.key.from)
	}
	return c.s.srv.WriteResponse(res)
}

// connected bridges an answered call until either side hangs up or the
// maximum call duration passes.
func (c *call) connected(b *leg) {
	s := c.s
	defer b.dlg.Close()
	b.timer = s.timers.Callee(b.dlg.Answer(), s.cfg.now())
	c.b.Store(b)
	s.calls.put(b.dlg.DialogID(), c)
	defer s.calls.del(b.dlg.DialogID())
	if b.release != nil {
		c.releases = append(c.releases, b.release)
	}
	if b.peer != nil {
		c.rec.Peer = b.peer.Name
	} else if b.endpoint != "" {
		c.rec.Peer = b.endpoint // a trunk answered (trunkcall.go)
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
		if ct := b.dlg.Answer().ContentType(); ct != nil {
			res.AppendHeader(sip.HeaderClone(ct))
		} else {
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		}
	}
	c.aTimer.AddAnswerHeaders(res)
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
	// The caller's BYE waits for the record (handleBye) from before it can
	// have seen the answer: a BYE that overtakes what follows (the ACK,
	// the bridge) must not be answered before the record is handed over,
	// or a crash in between loses the record of a call the caller saw end.
	c.recordTaken.Add(1)
	c.bridged.Store(true)
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
			c.recordTaken.Done()
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
			c.recordTaken.Done()
			return
		}
	}
	s.stats.callsAnswered.Add(1)
	if c.media != nil {
		c.media.Answered()
	}
	c.startRecording()
	answeredAt := s.cfg.now()
	c.aTimer.Touch(answeredAt)
	b.timer.Touch(answeredAt)
	c.charge.Answer(answeredAt)
	s.live.answered(c, b, answeredAt)
	ender, td := c.bridge(b)
	end := s.cfg.now()
	cost, billsec := c.chargeFor(answeredAt, end)
	if ender == hangupSpendLimit {
		c.noteRefusal("spend limit reached")
	}
	// The record is handed over before either party hears that the call
	// ended (the BYEs below, the caller's BYE answered by handleBye once
	// this is done): a switch that dies after a party has seen the end
	// has its record, and talk time ends when the call did, not when
	// the BYEs were answered.
	st, relayed := c.finish(200, ender, answeredAt, end, cost, billsec)
	c.recordTaken.Done()
	c.tearDown(b, td)
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
// timers, and returns what ended it and the BYEs that end it (tearDown),
// which it leaves to its caller to send after the record.
func (c *call) bridge(b *leg) (string, teardown) {
	s := c.s
	maxT := time.NewTimer(s.cfg.maxCall)
	defer maxT.Stop()
	sessT := time.NewTimer(time.Hour)
	sessT.Stop()
	defer sessT.Stop()
	// At most one refresh per leg is in flight, so this never blocks.
	outcomes := make(chan refreshOutcome, 2)
	for {
		var sessC <-chan time.Time
		if next, ok := c.nextTimerEvent(b); ok {
			sessT.Reset(next.Sub(s.cfg.now()))
			sessC = sessT.C
		}
		select {
		case <-c.a.Context().Done():
			return "caller", byeCallee
		case <-b.dlg.Context().Done():
			return "callee", byeCaller
		case <-maxT.C:
			return "max_duration", byeBoth
		case <-c.operatorHangup:
			// calls/hangup (live.go).
			return records.HangupOperator, byeBoth
		case <-c.charge.Done():
			c.s.cfg.log.Warn("sip call ended: line at its spend limit", "call_id", c.callID, "line", c.line.Name)
			return hangupSpendLimit, byeBoth
		case <-s.closed:
			return "shutdown", byeBoth
		case ev := <-c.mediaTimedOut():
			// A party stopped sending RTP while the call is up: without
			// this its carrier would bill silence until a session timer or
			// the maximum duration noticed.
			s.stats.mediaTimeouts.Add(1)
			s.cfg.log.Warn("sip call ended: media timeout", "call_id", c.callID, "leg", ev.Side.String(), "hold", ev.Hold, "idle", ev.Idle.Round(time.Millisecond).String())
			c.noteRefusal(ev.Err().Error())
			return hangupMediaTimeout, byeBoth
		case <-c.refreshed:
			if c.callerBye.Load() {
				// The caller's BYE waits for the record (handleBye).
				return "caller", byeCallee
			}
		case <-sessC:
			if ender, td := c.sessionTimersDue(b, outcomes); ender != "" {
				return ender, td
			}
		case r := <-outcomes:
			t := b.timer
			if r.toA {
				t = c.aTimer
			}
			t.InFlight.Store(false)
			if !r.dead {
				t.Touch(s.cfg.now())
				continue
			}
			s.stats.sessionTimeouts.Add(1)
			s.cfg.log.Warn("sip session refresh failed: ending call", "call_id", c.callID, "caller_leg", r.toA, "code", r.code, "error", r.err)
			if r.toA {
				return "caller_lost", callerLost
			}
			return "callee_lost", calleeLost
		}
	}
}

// nextTimerEvent is the earliest time a session timer of either leg needs
// the bridge; refreshes in flight wait for their outcome instead.
func (c *call) nextTimerEvent(b *leg) (time.Time, bool) {
	var next time.Time
	found := false
	for _, t := range [2]*sessiontimer.Timer{c.aTimer, b.timer} {
		if t == nil || t.InFlight.Load() {
			continue
		}
		if d := t.Due(); !found || d.Before(next) {
			next, found = d, true
		}
	}
	return next, found
}

// sessionTimersDue starts the refreshes that are due and ends the call
// when a leg the far end should have refreshed has expired.
func (c *call) sessionTimersDue(b *leg, outcomes chan<- refreshOutcome) (string, teardown) {
	now := c.s.cfg.now()
	for i, t := range [2]*sessiontimer.Timer{c.aTimer, b.timer} {
		toA := i == 0
		if t == nil || t.InFlight.Load() || now.Before(t.Due()) {
			continue
		}
		if t.WeRefresh {
			t.InFlight.Store(true)
			go func() { outcomes <- c.refresh(b, toA) }()
			continue
		}
		c.s.stats.sessionTimeouts.Add(1)
		c.s.cfg.log.Warn("sip session expired without refresh: ending call", "call_id", c.callID, "caller_leg", toA, "interval", t.Interval.String())
		if toA {
			return "caller_lost", callerLost
		}
		return "callee_lost", calleeLost
	}
	return "", 0
}
