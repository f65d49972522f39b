package sip

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// recentTransactions remembers finished INVITE transactions by their top
// Via branch and Call-ID for 64*T1, with what the switch still needs of
// each, so that sipgo's transaction can end long before: sipgo keeps the
// whole INVITE and its answers for its linger, and (v1.7.2) stays reachable
// through Timer L and M even after a dialog's BYE ended the transaction.
//
// The switch keeps two:
//   - acceptedInvites (V struct{}): the INVITEs it answered 2xx, to absorb
//     a retransmitted INVITE that crossed the 2xx, RFC 6026's Accepted
//     state duty (Timer L), which would otherwise start a second call.
//     16 bytes a call that the collector never scans.
//   - refusedInvites (V refusedInvite): B-leg INVITEs a callee refused
//     3xx-6xx, to ACK a retransmission of the refusal after the client
//     transaction ended (Timer D), as RFC 3261 17.1.1.3 asks.
type recentTransactions[V any] struct {
	seed maphash.Seed
	keep time.Duration

	mu sync.Mutex
	at map[uint64]recentEntry[V]
	// fifo[head:] holds the keys in the order noted, which is the order
	// they expire in: pruning advances head.
	fifo []recentKey
	head int
}

type recentEntry[V any] struct {
	at    int64 // Unix nanoseconds
	value V
}

type recentKey struct {
	key uint64
	at  int64
}

type acceptedInvites = recentTransactions[struct{}]

// refusedInvite is what an ACK of a refusal needs beyond the response: the
// INVITE's Request-URI and Route headers.
type refusedInvite struct {
	uri    string
	routes []string
}

func newRecentTransactions[V any](keep time.Duration) *recentTransactions[V] {
	return &recentTransactions[V]{seed: maphash.MakeSeed(), keep: keep, at: make(map[uint64]recentEntry[V])}
}

// key is the transaction's branch and Call-ID, hashed; false for a message
// without them, which cannot be told from its retransmission.
func (r *recentTransactions[V]) key(m sip.Message) (uint64, bool) {
	via, callID := m.Via(), m.CallID()
	if via == nil || callID == nil {
		return 0, false
	}
	branch, ok := via.Params.Get("branch")
	if !ok || branch == "" {
		return 0, false
	}
	var h maphash.Hash
	h.SetSeed(r.seed)
	h.WriteString(branch)
	h.WriteByte(0)
	h.WriteString(callID.Value())
	return h.Sum64(), true
}

// note records the transaction of m at now with v.
func (r *recentTransactions[V]) note(m sip.Message, v V, now time.Time) {
	k, ok := r.key(m)
	if !ok {
		return
	}
	t := now.UnixNano()
	r.mu.Lock()
	r.pruneLocked(t)
	if _, dup := r.at[k]; !dup {
		r.at[k] = recentEntry[V]{at: t, value: v}
		r.fifo = append(r.fifo, recentKey{key: k, at: t})
	}
	r.mu.Unlock()
}

// get returns what was noted of m's transaction within keep.
func (r *recentTransactions[V]) get(m sip.Message, now time.Time) (V, bool) {
	var zero V
	k, ok := r.key(m)
	if !ok {
		return zero, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, hit := r.at[k]
	if !hit || now.UnixNano()-e.at >= int64(r.keep) {
		return zero, false
	}
	return e.value, true
}

// seen says whether m's transaction was noted within keep.
func (r *recentTransactions[V]) seen(m sip.Message, now time.Time) bool {
	_, ok := r.get(m, now)
	return ok
}

func (r *recentTransactions[V]) pruneLocked(now int64) {
	for r.head < len(r.fifo) && now-r.fifo[r.head].at >= int64(r.keep) {
		delete(r.at, r.fifo[r.head].key)
		r.head++
	}
	// The expired front is dropped once it is half the array: each entry
	// is copied at most once on average.
	if r.head > 0 && r.head >= len(r.fifo)/2 {
		r.fifo = r.fifo[:copy(r.fifo, r.fifo[r.head:])]
		r.head = 0
	}
}

// size is the number of transactions remembered (for tests).
func (r *recentTransactions[V]) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.at)
}
