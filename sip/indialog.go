package sip

import (
	"context"
	"time"

	"github.com/emiago/sipgo/sip"
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
	// ACKs of later re-INVITEs fail the CSeq check harmlessly.
	_ = c.a.ReadAck(req, tx)
}

func (s *Server) handleBye(req *sip.Request, tx sip.ServerTransaction) {
	c, fromA := s.lookupDialog(req)
	if c == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if fromA {
		c.callerBye.Store(true)
		if err := c.a.ReadBye(req, tx); err != nil {
			respond(tx, req, 400, "Bad Request")
		}
		return
	}
	if b := c.b.Load(); b != nil {
		_ = b.dlg.ReadBye(req, tx)
		return
	}
	respond(tx, req, 481, "Call/Transaction Does Not Exist")
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
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	from := b.timer
	if fromA {
		from = c.aTimer
	}
	refresh := req.IsInvite() || req.Method == sip.UPDATE
	if refresh {
		from.touch(s.cfg.now())
		c.poke()
	}
	if req.Method == sip.UPDATE && len(req.Body()) == 0 {
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		from.addAnswerHeaders(res)
		_ = tx.Respond(res)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), inDialogTimeout)
	defer cancel()

	out := sip.NewRequest(req.Method, c.remoteTarget(b, !fromA))
	if body := req.Body(); len(body) > 0 {
		if ct := req.ContentType(); ct != nil {
			out.AppendHeader(sip.HeaderClone(ct))
		}
		out.SetBody(body)
	}
	res, err := c.sendInDialog(ctx, b, !fromA, out)
	if err != nil {
		respond(tx, req, 408, "Request Timeout")
		return
	}
	back := sip.NewResponseFromRequest(req, res.StatusCode, res.Reason, res.Body())
	if ct := res.ContentType(); ct != nil && len(res.Body()) > 0 {
		back.AppendHeader(sip.HeaderClone(ct))
	}
	if refresh && res.IsSuccess() {
		// The other leg answered: it is alive, and so refreshed too.
		to := c.aTimer
		if fromA {
			to = b.timer
		}
		to.touch(s.cfg.now())
		from.addAnswerHeaders(back)
	}
	_ = tx.Respond(back)
}

// remoteTarget is where in-dialog requests to one leg go: the callee's
// Contact from its answer (else the B-leg Request-URI) or the caller's
// Contact.
func (c *call) remoteTarget(b *leg, toA bool) sip.Uri {
	var target sip.Uri
	if !toA {
		target = b.dlg.InviteRequest.Recipient
		if ct := b.dlg.InviteResponse.Contact(); ct != nil {
			target = ct.Address
		}
	} else if ct := c.a.InviteRequest.Contact(); ct != nil {
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
