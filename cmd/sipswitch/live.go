package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/console"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip"
)

// liveState is the API's engine.LiveState over the SIP core (issue 27):
// calls come from the SIP core's live table (sip/live.go), bindings from
// its registrar, with when this host first saw each (registeredSince)
// and events for each binding appearing and going, learnt from the
// registrar's writes to the store (liveRegs) and from the bindings other
// hosts share (syncPhone). Every event goes through the hub, which never
// blocks the SIP core. The SIP core is told of no observer while the hub
// has no subscriber (watch): it then copies no call's row, reads no
// clock and calls nothing per change of a call.
type liveState struct {
	sip  *sip.Server
	host string
	hub  *engine.LiveHub

	mu    sync.Mutex
	since map[regKey]time.Time

	// watching: the core watched (its observer set while listening).
	watching  sync.Mutex
	core      liveCore
	listening bool
}

// liveCore is what the live state needs of the SIP core to learn of its
// calls' changes (sip.Server).
type liveCore interface {
	SetLiveObserver(f func(records.LiveEvent))
}

type regKey struct{ phone, contact string }

// newLiveState gathers the events of flush into one chunk for the stream
// clients (events.flush).
func newLiveState(host string, flush time.Duration) *liveState {
	l := &liveState{host: host, since: map[regKey]time.Time{}}
	l.hub = engine.NewLiveHub(api.AppendEvent, engine.WithLiveFlush(flush), engine.WithLiveListening(l.listen))
	return l
}

// attach wires the live state to the SIP core once it exists.
func (l *liveState) attach(s *sip.Server) {
	l.sip = s
	l.watch(s)
}

// watch takes core's calls' events while the hub has subscribers.
func (l *liveState) watch(core liveCore) {
	l.watching.Lock()
	defer l.watching.Unlock()
	l.core = core
	l.observe()
}

// listen is the hub's word that its first subscriber came or its last
// went (under the hub's lock, in order).
func (l *liveState) listen(on bool) {
	l.watching.Lock()
	defer l.watching.Unlock()
	l.listening = on
	l.observe()
}

// observe sets the core's observer, or none while nobody listens (under
// watching).
func (l *liveState) observe() {
	switch {
	case l.core == nil:
	case l.listening:
		l.core.SetLiveObserver(func(ev records.LiveEvent) {
			ev.Call.Host = l.host
			l.publish(ev)
		})
	default:
		l.core.SetLiveObserver(nil)
	}
}

// publish hands an event to the stream clients (the hub encodes it once
// for all of them, off the call path); with none it costs an atomic load
// (and the SIP core makes no call's events: observe).
func (l *liveState) publish(ev records.LiveEvent) {
	l.hub.Publish(ev)
}

