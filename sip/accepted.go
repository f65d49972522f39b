package sip

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// acceptedInvites remembers the INVITEs the switch answered 2xx, by their
// transaction (top Via branch and Call-ID), for 64*T1: the duty of RFC 6026's
// Accepted state (Timer L) of absorbing a retransmitted INVITE that crossed
// the 2xx, which would otherwise start a second call. sipgo's transaction
// keeps the whole INVITE and its answer for that, and stays reachable through
// its Timer L even after the call's BYE ended it; here a call costs 16 bytes
// the collector never scans (no pointers), so Timer L can be short.
type acceptedInvites struct {
	seed maphash.Seed
	keep time.Duration

	mu sync.Mutex
	at map[uint64]int64 // key -> unix nanoseconds noted
	// fifo[head:] holds the keys in the order noted, which is the order
	// they expire in: pruning advances head.
	fifo []acceptedEntry
	head int
}

type acceptedEntry struct {
	key uint64
	at  int64
}

func newAcceptedInvites(keep time.Duration) *acceptedInvites {
	return &acceptedInvites{seed: maphash.MakeSeed(), keep: keep, at: make(map[uint64]int64)}
}

// key is false for an INVITE without a branch or Call-ID: such a request
// cannot be told from its retransmission and is never absorbed.
func (a *acceptedInvites) key(req *sip.Request) (uint64, bool) {
	via, callID := req.Via(), req.CallID()
	if via == nil || callID == nil {
		return 0, false
	}
	branch, ok := via.Params.Get("branch")
	if !ok || branch == "" {
		return 0, false
	}
	var h maphash.Hash
	h.SetSeed(a.seed)
	h.WriteString(branch)
	h.WriteByte(0)
	h.WriteString(callID.Value())
	return h.Sum64(), true
}

// note records an INVITE as answered at now.
func (a *acceptedInvites) note(req *sip.Request, now time.Time) {
	k, ok := a.key(req)
	if !ok {
		return
	}
	t := now.UnixNano()
	a.mu.Lock()
	a.pruneLocked(t)
	if _, dup := a.at[k]; !dup {
		a.at[k] = t
		a.fifo = append(a.fifo, acceptedEntry{key: k, at: t})
	}
	a.mu.Unlock()
}

// seen says whether req retransmits an INVITE answered within keep.
func (a *acceptedInvites) seen(req *sip.Request, now time.Time) bool {
	k, ok := a.key(req)
	if !ok {
		return false
	}
	t := now.UnixNano()
	a.mu.Lock()
	defer a.mu.Unlock()
	at, hit := a.at[k]
	return hit && t-at < int64(a.keep)
}

func (a *acceptedInvites) pruneLocked(now int64) {
	for a.head < len(a.fifo) && now-a.fifo[a.head].at >= int64(a.keep) {
		delete(a.at, a.fifo[a.head].key)
		a.head++
	}
	// The expired front is dropped once it is half the array: each entry
	// is copied at most once on average.
	if a.head > 0 && a.head >= len(a.fifo)/2 {
		a.fifo = a.fifo[:copy(a.fifo, a.fifo[a.head:])]
		a.head = 0
	}
}

// size is the number of INVITEs remembered (for tests).
func (a *acceptedInvites) size() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.at)
}
