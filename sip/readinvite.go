package sip

import (
	"bytes"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// New INVITEs on UDP that the read loop does not answer statelessly
// (challengeraw.go, overloadraw.go) are taken there too: parsed with
// sipgo's parser and handed to handleInvite with a server transaction of
// the switch's own (inviteTx), not sipgo's. Through sipgo each INVITE
// cost a goroutine to reach the transaction layer, a context with its
// timer, the transaction table's lock, a state machine behind a second
// lock, and — once answered 2xx — a transaction kept with a timer for
// 64*T1 (32 s: 58,000 of them at 1,800 calls/s) only to absorb
// retransmissions that handleInvite absorbs anyway (s.accepted, RFC
// 6026 7.1). Kamailio's tm keeps its INVITE transactions the same way
// (issue 30: CPU per call).
//
// The transaction follows RFC 3261 17.2.1 with RFC 6026's Accepted
// state:
//   - Proceeding: a retransmitted INVITE gets the last provisional
//     answer again (nothing before the first); 100 Trying goes out when
//     the handler has answered nothing within 200 ms (Timer_1xx, as
//     sipgo's).
//   - A 2xx ends the transaction's part: the handler (sipgo's
//     DialogServerSession.WriteResponse) retransmits it until the ACK,
//     which goes to the dialog (readdialog.go), and retransmitted INVITEs
//     find no transaction and are absorbed by handleInvite (s.accepted,
//     noted before the 2xx is sent).
//   - Completed (a final answer of 300 or more): retransmitted every T1,
//     doubling to T2 (Timer G), until the ACK (same branch) or 64*T1
//     (Timer H: the transaction ends with ErrTransactionTimeout); an
//     INVITE copy gets it again.
//   - Confirmed: ACK copies are absorbed for T4 (Timer I), then the
//     transaction ends.
//   - A CANCEL with the INVITE's branch, from the same source, is
//     answered 200 at once; while no final answer has gone out, the
//     cancel callbacks run (sipgo's DialogUA ends the dialog with
//     ErrTransactionCanceled) and the INVITE is answered 487 (RFC 3261
//     9.2). A CANCEL matching nothing goes on to sipgo (481).
//
// The table is keyed by source and branch: the top Via's sent-by is the
// source on every phone this switch serves (RFC 3581), and matching by
// source keeps a stranger from cancelling someone else's call by
// guessing its branch.

// readTxKey names a transaction kept by the read loop: where its request
// came from and its top Via's branch.
type readTxKey struct {
	from   netip.AddrPort
	branch string
}

// inviteTx states.
const (
	inviteProceeding = iota
	inviteAccepted   // a 2xx went out
	inviteCompleted  // a final answer of 300 or more went out
	inviteConfirmed  // its ACK came
	inviteTerminated
)

// inviteTx is the server transaction of a new INVITE taken in the read
// loop.
type inviteTx struct {
	conn   *readConn
	table  *inviteTxs
	key    readTxKey
	origin *sip.Request
	// arrived is when the INVITE reached the socket (readConn): its
	// wait for a core, for the overload detector (readWait).
	arrived time.Time

	mu         sync.Mutex
	state      int
	last       []byte // the last answer sent, for retransmissions
	acceptedAt time.Time
	trying     *time.Timer // Timer_1xx
	retrans    *time.Timer // Timer G, then Timer I
	giveUp     *time.Timer // Timer H
	interval   time.Duration
	err        error
	done       chan struct{}
	acks       chan *sip.Request
	onCancel   []sip.FnTxCancel
	onTerm     []sip.FnTxTerminate
}

var _ sip.ServerTransaction = (*inviteTx)(nil)

// takeInvite handles req, read from from, when it is a new INVITE (no To
// tag) or a copy of one whose transaction the read loop keeps; false
// leaves it to sipgo.
func (s *Server) takeInvite(c *readConn, req *sip.Request, from netip.AddrPort, arrived time.Time) bool {
	branch, ok := newInviteBranch(req)
	if !ok {
		return false // a re-INVITE goes to sipgo, and one without a branch
	}
	if !s.noteTaken(c, from) {
		return true // dropped, as the flood guard drops it
	}
	key := readTxKey{from, branch}
	if tx := s.invites.get(key); tx != nil {
		tx.retransmitted()
		return true
	}
	req.SetTransport("UDP")
	req.SetSource(from.String())
	tx := &inviteTx{conn: c, table: &s.invites, key: key, origin: req, arrived: arrived, done: make(chan struct{}), acks: make(chan *sip.Request, 1)}
	s.invites.add(key, tx) // the read loop is the only one adding
	tx.mu.Lock()
	tx.trying = time.AfterFunc(sip.Timer_1xx, tx.sendTrying)
	tx.mu.Unlock()
	go func() {
		s.handleInvite(req, tx)
		// As sipgo's server does after the handler: a transaction left
		// without a final answer ends here.
		tx.mu.Lock()
		open := tx.state == inviteProceeding
		tx.mu.Unlock()
		if open {
			tx.Terminate()
		}
	}()
	return true
}

// newInviteBranch is the top Via's branch of req, an INVITE read by the
// read loop (readRequest), when it starts a dialog (no To tag).
func newInviteBranch(req *sip.Request) (string, bool) {
	if to := req.To(); to == nil || to.Params.Has("tag") {
		return "", false
	}
	branch, _ := req.Via().Params.Get("branch")
	return branch, branch != ""
}

// takeInviteAck hands ack, read from from, to the INVITE transaction it
// acknowledges (the ACK of a final answer of 300 or more has the
// INVITE's branch); false when there is none.
func (s *Server) takeInviteAck(c *readConn, ack *sip.Request, from netip.AddrPort) bool {
	tx := s.heldInvite(ack, from)
	if tx == nil {
		return false
	}
	if s.noteTaken(c, from) {
		tx.acked(ack)
	}
	return true
}

// heldInvite is the INVITE transaction the read loop keeps that req, an
// ACK or a CANCEL read from from, names by its branch; nil when none.
func (s *Server) heldInvite(req *sip.Request, from netip.AddrPort) *inviteTx {
	branch, _ := req.Via().Params.Get("branch")
	return s.invites.get(readTxKey{from, branch})
}

// takeCancel answers cancel, read from from, when it names an INVITE
// transaction the read loop keeps; false leaves it to sipgo.
func (s *Server) takeCancel(c *readConn, cancel *sip.Request, from netip.AddrPort) bool {
	tx := s.heldInvite(cancel, from)
	if tx == nil {
		return false
	}
	if !s.noteTaken(c, from) {
		return true // dropped, as the flood guard drops it
	}
	cancel.SetTransport("UDP")
	cancel.SetSource(from.String())
	_ = c.writeTo(marshalResponse(sip.NewResponseFromRequest(cancel, 200, "OK", nil)), from)
	tx.cancelled(cancel)
	return true
}

// Respond sends res: a provisional answer, the 2xx (and, from the
// handler, its retransmissions) or a final failure, which the
// transaction then retransmits until the ACK.
func (tx *inviteTx) Respond(res *sip.Response) error {
	buf := tx.conn.answerBuffer()
	defer tx.conn.releaseAnswer(buf)
	res.StringWrite(buf)
	b := buf.Bytes()
	tx.mu.Lock()
	send, err := tx.answerLocked(res, b)
	tx.mu.Unlock()
	if errors.Is(err, errAcceptedExpired) {
		tx.end(nil)
		return sip.ErrTransactionTerminated
	}
	if !send {
		return err
	}
	return tx.conn.writeTo(b, tx.key.from)
}

// errAcceptedExpired: the 2xx is no longer the transaction's to resend.
var errAcceptedExpired = errors.New("accepted state over")

// marshalResponse is res as it goes on the wire.
func marshalResponse(res *sip.Response) []byte {
	var buf bytes.Buffer
	res.StringWrite(&buf)
	return buf.Bytes()
}

// answerLocked moves the transaction on for res, marshalled as b, under
// tx.mu, and says whether b goes out; what it keeps of b to send again
// is a copy.
func (tx *inviteTx) answerLocked(res *sip.Response, b []byte) (bool, error) {
	switch {
	case tx.state == inviteTerminated:
		return false, sip.ErrTransactionTerminated
	case res.IsProvisional():
		if tx.state != inviteProceeding {
			return false, nil // too late: a final answer went out
		}
		tx.last = bytes.Clone(b)
	case res.IsSuccess():
		switch tx.state {
		case inviteProceeding:
			tx.state, tx.acceptedAt = inviteAccepted, time.Now()
			tx.table.remove(tx.key, tx)
		case inviteAccepted:
			// The handler's retransmission (WriteResponse, until the ACK):
			// for Timer L's 64*T1 (RFC 6026 8.7), after which the handler
			// goes on alone (callbridge.go: answerUntilAck). Checked here
			// rather than armed as a timer for every answered call.
			if time.Since(tx.acceptedAt) >= sip.Timer_L {
				return false, errAcceptedExpired
			}
		default:
			return false, nil
		}
	default:
		if tx.state != inviteProceeding {
			return false, nil
		}
		tx.state, tx.last = inviteCompleted, bytes.Clone(b)
		tx.interval = sip.Timer_G
		tx.retrans = time.AfterFunc(tx.interval, tx.retransmitFinal)
		tx.giveUp = time.AfterFunc(sip.Timer_H, func() { tx.end(sip.ErrTransactionTimeout) })
	}
	tx.stopTrying()
	return true, nil
}

// sendTrying sends 100 Trying when nothing went out within Timer_1xx.
func (tx *inviteTx) sendTrying() {
	tx.mu.Lock()
	quiet := tx.state == inviteProceeding && tx.last == nil && tx.trying != nil
	tx.mu.Unlock()
	if quiet {
		_ = tx.Respond(sip.NewResponseFromRequest(tx.origin, 100, "Trying", nil))
	}
}

func (tx *inviteTx) stopTrying() {
	if tx.trying != nil {
		tx.trying.Stop()
		tx.trying = nil
	}
}

// retransmitted answers a copy of the INVITE with the last answer sent.
func (tx *inviteTx) retransmitted() {
	tx.mu.Lock()
	last := tx.last
	if tx.state != inviteProceeding && tx.state != inviteCompleted {
		last = nil
	}
	tx.mu.Unlock()
	if last != nil {
		_ = tx.conn.writeTo(last, tx.key.from)
	}
}

// retransmitFinal is Timer G: the final failure again, until the ACK.
func (tx *inviteTx) retransmitFinal() {
	tx.mu.Lock()
	if tx.state != inviteCompleted {
		tx.mu.Unlock()
		return
	}
	last := tx.last
	tx.interval = min(2*tx.interval, sip.T2)
	tx.retrans.Reset(tx.interval)
	tx.mu.Unlock()
	_ = tx.conn.writeTo(last, tx.key.from)
}

// acked takes the ACK of the final failure: the handler hears of it and
// copies are absorbed for Timer I.
func (tx *inviteTx) acked(ack *sip.Request) {
	tx.mu.Lock()
	if tx.state != inviteCompleted {
		tx.mu.Unlock()
		return // a copy, or an ACK the transaction has no answer for
	}
	tx.state = inviteConfirmed
	tx.retrans.Stop()
	tx.giveUp.Stop()
	tx.retrans = time.AfterFunc(sip.Timer_I, func() { tx.end(nil) })
	tx.mu.Unlock()
	select {
	case tx.acks <- ack:
	default:
	}
}

// cancelled takes a CANCEL of the INVITE: 487 unless a final answer went
// out, then the cancel callbacks. The 487 goes first: a handler woken by
// a callback may return at once (sipgo's transaction answers a CANCEL
// itself, and the switch's handlers rely on it), and a transaction
// without a final answer when its handler returns is ended.
func (tx *inviteTx) cancelled(cancel *sip.Request) {
	b := marshalResponse(sip.NewResponseFromRequest(tx.origin, 487, "Request Terminated", nil))
	tx.mu.Lock()
	if tx.state != inviteProceeding {
		tx.mu.Unlock()
		return
	}
	tx.err = sip.ErrTransactionCanceled
	tx.answerLocked(&sip.Response{StatusCode: 487}, b)
	fns := tx.onCancel
	tx.mu.Unlock()
	_ = tx.conn.writeTo(b, tx.key.from)
	for _, f := range fns {
		f(cancel)
	}
}

// Terminate ends the transaction.
func (tx *inviteTx) Terminate() { tx.end(nil) }

func (tx *inviteTx) end(err error) {
	tx.mu.Lock()
	fns, err := tx.endLocked(err)
	tx.mu.Unlock()
	for _, f := range fns {
		f(tx.key.branch, err)
	}
}

// endLocked ends the transaction under tx.mu and gives the callbacks to
// run, with the error to give them, once it is released.
func (tx *inviteTx) endLocked(err error) ([]sip.FnTxTerminate, error) {
	if tx.state == inviteTerminated {
		return nil, tx.err
	}
	tx.state = inviteTerminated
	if err != nil {
		tx.err = err
	}
	tx.stopTrying()
	for _, t := range []*time.Timer{tx.retrans, tx.giveUp} {
		if t != nil {
			t.Stop()
		}
	}
	close(tx.done)
	fns := tx.onTerm
	tx.onTerm, tx.onCancel = nil, nil
	tx.table.remove(tx.key, tx)
	return fns, tx.err
}

// OnTerminate calls f when the transaction ends; false when it has.
func (tx *inviteTx) OnTerminate(f sip.FnTxTerminate) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.state == inviteTerminated {
		return false
	}
	tx.onTerm = append(tx.onTerm, f)
	return true
}

// OnCancel calls f when a CANCEL of the INVITE comes before a final
// answer; false when the transaction has ended.
func (tx *inviteTx) OnCancel(f sip.FnTxCancel) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.state == inviteTerminated {
		return false
	}
	tx.onCancel = append(tx.onCancel, f)
	return true
}

// Done is closed when the transaction ends.
func (tx *inviteTx) Done() <-chan struct{} { return tx.done }

// Err is why the transaction ended: ErrTransactionCanceled,
// ErrTransactionTimeout, or nil.
func (tx *inviteTx) Err() error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.err
}

// Acks carries the ACK of a final failure.
func (tx *inviteTx) Acks() <-chan *sip.Request { return tx.acks }
