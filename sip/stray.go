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
//
// A 3xx-6xx to an INVITE here is a callee's retransmitted refusal whose
// transaction has ended (Timer D is short): our ACK was lost, so it is
// ACKed again from what refusedInvites kept of the INVITE, or the callee
// would retransmit it until its Timer H.
func (s *Server) strayResponse(res *sip.Response) {
	cseq := res.CSeq()
	if cseq == nil || cseq.MethodName != sip.INVITE || s.client == nil {
		return
	}
	if res.StatusCode >= 300 {
		s.ackRefusal(res, cseq.SeqNo)
		return
	}
	if !res.IsSuccess() {
		return
	}
	live := false
	if id, err := sip.DialogIDFromResponse(res); err == nil && s.calls.get(id) != nil {
		live = true
	}
	contact := res.Contact()
	if contact == nil {
		return
	}
	ack := requestAfter(res, sip.ACK, *contact.Address.Clone(), cseq.SeqNo)
	if ack == nil {
		return
	}
	callID := res.CallID().Value()
	if err := s.clientFor(ack.Transport()).WriteRequest(ack); err != nil {
		s.cfg.log.Debug("sip ack of stray answer failed", "call_id", callID, "error", err)
		return
	}
	if live {
		return
	}
	s.cfg.log.Info("sip late answer from abandoned leg hung up", "call_id", callID, "source", res.Source())
	bye := requestAfter(res, sip.BYE, *contact.Address.Clone(), cseq.SeqNo+1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
		defer cancel()
		_, _ = s.clientFor(bye.Transport()).Do(ctx, bye)
	}()
}

// requestAfter builds a request of the dialog or transaction a stray
// response belongs to: its From, To and Call-ID, CSeq seq with method,
// sent back where the response came from. nil when the response lacks
// one of those headers.
func requestAfter(res *sip.Response, method sip.RequestMethod, uri sip.Uri, seq uint32) *sip.Request {
	from, to, callID := res.From(), res.To(), res.CallID()
	if from == nil || to == nil || callID == nil {
		return nil
	}
	r := sip.NewRequest(method, uri)
	r.AppendHeader(sip.HeaderClone(from))
	r.AppendHeader(sip.HeaderClone(to))
	r.AppendHeader(sip.HeaderClone(callID))
	r.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	r.SetTransport(res.Transport())
	r.SetDestination(res.Source())
	return r
}

// ackRefusal ACKs a retransmitted 3xx-6xx as its client transaction would
// have (RFC 3261 17.1.1.3): the INVITE's Request-URI, Route headers and top
// Via (the response's), the response's From, To and Call-ID.
func (s *Server) ackRefusal(res *sip.Response, seq uint32) {
	refusal, ok := s.refused.get(res, s.cfg.now())
	if !ok {
		return
	}
	var uri sip.Uri
	if err := sip.ParseUri(refusal.uri, &uri); err != nil {
		return
	}
	ack := requestAfter(res, sip.ACK, uri, seq)
	if ack == nil {
		return
	}
	// The Via as sent, first: without what the callee added (RFC 3581).
	v := res.Via().Clone() // present: the refusal was found by its branch
	v.Params.Remove("received")
	if v.Params.Has("rport") {
		v.Params.Add("rport", "")
	}
	ack.PrependHeader(v)
	for _, r := range refusal.routes {
		ack.AppendHeader(sip.NewHeader("Route", r))
	}
	ack.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
	if err := s.clientFor(ack.Transport()).WriteRequest(ack); err != nil {
		s.cfg.log.Debug("sip ack of retransmitted refusal failed", "call_id", res.CallID().Value(), "error", err)
	}
}
