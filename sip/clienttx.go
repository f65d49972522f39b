package sip

import (
	"bytes"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// Client transactions on UDP that the read loop keeps: the requests a
// B-leg sends over the listener the read loop serves (legudp.go) — its
// INVITE, the CANCEL of it, its BYE and its in-dialog requests — and
// whose answers the read loop hands them by their top Via's branch, with
// no sipgo transaction between. Through sipgo each cost a transaction
// with a state machine behind its lock, a context, Timers A/B (or E/F)
// and D as separate timers, a goroutine per answer to reach it and its
// table's lock; the B-leg is a third of a call's messages (issue 30: CPU
// per call). The server side is readinvite.go's.
//
// The transactions follow RFC 3261 17.1 with RFC 6026's Accepted state:
//   - INVITE (17.1.1): sent again every T1, doubling (Timer A), until an
//     answer; no answer within 64*T1 ends it with ErrTransactionTimeout
//     (Timer B, checked when Timer A fires: one timer). A provisional
//     answer stops the retransmissions and is passed on. A final answer of
//     300 or more is ACKed here (same branch, the INVITE's Request-URI,
//     Route and From, the answer's To) and ends the transaction: copies of
//     it find none and reach sipgo, whose stray handler ACKs them again
//     from what the leg noted of the refusal (stray.go) — Timer D with no
//     timer. A 2xx is passed on and the transaction stays in the table,
//     without a timer, until its dialog ends (close), so that each copy of
//     the 2xx gets the dialog's ACK again, the very bytes sent first (RFC
//     3261 13.2.2.4; RFC 6026 8.4 keeps it for Timer M, the dialog keeps
//     it as long as it lasts).
//   - Others (17.1.2): sent again every T1, doubling to T2 (Timer E), and
//     every T2 once a provisional answer came; none final within 64*T1
//     ends it with ErrTransactionTimeout (Timer F). A final answer ends
//     it; copies reach sipgo, which drops them (Timer K, unneeded on a
//     transaction nobody reads again).
//   - A CANCEL has the INVITE's branch (RFC 3261 9.1): it is kept beside
//     its INVITE's transaction and its answers are told apart by CSeq.
//
// The branch is 128 bits from crypto/rand after the magic cookie: an
// answer is taken by its branch alone (17.1.3) without regard to its
// source, since nobody who has not seen the request can name it.

// clientTx states.
const (
	clientCalling    = iota // sent, nothing heard
	clientProceeding        // a provisional answer came
	clientAccepted          // an INVITE's 2xx came: kept for its copies
	clientTerminated
)

// clientTx is a client transaction kept by the read loop.
type clientTx struct {
	conn    *readConn
	table   *clientTxs
	branch  string
	invite  bool
	req     *sip.Request // as sent
	wire    []byte       // req on the wire, for retransmissions
	to      netip.AddrPort
	started time.Time

	mu       sync.Mutex
	state    int
	timer    *time.Timer // Timer A or E, with B or F checked when it fires
	interval time.Duration
	final    *sip.Response
	err      error
	ack      []byte // an INVITE's: the dialog's ACK of its 2xx (setAck)
	// cancel is the transaction of this INVITE's CANCEL, which shares its
	// branch (sendCancel).
	cancel *clientTx
	// provisional carries an INVITE's provisional answers (nil for other
	// methods); done is closed with the final one (final) or with the
	// transaction's end without one (err).
	provisional chan *sip.Response
	done        chan struct{}
	closed      bool // done is closed
}

// sendClientTx sends req, whose top Via carries a branch of the switch's
// (newVia), to to through c and keeps its transaction.
func sendClientTx(c *readConn, table *clientTxs, req *sip.Request, to netip.AddrPort) (*clientTx, error) {
	tx := newClientTx(c, table, req, to)
	table.add(tx.branch, tx)
	if err := tx.start(); err != nil {
		table.remove(tx.branch, tx)
		return nil, err
	}
	return tx, nil
}

func newClientTx(c *readConn, table *clientTxs, req *sip.Request, to netip.AddrPort) *clientTx {
	branch, _ := req.Via().Params.Get("branch")
	buf := c.answerBuffer()
	req.StringWrite(buf)
	wire := bytes.Clone(buf.Bytes())
	c.releaseAnswer(buf)
	tx := &clientTx{conn: c, table: table, branch: branch, invite: req.IsInvite(), req: req, wire: wire, to: to, done: make(chan struct{})}
	if tx.invite {
		// Only an INVITE's waiter reads them (WaitAnswer); sends to a nil
		// channel take received's default.
		tx.provisional = make(chan *sip.Response, 4)
	}
	return tx
}

// start sends the request for the first time and arms Timer A or E.
func (tx *clientTx) start() error {
	tx.mu.Lock()
	tx.started = time.Now()
	tx.interval = sip.T1
	tx.timer = time.AfterFunc(tx.interval, tx.retransmit)
	tx.mu.Unlock()
	if err := tx.conn.writeTo(tx.wire, tx.to); err != nil {
		tx.end(err)
		return err
	}
	return nil
}

// retransmit is Timer A (E): the request again, or the transaction's end
// when 64*T1 have passed without a (final) answer: Timer B (F).
func (tx *clientTx) retransmit() {
	tx.mu.Lock()
	if tx.state != clientCalling && (tx.invite || tx.state != clientProceeding) {
		tx.mu.Unlock()
		return
	}
	giveUp := sip.Timer_F
	if tx.invite {
		giveUp = sip.Timer_B
	}
	left := giveUp - time.Since(tx.started)
	if left <= 0 {
		fns := tx.endLocked(sip.ErrTransactionTimeout)
		tx.mu.Unlock()
		fns()
		return
	}
	switch {
	case tx.invite:
		tx.interval *= 2
	case tx.state == clientProceeding:
		tx.interval = sip.T2
	default:
		tx.interval = min(2*tx.interval, sip.T2)
	}
	tx.timer.Reset(min(tx.interval, left))
	tx.mu.Unlock()
	_ = tx.conn.writeTo(tx.wire, tx.to)
}

// received takes res, an answer read with the transaction's branch.
func (tx *clientTx) received(res *sip.Response) {
	if cs := res.CSeq(); cs.MethodName == sip.CANCEL && tx.invite {
		tx.mu.Lock()
		cancel := tx.cancel
		tx.mu.Unlock()
		if cancel != nil {
			cancel.received(res)
		}
		return
	} else if cs.MethodName != tx.req.Method {
		return
	}
	tx.mu.Lock()
	switch tx.state {
	case clientCalling, clientProceeding:
	case clientAccepted:
		ack := tx.ack
		tx.mu.Unlock()
		if ack != nil && res.IsSuccess() {
			_ = tx.conn.writeTo(ack, tx.to) // a copy of the 2xx
		}
		return
	default:
		tx.mu.Unlock()
		return
	}
	if res.IsProvisional() {
		if tx.state == clientCalling && tx.invite {
			tx.timer.Stop() // Proceeding: an INVITE is not sent again
		}
		tx.state = clientProceeding
		tx.mu.Unlock()
		select {
		case tx.provisional <- res:
		default: // the waiter is behind: a later answer says as much
		}
		return
	}
	tx.timer.Stop()
	tx.final = res
	if tx.invite && res.IsSuccess() {
		tx.state = clientAccepted
		tx.closeDoneLocked()
		tx.mu.Unlock()
		return
	}
	var ack []byte
	if tx.invite {
		ack = failureAck(tx.req, res)
	}
	fns := tx.endLocked(nil)
	tx.mu.Unlock()
	if ack != nil {
		_ = tx.conn.writeTo(ack, tx.to)
	}
	fns()
}

// failureAck is the ACK of final answer res of 300 or more to invite
// (RFC 3261 17.1.1.3): the INVITE's transaction's, with the answer's To.
func failureAck(invite *sip.Request, res *sip.Response) []byte {
	return marshalRequest(inviteTxRequest(invite, sip.ACK, res.To()))
}

// inviteTxRequest is a request of method within invite's transaction:
// the ACK of a refusal (RFC 3261 17.1.1.3) or the CANCEL (9.1). It has
// the INVITE's Request-URI, top Via (its branch), Route headers, From,
// Call-ID and CSeq number, and To to (the answer's, or the INVITE's).
func inviteTxRequest(invite *sip.Request, method sip.RequestMethod, to *sip.ToHeader) *sip.Request {
	r := sip.NewRequest(method, invite.Recipient)
	r.AppendHeader(invite.Via())
	for _, h := range sipmsg.Headers(invite, "Route") {
		r.AppendHeader(h)
	}
	r.AppendHeader(invite.From())
	if to != nil {
		r.AppendHeader(to)
	}
	r.AppendHeader(invite.CallID())
	r.AppendHeader(&sip.CSeqHeader{SeqNo: invite.CSeq().SeqNo, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.SetBody(nil)
	return r
}

// marshalRequest is req as it goes on the wire.
func marshalRequest(req *sip.Request) []byte {
	var buf bytes.Buffer
	req.StringWrite(&buf)
	return buf.Bytes()
}

// setAck keeps ack, the dialog's ACK of the INVITE's 2xx as sent, to send
// again for each copy of the 2xx.
func (tx *clientTx) setAck(ack []byte) {
	tx.mu.Lock()
	tx.ack = ack
	tx.mu.Unlock()
}

// proceeding says whether a provisional answer came and no final one.
func (tx *clientTx) proceeding() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.state == clientProceeding
}

// errNoFinalAnswer: a client transaction ended without a final answer
// (joined with why: ErrTransactionTimeout, ErrTransactionTerminated).
var errNoFinalAnswer = errors.New("transaction terminated")

// finalAnswer is the final answer, once done is closed; nil and
// errNoFinalAnswer, with why, when the transaction ended without one.
func (tx *clientTx) finalAnswer() (*sip.Response, error) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.final == nil {
		return nil, errors.Join(errNoFinalAnswer, tx.err)
	}
	return tx.final, nil
}

// terminate ends a transaction its user no longer waits on (a leg
// abandoned before any answer, a request whose waiter gave up): it is not
// sent again, and its answers go to sipgo's stray handler. An INVITE
// accepted with a 2xx stays for its dialog (close).
func (tx *clientTx) terminate() {
	tx.mu.Lock()
	if tx.state == clientAccepted {
		tx.mu.Unlock()
		return
	}
	fns := tx.endLocked(sip.ErrTransactionTerminated)
	tx.mu.Unlock()
	fns()
}

// close ends the transaction whatever its state: its dialog is over.
func (tx *clientTx) close() {
	tx.mu.Lock()
	fns := tx.endLocked(nil)
	tx.mu.Unlock()
	fns()
}

func (tx *clientTx) end(err error) {
	tx.mu.Lock()
	fns := tx.endLocked(err)
	tx.mu.Unlock()
	fns()
}

// endLocked ends the transaction under tx.mu; what it returns is run once
// tx.mu is released: the CANCEL's transaction, if any, ends with it.
func (tx *clientTx) endLocked(err error) func() {
	if tx.state == clientTerminated {
		return func() {}
	}
	tx.state = clientTerminated
	if tx.err == nil && tx.final == nil {
		tx.err = err
	}
	if tx.timer != nil {
		tx.timer.Stop()
	}
	tx.closeDoneLocked()
	tx.table.remove(tx.branch, tx)
	cancel := tx.cancel
	tx.cancel = nil
	if cancel == nil {
		return func() {}
	}
	return cancel.terminate
}

func (tx *clientTx) closeDoneLocked() {
	if !tx.closed {
		tx.closed = true
		close(tx.done)
	}
}

// sendCancel sends cancel, the CANCEL of the INVITE (same branch), in a
// transaction kept beside the INVITE's.
func (tx *clientTx) sendCancel(cancel *sip.Request) (*clientTx, error) {
	ctx := newClientTx(tx.conn, tx.table, cancel, tx.to)
	tx.mu.Lock()
	if tx.state == clientTerminated {
		tx.mu.Unlock()
		return nil, sip.ErrTransactionTerminated
	}
	tx.cancel = ctx
	tx.mu.Unlock()
	if err := ctx.start(); err != nil {
		return nil, err
	}
	return ctx, nil
}

// takeResponse hands msg, an answer read by c from from, to the client
// transaction its top Via's branch names; false leaves it to sipgo.
func (s *Server) takeResponse(c *readConn, msg []byte, from netip.AddrPort) bool {
	if c != s.legConn || !bytes.HasPrefix(msg, []byte("SIP/2.0 ")) {
		return false
	}
	branch := rawTopBranch(msg)
	if branch == nil {
		return false
	}
	tx := clientTxByBranch(&s.clientTxs, branch)
	if tx == nil {
		return false
	}
	res := readResponse(c.parser, msg)
	if res == nil {
		return false // sipgo logs what it cannot parse
	}
	if !s.admitTaken(c, from) {
		return true // dropped, as the flood guard drops it
	}
	s.stats.readLoopResponses.Add(1)
	res.SetTransport("UDP")
	res.SetSource(from.String())
	tx.received(res)
	return true
}

// readResponse parses msg when it is an answer with the CSeq and Via a
// client transaction reads; nil otherwise.
func readResponse(p *sip.Parser, msg []byte) *sip.Response {
	m, err := p.ParseSIP(msg)
	if err != nil {
		return nil
	}
	res, ok := m.(*sip.Response)
	if !ok || res.CSeq() == nil || res.Via() == nil {
		return nil
	}
	return res
}
