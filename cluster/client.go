package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewClient is the Redis client a host's Limits and Spend use: url is a
// redis:// URL (its query may set go-redis options), timeout bounds
// dialling, each write and read, and the wait for a pooled connection.
//
// The call path makes one round trip per admission, and the client's own
// work per command is a large part of it (a CPU profile of a host at 300
// calls/s put a third of an admission in go-redis's pool, not in the
// round trip). Hence:
//
//   - go-redis checks every pooled connection before each command for
//     whether the server closed it: a recvfrom(MSG_PEEK) system call and a
//     reset of its deadlines. The connections this client dials do not
//     expose their file descriptor (a net.Conn of their own), which skips
//     the check. A connection the server did close (Redis restarted, its
//     idle timeout) then fails the command that meets it at once, with EOF
//     or a reset; go-redis drops that connection and the command is sent
//     again (closedRetry), on the next pooled connection or a new one, up
//     to the pool's size: after Redis restarted, the first command clears
//     the dead connections instead of each failing a call. Only those
//     errors are retried, never a timeout, so a command that may still be
//     running in Redis is not sent twice; one whose connection broke just
//     after Redis ran it may be: the admission's second slots count in
//     place of the first, which are never renewed and lapse with their
//     lease (one call counted twice for a lease, never a call not at
//     all), and releases, renewals and the spend's writes of absolute
//     holdings are the same done twice.
//   - RESP2: the scripts answer integers either way, and RESP3 makes the
//     client look for push notifications, which it never asks for, before
//     every command.
//
// The pool's default size (10 per CPU) is far above the admissions in
// flight at once.
func NewClient(url string, timeout time.Duration) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	// One attempt per command but for closedRetry's: the lease and the
	// caller's policy (next peer, 503) are the retries.
	opts.MaxRetries = -1
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout, opts.PoolTimeout = timeout, timeout, timeout, timeout
	if opts.Protocol == 0 {
		opts.Protocol = 2
	}
	// go-redis's own dialer does TLS, and a TLS connection is not peeked
	// anyway.
	if opts.TLSConfig == nil {
		dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
		opts.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return unpeeked{c}, nil
		}
	}
	rdb := redis.NewClient(opts)
	rdb.AddHook(closedRetry{max: rdb.Options().PoolSize})
	return rdb, nil
}

// closedRetry sends a command (or pipeline) again, up to max times, while
// it fails on a connection the server had closed (NewClient).
type closedRetry struct{ max int }

func (closedRetry) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h closedRetry) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		for i := 0; i < h.max && closedByServer(err); i++ {
			cmd.SetErr(nil)
			err = next(ctx, cmd)
		}
		return err
	}
}

func (h closedRetry) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for i := 0; i < h.max && closedByServer(err); i++ {
			for _, c := range cmds {
				c.SetErr(nil)
			}
			err = next(ctx, cmds)
		}
		return err
	}
}

// closedByServer: the connection had been closed by the other end when
// the command went out on it.
func closedByServer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// unpeeked is a connection whose file descriptor go-redis cannot reach
// (it has no SyscallConn), so its pool does not peek it before each
// command (NewClient).
type unpeeked struct{ net.Conn }
