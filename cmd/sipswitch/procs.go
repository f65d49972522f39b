package main

import (
	"context"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sipswitch/sipswitch/config"
	"github.com/sipswitch/sipswitch/internal/procs"
)

// procsControl keeps GOMAXPROCS as runtime.procs says: sized to the load
// by internal/procs' controller while it is 0, fixed otherwise.
type procsControl struct {
	mu     sync.Mutex
	most   int // the runtime's GOMAXPROCS before the daemon set any
	ctl    *procs.Controller
	cancel context.CancelFunc
	done   chan struct{}
	// changes are the controllers' changes before the running one's.
	changes uint64
	// queueDelay is the SIP core's (sip.Server.QueueDelay), once it runs.
	queueDelay atomic.Pointer[func() time.Duration]
}

// pressureDelay is the wait of new INVITEs for a core past which the
// processors grow whatever the CPU time says (INFERRED: a tenth of the
// overload detector's default target, 100 ms; within its capacity the
// switch's waits are a millisecond or less; past it, a host whose other
// work holds the cores shows here first).
const pressureDelay = 10 * time.Millisecond

// pressed says whether new INVITEs wait too long for a core.
func (p *procsControl) pressed() bool {
	f := p.queueDelay.Load()
	return f != nil && (*f)() > pressureDelay
}

// watchQueue has the controller read the SIP core's queue.
func (p *procsControl) watchQueue(delay func() time.Duration) { p.queueDelay.Store(&delay) }

// apply sets GOMAXPROCS from r, starting or stopping the controller; the
// environment's GOMAXPROCS wins (the runtime applied it).
func (p *procsControl) apply(r config.RuntimeConfig) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.most == 0 {
		p.most = runtime.GOMAXPROCS(0)
	}
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	if r.Procs == 0 {
		if p.ctl == nil {
			p.ctl = procs.New(procs.WithMax(p.most), procs.WithPressure(p.pressed))
			ctx, cancel := context.WithCancel(context.Background())
			p.cancel, p.done = cancel, make(chan struct{})
			go func(ctl *procs.Controller, done chan struct{}) {
				defer close(done)
				ctl.Run(ctx)
			}(p.ctl, p.done)
		}
		return
	}
	p.stopLocked()
	runtime.GOMAXPROCS(r.Procs)
}

// stop ends the controller, which gives the process its most processors
// back.
func (p *procsControl) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked()
}

func (p *procsControl) stopLocked() {
	if p.ctl == nil {
		return
	}
	p.cancel()
	<-p.done
	p.changes += p.ctl.Changes()
	p.ctl = nil
}

func (p *procsControl) totalChanges() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.changes
	if p.ctl != nil {
		n += p.ctl.Changes()
	}
	return n
}

// register exports the processors and how often the controller changed
// them.
func (p *procsControl) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sipswitch_runtime_procs",
			Help: "Go's processors (GOMAXPROCS) now: sized to the load when runtime.procs is 0.",
		}, func() float64 { return float64(runtime.GOMAXPROCS(0)) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sipswitch_runtime_procs_changes_total",
			Help: "Times the processors were resized to the load (runtime.procs 0).",
		}, func() float64 { return float64(p.totalChanges()) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
