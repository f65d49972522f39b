package sip

import (
	"bytes"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// In-dialog ACKs and BYEs on UDP are taken in the read loop (readConn):
// parsed there with sipgo's parser and handed to handleAck and handleBye
// without sipgo's transaction layer. Through sipgo each would cost a
// goroutine, a transaction with its state machine, timers and a
// context, and its table's lock — for an ACK of a 2xx, which is no
// transaction at all (RFC 3261 17.1.1.3, 13.3.1.4: it goes to the
// dialog), and for a BYE whose transaction handleBye ends with its
// answer anyway (indialog.go). Two of the eight requests and answers a
// call's switch reads after the digest round (issue 30: CPU per call).
//
// Only what matches a call in progress is taken; anything else goes on to
// sipgo exactly as before:
//   - an ACK is taken when it is the caller's ACK of the call's 2xx: it
//     matches the A-leg's dialog and the INVITE's CSeq, and its branch is
//     not the INVITE's (an ACK with the INVITE's branch acknowledges a
//     non-2xx final answer and belongs to sipgo's INVITE transaction,
//     which retransmits that answer until it comes: RFC 3261 17.2.1).
//     It is handled in the read loop itself: handleAck only notes it.
//   - a BYE is taken when it matches either leg's dialog. It gets a
//     readTx, answered through the listening socket to where it came
//     from (RFC 3581), and its own goroutine (handleBye may wait for the
//     call's record). A copy that arrives while the first is still being
//     handled is dropped, as sipgo's transaction would absorb it; one
//     that arrives after the answer finds no dialog and gets 481, as it
//     did through sipgo (handleBye ends its transaction with the answer).
//
// A source over the flood limit gets nothing, as sipgo's read filter
// drops it; it is counted once, here or by that filter.

// takeRequest handles msg, read from from (arrived: when, for a new
// INVITE's wait), when it is a request the read loop takes (readinvite.go, and the in-dialog ACKs and BYEs above);
// false leaves it to sipgo.
func (s *Server) takeRequest(c *readConn, msg []byte, from netip.AddrPort, arrived time.Time) bool {
	if c.parser == nil {
		return false
	}
	req := readRequest(c.parser, msg)
	if req == nil {
		return false // sipgo logs what it cannot parse (transportLog)
	}
	switch req.Method {
	case sip.INVITE:
		return s.takeInvite(c, req, from, arrived)
	case sip.CANCEL:
		return s.takeCancel(c, req, from)
	case sip.ACK:
		if s.takeInviteAck(c, req, from) {
			return true
		}
	}
	call, fromA := s.lookupDialog(req)
	if call == nil {
		return false
	}
	ack := req.Method == sip.ACK
	if ack && (!fromA || !call.isAckOf2xx(req)) {
		return false
	}
	if !s.noteTaken(c, from) {
		return true // dropped, as the flood guard drops it
	}
	req.SetTransport("UDP")
	req.SetSource(from.String())
	if ack {
		s.handleAck(req, nil)
		return true
	}
	tx := s.byes.begin(c, req, from)
	if tx == nil {
		return true // a copy of a BYE being handled
	}
	go s.handleBye(req, tx)
	return true
}

// readRequest parses msg when it is a request of a method the read loop
// may take, with the CSeq and Via it reads; nil otherwise.
func readRequest(p *sip.Parser, msg []byte) *sip.Request {
	if !takenMethod(msg) {
		return nil
	}
	m, err := p.ParseSIP(msg)
	if err != nil {
		return nil
	}
	req, ok := m.(*sip.Request)
	if !ok || req.CSeq() == nil || req.Via() == nil {
		return nil
	}
	return req
}

// takenMethod says whether msg is a request of a method the read loop
// may take, from its first bytes.
func takenMethod(msg []byte) bool {
	switch {
	case bytes.HasPrefix(msg, []byte("ACK ")), bytes.HasPrefix(msg, []byte("BYE ")),
		bytes.HasPrefix(msg, []byte("INVITE ")), bytes.HasPrefix(msg, []byte("CANCEL ")):
		return true
	}
	return false
}

// noteTaken weighs the datagram c is reading, from from, which the read
// loop takes, against the flood limit (sipgo's read filter never sees
// it): false drops it; else it is copied to the tracer and counted.
func (s *Server) noteTaken(c *readConn, from netip.AddrPort) bool {
	if !s.admitTaken(c, from) {
		return false
	}
	s.stats.readLoopRequests.Add(1)
	return true
}

// admitTaken is noteTaken's flood check and copy to the tracer, for
// whatever the read loop takes.
func (s *Server) admitTaken(c *readConn, from netip.AddrPort) bool {
	if s.cfg.floodLimit > 0 && !s.flood.allow(netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), "UDP") {
		return false
	}
	c.traceIn()
	return true
}

