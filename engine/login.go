package engine

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// LoginLimits bound password guessing through Service.Login: failures are
// counted per source address and per username, whichever API they came
// through, and a blocked login is answered without checking the password.
type LoginLimits struct {
	// Failures within Window from one address block that address for
	// Block; as many for one username, from any addresses, block that
	// username for Block.
	Failures int
	Window   time.Duration
	Block    time.Duration
	// TrustFor: an address that logged in as a username within this long
	// is not held by that username's block, so guesses from elsewhere do
	// not lock the real user out of the places it works from. The
	// address's own block still holds it.
	TrustFor time.Duration
}

// DefaultLoginLimits: 10 failures a minute block the address, or the
// username, for 5 minutes; a successful login trusts its address for that
// username for a day.
func DefaultLoginLimits() LoginLimits {
	return LoginLimits{Failures: 10, Window: time.Minute, Block: 5 * time.Minute, TrustFor: 24 * time.Hour}
}

// WithLoginLimits replaces DefaultLoginLimits.
func WithLoginLimits(l LoginLimits) ServiceOption {
	return func(s *Service) { s.logins.limits = l }
}

// ErrLoginBlocked answers a login from a blocked address or for a blocked
// username, whatever the password.
var ErrLoginBlocked = errors.New("too many failed logins; try again later") // 401

// Login is Authenticate for a client at addr under the LoginLimits. Every
// front end that takes a password over the network (the Enswitch API, the
// gateway API) logs in here, so they share one count of failures. A
// failed login is written to the audit log (audit.go).
func (s *Service) Login(ctx context.Context, addr netip.Addr, username, password string) (*Actor, error) {
	client := addr.Unmap()
	addr = guardAddr(addr)
	if s.logins.blocked(addr, username) {
		return nil, ErrLoginBlocked
	}
	a, err := s.Authenticate(ctx, username, password)
	switch {
	case errors.Is(err, ErrBadCredentials):
		addrBlocked, userBlocked := s.logins.failed(addr, username)
		if addrBlocked || userBlocked {
			s.log.Warn("login blocked after repeated failures", "addr", addr.String(), "username", clip(username),
				"address_blocked", addrBlocked, "username_blocked", userBlocked)
		}
		// The audit log (audit.go) has the client's own address, not the
		// /64 failures are counted under.
		s.loginFailed(ctx, client, username, addrBlocked || userBlocked)
	case err == nil:
		s.logins.succeeded(addr, username)
	}
	return a, err
}

// loginGuard holds the failure counts of Login.
type loginGuard struct {
	limits LoginLimits
	now    func() time.Time

	mu    sync.Mutex
	addrs map[netip.Addr]failures
	users map[string]failures
	// trusted holds, per username, when each address last logged in as
	// it.
	trusted map[string]map[netip.Addr]time.Time
}

type failures struct {
	count        int
	windowStart  time.Time
	blockedUntil time.Time
}

// Bounds on what an attacker can make the guard remember. Usernames are
// at most 64 characters (checkName); a longer one exists nowhere, and its
// first 64 bytes, copied, count for it. maxTrackedFailures bounds each of
// the two maps of failures (addresses, usernames): 54 MB of heap for both
// at the cap (TestLoginGuardForgetsPastItsCap).
const (
	maxTrackedFailures = 100_000
	maxTrustedAddrs    = 64
	maxUsernameKey     = 64
)

func newLoginGuard() *loginGuard {
	return &loginGuard{
		limits:  DefaultLoginLimits(),
		now:     time.Now,
		addrs:   map[netip.Addr]failures{},
		users:   map[string]failures{},
		trusted: map[string]map[netip.Addr]time.Time{},
	}
}

// guardAddr is the address failures are counted under: an IPv6 address's
// /64, since a single host is given a whole /64 and could otherwise guess
// from 2^64 addresses, each with a fresh count (INFERRED: the prefix
// length fail2ban and most rate limiters use).
func guardAddr(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

func usernameKey(u string) string {
	if len(u) > maxUsernameKey {
		return u[:maxUsernameKey]
	}
	return u
}

// blocked reports whether a login as username from addr is refused now.
func (g *loginGuard) blocked(addr netip.Addr, username string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if now.Before(g.addrs[addr].blockedUntil) {
		return true
	}
	user := usernameKey(username)
	if !now.Before(g.users[user].blockedUntil) {
		return false
	}
	last, ok := g.trusted[user][addr]
	return !ok || now.Sub(last) > g.limits.TrustFor
}

// failed counts a failed login and reports whether it started a block of
// the address or of the username.
func (g *loginGuard) failed(addr netip.Addr, username string) (addrBlocked, userBlocked bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	addrBlocked = countFailure(g.addrs, addr, now, g.limits)
	if username != "" {
		// A copy: the name may be a slice of a whole request.
		userBlocked = countFailure(g.users, strings.Clone(usernameKey(username)), now, g.limits)
	}
	return addrBlocked, userBlocked
}

// countFailure adds one failure to key's window and reports whether it
// reached the limit and started a block.
func countFailure[K comparable](m map[K]failures, key K, now time.Time, l LoginLimits) bool {
	f, known := m[key]
	if !known && len(m) >= maxTrackedFailures {
		makeRoom(m, now, l)
	}
	if now.Sub(f.windowStart) > l.Window {
		f.count, f.windowStart = 0, now
	}
	f.count++
	blocks := f.count >= l.Failures
	if blocks {
		f.blockedUntil = now.Add(l.Block)
		f.count, f.windowStart = 0, now
	}
	m[key] = f
	return blocks
}

// makeRoom shrinks a full map of failures to 7/8 of maxTrackedFailures,
// so that it sweeps once per maxTrackedFailures/8 new keys at most. It
// forgets first what no longer counts (a window past, no block), then
// arbitrary counts (Go's map order), then, only if more than 7/8 of the
// map is blocked, arbitrary blocks.
//
// INFERRED: forgetting a count lets its address or username guess afresh.
// To make the guard forget, an attacker must fail maxTrackedFailures
// distinct logins within a Window (100,000 a minute, 1,700 a second: about
// 100 cores of bcrypt at the default cost, 60 ms a check), or block 7/8 of
// them within a Block. The alternative, refusing logins once full, would
// let the same flood lock every user out.
func makeRoom[K comparable](m map[K]failures, now time.Time, l LoginLimits) {
	target := maxTrackedFailures - maxTrackedFailures/8
	for k, f := range m {
		if now.Sub(f.windowStart) > l.Window && !now.Before(f.blockedUntil) {
			delete(m, k)
		}
	}
	for _, evictBlocked := range []bool{false, true} {
		for k, f := range m {
			if len(m) <= target {
				return
			}
			if evictBlocked || !now.Before(f.blockedUntil) {
				delete(m, k)
			}
		}
	}
}

// succeeded trusts addr for username. It does not forget the address's
// failures: a client holding one valid account would otherwise wash out
// its guesses at others by logging in between them.
func (g *loginGuard) succeeded(addr netip.Addr, username string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	user := usernameKey(username)
	seen := g.trusted[user]
	if seen == nil {
		seen = map[netip.Addr]time.Time{}
		g.trusted[strings.Clone(user)] = seen
	}
	if _, known := seen[addr]; !known && len(seen) >= maxTrustedAddrs {
		var oldest netip.Addr
		for a, t := range seen {
			if now.Sub(t) > g.limits.TrustFor {
				delete(seen, a)
			} else if !oldest.IsValid() || t.Before(seen[oldest]) {
				oldest = a
			}
		}
		if len(seen) >= maxTrustedAddrs {
			delete(seen, oldest)
		}
	}
	seen[addr] = now
}
