package cluster_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipswitch/sipswitch/cluster"
	"github.com/sipswitch/sipswitch/cluster/clustertest"
	"github.com/sipswitch/sipswitch/routing"
)

// roundTrips counts the round trips a client makes that run a script
// (admissions, spend writes; a pipeline of several, releases riding
// along, is one), and the others (releases alone, pings).
type roundTrips struct{ scripts, others atomic.Int64 }

func isScript(cmd redis.Cmder) bool {
	name := strings.ToLower(cmd.Name())
	return name == "evalsha" || name == "eval"
}

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if isScript(cmd) {
			r.scripts.Add(1)
		} else {
			r.others.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if slices.ContainsFunc(cmds, isScript) {
			r.scripts.Add(1)
		} else {
			r.others.Add(1)
		}
		return next(ctx, cmds)
	}
}

// admissionBench is a host of a cluster with a line limited in calls
// (totalmaximum) and spend (call_maximum) calling out through a limited
// peer.
type admissionBench struct {
	calls  *routing.CallControl
	limits *cluster.Limits
	trips  *roundTrips
	line   *routing.Phone
	peer   *routing.Peer
	tariff routing.Tariff
}

func newAdmissionBench(b *testing.B) *admissionBench {
	b.Helper()
	prefix := clustertest.Prefix(b)
	rdb := redisClient(b, clustertest.Addr())
	trips := &roundTrips{}
	rdb.AddHook(trips)
	l, err := cluster.NewLimits(rdb, "bench", cluster.WithPrefix(prefix))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(l.Close)
	if err := l.Ping(context.Background()); err != nil {
		b.Fatal(err)
	}
	ledger := routing.NewSpendLedger(time.UTC, routing.WithSharedSpend(cluster.NewSpend(l)))
	snap := &routing.Snapshot{Plans: []routing.Plan{{ID: 1}},
		Peers:  []routing.Peer{{ID: 1, Name: "carrier", Type: "sip", OutMaximum: 1_000_000}},
		Phones: []routing.Phone{{ID: 5, Name: "2001", TotalMaximum: 1_000_000, CallMaximum: 1e9}}}
	calls, err := routing.NewCallControl(context.Background(), snap, nil, routing.WithSharedLimits(l), routing.WithSpendLedger(ledger))
	if err != nil {
		b.Fatal(err)
	}
	line, _ := calls.Phone("2001")
	return &admissionBench{calls: calls, limits: l, trips: trips, line: line, peer: calls.State().Peer(1),
		tariff: routing.Tariff{PerMinute: 1.00, ConnectFee: 0.40, Increment: 1}}
}

// call admits one call on its first peer and ends it; spend: the line's
// first billing step is reserved with the slots and given back.
func (a *admissionBench) call(b *testing.B, spend bool, now time.Time) {
	adm := routing.Admission{SlotLine: a.line, Peer: a.peer, Now: now}
	if spend {
		adm.SpendLine, adm.Tariff = a.line, a.tariff
	}
	got := a.calls.Admit(adm)
	if got.Refused != routing.AdmitOK {
		b.Errorf("refused: %v", got.Refused)
		return
	}
	got.Peer()
	got.Charge.End(now)
	got.Line()
}

// BenchmarkCallAdmission is the Redis work of a call on a host of a
// cluster: admitted on its first peer (line slot, peer slot and, in
// /spend, the first billing step of a line with a call_maximum), then
// ended. In the serial runs trips/op are the admission's script round
// trips alone; in /parallel (16 calls per core at once) they are every
// script round trip per call, the spend's write-back as the call ends
// included, which calls share. The releases (sent with admissions, or
// on their own) are not counted. cpu-us/op is the process's CPU per call, all of it.
func BenchmarkCallAdmission(b *testing.B) {
	for _, spend := range []bool{false, true} {
		name := "slots"
		if spend {
			name = "spend"
		}
		b.Run(name, func(b *testing.B) {
			a := newAdmissionBench(b)
			now := time.Now()
			var admitTrips int64
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for range b.N {
				adm := routing.Admission{SlotLine: a.line, Peer: a.peer, Now: now}
				if spend {
					adm.SpendLine, adm.Tariff = a.line, a.tariff
				}
				t0 := a.trips.scripts.Load()
				got := a.calls.Admit(adm)
				admitTrips += a.trips.scripts.Load() - t0
				if got.Refused != routing.AdmitOK {
					b.Fatalf("refused: %v", got.Refused)
				}
				got.Peer()
				got.Charge.End(now)
				got.Line()
			}
			a.limits.Flush()
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e3, "cpu-us/op")
			b.ReportMetric(float64(admitTrips)/float64(b.N), "trips/op")
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			a := newAdmissionBench(b)
			now := time.Now()
			b.ReportAllocs()
			b.SetParallelism(16)
			t0 := a.trips.scripts.Load()
			cpu0 := cpuTime(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					a.call(b, spend, now)
				}
			})
			a.limits.Flush()
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e3, "cpu-us/op")
			b.ReportMetric(float64(a.trips.scripts.Load()-t0)/float64(b.N), "trips/op")
		})
	}
}

// BenchmarkPacedCall is BenchmarkCallAdmission/slots with the calls
// spaced out (one every pacedGap), as on a host at 100 calls a second
// and less, whose threads fall idle between calls: what a round trip
// costs then includes the runtime's going to sleep and waking up around
// it, which back-to-back calls do not pay. /none is the same loop
// without the admission (the pacing's own CPU), to subtract.
func BenchmarkPacedCall(b *testing.B) {
	const pacedGap = 2 * time.Millisecond
	for _, admit := range []bool{false, true} {
		name := "none"
		if admit {
			name = "admit"
		}
		b.Run(name, func(b *testing.B) {
			a := newAdmissionBench(b)
			now := time.Now()
			tick := time.NewTicker(pacedGap)
			defer tick.Stop()
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for range b.N {
				<-tick.C
				if admit {
					a.call(b, false, now)
				}
			}
			a.limits.Flush()
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e3, "cpu-us/op")
		})
	}
}