// registerMetrics exports the event stream's clients and the events they
// lost for falling behind.
func (l *liveState) registerMetrics(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sipswitch_live_event_clients",
			Help: "Live event stream clients connected (/api/events and the console's live pages).",
		}, func() float64 { return float64(l.hub.Subscribers()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sipswitch_live_events_lost_total",
			Help: "Live events stream clients lost for falling more than the hub's ring behind (each was sent a resync event).",
		}, func() float64 { return float64(l.hub.Lost()) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (l *liveState) ActiveCalls() []records.LiveCall {
	calls := l.sip.ActiveCalls()
	for i := range calls {
		calls[i].Host = l.host
	}
	return calls
}

func (l *liveState) Registrations() []engine.LiveRegistration {
	regs := l.sip.Registrations()
	out := make([]engine.LiveRegistration, len(regs))
	l.mu.Lock()
	for i, r := range regs {
		out[i] = engine.LiveRegistration{Registration: r, Since: l.since[regKey{r.Phone, r.Contact}]}
	}
	l.mu.Unlock()
	return out
}

func (l *liveState) Hangup(id string) error {
	switch err := l.sip.Hangup(id); {
	case errors.Is(err, sip.ErrNoSuchCall):
		return engine.ErrNotFound
	default:
		return err
	}
}

func (l *liveState) Unregister(ctx context.Context, line, contact string) error {
	if !l.sip.Unregister(ctx, line, contact) {
		return engine.ErrNotFound
	}
	return nil
}

func (l *liveState) Subscribe() *engine.LiveSubscription {
	return l.hub.Subscribe()
}

// bound notes a binding seen now: an event when it is new.
func (l *liveState) bound(r records.Registration, now time.Time) {
	k := regKey{r.Phone, r.Contact}
	l.mu.Lock()
	_, known := l.since[k]
	if !known {
		l.since[k] = now
	}
	l.mu.Unlock()
	if !known {
		l.publish(records.LiveEvent{Kind: records.EventRegistered, Registration: &r, At: now})
	}
}

// unbound notes a binding gone: an event when it was known.
func (l *liveState) unbound(phone, contact string, now time.Time) {
	k := regKey{phone, contact}
	l.mu.Lock()
	_, known := l.since[k]
	delete(l.since, k)
	l.mu.Unlock()
	if known {
		l.publish(records.LiveEvent{Kind: records.EventUnregistered, Registration: &records.Registration{Phone: phone, Contact: contact}, At: now})
	}
}

// syncPhone takes a line's bindings as the store holds them (another
// host's registrar changed them).
func (l *liveState) syncPhone(phone string, list []records.Registration) {
	now := time.Now()
	keep := map[string]bool{}
	for _, r := range list {
		keep[r.Contact] = true
		l.bound(r, now)
	}
	var gone []string
	l.mu.Lock()
	for k := range l.since {
		if k.phone == phone && !keep[k.contact] {
			gone = append(gone, k.contact)
		}
	}
	l.mu.Unlock()
	for _, c := range gone {
		l.unbound(phone, c, now)
	}
}

// liveRegs is the registrar's store, telling the live state of every
// binding it writes and removes.
type liveRegs struct {
	*engine.RegistrationStore
	live *liveState
}

func (s liveRegs) SaveRegistration(ctx context.Context, r records.Registration) error {
	s.live.bound(r, time.Now())
	return s.RegistrationStore.SaveRegistration(ctx, r)
}

func (s liveRegs) DeleteRegistration(ctx context.Context, phone, contact string) error {
	s.live.unbound(phone, contact, time.Now())
	return s.RegistrationStore.DeleteRegistration(ctx, phone, contact)
}

func (s liveRegs) DeleteLapsedRegistration(ctx context.Context, phone, contact string, at time.Time) error {
	s.live.unbound(phone, contact, time.Now())
	return s.RegistrationStore.DeleteLapsedRegistration(ctx, phone, contact, at)
}

func (s liveRegs) LoadRegistrations(ctx context.Context) ([]records.Registration, error) {
	regs, err := s.RegistrationStore.LoadRegistrations(ctx)
	now := time.Now()
	for _, r := range regs {
		if now.Before(r.ExpiresAt) {
			s.live.bound(r, now)
		}
	}
	return regs, err
}

// mountConsole serves the web console at / (console package), over the
// same API handler the Enswitch API answers with.
func (d *daemon) mountConsole(ctx context.Context, mux *http.ServeMux, svc *engine.Service, h *api.Handler) error {
	c, err := console.New(svc, h, console.WithLogger(d.log), console.WithLiveState(d.live),
		console.WithCounters(func() console.Counters {
			st := d.sip.Stats()
			return console.Counters{ActiveCalls: st.ActiveCalls, Registrations: st.Registrations,
				CallsAttempted: int64(st.CallsAttempted), CallsAnswered: int64(st.CallsAnswered),
				CallsCompleted: int64(st.CallsCompleted), TalkMillis: int64(st.TalkMillis),
				Failures: map[string]int64{
					"no_route": int64(st.FailedNoRoute), "barred": int64(st.FailedBarred), "busy": int64(st.FailedBusy),
					"no_answer": int64(st.FailedNoAnswer), "canceled": int64(st.FailedCanceled), "peer_limit": int64(st.FailedLimit),
					"media": int64(st.FailedMedia), "unavailable": int64(st.FailedUnavail), "other": int64(st.FailedOther),
				}}
		}),
		console.WithUsage(d.usage))
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	go c.Run(ctx)
	mux.Handle("/", c)
	return nil
}

// usage is the dashboard's peers' and limited lines' use of their limits.
func (d *daemon) usage() console.Usage {
	var u console.Usage
	for _, p := range d.calls.Peers() {
		u.Peers = append(u.Peers, console.PeerUsage{Name: p.Name, Active: d.calls.ActivePeerCalls(p.ID), Max: p.OutMaximum})
	}
	now := time.Now()
	spend := d.calls.Spend()
	if spend == nil {
		return u
	}
	d.calls.EachLimitedPhone(func(p *routing.Phone) {
		u.Lines = append(u.Lines, console.LineSpend{Name: p.Name, Spent: spend.Spent(p.Name, now), Limit: p.CallMaximum})
	})
	return u
}
