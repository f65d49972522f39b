package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sipswitch/sipswitch/routing"
)

// ErrBadOption is returned by New for an option out of range.
var ErrBadOption = errors.New("invalid auth option")

// Phones is what authentication asks of the switch's lines: a line by
// its SIP username (a fast, in-memory lookup).
type Phones interface {
	Phone(name string) (*routing.Phone, bool)
}

// Authenticator challenges requests and checks their digest answers: the
// nonces it issued, the brute-force guard and the watch on failures and
// unanswered challenges.
type Authenticator struct {
	phones     Phones
	realm      string
	algorithms []string
	log        *slog.Logger
	now        func() time.Time

	nonceTTL             time.Duration
	failLimit            int
	failWindow, blockFor time.Duration
	watchFor, logEvery   time.Duration
	nonces               *nonceBook
	guard                *guard
	watch                *watch
	failures             [NumReasons]atomic.Uint64
}

// Option configures an Authenticator.
type Option func(*Authenticator) error

// WithRealm sets the digest realm (default "sipswitch").
func WithRealm(realm string) Option {
	return func(a *Authenticator) error {
		if realm == "" || strings.ContainsAny(realm, "\"\r\n") {
			return fmt.Errorf("realm %q: %w", realm, ErrBadOption)
		}
		a.realm = realm
		return nil
	}
}

// WithAlgorithms sets the digest algorithms offered, most preferred
// first, one challenge header each (RFC 8760): MD5 and SHA-256. Default
// MD5 alone (see the package doc of sip, WithDigestAlgorithms).
func WithAlgorithms(algs ...string) Option {
	return func(a *Authenticator) error {
		if len(algs) == 0 {
			return fmt.Errorf("digest algorithms: none given: %w", ErrBadOption)
		}
		for _, alg := range algs {
			if _, ok := hashFor(alg); !ok {
				return fmt.Errorf("digest algorithm %q: %w", alg, ErrBadOption)
			}
		}
		a.algorithms = append([]string(nil), algs...)
		return nil
	}
}

// WithNonceTTL sets how long a nonce is accepted; a later use is answered
// with a fresh challenge carrying stale=true (default 5 min).
func WithNonceTTL(d time.Duration) Option {
	return func(a *Authenticator) error {
		if d <= 0 {
			return fmt.Errorf("nonce ttl %s: %w", d, ErrBadOption)
		}
		a.nonceTTL = d
		return nil
	}
}

// WithBlock sets the brute-force guard: limit failed authentications
// from one IP address within window block it for blockFor (403 without
// challenge). Defaults 10, 60 s, 5 min.
func WithBlock(limit int, window, blockFor time.Duration) Option {
	return func(a *Authenticator) error {
		if limit <= 0 || window <= 0 || blockFor <= 0 {
			return fmt.Errorf("auth block limit=%d window=%s block=%s: %w", limit, window, blockFor, ErrBadOption)
		}
		a.failLimit, a.failWindow, a.blockFor = limit, window, blockFor
		return nil
	}
}

// WithWatch sets how long a challenge may go unanswered before it is
// reported, and how often one source's failures of one reason are
// logged. Defaults 30 s (a REGISTER transaction's lifetime, Timer F, is
// 32 s) and 1 min.
func WithWatch(unanswered, logEvery time.Duration) Option {
	return func(a *Authenticator) error {
		if unanswered <= 0 || logEvery <= 0 {
			return fmt.Errorf("auth watch unanswered=%s log every=%s: %w", unanswered, logEvery, ErrBadOption)
		}
		a.watchFor, a.logEvery = unanswered, logEvery
		return nil
	}
}

// WithLogger sets the logger (default slog.Default).
func WithLogger(l *slog.Logger) Option {
	return func(a *Authenticator) error { a.log = l; return nil }
}

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option {
	return func(a *Authenticator) error { a.now = now; return nil }
}

// New builds an Authenticator for the lines phones knows.
func New(phones Phones, opts ...Option) (*Authenticator, error) {
	a := &Authenticator{
		phones:     phones,
		realm:      "sipswitch",
		algorithms: []string{"MD5"},
		log:        slog.Default(),
		now:        time.Now,
		nonceTTL:   5 * time.Minute,
		failLimit:  10,
		failWindow: time.Minute,
		blockFor:   5 * time.Minute,
		watchFor:   30 * time.Second,
		logEvery:   time.Minute,
	}
	for _, o := range opts {
		if err := o(a); err != nil {
			return nil, err
		}
	}
	a.nonces = newNonceBook(a.nonceTTL)
	a.guard = newGuard(a.failLimit, a.failWindow, a.blockFor)
	a.watch = newWatch(a.watchFor, a.logEvery)
	return a, nil
}

// Blocked reports whether src is blocked now by the brute-force guard.
func (a *Authenticator) Blocked(src netip.Addr) bool {
	return a.guard.blocked(src, a.now())
}

// SweepEvery is how often Sweep must run to report an unanswered
// challenge within its window.
func (a *Authenticator) SweepEvery() time.Duration {
	return max(min(15*time.Second, a.watchFor/2), 10*time.Millisecond)
}

// Failures returns the failures counted so far, by reason.
func (a *Authenticator) Failures() [NumReasons]uint64 {
	var out [NumReasons]uint64
	for i := range a.failures {
		out[i] = a.failures[i].Load()
	}
	return out
}
