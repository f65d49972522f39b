package registrar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/routing"
)

// ErrBadOption is returned by New for an option out of range.
var ErrBadOption = errors.New("invalid registrar option")

// storeTimeout bounds each round trip to the registration store.
const storeTimeout = 2 * time.Second

// Phones is what the registrar asks of the switch's lines: a line by its
// SIP username (a fast, in-memory lookup).
type Phones interface {
	Phone(name string) (*routing.Phone, bool)
}

// Store persists registrations so they survive restarts.
type Store interface {
	SaveRegistration(ctx context.Context, r records.Registration) error
	DeleteRegistration(ctx context.Context, phone, contact string) error
	LoadRegistrations(ctx context.Context) ([]records.Registration, error)
}

// Registrar holds the bindings of every line and applies REGISTERs that
// have authenticated to them (RFC 3261 10.3).
type Registrar struct {
	phones Phones
	table  *table
	store  Store
	log    *slog.Logger
	now    func() time.Time

	minExpires, maxExpires, defaultExpires int
	maxContacts                            int
	pingInterval, pingTimeout              time.Duration

	unregisteredAlerts, addressChangeAlerts atomic.Uint64
}

// Option configures a Registrar.
type Option func(*Registrar) error

// WithStore persists registrations (default: memory only).
func WithStore(s Store) Option {
	return func(r *Registrar) error { r.store = s; return nil }
}

// WithLogger sets the logger (default slog.Default).
func WithLogger(l *slog.Logger) Option {
	return func(r *Registrar) error { r.log = l; return nil }
}

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option {
	return func(r *Registrar) error { r.now = now; return nil }
}

// WithExpiry sets the registration expiry bounds in seconds: shorter
// requests get 423 Interval Too Brief, longer ones are shortened to max,
// requests without an expiry get def (defaults 60, 3600, 600).
func WithExpiry(min, max, def int) Option {
	return func(r *Registrar) error {
		if min <= 0 || max < min || def < min || def > max {
			return fmt.Errorf("register expiry min=%d max=%d default=%d: %w", min, max, def, ErrBadOption)
		}
		r.minExpires, r.maxExpires, r.defaultExpires = min, max, def
		return nil
	}
}

// WithMaxContacts bounds the bindings of one line (default 10): a
// REGISTER adding one more is answered 403 Too Many Contacts.
func WithMaxContacts(n int) Option {
	return func(r *Registrar) error {
		if n <= 0 {
			return fmt.Errorf("max contacts %d: %w", n, ErrBadOption)
		}
		r.maxContacts = n
		return nil
	}
}

// WithPing sets how often contacts are sent OPTIONS and how long an
// answer may take before the contact counts as unreachable (defaults 60 s
// and 3 s, Asterisk's qualifyfreq and qualify_timeout).
func WithPing(interval, timeout time.Duration) Option {
	return func(r *Registrar) error {
		if interval <= 0 || timeout <= 0 || timeout >= interval {
			return fmt.Errorf("ping interval %s timeout %s: want 0 < timeout < interval: %w", interval, timeout, ErrBadOption)
		}
		r.pingInterval, r.pingTimeout = interval, timeout
		return nil
	}
}

// New builds a Registrar for the lines phones knows.
func New(phones Phones, opts ...Option) (*Registrar, error) {
	r := &Registrar{
		phones:         phones,
		table:          newTable(),
		log:            slog.Default(),
		now:            time.Now,
		minExpires:     60,
		maxExpires:     3600,
		defaultExpires: 600,
		maxContacts:    10,
		pingInterval:   60 * time.Second,
		pingTimeout:    3 * time.Second,
	}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// reachable returns the unexpired contacts of phone that have not failed
// a ping, appended to dst: those a call rings.
func (r *Registrar) Reachable(phone string, dst []Binding) []Binding {
	return r.table.reachable(phone, r.now(), dst)
}

// Stats are the registrar's counters.
type Stats struct {
	Registrations       int64  // bindings held now
	UnreachableContacts int64  // bindings of ping=1 lines that failed their last ping
	UnregisteredAlerts  uint64 // lines with expect_registered >= 1 left without a binding
	AddressChangeAlerts uint64 // lines with expect_registered 2 registering from a new IP address
}

// Stats returns a snapshot of the counters.
func (r *Registrar) Stats() Stats {
	return Stats{
		Registrations:       int64(r.table.total()),
		UnreachableContacts: int64(r.table.unreachableCount()),
		UnregisteredAlerts:  r.unregisteredAlerts.Load(),
		AddressChangeAlerts: r.addressChangeAlerts.Load(),
	}
}

// MaxExpires is the longest a binding lasts without a refresh: a phone
// proves itself again within it.
func (r *Registrar) MaxExpires() time.Duration {
	return time.Duration(r.maxExpires) * time.Second
}
