package cluster

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipswitch/sipswitch/cluster/clustertest"
	"github.com/sipswitch/sipswitch/routing"
)

// Releases racing renewals: a renewal is built from the slots held when
// the sender sends it, and a release queued before goes before it, so no
// renewal brings a released slot back.
func TestRenewalsNeverBringBackReleasedSlots(t *testing.T) {
	prefix := clustertest.Prefix(t)
	rdb := redis.NewClient(&redis.Options{Addr: clustertest.Addr()})
	t.Cleanup(func() { rdb.Close() })
	l, err := NewLimits(rdb, "host1", WithPrefix(prefix), WithLease(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	ctx := context.Background()
	key := routing.LimitKey{Kind: routing.LimitPeer, ID: 1}
	for round := range 10 {
		var rels []func()
		for range 2000 {
			rel, ok := l.Acquire(key, 100_000)
			if !ok {
				t.Fatal("refused")
			}
			rels = append(rels, rel)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			for range 3 {
				l.renew(ctx)
			}
		})
		for i, rel := range rels {
			rel()
			if i%100 == 99 {
				l.Flush()
			}
		}
		wg.Wait()
		l.Flush()
		if n, err := l.Active(ctx, key); err != nil || n != 0 {
			t.Fatalf("round %d: %d slots live after every one was released (%v)", round, n, err)
		}
	}
}

// Many calls admitted at once on one host: every admission is answered,
// whether the sender of the moment took it, stopped or handed its role
// to it (sendMu is looked at again after it is released); a key never
// holds more than its max; after the releases nothing is left; after
// Close admissions are refused and releases do not block.
func TestConcurrentAdmissionsAreAllAnsweredAndExact(t *testing.T) {
	prefix := clustertest.Prefix(t)
	rdb := redis.NewClient(&redis.Options{Addr: clustertest.Addr()})
	t.Cleanup(func() { rdb.Close() })
	l, err := NewLimits(rdb, "host1", WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	key := routing.LimitKey{Kind: routing.LimitPeer, ID: 1}
	const workers, rounds, max = 64, 100, 20
	var held, admitted atomic.Int32
	var over atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				rel, ok := l.Acquire(key, max)
				if !ok {
					continue
				}
				admitted.Add(1)
				// Counted here from its admission to before its release:
				// within what Redis counts, so never more than max.
				if held.Add(1) > max {
					over.Store(true)
				}
				held.Add(-1)
				rel()
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("admissions left unanswered: %d of %d answered admitted", admitted.Load(), workers*rounds)
	}
	if over.Load() {
		t.Fatalf("more than %d slots held at once", max)
	}
	if admitted.Load() == 0 {
		t.Fatal("nothing admitted")
	}
	if l.handoffs.Load() == 0 {
		t.Fatal("the sender's role was never handed on: the test did not queue enough admissions")
	}
	l.Flush()
	ctx := context.Background()
	if n, err := l.Active(ctx, key); err != nil || n != 0 {
		t.Fatalf("%d slots live after every one was released (%v)", n, err)
	}
	rel, ok := l.Acquire(key, max)
	if !ok {
		t.Fatal("refused before Close")
	}
	l.Close()
	if _, ok := l.Acquire(key, max); ok {
		t.Fatal("admitted after Close")
	}
	rel() // queued nowhere, and does not block: the lease frees it
	if n, err := l.Active(ctx, key); err != nil || n != 1 {
		t.Fatalf("%d slots live after Close, want the one not released before it (%v)", n, err)
	}
}
