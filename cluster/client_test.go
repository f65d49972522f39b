package cluster_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/cluster"
	"github.com/sipswitch/sipswitch/cluster/clustertest"
	"github.com/sipswitch/sipswitch/routing"
)

// NewClient does not check pooled connections before each command: after
// Redis restarted, every one of them is dead, and the first commands on
// them are sent again on new ones instead of failing. The host sees no
// failure: the next admission is taken, the next ping answers.
func TestClientSendsAgainOnConnectionsRedisClosed(t *testing.T) {
	srv := clustertest.Start(t)
	rdb := redisClient(t, srv.Addr)
	l, err := cluster.NewLimits(rdb, "host1", cluster.WithPrefix("restart"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	// Eight connections in the pool: eight commands held at once.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { rdb.BLPop(context.Background(), time.Second, "{restart}:nothing") })
	}
	wg.Wait()
	if n := rdb.PoolStats().IdleConns; n < 4 {
		t.Fatalf("%d idle connections pooled, want several", n)
	}
	srv.Restart(t)
	key := routing.LimitKey{Kind: routing.LimitPeer, ID: 1}
	for i := range 3 {
		if _, ok := l.Acquire(key, 10); !ok {
			t.Fatalf("admission %d after Redis restarted refused (%d failures)", i, l.Failures())
		}
	}
	if err := l.Ping(context.Background()); err != nil || l.Failures() != 0 || !l.Up() {
		t.Fatalf("after Redis restarted: ping %v, %d failures, up %v", err, l.Failures(), l.Up())
	}
}
