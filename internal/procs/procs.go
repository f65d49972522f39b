// Package procs sizes the Go runtime's processors (GOMAXPROCS) to the
// work the process has, between one and a most (the runtime's own
// default: the host's cores, or its cgroup's CPU limit).
//
// Why: each processor the runtime has idle is one it wakes — a thread
// woken with a futex, spinning to find the goroutine another made ready,
// then put to sleep again — every time a goroutine becomes ready while it
// idles. A SIP switch hands every message from its read loop to a call's
// goroutine and back, so on a two-core host at 1,500 calls a second (some
// 0.6 of a core of work) the second processor cost a fifth of the CPU per
// call in those wake-ups (issue 30: 534 -> 432 us a call with one, the
// kernel's part 169 -> 134 us). One processor carries that load with
// room; more are needed only as the load nears what one can do, and for
// the capacity past it.
//
// The rule (Controller, every Interval): busy is the process's CPU time
// over the interval, in cores (getrusage: every thread, the collector's
// and system calls' included).
//   - busy, averaged over the last intervals (each weighs Smoothing, 0.3,
//     against the average before it: a garbage collection's burst is
//     not a load), at RaiseAt of the processors or more (default 0.8):
//     one more; one interval at SaturatedAt or more (0.95): twice as
//     many — a load that jumped gets its cores in a few intervals, not
//     one interval per core;
//   - the process's queue (WithPressure: for the SIP core, new INVITEs
//     waiting for a processor longer than they should) pressing: one
//     more. The CPU time cannot see a process that waits for a core the
//     host's other work holds; its queue does;
//   - busy under RaiseAt of one processor fewer, and no pressure, for
//     Calm intervals in a row (20: 2 s at 100 ms): one fewer, on trial —
//     the load would not raise them again even before the wake-ups that
//     fewer processors do not pay (a fifth of the busy time at two). Whether
//     fewer can carry it is still tried, not computed: a load that
//     raises them again within TrialIntervals (5) after the trial failed
//     it, and the next trial waits twice as long (up to MaxCalm, 60 s);
//     a trial that holds resets the wait. A load that sits on a threshold
//     costs a trial every minute at worst.
//
// INFERRED: 0.8 raises before the queueing delay of a processor grows
// much (at 80% busy a message waits some four service times, well under
// a millisecond) and long before the overload detector's delay target
// (calls.overload_delay) sheds calls; a load that jumps waits at most an
// interval, 100 ms, at the old size.
package procs

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
)

// Defaults of the rule (package doc).
const (
	DefaultInterval    = 100 * time.Millisecond
	DefaultRaiseAt     = 0.8
	DefaultSaturatedAt = 0.95
	Smoothing          = 0.3
	DefaultCalm        = 20
	MaxCalm            = 600
	TrialIntervals     = 5
)

// Controller sets GOMAXPROCS to the load (Run).
type Controller struct {
	max      int
	interval time.Duration
	raiseAt  float64
	satAt    float64
	calm     int                  // calm intervals before a trial, at first
	cpu      func() time.Duration // the process's CPU time so far
	now      func() time.Time
	set      func(int)
	pressure func() bool // nil: none

	procs   atomic.Int32
	changes atomic.Uint64
}

// Option configures a Controller.
type Option func(*Controller)

// WithMax bounds the processors (at least 1); default the runtime's
// GOMAXPROCS when New runs.
func WithMax(n int) Option { return func(c *Controller) { c.max = max(n, 1) } }

// WithInterval sets how often the load is looked at (default
// DefaultInterval).
func WithInterval(d time.Duration) Option { return func(c *Controller) { c.interval = d } }

// WithPressure raises the processors, as a busy load does, while pressed
// says the process's work queues (package doc).
func WithPressure(pressed func() bool) Option { return func(c *Controller) { c.pressure = pressed } }

// New is a Controller that starts the process at one processor once Run
// is called.
func New(opts ...Option) *Controller {
	c := &Controller{
		max:      runtime.GOMAXPROCS(0),
		interval: DefaultInterval,
		raiseAt:  DefaultRaiseAt,
		satAt:    DefaultSaturatedAt,
		calm:     DefaultCalm,
		cpu:      nil,
		now:      time.Now,
		set:      func(n int) { runtime.GOMAXPROCS(n) },
	}
	if haveCPUTime {
		c.cpu = processCPU
	}
	for _, o := range opts {
		o(c)
	}
	c.procs.Store(int32(runtime.GOMAXPROCS(0)))
	return c
}

// Procs is the processors set last.
func (c *Controller) Procs() int { return int(c.procs.Load()) }

// Changes counts the times Run changed the processors.
func (c *Controller) Changes() uint64 { return c.changes.Load() }

// Run sets one processor, then follows the load until ctx is done, when
// it gives the process Max processors back (a stopped controller leaves
// none idle that a load would need).
func (c *Controller) Run(ctx context.Context) {
	if c.cpu == nil {
		return // no CPU time on this system: the runtime's default stays
	}
	c.apply(1)
	t := time.NewTicker(c.interval)
	defer t.Stop()
	defer c.apply(c.max)
	lastCPU, lastAt := c.cpu(), c.now()
	st := state{need: c.calm, sinceTrial: -1}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cpu, at := c.cpu(), c.now()
		wall := at.Sub(lastAt)
		if wall <= 0 {
			continue
		}
		busy := float64(cpu-lastCPU) / float64(wall)
		lastCPU, lastAt = cpu, at
		pressed := c.pressure != nil && c.pressure()
		var n int
		n, st = c.next(c.Procs(), busy, pressed, st)
		c.apply(n)
	}
}

// state is what the rule remembers between intervals.
type state struct {
	calm       int     // calm intervals in a row
	need       int     // calm intervals the next trial waits for
	sinceTrial int     // intervals since the last trial began; -1: none pending
	avg        float64 // busy, smoothed
}

// next is the rule: the processors for busy cores of work at procs, the
// queue pressed or not.
func (c *Controller) next(procs int, busy float64, pressed bool, st state) (int, state) {
	p := float64(procs)
	if st.sinceTrial >= 0 {
		st.sinceTrial++
	}
	st.avg += (busy - st.avg) * Smoothing
	raise := 0
	switch {
	case procs < c.max && busy >= c.satAt*p:
		raise = min(c.max, 2*procs)
	case procs < c.max && (pressed || st.avg >= c.raiseAt*p):
		raise = procs + 1
	}
	if raise > 0 {
		if st.sinceTrial >= 0 && st.sinceTrial <= TrialIntervals {
			st.need = min(2*st.need, MaxCalm) // the trial failed
		}
		// At the new size the load is measured afresh.
		st.calm, st.sinceTrial, st.avg = 0, -1, busy
		return raise, st
	}
	if st.sinceTrial > TrialIntervals {
		st.need, st.sinceTrial = c.calm, -1 // the trial held
	}
	if procs > 1 && busy < c.raiseAt*(p-1) && !pressed {
		st.calm++
		if st.calm >= st.need {
			st.calm, st.sinceTrial, st.avg = 0, 0, busy
			return procs - 1, st
		}
		return procs, st
	}
	st.calm = 0
	return procs, st
}

func (c *Controller) apply(n int) {
	if int(c.procs.Load()) == n {
		return
	}
	c.procs.Store(int32(n))
	c.changes.Add(1)
	c.set(n)
}
