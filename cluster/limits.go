package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipswitch/sipswitch/routing"
)

// Defaults of LimitsOption.
const (
	DefaultLease   = 6 * time.Second
	DefaultTimeout = 500 * time.Millisecond
	DefaultPrefix  = "sipswitch"
)

// acquireScript takes a slot: KEYS[1] the key's set; ARGV max, lease in
// ms, member. Returns 1 when taken, 0 when the key is full.
var acquireScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
redis.call('PEXPIRE', KEYS[1], 2 * lease)
return 1
`)

// renewScript extends the lease of slots: KEYS the sets, ARGV[1] the
// lease in ms, ARGV[1+i] the member in KEYS[i].
var renewScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + lease, ARGV[i + 1])
  if redis.call('PTTL', key) < 2 * lease then
    redis.call('PEXPIRE', key, 2 * lease)
  end
end
return #KEYS
`)

// countScript counts the live slots of KEYS[1].
var countScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`)

// Limits is a routing.SharedLimits in Redis. Run must be running for the
// leases of held slots to be renewed.
type Limits struct {
	rdb     redis.UniversalClient
	prefix  string
	member  string // host and boot nonce, the start of every member
	lease   time.Duration
	timeout time.Duration
	log     *slog.Logger

	seq atomic.Uint64
	// renewMu: releases hold it shared, a renewal exclusively, so a
	// renewal never re-adds a slot a release is removing.
	renewMu sync.RWMutex
	mu      sync.Mutex
	held    map[string]string // member -> key

	up       atomic.Bool
	failures atomic.Uint64

	releases  chan slotRef // to the releaser
	flushes   chan chan struct{}
	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
}

// LimitsOption configures NewLimits.
type LimitsOption func(*Limits)

// WithLease sets how long a slot outlives its host's last renewal
// (default DefaultLease); it is renewed every third of it.
func WithLease(d time.Duration) LimitsOption { return func(l *Limits) { l.lease = d } }

// WithTimeout bounds each Redis round trip (default DefaultTimeout).
func WithTimeout(d time.Duration) LimitsOption { return func(l *Limits) { l.timeout = d } }

// WithPrefix names the keys' prefix (default DefaultPrefix); hosts of one
// cluster share it, tests take one each.
func WithPrefix(p string) LimitsOption { return func(l *Limits) { l.prefix = p } }

// WithLogger sets the logger.
func WithLogger(log *slog.Logger) LimitsOption { return func(l *Limits) { l.log = log } }

// NewLimits holds slots of host in rdb.
func NewLimits(rdb redis.UniversalClient, host string, opts ...LimitsOption) (*Limits, error) {
	nonce := make([]byte, 4)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("cluster limits: %w", err)
	}
	l := &Limits{rdb: rdb, prefix: DefaultPrefix, member: host + ":" + hex.EncodeToString(nonce) + ":", lease: DefaultLease,
		timeout: DefaultTimeout, log: slog.Default(), held: map[string]string{}}
	for _, o := range opts {
		o(l)
	}
	if l.lease < 300*time.Millisecond {
		return nil, fmt.Errorf("cluster limits: lease %v is shorter than 300ms", l.lease)
	}
	l.up.Store(true)
	l.releases, l.flushes = make(chan slotRef, 4096), make(chan chan struct{})
	l.stop, l.stopped = make(chan struct{}), make(chan struct{})
	go l.releaser()
	return l, nil
}

// Key is the Redis key of a limit. The prefix is a hash tag, so every key
// of a cluster lives on one Redis Cluster slot and scripts may take many.
func (l *Limits) Key(key routing.LimitKey) string {
	kind := "peer"
	if key.Kind == routing.LimitPhone {
		kind = "line"
	}
	return "{" + l.prefix + "}:limit:" + kind + ":" + strconv.Itoa(key.ID)
}

// Acquire implements routing.SharedLimits.
func (l *Limits) Acquire(key routing.LimitKey, max int) (func(), bool) {
	k := l.Key(key)
	member := l.member + strconv.FormatUint(l.seq.Add(1), 10)
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	n, err := acquireScript.Run(ctx, l.rdb, []string{k}, max, l.lease.Milliseconds(), member).Int()
	if err != nil {
		l.failed("acquire", err)
		return nil, false
	}
	l.ok()
	if n != 1 {
		return nil, false
	}
	l.mu.Lock()
	l.held[member] = k
	l.mu.Unlock()
	var once atomic.Bool
	return func() {
		if once.Swap(true) {
			return
		}
		l.release(k, member)
	}, true
}

// release hands a slot to the releaser (releases.go); it does not wait.
func (l *Limits) release(key, member string) {
	l.mu.Lock()
	delete(l.held, member)
	l.mu.Unlock()
	l.queueRelease(slotRef{key: key, member: member})
}

// Active counts the live slots of key on every host.
func (l *Limits) Active(ctx context.Context, key routing.LimitKey) (int, error) {
	n, err := countScript.Run(ctx, l.rdb, []string{l.Key(key)}).Int()
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", l.Key(key), err)
	}
	return n, nil
}

// Held is the number of slots this host holds.
func (l *Limits) Held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.held)
}

// Run renews the held slots' leases every Lease/3 until ctx ends.
func (l *Limits) Run(ctx context.Context) {
	t := time.NewTicker(l.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.renew(ctx)
		}
	}
}

// renewBatch bounds one script call's keys.
const renewBatch = 500

func (l *Limits) renew(ctx context.Context) {
	l.renewMu.Lock()
	defer l.renewMu.Unlock()
	l.mu.Lock()
	keys := make([]string, 0, len(l.held))
	args := make([]any, 1, len(l.held)+1)
	args[0] = l.lease.Milliseconds()
	for m, k := range l.held {
		keys = append(keys, k)
		args = append(args, m)
	}
	l.mu.Unlock()
	for i := 0; i < len(keys); i += renewBatch {
		j := min(i+renewBatch, len(keys))
		batch := append([]any{args[0]}, args[1+i:1+j]...)
		rctx, cancel := context.WithTimeout(ctx, l.timeout)
		err := renewScript.Run(rctx, l.rdb, keys[i:j], batch...).Err()
		cancel()
		if err != nil {
			l.failed("renew", err)
			return
		}
	}
	if err := l.Ping(ctx); err == nil {
		l.ok()
	}
}

// Ping checks that Redis answers.
func (l *Limits) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	if err := l.rdb.Ping(ctx).Err(); err != nil {
		l.failed("ping", err)
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// Up reports whether the last round trip to Redis succeeded.
func (l *Limits) Up() bool { return l.up.Load() }

// Failures counts round trips to Redis that failed.
func (l *Limits) Failures() uint64 { return l.failures.Load() }

func (l *Limits) ok() {
	if !l.up.Swap(true) {
		l.log.Info("cluster: Redis reachable again; limited calls admitted")
	}
}

func (l *Limits) failed(op string, err error) {
	l.failures.Add(1)
	if errors.Is(err, redis.Nil) {
		return
	}
	if l.up.Swap(false) {
		l.log.Error("cluster: Redis unreachable; calls on limited peers and lines are refused until it is back", "op", op, "error", err)
	}
}
