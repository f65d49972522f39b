package sip

import (
	"context"

	"github.com/emiago/sipgo/sip"
)

// strayResponse handles responses that match no client transaction. A 2xx
// to an INVITE here comes from a B-leg we gave up on before the peer said
// anything (a forced local cancel sends no CANCEL) and that answered late:
// it is ACKed and BYEd so the peer does not keep a call nobody is on.
// A 2xx of a live leg that outlived its transaction (the transaction
// linger is shorter than the peer's retransmission window) means our ACK
// was lost: it is ACKed again (RFC 3261 13.2.2.4) and the call left up.
func (s *Server) strayResponse(res *sip.Response) {
	cseq := res.CSeq()
	if !res.IsSuccess() || cseq == nil || cseq.MethodName != sip.INVITE || s.client == nil {
		return
	}
	live := false
	if id, err := sip.DialogIDFromResponse(res); err == nil && s.calls.get(id) != nil {
		live = true
	}
	contact, from, to, callID := res.Contact(), res.From(), res.To(), res.CallID()
	if contact == nil || from == nil || to == nil || callID == nil {
		return
	}
	build := func(method sip.RequestMethod, seq uint32) *sip.Request {
		r := sip.NewRequest(method, *contact.Address.Clone())
		r.AppendHeader(sip.HeaderClone(from))
		r.AppendHeader(sip.HeaderClone(to))
		r.AppendHeader(sip.HeaderClone(callID))
		r.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
		r.SetTransport(res.Transport())
		r.SetDestination(res.Source())
		return r
	}
	if err := s.client.WriteRequest(build(sip.ACK, cseq.SeqNo)); err != nil {
		s.cfg.log.Debug("sip ack of stray answer failed", "call_id", callID.Value(), "error", err)
		return
	}
	if live {
		return
	}
	s.cfg.log.Info("sip late answer from abandoned leg hung up", "call_id", callID.Value(), "source", res.Source())
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
		defer cancel()
		_, _ = s.client.Do(ctx, build(sip.BYE, cseq.SeqNo+1))
	}()
}
