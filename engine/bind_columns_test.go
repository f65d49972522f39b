package engine

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

// TestColumnsOf: the column lists come from the json tags, in field
// order, and the scan targets and insert values are the fields they name.
func TestColumnsOf(t *testing.T) {
	t.Parallel()
	want := []string{"id", "plan", "called_prefix", "caller_prefix", "allow", "description", "media", "peer1", "peer2", "peer3", "timegroup"}
	if !slices.Equal(routeColumns.names, want) {
		t.Fatalf("route columns %q, want %q", routeColumns.names, want)
	}
	if slices.Contains(peerCostColumns.names, "description") || slices.Contains(costImportColumns.names, "id") {
		t.Fatalf("except ignored: %q %q", peerCostColumns.names, costImportColumns.names)
	}
	var r routing.Route
	args := make([]any, len(routeColumns.names))
	routeColumns.targets(&r, args)
	*args[0].(*int) = 7
	*args[2].(*string) = "44"
	*args[10].(*int) = 3
	if r.ID != 7 || r.CalledPrefix != "44" || r.TimeGroup != 3 {
		t.Fatalf("targets do not point at the fields: %+v", r)
	}
	c := routing.PeerCost{Peer: 2, Cost: 0.5, Start: -1, CallerType: "prefix"}
	vals := make([]any, len(costImportColumns.names))
	costImportColumns.values(&c, vals)
	for i, name := range costImportColumns.names {
		switch name {
		case "peer":
			if vals[i] != int64(2) {
				t.Errorf("peer = %#v, want int64(2)", vals[i])
			}
		case "cost":
			if vals[i] != 0.5 {
				t.Errorf("cost = %v", vals[i])
			}
		case "start":
			if vals[i] != int64(-1) {
				t.Errorf("start = %v", vals[i])
			}
		case "caller_type":
			if vals[i] != "prefix" {
				t.Errorf("caller_type = %v", vals[i])
			}
		}
	}
}

// BenchmarkColumnTargets is the per-row cost of a route scan's targets.
func BenchmarkColumnTargets(b *testing.B) {
	rs := make([]routing.Route, 1024)
	args := make([]any, len(routeColumns.names))
	for i := 0; b.Loop(); i++ {
		routeColumns.targets(&rs[i%len(rs)], args)
	}
}

// BenchmarkScanRoutes compares the snapshot's route scan through
// routeColumns with the hand-written list it replaced, on one SQLite
// table in one process (the sub-benchmarks interleave with -count).
func BenchmarkScanRoutes(b *testing.B) {
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(b.TempDir(), "scan.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const n = 100_000
	_, err = db.Write(ctx, func(tx *storage.Tx) error {
		if _, err := tx.Insert(ctx, "plans", storage.Record{"id": int64(1), "name": "p"}); err != nil {
			return err
		}
		ins, err := tx.Inserter(ctx, "plan_routes", []string{"plan", "called_prefix", "caller_prefix", "description"}, true)
		if err != nil {
			return err
		}
		defer ins.Close()
		for i := range n {
			if err := ins.Insert(1, strconv.Itoa(100000+i), "", "route"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]routing.Route, n)
	b.Run("columns", func(b *testing.B) {
		for b.Loop() {
			if err := db.Read(ctx, func(tx *storage.Tx) error { return scanRoutesInto(ctx, tx, nil, dst) }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("handwritten", func(b *testing.B) {
		cols := []string{"id", "plan", "called_prefix", "caller_prefix", "allow", "description", "media", "peer1", "peer2", "peer3", "timegroup"}
		for b.Loop() {
			err := db.Read(ctx, func(tx *storage.Tx) error {
				i := 0
				return tx.Scan(ctx, "plan_routes", cols, nil, func(r storage.Scanner) error {
					rt := &dst[i]
					i++
					return r.Scan(&rt.ID, &rt.Plan, &rt.CalledPrefix, &rt.CallerPrefix, &rt.Allow, &rt.Description, &rt.Media, &rt.Peer1, &rt.Peer2, &rt.Peer3, &rt.TimeGroup)
				})
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
