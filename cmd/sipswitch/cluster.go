package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sipswitch/sipswitch/cluster"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/metrics"
	"github.com/sipswitch/sipswitch/routing"
)

// What a host of a cluster (several `sipswitch serve` on one PostgreSQL
// store) adds to the daemon: shared call limits in Redis, bindings learnt
// from the other hosts, /healthz and metrics that report both.

// startSharedLimits connects to cluster.redis, when set, and returns the
// CallControl option that makes limits count every host's calls.
func (d *daemon) startSharedLimits(ctx context.Context) ([]routing.CallControlOption, error) {
	c := d.cfg.Cluster
	if c.Redis == "" {
		return nil, nil
	}
	rdb, err := cluster.NewClient(c.Redis, c.RedisTimeout)
	if err != nil {
		return nil, fmt.Errorf("cluster.redis: %w", err)
	}
	limits, err := cluster.NewLimits(rdb, d.host, cluster.WithLease(c.Lease), cluster.WithTimeout(c.RedisTimeout),
		cluster.WithPrefix(c.KeyPrefix), cluster.WithLogger(d.log))
	if err != nil {
		rdb.Close()
		return nil, err
	}
	if err := limits.Ping(ctx); err != nil {
		// Not fatal: the host starts, refuses limited calls and says so
		// on /healthz until Redis answers.
		d.log.Error("cluster: Redis not reachable at start; limited calls are refused until it is", "error", err)
	}
	d.limits, d.redis = limits, rdb
	go limits.Run(ctx)
	return []routing.CallControlOption{routing.WithSharedLimits(limits)}, nil
}

// spendLedger is the ledger of call_maximum: restored from every host's
// call records on one host; with shared limits, from this host's own
// records and published, the other hosts' spend coming from Redis.
func (d *daemon) spendLedger(ctx context.Context, loc *time.Location) (*routing.SpendLedger, error) {
	if d.limits == nil {
		spend := routing.NewSpendLedger(loc)
		return spend, d.svc.RestoreSpend(ctx, spend, time.Now())
	}
	spend := routing.NewSpendLedger(loc, routing.WithSharedSpend(cluster.NewSpend(d.limits)))
	if err := d.svc.RestoreOwnSpend(ctx, spend, time.Now(), d.host); err != nil {
		return nil, err
	}
	if err := spend.Publish(time.Now()); err != nil {
		d.log.Error("cluster: this host's spend today not published; the other hosts see it when its lines' next calls end", "error", err)
	}
	return spend, nil
}

func (d *daemon) stopSharedLimits() {
	if d.limits != nil {
		d.limits.Close() // the releases of the drained calls go out
	}
	if d.redis != nil {
		d.redis.Close()
	}
}

// followRegistrations keeps this host's bindings in step with the other
// hosts' REGISTERs (storage.WatchRegistrations): the phones they name are
// read again from the store, in order, on one goroutine; a burst that
// overflows the queue, or a listener that reconnected, reads all of them.
func (d *daemon) followRegistrations(ctx context.Context, regs *engine.RegistrationStore) {
	queue := make(chan string, 4096)
	var overflow atomic.Bool
	regs.Watch(func(phone string) {
		if phone == "" {
			overflow.Store(true)
		}
		select {
		case queue <- phone:
		default:
			overflow.Store(true)
		}
	})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case phone := <-queue:
				if overflow.Swap(false) {
					d.syncAllRegistrations(ctx, regs)
					continue
				}
				if phone == "" {
					continue
				}
				lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				list, err := regs.LoadPhone(lctx, phone)
				cancel()
				if err != nil {
					d.log.Warn("cluster: bindings of a line not read; all are read on the next change", "phone", phone, "error", err)
					overflow.Store(true)
					continue
				}
				d.sip.SyncRegistrations(phone, list)
				d.live.syncPhone(phone, list)
			}
		}
	}()
}

func (d *daemon) syncAllRegistrations(ctx context.Context, regs *engine.RegistrationStore) {
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	all, err := regs.LoadRegistrations(lctx)
	if err != nil {
		d.log.Warn("cluster: bindings not read again", "error", err)
		return
	}
	byPhone := map[string][]engine.Registration{}
	for _, r := range d.sip.Registrations() {
		byPhone[r.Phone] = nil // a line the store no longer holds loses its bindings
	}
	for _, r := range all {
		byPhone[r.Phone] = append(byPhone[r.Phone], r)
	}
	for phone, list := range byPhone {
		d.sip.SyncRegistrations(phone, list)
		d.live.syncPhone(phone, list)
	}
}

// health checks the store and, with shared limits, Redis. The answer
// names what is down, not why: the errors (addresses, user names) are in
// the log, not on a probe anyone reaching the API port can read.
func (d *daemon) health(ctx context.Context) (ok bool, lines []string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ok = true
	store := "store " + d.store.Backend() + " ok"
	if err := d.store.Ping(ctx); err != nil {
		ok, store = false, "store "+d.store.Backend()+" unreachable"
		d.log.Debug("healthz: store unreachable", "error", err)
	} else if !d.store.ListenerUp() {
		ok, store = false, "store "+d.store.Backend()+" change listener reconnecting"
	}
	lines = append(lines, store)
	if d.limits != nil {
		if err := d.limits.Ping(ctx); err != nil {
			ok = false
			lines = append(lines, "counters redis unreachable")
			d.log.Debug("healthz: Redis unreachable", "error", err)
		} else {
			lines = append(lines, "counters redis ok")
		}
	} else {
		lines = append(lines, "counters local")
	}
	// Objects left out of the rendered files do not take the host out
	// (it serves calls), but an operator reading /healthz learns of them.
	if sk := d.renderSkipped.Load(); sk != nil && len(*sk) > 0 {
		objs := make([]string, len(*sk))
		for i, s := range *sk {
			objs[i] = s.Object
		}
		lines = append(lines, fmt.Sprintf("render left out %d objects: %s", len(objs), strings.Join(objs, ", ")))
	}
	return ok, lines
}

// serveHealth answers /healthz: "ok" and a line per dependency, 503 with
// "unavailable" first when one is down (a dispatcher takes the host out).
func (d *daemon) serveHealth(w http.ResponseWriter, r *http.Request) {
	ok, lines := d.health(r.Context())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "unavailable")
	} else {
		fmt.Fprintln(w, "ok")
	}
	fmt.Fprintln(w, strings.Join(lines, "\n"))
}

func (d *daemon) registerClusterMetrics() error {
	st := metrics.ClusterState{
		Host: d.host, Backend: d.store.Backend(), Counters: d.limits != nil,
		StoreUp: func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			return d.store.Ping(ctx) == nil && d.store.ListenerUp()
		},
	}
	if d.limits != nil {
		st.RedisUp, st.Held, st.Failures = d.limits.Up, d.limits.Held, d.limits.Failures
	}
	return d.metrics.RegisterCluster(st)
}
