package sip

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
)

// The trunk keeper runs what the switch does for its trunks between
// calls: the outbound registration of each with registration=out
// (outreg.go) and the qualify of each with qualify=1. It follows the
// directory's trunks (SyncTrunks, after every routing rebuild, and on the
// server's sweep): a trunk that is new is started, one that is gone or
// changed (host, port, transport, credentials, contact user, proxy,
// qualify) is stopped (its registration removed) and started again.
//
// Qualify: OPTIONS to the trunk's host every qualifyfreq seconds (60 by
// default), the first at once, each waiting the qualify timeout
// (WithTrunkRegistration, default 3 s: res_pjsip's qualify_timeout). Any
// answer shows it reachable; none marks it unreachable, and calls to it
// are then answered 480 at once (trunkcall.go) until an answer, as
// Asterisk does not dial an unreachable contact. Each change is logged
// (WARN "sip endpoint unreachable", INFO "sip endpoint reachable") and
// shown by Server.Trunks (the daemon's sipswitch_sip_endpoint_reachable).

// trunkTiming is WithTrunkRegistration's settings.
type trunkTiming struct {
	expires            time.Duration // asked of registrars
	retryMin, retryMax time.Duration // backoff after a failed REGISTER
	qualifyTimeout     time.Duration
	unregister         time.Duration // bound on the REGISTER removing a registration
}

var defaultTrunkTiming = trunkTiming{expires: time.Hour, retryMin: 5 * time.Second, retryMax: time.Minute,
	qualifyTimeout: 3 * time.Second, unregister: 2 * time.Second}

// trunkKey is what a trunk's registration and qualify depend on: a change
// restarts them.
type trunkKey struct {
	host                         routing.HostPort
	user, secret, contact, reqTo string
	proxy                        routing.HostPort
	qualify, registers           bool
	freq                         int
}

func keyOf(t *routing.EndpointTrunk) trunkKey {
	k := trunkKey{host: t.Host, user: t.AuthUser, secret: t.OutSecret, contact: t.ContactUser,
		qualify: t.Qualify, registers: t.RegisterOut, freq: t.QualifyFreq, reqTo: t.RequestUser}
	if t.Proxy != nil {
		k.proxy = *t.Proxy
	}
	return k
}

// trunkRun is what runs for one trunk.
type trunkRun struct {
	name   string
	key    trunkKey
	reg    *outReg // nil: the trunk does not register
	cancel context.CancelFunc
	done   chan struct{}
	// reach is the qualify's finding: 0 not qualified or not yet known,
	// 1 reachable, 2 unreachable.
	reach atomic.Int32
}

// trunkKeeper keeps the runs. runs and tokens are read on the call path
// without a lock.
type trunkKeeper struct {
	s       *Server
	mu      sync.Mutex // sync and stop
	runs    sync.Map   // trunk name -> *trunkRun
	tokens  sync.Map   // line token -> trunk name
	ctx     context.Context
	stopped bool
	wg      sync.WaitGroup
	// stopOnce stops the runs once; halted closes when they have ended.
	stopOnce sync.Once
	halted   chan struct{}
}

func newTrunkKeeper(s *Server) *trunkKeeper {
	return &trunkKeeper{s: s}
}

// start lets sync start runs under ctx (Serve's).
func (k *trunkKeeper) start(ctx context.Context) {
	k.mu.Lock()
	k.ctx = ctx
	k.mu.Unlock()
	k.sync()
}

// sync brings the runs in line with the directory's trunks.
func (k *trunkKeeper) sync() {
	if k.s.trunkDir == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped || k.ctx == nil {
		return
	}
	want := map[string]*routing.EndpointTrunk{}
	for _, t := range k.s.trunkDir.Trunks() {
		if t.RegisterOut || t.Qualify {
			want[t.Name] = t
		}
	}
	k.runs.Range(func(key, v any) bool {
		r := v.(*trunkRun)
		if t, ok := want[r.name]; !ok || keyOf(t) != r.key {
			k.stopRun(r)
		}
		return true
	})
	for name, t := range want {
		if _, ok := k.runs.Load(name); !ok {
			k.startRun(t)
		}
	}
}

// startRun starts trunk t's registration and qualify. Under mu.
func (k *trunkKeeper) startRun(t *routing.EndpointTrunk) {
	ctx, cancel := context.WithCancel(k.ctx)
	r := &trunkRun{name: t.Name, key: keyOf(t), cancel: cancel, done: make(chan struct{})}
	if t.RegisterOut {
		r.reg = newOutReg(k.s, t)
		k.tokens.Store(r.reg.token, t.Name)
	}
	k.runs.Store(t.Name, r)
	copyOf := *t
	var parts sync.WaitGroup
	if r.reg != nil {
		parts.Go(func() { r.reg.run(ctx) })
	}
	if t.Qualify {
		parts.Go(func() { k.qualify(ctx, r, &copyOf) })
	}
	k.wg.Go(func() {
		parts.Wait()
		close(r.done)
	})
}

