package media

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"time"
)

// ErrBadOption is returned by New for an option value it cannot use.
var ErrBadOption = errors.New("media: invalid option")

// Defaults (the config file's media: section).
const (
	DefaultPortMin     = 30000 // rtpengine's --port-min
	DefaultPortMax     = 40000 // rtpengine's --port-max
	DefaultTimeout     = 60 * time.Second
	DefaultHoldTimeout = time.Hour // rtpengine's --silent-timeout
	DefaultBatch       = 8
)

// config holds what the options set.
type config struct {
	portMin, portMax int
	addr             netip.Addr // bind address
	advertised       netip.Addr // address written into SDP
	timeout          time.Duration
	holdTimeout      time.Duration
	batch            int
	log              *slog.Logger
	checkEvery       time.Duration
	pollWorkers      int // 0: a goroutine per socket
}

// Option configures an Engine.
type Option func(*config) error

// WithPortRange sets the UDP ports relay pairs are taken from (default
// 30000-40000). RTP uses the even port of a pair, RTCP the odd one.
func WithPortRange(minPort, maxPort int) Option {
	return func(c *config) error {
		if minPort <= 0 || maxPort > 65535 || minPort >= maxPort {
			return fmt.Errorf("%w: port range %d-%d", ErrBadOption, minPort, maxPort)
		}
		c.portMin, c.portMax = minPort, maxPort
		return nil
	}
}

// WithMediaAddress sets the local address relay sockets bind to (default
// 127.0.0.1; a switch host sets its media interface's address, or the
// unspecified address 0.0.0.0 together with WithAdvertisedAddress).
func WithMediaAddress(addr netip.Addr) Option {
	return func(c *config) error {
		if !addr.IsValid() {
			return fmt.Errorf("%w: media address", ErrBadOption)
		}
		c.addr = addr.Unmap()
		return nil
	}
}

// WithAdvertisedAddress sets the address written into SDP (c= and o=)
// when it is not the media address: a host behind 1:1 NAT advertises its
// public address. Default: the media address.
func WithAdvertisedAddress(addr netip.Addr) Option {
	return func(c *config) error {
		if !addr.IsValid() || addr.IsUnspecified() {
			return fmt.Errorf("%w: advertised address", ErrBadOption)
		}
		c.advertised = addr.Unmap()
		return nil
	}
}

// WithTimeout sets how long a leg of an answered call may send no RTP
// before the call is reported timed out (default 60 s, as rtpengine's
// --timeout and rtpproxy's -T; Asterisk's rtptimeout). 0 disables it.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("%w: timeout %v", ErrBadOption, d)
		}
		c.timeout = d
		return nil
	}
}

// WithHoldTimeout sets the timeout while a call is on hold (default 1 h,
// rtpengine's --silent-timeout; Asterisk's rtpholdtimeout). 0 disables it.
func WithHoldTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("%w: hold timeout %v", ErrBadOption, d)
		}
		c.holdTimeout = d
		return nil
	}
}

// WithBatchSize sets how many datagrams one system call reads or writes
// per socket (default 8). Larger batches cost memory on every socket and
// only help when a socket has several packets waiting.
func WithBatchSize(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 1024 {
			return fmt.Errorf("%w: batch size %d", ErrBadOption, n)
		}
		c.batch = n
		return nil
	}
}

// WithPollWorkers selects how sockets are read: n > 0 makes n worker
// goroutines poll every socket with epoll (Linux; sockets outside Go's
// netpoller), 0 gives every socket its own goroutine blocked in a
// batched read. Default: GOMAXPROCS workers on Linux, goroutines
// elsewhere. See the package documentation for the measurements.
func WithPollWorkers(n int) Option {
	return func(c *config) error {
		if n < 0 || n > 256 {
			return fmt.Errorf("%w: poll workers %d", ErrBadOption, n)
		}
		if n > 0 && !pollSupported {
			return fmt.Errorf("%w: poll workers need Linux", ErrBadOption)
		}
		c.pollWorkers = n
		return nil
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrBadOption)
		}
		c.log = l
		return nil
	}
}

// withCheckInterval sets how often timeouts are checked (tests).
func withCheckInterval(d time.Duration) Option {
	return func(c *config) error { c.checkEvery = d; return nil }
}

func newConfig(opts []Option) (config, error) {
	c := config{
		portMin:     DefaultPortMin,
		portMax:     DefaultPortMax,
		addr:        netip.AddrFrom4([4]byte{127, 0, 0, 1}),
		timeout:     DefaultTimeout,
		holdTimeout: DefaultHoldTimeout,
		batch:       DefaultBatch,
		log:         slog.Default(),
	}
	if pollSupported {
		c.pollWorkers = runtime.GOMAXPROCS(0)
	}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return c, err
		}
	}
	if !c.advertised.IsValid() {
		if c.addr.IsUnspecified() {
			return c, fmt.Errorf("%w: media address %s needs an advertised address", ErrBadOption, c.addr)
		}
		c.advertised = c.addr
	}
	if c.checkEvery == 0 {
		// A quarter of the shortest timeout, between 10 ms and 1 s: a
		// timeout is reported at most that late.
		shortest := c.timeout
		if shortest == 0 || (c.holdTimeout > 0 && c.holdTimeout < shortest) {
			shortest = c.holdTimeout
		}
		c.checkEvery = min(max(shortest/4, 10*time.Millisecond), time.Second)
	}
	return c, nil
}
