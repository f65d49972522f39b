package routing

import (
	"sync"
	"sync/atomic"
)

// LimitKind says what a call limit counts calls of.
type LimitKind uint8

const (
	LimitPeer  LimitKind = iota + 1 // calls out to a peer (outmaximum)
	LimitPhone                      // calls of a phone, both ways (totalmaximum)
)

// LimitKey names one counter of CallLimits.
type LimitKey struct {
	Kind LimitKind
	ID   int
}

// Unlimited is the max of a limit that admits every call (outmaximum and
// totalmaximum -1).
const Unlimited = -1

// CallLimits counts active calls per peer and per phone and admits a call
// only while its counter is below the limit. The zero value is ready to
// use; it is safe for concurrent use. Counters are created once per key and
// live as long as the CallLimits, so admission does not allocate a counter.
type CallLimits struct {
	counters sync.Map // LimitKey -> *atomic.Int64
}

// Slot is one admitted call. Release gives it back exactly once, however
// often and from however many goroutines it is called.
type Slot struct {
	counter  *atomic.Int64
	released atomic.Bool
}

// Release frees the slot; calls after the first do nothing. A nil Slot is
// a no-op so that callers can release unconditionally.
func (s *Slot) Release() { s.tryRelease() }

// tryRelease frees the slot and reports whether this call did.
func (s *Slot) tryRelease() bool {
	if s == nil || !s.released.CompareAndSwap(false, true) {
		return false
	}
	s.counter.Add(-1)
	return true
}

// Acquire admits a call under key when fewer than max calls hold a slot;
// max Unlimited (or any negative value) admits every call but still counts
// it. The check and the increment are one atomic step: two callers can
// never both take the last slot.
func (l *CallLimits) Acquire(key LimitKey, max int) (*Slot, bool) {
	c := l.counter(key)
	if !AcquireUnder(c, int64(max)) {
		return nil, false
	}
	return &Slot{counter: c}, true
}

// AcquireUnder increments count if it is below max (max < 0: always) and
// says whether it did. Compare-and-swap rather than add-then-undo: the
// count itself never passes max, so readers and metrics never see a call
// over a limit.
func AcquireUnder(count *atomic.Int64, max int64) bool {
	if max < 0 {
		count.Add(1)
		return true
	}
	for {
		n := count.Load()
		if n >= max {
			return false
		}
		if count.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Active returns the number of slots of key not yet released.
func (l *CallLimits) Active(key LimitKey) int {
	if v, ok := l.counters.Load(key); ok {
		return int(v.(*atomic.Int64).Load())
	}
	return 0
}

func (l *CallLimits) counter(key LimitKey) *atomic.Int64 {
	if v, ok := l.counters.Load(key); ok {
		return v.(*atomic.Int64)
	}
	v, _ := l.counters.LoadOrStore(key, new(atomic.Int64))
	return v.(*atomic.Int64)
}
