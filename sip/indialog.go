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
// its answer back.
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
	ctx, cancel := context.WithTimeout(context.Background(), inDialogTimeout)
	defer cancel()

	var target sip.Uri
	if fromA {
		target = b.dlg.InviteRequest.Recipient
		if ct := b.dlg.InviteResponse.Contact(); ct != nil {
			target = ct.Address
		}
	} else if ct := c.a.InviteRequest.Contact(); ct != nil {
		target = ct.Address
	}
	out := sip.NewRequest(req.Method, *target.Clone())
	if body := req.Body(); len(body) > 0 {
		if ct := req.ContentType(); ct != nil {
			out.AppendHeader(sip.HeaderClone(ct))
		}
		out.SetBody(body)
	}
	var res *sip.Response
	var err error
	if fromA {
		res, err = b.dlg.Do(ctx, out)
	} else {
		res, err = c.a.Do(ctx, out)
	}
	if err != nil {
		respond(tx, req, 408, "Request Timeout")
		return
	}
	back := sip.NewResponseFromRequest(req, res.StatusCode, res.Reason, res.Body())
	if ct := res.ContentType(); ct != nil && len(res.Body()) > 0 {
		back.AppendHeader(sip.HeaderClone(ct))
	}
	_ = tx.Respond(back)
	if req.IsInvite() && res.IsSuccess() {
		ack := sip.NewRequest(sip.ACK, *target.Clone())
		if fromA {
			_ = b.dlg.WriteRequest(ack)
		} else {
			_ = c.a.WriteRequest(ack)
		}
	}
}