// isAckOf2xx says whether ack, matching the caller's dialog of c, is the
// ACK of the call's 2xx: the INVITE's CSeq, another branch.
func (c *call) isAckOf2xx(ack *sip.Request) bool {
	inv := c.a.InviteRequest
	if ack.CSeq().SeqNo != inv.CSeq().SeqNo {
		return false
	}
	branch, _ := ack.Via().Params.Get("branch")
	invBranch, _ := inv.Via().Params.Get("branch")
	return branch != invBranch
}

// readByes are the BYEs taken in the read loop whose handler has not
// answered yet, by source and branch.
type readByes struct {
	mu      sync.Mutex
	pending map[readTxKey]struct{}
}

// begin starts the transaction of bye, read by c from from; nil when a
// copy of it is being handled.
func (b *readByes) begin(c *readConn, bye *sip.Request, from netip.AddrPort) *readTx {
	branch, _ := bye.Via().Params.Get("branch")
	key := readTxKey{from, branch}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.pending[key]; dup {
		return nil
	}
	if b.pending == nil {
		b.pending = make(map[readTxKey]struct{})
	}
	b.pending[key] = struct{}{}
	return &readTx{conn: c, byes: b, key: key, done: make(chan struct{})}
}

func (b *readByes) end(key readTxKey) {
	b.mu.Lock()
	delete(b.pending, key)
	b.mu.Unlock()
}

// readTx is the server transaction of a request taken in the read loop:
// its answers go out through the listening socket to the address the
// request came from; it ends with Terminate (handleBye's), and keeps
// nothing after that.
type readTx struct {
	conn *readConn
	byes *readByes
	key  readTxKey // key.from: where its answers go

	mu     sync.Mutex
	done   chan struct{}
	ended  bool
	onTerm []sip.FnTxTerminate
}

var _ sip.ServerTransaction = (*readTx)(nil)

// Respond sends res.
func (t *readTx) Respond(res *sip.Response) error {
	buf := t.conn.answerBuffer()
	defer t.conn.releaseAnswer(buf)
	res.StringWrite(buf)
	return t.conn.writeTo(buf.Bytes(), t.key.from)
}

// Terminate ends the transaction: a copy of the request read after this
// is a new one.
func (t *readTx) Terminate() {
	t.mu.Lock()
	if t.ended {
		t.mu.Unlock()
		return
	}
	t.ended = true
	close(t.done)
	fns := t.onTerm
	t.onTerm = nil
	t.mu.Unlock()
	t.byes.end(t.key)
	for _, f := range fns {
		f(t.key.branch, nil)
	}
}

// OnTerminate calls f when the transaction ends; false when it has.
func (t *readTx) OnTerminate(f sip.FnTxTerminate) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return false
	}
	t.onTerm = append(t.onTerm, f)
	return true
}

// Done is closed when the transaction ends.
func (t *readTx) Done() <-chan struct{} { return t.done }

// Err is nil: the transaction ends only by Terminate.
func (t *readTx) Err() error { return nil }

// Acks is nil: no ACK belongs to a BYE's transaction.
func (t *readTx) Acks() <-chan *sip.Request { return nil }

// OnCancel never calls f: a BYE is not cancelled (RFC 3261 9.1), and
// sipgo matches CANCELs to INVITE transactions only.
func (t *readTx) OnCancel(sip.FnTxCancel) bool { return false }
