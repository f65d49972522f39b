package auth

import (
	"net/netip"
	"sync"
	"time"
)

// guard blocks IP addresses that fail authentication too often: the
// cheap answer to password guessing (a blocked address gets 403 without a
// challenge, so it learns nothing more).
type guard struct {
	limit    int
	window   time.Duration
	blockFor time.Duration

	mu    sync.Mutex
	peers map[netip.Addr]*guardRecord
}

type guardRecord struct {
	windowStart  time.Time
	failures     int
	blockedUntil time.Time
}

func newGuard(limit int, window, blockFor time.Duration) *guard {
	return &guard{limit: limit, window: window, blockFor: blockFor, peers: make(map[netip.Addr]*guardRecord)}
}

// blocked reports whether addr is blocked now.
func (g *guard) blocked(addr netip.Addr, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.peers[addr]
	return ok && now.Before(r.blockedUntil)
}

// fail records a failure from addr; it reports true when this failure
// started a block.
func (g *guard) fail(addr netip.Addr, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.peers[addr]
	if !ok {
		r = &guardRecord{windowStart: now}
		g.peers[addr] = r
	}
	if now.Sub(r.windowStart) > g.window {
		r.windowStart, r.failures = now, 0
	}
	r.failures++
	if r.failures >= g.limit && !now.Before(r.blockedUntil) {
		r.blockedUntil = now.Add(g.blockFor)
		r.windowStart, r.failures = now, 0
		return true
	}
	return false
}

// sweep forgets addresses with no recent failures and no block.
func (g *guard) sweep(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for a, r := range g.peers {
		if now.Sub(r.windowStart) > g.window && !now.Before(r.blockedUntil) {
			delete(g.peers, a)
		}
	}
}
