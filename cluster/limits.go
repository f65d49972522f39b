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

// admitScript takes an attempt's slots and grows this host's holding of
// a line's spend, all or nothing (Limits.Admit). KEYS: the slots' sets,
// then the spend's hash when there is one. ARGV: the number of slots n,
// how many of them are checked before the spend (the line's), the lease
// in ms, the member; each slot's max; then, for the spend, this host's
// field, its new holding, the limit (< 0: none) and the hash's TTL in
// seconds. Returns 0 when everything was taken, i (1..n) when slot i is
// full, n+1 when the spend would pass the limit. Amounts are decimal
// millionths; half a millionth absorbs the doubles' rounding. With no
// slot it is Spend.Hold.
var admitScript = redis.NewScript(`
local n = tonumber(ARGV[1])
local lease = tonumber(ARGV[3])
local now = 0
if n > 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function full(i)
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  return redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[4 + i])
end
local h = 5 + n
local spend = #KEYS > n
local function over()
  local limit = tonumber(ARGV[h + 2])
  if limit < 0 then
    return false
  end
  local total = tonumber(ARGV[h + 1])
  local all = redis.call('HGETALL', KEYS[n + 1])
  for i = 1, #all, 2 do
    if all[i] ~= ARGV[h] then
      total = total + (tonumber(all[i + 1]) or 0)
    end
  end
  return total > limit + 0.0000005
end
local before = tonumber(ARGV[2])
for i = 1, before do
  if full(i) then return i end
end
if spend and over() then return n + 1 end
for i = before + 1, n do
  if full(i) then return i end
end
for i = 1, n do
  redis.call('ZADD', KEYS[i], now + lease, ARGV[4])
  redis.call('PEXPIRE', KEYS[i], 2 * lease)
end
if spend then
  redis.call('HSET', KEYS[n + 1], ARGV[h], ARGV[h + 1])
  redis.call('EXPIRE', KEYS[n + 1], ARGV[h + 3])
end
return 0
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
	host    string
	member  string // host and boot nonce, the start of every member
	lease   time.Duration
	timeout time.Duration
	log     *slog.Logger

	// leaseArg and hostArg are ARGV of every admission, boxed once.
	leaseArg, hostArg any

	seq  atomic.Uint64
	mu   sync.Mutex
	held map[slotRef]struct{}

	up       atomic.Bool
	failures atomic.Uint64

	// To the sender (sender.go).
	admits     chan *admission
	admissions sync.Pool // of *admission (sender.go)
	releases   chan slotRef
	flushes    chan chan struct{}
	renewals   chan chan error
	stop       chan struct{}
	senderDone chan struct{}
	closeOnce  sync.Once
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
	l := &Limits{rdb: rdb, prefix: DefaultPrefix, host: host, member: host + ":" + hex.EncodeToString(nonce) + ":", lease: DefaultLease,
		timeout: DefaultTimeout, log: slog.Default(), held: map[slotRef]struct{}{}}
	for _, o := range opts {
		o(l)
	}
	if l.lease < 300*time.Millisecond {
		return nil, fmt.Errorf("cluster limits: lease %v is shorter than 300ms", l.lease)
	}
	l.leaseArg, l.hostArg = l.lease.Milliseconds(), host
	l.up.Store(true)
	l.admits, l.releases = make(chan *admission), make(chan slotRef, 4096)
	l.admissions.New = newAdmission
	l.flushes, l.renewals = make(chan chan struct{}), make(chan chan error)
	l.stop, l.senderDone = make(chan struct{}), make(chan struct{})
	go l.sender()
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

// Acquire implements routing.SharedLimits: Admit with one slot.
func (l *Limits) Acquire(key routing.LimitKey, max int) (func(), bool) {
	req := routing.SharedAdmission{NSlots: 1}
	req.Slots[0] = routing.SlotRequest{Key: key, Max: max}
	got, err := l.Admit(&req)
	if err != nil || got.Refused != routing.AdmitOK {
		return nil, false
	}
	return got.Releases[0], true
}

// Admit implements routing.SharedLimits: one script call (admitScript)
// takes the slots and grows the spend holding, or takes nothing. The
// slots of one admission share a member (they are in different sets).
func (l *Limits) Admit(req *routing.SharedAdmission) (routing.SharedAdmitted, error) {
	n := req.NSlots
	var keyBuf [3]string
	keys := keyBuf[:0]
	before := 0 // the line's slot is checked before the spend
	for i, s := range req.Slots[:n] {
		keys = append(keys, l.Key(s.Key))
		if s.Key.Kind == routing.LimitPhone && before == i {
			before++
		}
	}
	member := l.member + strconv.FormatUint(l.seq.Add(1), 10)
	a := l.admissions.Get().(*admission)
	defer l.admissions.Put(a)
	a.keys = append(a.keyBuf[:0], keys...)
	a.args = append(a.argBuf[:0], n, before, l.leaseArg, member)
	for _, s := range req.Slots[:n] {
		a.args = append(a.args, s.Max)
	}
	if req.Spend.Line != "" {
		a.keys = append(a.keys, l.spendKey(req.Spend.Day, req.Spend.Line))
		a.args = append(a.args, l.hostArg, formatAmount(req.Spend.Held), formatAmount(req.Spend.Limit), spendTTLArg)
	}
	r, err := l.run(a)
	if err != nil {
		op := "acquire"
		if n == 0 {
			op = "spend hold"
		}
		l.failed(op, err)
		return routing.SharedAdmitted{}, fmt.Errorf("admit %v: %w", a.keys, err)
	}
	l.ok()
	switch {
	case r == 0:
	case r <= n:
		return routing.SharedAdmitted{Refused: partOf(req.Slots[r-1].Key)}, nil
	default:
		return routing.SharedAdmitted{Refused: routing.AdmitSpend}, nil
	}
	var got routing.SharedAdmitted
	if n == 0 {
		return got, nil
	}
	l.mu.Lock()
	for _, k := range keys[:n] {
		l.held[slotRef{key: k, member: member}] = struct{}{}
	}
	l.mu.Unlock()
	for i, k := range keys[:n] {
		got.Releases[i] = l.releaseFunc(slotRef{key: k, member: member})
	}
	return got, nil
}

// partOf is the part a full key refuses.
func partOf(key routing.LimitKey) routing.AdmitPart {
	if key.Kind == routing.LimitPhone {
		return routing.AdmitLine
	}
	return routing.AdmitPeer
}

// releaseFunc is the release function of slot s: once only.
func (l *Limits) releaseFunc(s slotRef) func() {
	var once atomic.Bool
	return func() {
		if !once.Swap(true) {
			l.release(s)
		}
	}
}

// release hands a slot to the sender (sender.go); it does not wait.
func (l *Limits) release(s slotRef) {
	l.mu.Lock()
	delete(l.held, s)
	l.mu.Unlock()
	l.queueRelease(s)
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

// Run renews the held slots' leases every Lease/3 until ctx ends. It
// first loads the scripts into Redis, so that the first admission is one
// EVALSHA rather than a NOSCRIPT answer and an EVAL (as after Redis
// restarted empty: then once per script).
func (l *Limits) Run(ctx context.Context) {
	for _, s := range []*redis.Script{admitScript, renewScript} {
		lctx, cancel := context.WithTimeout(ctx, l.timeout)
		err := s.Load(lctx, l.rdb).Err()
		cancel()
		if err != nil {
			l.failed("load scripts", err)
			break
		}
	}
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

// renew has the sender renew the held slots' leases, then checks that
// Redis answers.
func (l *Limits) renew(ctx context.Context) {
	done := make(chan error, 1)
	select {
	case l.renewals <- done:
	case <-l.senderDone:
		return
	case <-ctx.Done():
		return
	}
	if err := <-done; err != nil {
		return
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
