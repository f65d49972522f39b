package api

import (
	"net/netip"
	"sync"
	"time"
)

// LoginLimiter blocks a source address after repeated failed logins: a
// password-guessing client gets 401 without its guesses being checked.
type LoginLimiter struct {
	mu        sync.Mutex
	max       int
	window    time.Duration
	block     time.Duration
	now       func() time.Time
	addresses map[netip.Addr]*loginFailures
}

type loginFailures struct {
	count        int
	windowStart  time.Time
	blockedUntil time.Time
}

// NewLoginLimiter allows max failures per window before blocking the
// address for block.
func NewLoginLimiter(max int, window, block time.Duration) *LoginLimiter {
	return &LoginLimiter{max: max, window: window, block: block, now: time.Now, addresses: map[netip.Addr]*loginFailures{}}
}

// Blocked reports whether addr may not try to log in now.
func (l *LoginLimiter) Blocked(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.addresses[addr]
	return f != nil && l.now().Before(f.blockedUntil)
}

// Failed records a failed login and reports whether addr is now blocked.
func (l *LoginLimiter) Failed(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.addresses) > 100_000 {
		l.prune(now)
	}
	f := l.addresses[addr]
	if f == nil || now.Sub(f.windowStart) > l.window {
		f = &loginFailures{windowStart: now, blockedUntil: timeOrZero(f)}
		l.addresses[addr] = f
	}
	f.count++
	if f.count >= l.max {
		f.blockedUntil = now.Add(l.block)
		f.count = 0
		f.windowStart = now
	}
	return now.Before(f.blockedUntil)
}

// Succeeded forgets earlier failures of addr.
func (l *LoginLimiter) Succeeded(addr netip.Addr) {
	l.mu.Lock()
	if f := l.addresses[addr]; f != nil && !l.now().Before(f.blockedUntil) {
		delete(l.addresses, addr)
	}
	l.mu.Unlock()
}

func timeOrZero(f *loginFailures) time.Time {
	if f == nil {
		return time.Time{}
	}
	return f.blockedUntil
}

func (l *LoginLimiter) prune(now time.Time) {
	for a, f := range l.addresses {
		if now.Sub(f.windowStart) > l.window && !now.Before(f.blockedUntil) {
			delete(l.addresses, a)
		}
	}
}
