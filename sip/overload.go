package sip

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// Overload shedding (WithOverloadDelay). Past its capacity a switch that
// takes every call queues them all: each request waits longer for a
// core, callers retransmit after T1, the retransmissions add load, and
// soon no call completes. So the switch measures how long each new INVITE
// waited from its arrival to its handler starting (the queue the cores
// cannot keep up with: in the socket's buffer behind a starved read loop,
// or as a runnable goroutine behind others), and refuses that share of
// new INVITEs, 503 with Retry-After before the digest round, that keeps
// the wait at the target: a refusal costs a fraction of a call (in the
// read loop, before sipgo parses it: overloadraw.go), so the calls it
// takes keep the cores and finish. The share is PIE's (RFC 8033, a
// proportional-integral controller on the queue's delay): refusing all or
// nothing on a threshold makes the switch swing between a full queue and
// an idle one (measured: a second of 3,400 answered calls, the next of
// 600, at 5,000 offered). A burst or a GC pause moves it little and
// briefly; a switch within its capacity refuses nothing.
//
// Only new INVITEs are refused: never a retransmission (the transaction
// layer absorbs those, and answers them with the 503 already sent), an
// in-dialog request (a BYE, a re-INVITE), an ACK or a CANCEL, never an
// INVITE with credentials (the second round of a call the switch took:
// refusing it would waste the first; a forged one costs a digest check
// and gets 407), and never an authenticated line's emergency call.

// DefaultOverloadDelay is calls.overload_delay when not set (INFERRED): a
// fifth of T1, so that the calls taken answer their callers well before a
// retransmission, and far above the waits of a switch within its
// capacity (p99 of a few milliseconds at 1,800 CPS). 50 ms refused a few
// calls at 1,800 CPS on a host busy with other work (12 in 20 s), where
// the switch had capacity to spare.
const DefaultOverloadDelay = 100 * time.Millisecond

// inviteReads remembers when a read loop handed each new INVITE to sipgo
// (a stream's; a UDP one the read loop does not keep itself), by a hash
// of its branch, for its handler to find (readWait). A fixed table:
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

// readWait is how long req, of transaction tx, waited from the read loop
// to its handler, started at now; false when unknown (the handler ran
// before noteRead: it waited no time worth measuring). The read loop's
// own transactions carry when their INVITE arrived (readinvite.go); the
// INVITEs sipgo handles are found by their branch in s.reads.
func (s *Server) readWait(req *sip.Request, tx sip.ServerTransaction, now time.Time) (time.Duration, bool) {
	if t, ok := tx.(*inviteTx); ok {
		return sensibleWait(now.Sub(t.arrived))
	}
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
	return sensibleWait(now.Sub(time.Unix(0, at)))
}

// sensibleWait is d when it can be a wait (a clock stepped back or a
// slot of long ago says nothing).
func sensibleWait(d time.Duration) (time.Duration, bool) {
	if d < 0 || d > time.Minute {
		return 0, false
	}
	return d, true
}

// PIE's constants (RFC 8033 4.2, 5): the share refused is updated every
// pieUpdate from the mean wait of the INVITEs measured meanwhile, by
// pieAlpha per second of wait past the target and pieBeta per second the
// wait grew; INFERRED: the RFC's values, with its update period doubled
// (a SIP queue's waits are tens of milliseconds, not one).
const (
	pieUpdate = 30 * time.Millisecond
	pieAlpha  = 0.125
	pieBeta   = 1.25
	// pieMax leaves some new INVITEs to the handler, whose waits are
	// what ends the overload.
	pieMax = 0.95
	// pieMaxBurst is how long a queue may stand past the target, from
	// none, before anything is refused (RFC 8033 4.4's burst allowance,
	// its 150 ms): a GC cycle or a moment of a busy host is absorbed.
	pieMaxBurst = 150 * time.Millisecond
)

