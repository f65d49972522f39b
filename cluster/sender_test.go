package cluster

import (
	"context"
	"sync"
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
