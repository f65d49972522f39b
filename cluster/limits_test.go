package cluster_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipswitch/sipswitch/cluster"
	"github.com/sipswitch/sipswitch/cluster/clustertest"
	"github.com/sipswitch/sipswitch/routing"
)

// redisClient is a client to addr as the daemon makes it.
func redisClient(t testing.TB, addr string) *redis.Client {
	rdb, err := cluster.NewClient("redis://"+addr+"/0", 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func newLimits(t *testing.T, addr, host, prefix string, opts ...cluster.LimitsOption) *cluster.Limits {
	t.Helper()
	rdb := redisClient(t, addr)
	l, err := cluster.NewLimits(rdb, host, append([]cluster.LimitsOption{cluster.WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

func active(t *testing.T, l *cluster.Limits, key routing.LimitKey) int {
	t.Helper()
	n, err := l.Active(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Three hosts racing for the slots of one peer: exactly max calls get one,
// whichever host they arrive on; releasing twice frees one slot, not two.
func TestSlotsAreExactAcrossHosts(t *testing.T) {
	prefix := clustertest.Prefix(t)
	hosts := []*cluster.Limits{
		newLimits(t, clustertest.Addr(), "host1", prefix),
		newLimits(t, clustertest.Addr(), "host2", prefix),
		newLimits(t, clustertest.Addr(), "host3", prefix),
	}
	key := routing.LimitKey{Kind: routing.LimitPeer, ID: 7}
	const max = 5
	var admitted atomic.Int32
	var mu sync.Mutex
	var releases []func()
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			rel, ok := hosts[i%3].Acquire(key, max)
			if ok {
				admitted.Add(1)
				mu.Lock()
				releases = append(releases, rel)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if admitted.Load() != max || active(t, hosts[0], key) != max {
		t.Fatalf("admitted %d, active %d, want %d", admitted.Load(), active(t, hosts[0], key), max)
	}
	if _, ok := hosts[1].Acquire(key, max); ok {
		t.Fatal("a sixth call got a slot")
	}
	releases[0]()
	releases[0]()
	for _, h := range hosts {
		h.Flush()
	}
	if n := active(t, hosts[2], key); n != max-1 {
		t.Fatalf("after releasing one slot twice: %d active, want %d", n, max-1)
	}
	for _, rel := range releases[1:] {
		rel()
	}
	for _, h := range hosts {
		h.Flush()
	}
	if n := active(t, hosts[0], key); n != 0 {
		t.Fatalf("after releasing all: %d active", n)
	}
	// Another key is counted apart.
	if _, ok := hosts[0].Acquire(routing.LimitKey{Kind: routing.LimitPhone, ID: 7}, 1); !ok {
		t.Fatal("line 7 refused: counted with peer 7")
	}
}

// A host that stops renewing (it died) loses its slots when the lease
// ends; a host that renews keeps them for many leases.
func TestLeaseFreesADeadHostsSlots(t *testing.T) {
	prefix := clustertest.Prefix(t)
	// Renewed every 667 ms: a renewal may be late by 1.3 s (a loaded CI
	// machine) before the live host's slots would lapse.
	const lease = 2 * time.Second
	alive := newLimits(t, clustertest.Addr(), "alive", prefix, cluster.WithLease(lease))
	dead := newLimits(t, clustertest.Addr(), "dead", prefix, cluster.WithLease(lease))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go alive.Run(ctx)
	key := routing.LimitKey{Kind: routing.LimitPeer, ID: 1}
	for range 2 {
		if _, ok := alive.Acquire(key, 4); !ok {
			t.Fatal("alive host refused")
		}
		if _, ok := dead.Acquire(key, 4); !ok {
			t.Fatal("dead host refused")
		}
	}
	if _, ok := alive.Acquire(key, 4); ok {
		t.Fatal("key over its limit")
	}
	start := time.Now()
	for active(t, alive, key) > 2 {
		if time.Since(start) > 3*lease {
			t.Fatalf("the dead host's slots outlived three leases")
		}
		time.Sleep(50 * time.Millisecond)
	}
	freed := time.Since(start)
	t.Logf("dead host's slots freed %v after they were taken (lease %v)", freed, lease)
	// Two more leases: the renewing host's slots stay.
	time.Sleep(2 * lease)
	if n := active(t, alive, key); n != 2 {
		t.Fatalf("renewed slots: %d active, want 2", n)
	}
	if _, ok := dead.Acquire(key, 4); !ok {
		t.Fatal("a freed slot could not be taken again")
	}
}

// Redis killed: limited keys are refused (fail closed) within the
// timeout, the host reports it, and it recovers by itself when Redis is
// back; the slot of a call that outlived the outage is counted again.
func TestRedisOutageRefusesLimitedCallsAndRecovers(t *testing.T) {
	srv := clustertest.Start(t)
	prefix := "outage"
	l := newLimits(t, srv.Addr, "host1", prefix, cluster.WithLease(900*time.Millisecond), cluster.WithTimeout(200*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx)
	key := routing.LimitKey{Kind: routing.LimitPhone, ID: 3}
	rel, ok := l.Acquire(key, 2)
	if !ok {
		t.Fatal("refused before the outage")
	}
	srv.Kill()
	if _, ok := l.Acquire(key, 2); ok {
		t.Fatal("a limited call was admitted with Redis down")
	}
	if l.Up() {
		t.Fatal("Up() with Redis down")
	}
	srv.Restart(t) // empty: the held slot is gone from Redis
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := l.Active(context.Background(), key)
		if err == nil && n == 1 && l.Up() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Redis came back: %d active (%v), up %v", n, err, l.Up())
		}
		time.Sleep(50 * time.Millisecond)
	}
	rel()
	l.Flush()
	if n, err := l.Active(context.Background(), key); err != nil || n != 0 {
		t.Fatalf("after release: %d (%v)", n, err)
	}
}