// shedState is the overload controller: the share of new INVITEs refused
// (p) and what it is computed from.
type shedState struct {
	p        atomic.Uint64 // float64 bits
	sum, n   atomic.Int64  // waits measured since the last update (ns)
	last     atomic.Int64  // unix nanoseconds of the last update
	mu       sync.Mutex    // one updater at a time
	delayOld time.Duration // the mean wait of the period before (under mu)
	delay    atomic.Int64  // the mean wait of the last period
	// burst is what is left of the burst allowance (under mu); armed
	// while the queue is gone.
	burst time.Duration
	armed bool
	// shedding is set while p > 0 and the allowance is spent, for the
	// read loop's fast path.
	shedding atomic.Bool
}

func (st *shedState) share() float64 { return math.Float64frombits(st.p.Load()) }

// observe notes one INVITE's wait d at now, and updates the share once a
// period has passed.
func (st *shedState) observe(d, target time.Duration, now time.Time) {
	st.sum.Add(int64(d))
	st.n.Add(1)
	t := now.UnixNano()
	if t-st.last.Load() < int64(pieUpdate) || !st.mu.TryLock() {
		return
	}
	defer st.mu.Unlock()
	last := st.last.Load()
	if t-last < int64(pieUpdate) {
		return
	}
	st.last.Store(t)
	n := st.n.Swap(0)
	sum := st.sum.Swap(0)
	if n == 0 {
		return
	}
	delay := time.Duration(sum / n)
	st.delayOld = time.Duration(st.delay.Swap(int64(delay)))
	p := st.share()
	if last != 0 && t-last > int64(time.Second) {
		p = 0 // no INVITE for a second: whatever queue there was is gone
	}
	p += pieAlpha*(delay-target).Seconds() + pieBeta*(delay-st.delayOld).Seconds()
	if delay < target/2 && st.delayOld < target/2 {
		p *= 0.98 // RFC 8033 4.2: decay once the queue is gone
	}
	p = min(max(p, 0), pieMax)
	if p < 0.001 {
		p = 0
	}
	switch {
	case p == 0 && delay < target/2 && st.delayOld < target/2, !st.armed:
		st.burst, st.armed = pieMaxBurst, true
	case st.burst > 0:
		st.burst -= min(time.Duration(t-last), st.burst)
	}
	st.p.Store(math.Float64bits(p))
	st.shedding.Store(p > 0 && st.burst == 0)
}

// refuse says whether a new INVITE is refused now: with the share's
// probability, and only while the wait is at least half the target or
// the share is high (RFC 8033 4.1: no refusals on a queue that is
// draining after a burst).
func (st *shedState) refuse(target time.Duration) bool {
	if !st.shedding.Load() {
		return false
	}
	p := st.share()
	if time.Duration(st.delay.Load()) < target/2 && p < 0.2 {
		return false
	}
	return rand.Float64() < p
}

// QueueDelay is how long new INVITEs waited for a core, on average, over
// the last period the overload controller measured (pieUpdate); 0 when
// none was measured in the last second, or when shedding
// (WithOverloadDelay) is off, which measures them. The processors' controller reads it (cmd/sipswitch,
// internal/procs: a switch whose requests queue needs more cores).
func (s *Server) QueueDelay() time.Duration {
	if time.Now().UnixNano()-s.shed.last.Load() > int64(time.Second) {
		return 0
	}
	return time.Duration(s.shed.delay.Load())
}

// shedInvite says whether a new INVITE (no To tag, not a retransmission)
// whose handler started at received is refused for overload. It times
// the wait (DelayQueue) whether shedding is on or not. A UDP INVITE the
// read loop has weighed already (shedRaw) is not weighed again.
func (s *Server) shedInvite(req *sip.Request, tx sip.ServerTransaction, received time.Time) bool {
	target := s.cfg.overloadDelay
	if target <= 0 && s.cfg.observeDelay == nil {
		return false
	}
	d, measured := s.readWait(req, tx, received)
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
	if sipmsg.Header(req, "Proxy-Authorization") != nil {
		// The second round of a call the switch took: refusing it would
		// waste the first.
		return false
	}
	if s.rawShedding && req.Transport() == "UDP" {
		return false
	}
	return s.shed.refuse(target) && !s.isEmergency(req.Recipient.User)
}
