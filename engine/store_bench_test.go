package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

// BenchmarkBuildFromStore measures what the daemon does when routes
// change: read a million routes from SQLite and compile the routing state.
func BenchmarkBuildFromStore(b *testing.B) {
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(b.TempDir(), "deck.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const plans, routes = 100, 1_000_000
	rng := rand.New(rand.NewPCG(1, 2))
	_, err = db.Write(ctx, func(tx *storage.Tx) error {
		for p := 1; p <= plans; p++ {
			if _, err := tx.Insert(ctx, "plans", storage.Record{"id": int64(p), "name": fmt.Sprint("plan ", p)}); err != nil {
				return err
			}
		}
		for id := 1; id <= 3; id++ {
			if _, err := tx.Insert(ctx, "peers", storage.Record{"id": int64(id), "name": fmt.Sprint("carrier-", id), "type": "sip", "destination": "192.0.2.1"}); err != nil {
				return err
			}
		}
		ins, err := tx.Inserter(ctx, "plan_routes", []string{"plan", "called_prefix", "caller_prefix", "peer1", "peer2"}, true)
		if err != nil {
			return err
		}
		defer ins.Close()
		for i := range routes {
			n := 1 + rng.IntN(15)
			prefix := fmt.Sprint(rng.IntN(9)+1) + fmt.Sprintf("%014d", rng.Int64N(1e14))[:n-1]
			caller := ""
			if rng.IntN(20) == 0 {
				caller = fmt.Sprint(rng.IntN(90) + 10)
			}
			if err := ins.Insert(1+i%plans, prefix, caller, 1, 2); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	svc := NewService(db)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		snap, err := svc.Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		loaded := time.Since(start)
		state, err := routing.NewRoutingState(snap, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(loaded.Seconds(), "load-s")
		b.ReportMetric(float64(state.Table().Len()), "routes")
		runtime.KeepAlive(state)
	}
}
