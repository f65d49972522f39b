package sip

import (
	"context"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/media"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// inDialogTimeout bounds a re-INVITE/UPDATE/INFO passed to the other leg.
const inDialogTimeout = 10 * time.Second

// lookupDialog finds the call of an in-dialog request and says whether it
// came from the caller (A) side.
func (s *Server) lookupDialog(req *sip.Request) (*call, bool) {
	if id, err := sip.DialogIDFromRequestUAS(req); err == nil {
		if c := s.calls.get(id); c != nil && c.a.ID == id {
			return c, true
		}
	}
	if id, err := sip.DialogIDFromRequestUAC(req); err == nil {
		if c := s.calls.get(id); c != nil {
			return c, false
		}
	}
	return nil, false
}

func (s *Server) handleAck(req *sip.Request, tx sip.ServerTransaction) {
	c, fromA := s.lookupDialog(req)
	if c == nil || !fromA {
		return
	}
	// The ACK of a 2xx that made an offer (late offer) carries the
	// caller's answer: connected passes it on to the callee.
	if len(req.Body()) > 0 {
		body := req.Body() // escapes: declared here, not on every ACK
		c.ackBody.CompareAndSwap(nil, &body)
	}
	// ACKs of later re-INVITEs fail the CSeq check harmlessly.
	_ = c.a.ReadAck(req, tx)
}

func (s *Server) handleBye(req *sip.Request, tx sip.ServerTransaction) {
	// The BYE's transaction ends with its answer instead of lingering to
	// absorb retransmissions: a retransmitted BYE finds no dialog and gets
	// 481, on which the sender considers the dialog terminated just as on
	// a 200 (RFC 3261 15.1.1). Kept, it would hold the BYE and its answer
	// for calls.transaction_linger after every call.
	defer tx.Terminate()
	c, fromA := s.lookupDialog(req)
	if c == nil {
		sipmsg.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if fromA {
		if cs := req.CSeq(); cs == nil || cs.SeqNo < c.a.InviteRequest.CSeq().SeqNo {
			// Not this dialog's BYE (what ReadBye checks): the call goes on.
			sipmsg.Respond(tx, req, 400, "Bad Request")
			return
		}
		c.callerBye.Store(true)
		if c.bridged.Load() {
			if c.a.LoadState() == sip.DialogStateEstablished {
				// The BYE overtook the caller's ACK (or there is none): a
				// caller that hangs up has seen the answer, so the wait for
				// the ACK (sipgo's WriteResponse, answerUntilAck) ends as
				// if it had come, and the call goes on to its end.
				ack := sip.NewRequest(sip.ACK, req.Recipient)
				ack.AppendHeader(&sip.CSeqHeader{SeqNo: c.a.InviteRequest.CSeq().SeqNo, MethodName: sip.ACK})
				_ = c.a.ReadAck(ack, tx)
			}
			// The call ends and its record is handed over before the
			// caller is told (200): a crash after the caller has seen its
			// call end cannot lose the record.
			c.poke()
			c.recordTaken.Wait()
		}
		if err := c.a.ReadBye(req, tx); err != nil {
			sipmsg.Respond(tx, req, 400, "Bad Request")
		}
		return
	}
	if b := c.b.Load(); b != nil {
		_ = b.dlg.ReadBye(req, tx)
		return
	}
	sipmsg.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
}

// handleInDialog passes a re-INVITE, UPDATE or INFO to the other leg and
// its answer back. A re-INVITE or UPDATE is also a session refresh (RFC
// 4028) of the leg it came from; an UPDATE without a body changes nothing
// for the other leg and is answered here, so that a refresh does not
// depend on the other side supporting UPDATE.
func (s *Server) handleInDialog(req *sip.Request, tx sip.ServerTransaction) {
	c, fromA := s.lookupDialog(req)
	var b *leg
	if c != nil {
		b = c.b.Load()
	}
	if b == nil {
		sipmsg.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	from := b.timer
	if fromA {
		from = c.aTimer
	}
	refresh := req.IsInvite() || req.Method == sip.UPDATE
	if refresh {
		from.Touch(s.cfg.now())
		c.poke()
	}
	if req.Method == sip.UPDATE && len(req.Body()) == 0 {
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		from.AddAnswerHeaders(res)
		_ = tx.Respond(res)
		return
	}
	side, other, sentFrom, sentTo := media.SideB, media.SideA, &b.sent, &c.sentA
	if fromA {
		side, other, sentFrom, sentTo = media.SideA, media.SideB, &c.sentA, &b.sent
	}
	body := req.Body()
	if refresh && c.media != nil && len(body) == 0 {
		// A re-INVITE without an offer asks for one (RFC 3261 14.2): on a
		// relayed call the switch answers itself with the SDP it last
		// sent this leg, which changes nothing, and the ACK's answer
		// stays with the switch.
		res := sip.NewResponseFromRequest(req, 200, "OK", sentFrom.load())
		if len(res.Body()) > 0 {
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		}
		from.AddAnswerHeaders(res)
		_ = tx.Respond(res)
		return
	}
	// A re-INVITE or UPDATE with SDP is an offer: the relay takes it
	// (new addresses, hold with sendonly/inactive or c=0.0.0.0) and the
	// other leg gets its rewrite; the answer comes back the same way.
	relayed := refresh && c.media != nil && len(body) > 0
	if refresh && c.media == nil && hasSDES(body) {
		// SRTP cannot start on a call the relay does not carry: its keys
		// would pass to the other party as they are (callsrtp.go).
		s.cfg.log.Info("sip in-dialog offer refused", "call_id", c.callID, "method", string(req.Method), "reason", "media encryption")
		sipmsg.Respond(tx, req, 488, "Not Acceptable Here")
		return
	}
	if relayed {
		offer, err := c.media.Offer(side, body)
		if err != nil {
			code, reason, refusal := mediaFailure(err)
			s.cfg.log.Info("sip in-dialog offer refused", "call_id", c.callID, "method", string(req.Method), "reason", refusal, "error", err)
			sipmsg.Respond(tx, req, code, reason)
			return
		}
		body = offer
	}
	ctx, cancel := context.WithTimeout(context.Background(), inDialogTimeout)
	defer cancel()

	out := sip.NewRequest(req.Method, c.remoteTarget(b, !fromA))
	if len(body) > 0 {
		if ct := req.ContentType(); ct != nil {
			out.AppendHeader(sip.HeaderClone(ct))
		}
		out.SetBody(body)
		if refresh {
			sentTo.store(body)
		}
	}
	res, err := c.sendInDialog(ctx, b, !fromA, out)
	if err != nil {
		sipmsg.Respond(tx, req, 408, "Request Timeout")
		return
	}
	answer := res.Body()
	if relayed && res.IsSuccess() && len(answer) > 0 {
		if answer, err = c.media.Answer(other, answer); err != nil {
			// The other leg took the offer but answered what the relay
			// cannot use: the sender hears 488 and keeps its session.
			s.cfg.log.Warn("sip in-dialog answer refused by the relay", "call_id", c.callID, "method", string(req.Method), "error", err)
			sipmsg.Respond(tx, req, 488, "Not Acceptable Here")
			return
		}
	}
	if refresh && res.IsSuccess() {
		sentFrom.store(answer)
	}
	back := sip.NewResponseFromRequest(req, res.StatusCode, res.Reason, answer)
	if ct := res.ContentType(); ct != nil && len(answer) > 0 {
		back.AppendHeader(sip.HeaderClone(ct))
	}
	if refresh && res.IsSuccess() {
		// The other leg answered: it is alive, and so refreshed too.
		to := c.aTimer
		if fromA {
			to = b.timer
		}
		to.Touch(s.cfg.now())
		from.AddAnswerHeaders(back)
	}
	_ = tx.Respond(back)
}

// remoteTarget is where in-dialog requests to one leg go: the callee's
// Contact from its answer (else the B-leg Request-URI) or the caller's
// Contact.
func (c *call) remoteTarget(b *leg, toA bool) sip.Uri {
	if !toA {
		return calleeTarget(b.dlg)
	}
	var target sip.Uri
	if ct := c.a.InviteRequest.Contact(); ct != nil {
		target = ct.Address
	}
	return *target.Clone()
}

// sendInDialog sends req within one leg's dialog and waits for its final
// answer, ACKing a 2xx to a re-INVITE.
func (c *call) sendInDialog(ctx context.Context, b *leg, toA bool, req *sip.Request) (*sip.Response, error) {
	do, write := b.dlg.Do, b.dlg.WriteRequest
	if toA {
		do, write = c.a.Do, c.a.WriteRequest
	}
	target := req.Recipient
	res, err := do(ctx, req)
	if err != nil {
		return nil, err
	}
	if req.IsInvite() && res.IsSuccess() {
		_ = write(sip.NewRequest(sip.ACK, target))
	}
	return res, nil
}
