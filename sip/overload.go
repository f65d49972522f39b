package sip

import (
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// Overload shedding (WithOverloadDelay). Past its capacity a switch that
// takes every call queues them all: each request waits longer for a
// core, callers retransmit after T1, the retransmissions add load, and
// soon no call completes. So the switch measures how long each new INVITE
// waited between the read loop handing it up and its handler starting
// (the time its goroutine sat runnable behind others: the queue the cores
// cannot keep up with), and while that wait has stayed above a target
// for a whole interval it refuses new INVITEs at once, 503 with
// Retry-After, before the digest round: a refusal costs a fraction of a
// call, so the calls it takes keep the cores and finish. The idea is
// CoDel's (RFC 8289): a standing queue, not a burst, is what is shed; a
// GC pause or a burst of a few milliseconds refuses nothing.
//
// Only new INVITEs are refused: never a retransmission (the transaction
// layer absorbs those, and answers them with the 503 already sent), an
// in-dialog request (a BYE, a re-INVITE), an ACK or a CANCEL, never an
// INVITE with credentials (the second round of a call the switch took:
// refusing it would waste the first; a forged one costs a digest check
// and gets 407), and never an authenticated line's emergency call.

// overloadInterval is how long the wait must stay above the target before
// new INVITEs are refused (INFERRED, CoDel's interval).
const overloadInterval = 100 * time.Millisecond

// DefaultOverloadDelay is calls.overload_delay when not set (INFERRED): a
// tenth of T1, so that the calls taken answer their callers well before a
// retransmission, and far above the waits of a switch within its
// capacity (p99 of a few milliseconds at 1,800 CPS).
const DefaultOverloadDelay = 50 * time.Millisecond

// inviteReads remembers when the read loop handed each new INVITE up, by a
// hash of its branch, for its handler to find (readWait). A fixed table:
// nothing allocated, and a slot taken over by another INVITE before the
// handler looked only loses that INVITE's measure.
type inviteReads struct {
	slots [4096]inviteRead
}

type inviteRead struct {
	key atomic.Uint64
	at  atomic.Int64 // unix nanoseconds
}

// branchKey is the key of req's top Via branch (0: none).
func branchKey(req *sip.Request) uint64 {
	via := req.Via()
	if via == nil {
		return 0
	}
	b, _ := via.Params.Get("branch")
	if b == "" {
		return 0
	}
	return hashBranch(b)
}

// hashBranch is FNV-1a of a branch, never 0.
func hashBranch[T string | []byte](b T) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(b); i++ {
		h ^= uint64(b[i])
		h *= 1099511628211
	}
	return h | 1
}

// put remembers that the INVITE of branch key k arrived at (unix
// nanoseconds).
func (r *inviteReads) put(k uint64, at int64) {
	slot := &r.slots[k%uint64(len(r.slots))]
	slot.at.Store(at)
	slot.key.Store(k)
}

// noteRead is a handler of sipgo's transport layer: it runs in the read
// loop of a stream (TCP, TLS, WebSocket) for every message, right after
// sipgo has started the goroutine that handles it, and notes when a new
// INVITE was read. UDP INVITEs are noted as they arrive (readConn).
func (s *Server) noteRead(msg sip.Message) {
	req, ok := msg.(*sip.Request)
	if !ok || req.Method != sip.INVITE || req.Transport() == "UDP" {
		return
	}
	if k := branchKey(req); k != 0 {
		s.reads.put(k, time.Now().UnixNano())
	}
}

// readWait is how long req waited from the read loop to its handler,
// started at now; false when unknown (the handler ran before noteRead:
// it waited no time worth measuring).
func (s *Server) readWait(req *sip.Request, now time.Time) (time.Duration, bool) {
	k := branchKey(req)
	if k == 0 {
		return 0, false
	}
	slot := &s.reads.slots[k%uint64(len(s.reads.slots))]
	if slot.key.Load() != k {
		return 0, false
	}
	at := slot.at.Load()
	slot.key.CompareAndSwap(k, 0)
	d := now.Sub(time.Unix(0, at))
	if d < 0 || d > time.Minute {
		return 0, false
	}
	return d, true
}

// shedState is the overload detector: when the wait of new INVITEs went
// above the target and has stayed there (0: it is below).
type shedState struct {
	aboveSince atomic.Int64
}

// observe notes one INVITE's wait d at now.
func (st *shedState) observe(d, target time.Duration, now time.Time) {
	if d < target {
		st.aboveSince.Store(0)
		return
	}
	st.aboveSince.CompareAndSwap(0, now.UnixNano())
}

// overloaded says whether the wait has stayed above the target for
// overloadInterval.
func (st *shedState) overloaded(now time.Time) bool {
	since := st.aboveSince.Load()
	return since != 0 && now.UnixNano()-since >= int64(overloadInterval)
}

// shedInvite says whether a new INVITE (no To tag, not a retransmission)
// whose handler started at received is refused for overload. It times
// the wait (DelayQueue) whether shedding is on or not.
func (s *Server) shedInvite(req *sip.Request, received time.Time) bool {
	target := s.cfg.overloadDelay
	if target <= 0 && s.cfg.observeDelay == nil {
		return false
	}
	d, measured := s.readWait(req, received)
	if measured && s.cfg.observeDelay != nil {
		s.cfg.observeDelay(DelayQueue, d)
	}
	if target <= 0 {
		return false
	}
	if measured {
		// An INVITE whose wait is unknown (its slot was taken over) says
		// nothing either way.
		s.shed.observe(d, target, received)
	}
	if !s.shed.overloaded(received) {
		return false
	}
	if sipmsg.Header(req, "Proxy-Authorization") != nil {
		// The second round of a call the switch took: refusing it would
		// waste the first.
		return false
	}
	return !s.isEmergency(req.Recipient.User)
}
