package cluster_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/cluster"
	"github.com/sipswitch/sipswitch/cluster/clustertest"
	"github.com/sipswitch/sipswitch/routing"
)

// cpuTime is the process's user and system CPU so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSharedSlot is one slot taken in Redis (Acquire, a round trip)
// and given back (its release rides on the next admission's round trip).
// cpu-us/op is the switch process's own CPU (the client side: encoding,
// syscalls, the pool), the figure to set against a call's CPU; the wall
// time per op includes waiting for Redis. A call routed out takes its
// slots in one admission (BenchmarkCallAdmission).
func BenchmarkSharedSlot(b *testing.B) {
	l := newLimitsB(b)
	key := routing.LimitKey{Kind: routing.LimitPeer, ID: 1}
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rel, ok := l.Acquire(key, 1_000_000)
		if !ok {
			b.Fatal("refused")
		}
		rel()
	}
	l.Flush()
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e3, "cpu-us/op")
}

// BenchmarkSharedSpendAdmission is a limited line's chargeable attempt on
// a host of a cluster: the first step reserved (one script call checking
// the other hosts' holdings and writing this host's) and given back (one
// write).
func BenchmarkSharedSpendAdmission(b *testing.B) {
	l := newLimitsB(b)
	ledger := routing.NewSpendLedger(time.UTC, routing.WithSharedSpend(cluster.NewSpend(l)))
	line := &routing.Phone{Name: "2001", CallMaximum: 1e9}
	tariff := routing.Tariff{PerMinute: 1.00, ConnectFee: 0.40, Increment: 1}
	now := time.Now()
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, ok := ledger.Reserve(line, tariff, now)
		if !ok {
			b.Fatal("refused")
		}
		c.End(now)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e3, "cpu-us/op")
}

func newLimitsB(b *testing.B) *cluster.Limits {
	b.Helper()
	prefix := clustertest.Prefix(b)
	l, err := cluster.NewLimits(redisClient(b, clustertest.Addr()), "bench", cluster.WithPrefix(prefix))
	if err != nil {
		b.Fatal(err)
	}
	if err := l.Ping(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(l.Close)
	return l
}

// BenchmarkSharedCall is a call's share of the Redis work with many calls
// setting up at once (16 per core): a line slot and a peer slot taken
// apart (Acquire twice, as a call to a local line does), then both given
// back as the call ends. Concurrent admissions and releases share round
// trips. cpu-us/op is per call.
func BenchmarkSharedCall(b *testing.B) {
	l := newLimitsB(b)
	line := routing.LimitKey{Kind: routing.LimitPhone, ID: 1}
	peer := routing.LimitKey{Kind: routing.LimitPeer, ID: 1}
	b.ReportAllocs()
	b.SetParallelism(16)
	cpu0 := cpuTime(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			relLine, ok := l.Acquire(line, 1_000_000)
			if !ok {
				b.Error("line refused")
				return
			}
			relPeer, ok := l.Acquire(peer, 1_000_000)
			if !ok {
				b.Error("peer refused")
				return
			}
			relPeer()
			relLine()
		}
	})
	l.Flush()
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e3, "cpu-us/op")
}
