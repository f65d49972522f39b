package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

// Routes read in parallel id ranges come out exactly as one sequential
// scan reads them: every route, in id order, every column.
func TestSnapshotParallelRouteLoadMatchesSequential(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db, err := storage.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		_, err = db.Write(ctx, func(tx *storage.Tx) error {
			for p := 1; p <= 3; p++ {
				if _, err := tx.Insert(ctx, "plans", storage.Record{"id": int64(p), "name": fmt.Sprint("plan ", p)}); err != nil {
					return err
				}
			}
			// Gaps in the ids, so that ranges hold different numbers of rows.
			for i := 1; i <= 2000; i++ {
				if i%7 == 0 || (i > 300 && i < 700) {
					continue
				}
				rec := storage.Record{"id": int64(i), "plan": int64(1 + i%3), "called_prefix": fmt.Sprint(44000 + i),
					"caller_prefix": fmt.Sprint(i % 5), "description": fmt.Sprint("route ", i)}
				if _, err := tx.Insert(ctx, "plan_routes", rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Below parallelRoutesFrom the snapshot reads the table in one scan.
		serial, err := NewService(db).Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sequential := serial.Routes

		saved := parallelRoutesFrom
		parallelRoutesFrom = 100
		t.Cleanup(func() { parallelRoutesFrom = saved })
		snap, err := NewService(db).Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(sequential) != 2000-285-399+57 || !slices.Equal(snap.Routes, sequential) {
			t.Fatalf("parallel load: %d routes, sequential %d, equal %v", len(snap.Routes), len(sequential), slices.Equal(snap.Routes, sequential))
		}

		// A range holding more rows than counted means a write slipped in.
		if err := db.Read(ctx, func(tx *storage.Tx) error {
			return scanRoutesInto(ctx, tx, nil, make([]routing.Route, 10))
		}); !errors.Is(err, errRevisionMoved) {
			t.Fatalf("overflowing range: %v, want errRevisionMoved", err)
		}
		// As does one holding fewer.
		if err := db.Read(ctx, func(tx *storage.Tx) error {
			return scanRoutesInto(ctx, tx, nil, make([]routing.Route, len(sequential)+1))
		}); !errors.Is(err, errRevisionMoved) {
			t.Fatalf("short range: %v, want errRevisionMoved", err)
		}
	})
}