// stopRun stops r (its registration removed in its own goroutine). Under
// mu.
func (k *trunkKeeper) stopRun(r *trunkRun) {
	k.runs.Delete(r.name)
	if r.reg != nil {
		k.tokens.Delete(r.reg.token)
	}
	r.cancel()
}

// stop stops every run and waits for them (their registrations removed),
// at most the unregister timeout and a little; a second stop (Serve's end
// and Close) waits as long for the first. Later syncs start nothing.
func (k *trunkKeeper) stop() {
	k.stopOnce.Do(func() {
		k.mu.Lock()
		k.stopped = true
		k.runs.Range(func(_, v any) bool {
			k.stopRun(v.(*trunkRun))
			return true
		})
		k.mu.Unlock()
		k.halted = make(chan struct{})
		go func() { k.wg.Wait(); close(k.halted) }()
	})
	t := time.NewTimer(k.s.cfg.trunkTiming.unregister + time.Second)
	defer t.Stop()
	select {
	case <-k.halted:
	case <-t.C:
	}
}

// lineOwner is the trunk whose registration's Contact carries token.
func (k *trunkKeeper) lineOwner(token string) (string, bool) {
	v, ok := k.tokens.Load(token)
	if !ok {
		return "", false
	}
	return v.(string), true
}

// reachable reports whether calls may be sent to trunk name: not
// qualified, not yet known, or its last OPTIONS answered.
func (k *trunkKeeper) reachable(name string) bool {
	v, ok := k.runs.Load(name)
	return !ok || v.(*trunkRun).reach.Load() != 2
}

// qualify pings t until ctx ends.
func (k *trunkKeeper) qualify(ctx context.Context, r *trunkRun, t *routing.EndpointTrunk) {
	tick := time.NewTicker(time.Duration(t.QualifyFreq) * time.Second)
	defer tick.Stop()
	for {
		alive := k.ping(ctx, t)
		if ctx.Err() != nil {
			return
		}
		now := int32(2)
		if alive {
			now = 1
		}
		if old := r.reach.Swap(now); old != now {
			if alive {
				k.s.cfg.log.Info("sip endpoint reachable", "endpoint", t.Name, "host", t.Host.String())
			} else {
				k.s.cfg.log.Warn("sip endpoint unreachable: calls to it are refused until it answers", "endpoint", t.Name, "host", t.Host.String())
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// ping sends one OPTIONS to t's host: true when anything answered.
func (k *trunkKeeper) ping(ctx context.Context, t *routing.EndpointTrunk) bool {
	ctx, cancel := context.WithTimeout(ctx, k.s.cfg.trunkTiming.qualifyTimeout)
	defer cancel()
	uri := sip.Uri{Scheme: "sip", User: t.RequestUser, Host: t.Host.Host, Port: t.Host.PortOrDefault()}
	if t.Host.Transport != "udp" {
		uri.UriParams = sip.NewParams()
		uri.UriParams.Add("transport", t.Host.Transport)
	}
	req := sip.NewRequest(sip.OPTIONS, uri)
	req.SetTransport(transportName(t.Host.Transport))
	req.AppendHeader(k.s.uaHeader)
	res, err := k.s.clientFor(req.Transport()).Do(ctx, req)
	return err == nil && res != nil
}

// TrunkState is what the switch knows of one sip_endpoint it serves as a
// trunk with registration=out or qualify=1 (Server.Trunks).
type TrunkState struct {
	Endpoint string
	// Registers: registration=out. Registered while the registrar's grant
	// holds (until RegisteredUntil); LastStatus is the last final answer
	// to a REGISTER (0: none or no answer), Failures the failed REGISTERs
	// since the last success.
	Registers       bool
	Registered      bool
	RegisteredUntil time.Time
	LastStatus      int
	Failures        int
	// Qualified: qualify=1. Reachable: its last OPTIONS was answered (or
	// none has been sent yet).
	Qualified bool
	Reachable bool
}

// Trunks returns the state of the trunks that register or are qualified,
// by endpoint name.
func (s *Server) Trunks() []TrunkState {
	now := s.cfg.now()
	var out []TrunkState
	s.keeper.runs.Range(func(_, v any) bool {
		r := v.(*trunkRun)
		st := TrunkState{Endpoint: r.name, Qualified: r.key.qualify, Reachable: r.reach.Load() != 2}
		if r.reg != nil {
			rs := r.reg.snapshot(now)
			st.Registers, st.Registered, st.LastStatus, st.Failures = true, rs.registered, rs.lastStatus, rs.failures
			if rs.registered {
				st.RegisteredUntil = rs.until
			}
		}
		out = append(out, st)
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Endpoint < out[j].Endpoint })
	return out
}

// SyncTrunks brings the outbound registrations and qualify pings in line
// with the directory's trunks now (the daemon calls it after a routing
// rebuild; the server's sweep does too, later).
func (s *Server) SyncTrunks() { s.keeper.sync() }

// transportName is sipgo's name of a lower-case transport.
func transportName(t string) string {
	switch t {
	case "tcp":
		return "TCP"
	case "tls":
		return "TLS"
	}
	return "UDP"
}
