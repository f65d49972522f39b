package sipload

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"
)

// config is a Fleet's settings; Option sets them.
type config struct {
	phones         int
	firstPhone     int
	passwordPrefix string
	sources        netip.Addr
	roots          *tls.Config
	parallel       int
	expires        int
	timeout        time.Duration
	log            *slog.Logger
}

// Option is a setting of NewFleet.
type Option func(*config) error

func defaults() config {
	return config{
		phones: 1000, firstPhone: 2000000, passwordPrefix: "pw",
		sources: netip.AddrFrom4([4]byte{127, 1, 0, 1}), parallel: 32, expires: 3600,
		timeout: 30 * time.Second, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// WithPhones sets the number of phones (default 1000).
func WithPhones(n int) Option {
	return func(c *config) error {
		if n <= 0 || n > 60000 {
			return fmt.Errorf("%w: phones must be 1..60000, got %d", ErrBadOption, n)
		}
		c.phones = n
		return nil
	}
}

// WithLines names the phones' lines: first, first+1... with the password
// prefix+name (default 2000000 and "pw", as cmd/gendb creates them).
func WithLines(first int, passwordPrefix string) Option {
	return func(c *config) error {
		if first < 0 {
			return fmt.Errorf("%w: first line must not be negative, got %d", ErrBadOption, first)
		}
		c.firstPhone, c.passwordPrefix = first, passwordPrefix
		return nil
	}
}

// WithSources sets the source address of the first phone; phone i sends
// from that address plus i (default 127.1.0.1). It must be an IPv4
// loopback address with room for every phone inside 127.0.0.0/8.
func WithSources(first netip.Addr) Option {
	return func(c *config) error {
		if !first.Is4() || !first.IsLoopback() {
			return fmt.Errorf("%w: sources must start at an IPv4 loopback address, got %s", ErrBadOption, first)
		}
		c.sources = first
		return nil
	}
}

// WithTLS sets the phones' TLS configuration (the switch's roots, its
// server name if not the address dialled). Each phone uses a clone with
// a session cache of its own.
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) error {
		c.roots = cfg
		return nil
	}
}

// WithParallel sets how many phones register at once (default 32).
func WithParallel(n int) Option {
	return func(c *config) error {
		if n <= 0 || n > 10000 {
			return fmt.Errorf("%w: parallel must be 1..10000, got %d", ErrBadOption, n)
		}
		c.parallel = n
		return nil
	}
}

// WithExpires sets the Expires of the registrations, seconds (default
// 3600: an idle fleet holds for the whole run).
func WithExpires(s int) Option {
	return func(c *config) error {
		if s <= 0 {
			return fmt.Errorf("%w: expires must be positive, got %d", ErrBadOption, s)
		}
		c.expires = s
		return nil
	}
}

// WithTimeout bounds each registration and each call's wait for its
// answer (default 30 s).
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: timeout must be positive, got %s", ErrBadOption, d)
		}
		c.timeout = d
		return nil
	}
}

// WithLogger sets the logger of the phones' user agents (default:
// discard).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.log = l
		return nil
	}
}
