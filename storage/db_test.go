package storage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/storage/storagetest"
)

// openTemp opens a fresh store of the backend dsn names
// (storagetest.Each).
func openTemp(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMigrateIsIdempotentAndSurvivesReopen(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		path := dsn
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		again, err := db.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second migrate applied %v, err %v", again, err)
		}
		if _, err := db.Write(ctx, func(tx *Tx) error {
			_, err := tx.Insert(ctx, "customers", Record{"name": "c"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		db.Close()
		db, err = Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if db.Revision() != 1 {
			t.Fatalf("revision after reopen = %d, want 1", db.Revision())
		}
		if db.Backend() == "postgres" {
			return
		}
		var mode string
		if err := db.sql.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Fatalf("journal_mode = %q (%v), want wal", mode, err)
		}
		var fk int
		if err := db.sql.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
			t.Fatalf("foreign_keys = %d (%v), want 1", fk, err)
		}
	})
}

func TestWriteIsAtomicAndBumpsRevision(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openTemp(t, dsn)
		ch := db.Changed()
		boom := errors.New("boom")
		_, err := db.Write(ctx, func(tx *Tx) error {
			if _, err := tx.Insert(ctx, "customers", Record{"name": "kept?"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		if db.Revision() != 0 {
			t.Fatalf("failed write moved revision to %d", db.Revision())
		}
		select {
		case <-ch:
			t.Fatal("watchers woken by a rolled-back write")
		default:
		}
		err = db.Read(ctx, func(tx *Tx) error {
			n, err := tx.Count(ctx, "customers")
			if n != 0 {
				t.Fatalf("rolled-back row is visible: %d rows", n)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		rev, err := db.Write(ctx, func(tx *Tx) error {
			_, err := tx.Insert(ctx, "customers", Record{"name": "one"})
			return err
		})
		if err != nil || rev != 1 {
			t.Fatalf("rev %d err %v", rev, err)
		}
		select {
		case <-ch:
		default:
			t.Fatal("watchers not woken by a commit")
		}
	})
}

func TestRecordOps(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openTemp(t, dsn)
		var id int64
		_, err := db.Write(ctx, func(tx *Tx) error {
			var err error
			if id, err = tx.Insert(ctx, "customers", Record{"name": "acme", "parent": 0}); err != nil {
				return err
			}
			if _, err := tx.Insert(ctx, "plans", Record{"name": "p1", "customer": id}); err != nil {
				return err
			}
			if _, err := tx.Insert(ctx, "plans", Record{"name": "p2", "customer": id}); err != nil {
				return err
			}
			return tx.Update(ctx, "plans", "name", "p2", Record{"description": "second"})
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Read(ctx, func(tx *Tx) error {
			recs, err := tx.List(ctx, "plans", Query{OrderBy: []string{"name"}, Descending: true})
			if err != nil {
				return err
			}
			if len(recs) != 2 || recs[0]["name"] != "p2" || recs[0]["description"] != "second" {
				t.Fatalf("list = %v", recs)
			}
			if _, err := tx.Get(ctx, "plans", "name", "nope"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("get missing: %v", err)
			}
			if _, err := tx.List(ctx, "plans", Query{Where: []Cond{{Col: "name;drop", Op: "=", Val: 1}}}); !errors.Is(err, ErrNoSuchCol) {
				t.Fatalf("unknown column accepted: %v", err)
			}
			recs, err = tx.List(ctx, "plans", Query{Where: []Cond{{Col: "name", Op: "prefix", Val: "p_"}}})
			if err != nil || len(recs) != 0 {
				t.Fatalf("prefix match treated _ as wildcard: %v %v", recs, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Write(ctx, func(tx *Tx) error {
			_, err := tx.Insert(ctx, "peers", Record{"name": "dup", "type": "sip"})
			if err != nil {
				return err
			}
			_, err = tx.Insert(ctx, "peers", Record{"name": "DUP", "type": "sip"})
			return err
		})
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("case-insensitive duplicate peer name: %v", err)
		}
	})
}

func TestConcurrentWritersSerialize(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openTemp(t, dsn)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if _, err := db.Write(ctx, func(tx *Tx) error {
					_, err := tx.Insert(ctx, "customers", Record{"name": "c"})
					return err
				}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if db.Revision() != 20 {
			t.Fatalf("revision = %d, want 20", db.Revision())
		}
	})
}

// Both engines number rows alike: a rolled-back insert (validation=1's
// dry run) gives its id back, a deleted row's id is never given again,
// and bulk inserts continue the count.
func TestIDsAreNumberedAlikeOnBothBackends(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openTemp(t, dsn)
		insert := func(name string, fail bool) int64 {
			t.Helper()
			var id int64
			_, err := db.Write(ctx, func(tx *Tx) error {
				var err error
				if id, err = tx.Insert(ctx, "plans", Record{"name": name}); err != nil {
					return err
				}
				if fail {
					return errors.New("roll back")
				}
				return nil
			})
			if err != nil && !fail {
				t.Fatal(err)
			}
			return id
		}
		if id := insert("dry run", true); id != 1 {
			t.Fatalf("first id %d", id)
		}
		if id := insert("kept", false); id != 1 {
			t.Fatalf("id after a rolled-back insert: %d, want 1 again", id)
		}
		two := insert("doomed", false)
		if _, err := db.Write(ctx, func(tx *Tx) error { return tx.Delete(ctx, "plans", "id", two) }); err != nil {
			t.Fatal(err)
		}
		_, err := db.Write(ctx, func(tx *Tx) error {
			in, err := tx.Inserter(ctx, "plans", []string{"name"}, false)
			if err != nil {
				return err
			}
			for _, n := range []string{"bulk a", "bulk b"} {
				if err := in.Insert(n); err != nil {
					return err
				}
			}
			return in.Close()
		})
		if err != nil {
			t.Fatal(err)
		}
		if id := insert("after bulk", false); id != 5 {
			t.Fatalf("id after a deleted 2 and bulk 3, 4: %d, want 5", id)
		}
	})
}

// Run-time state appended in bulk (call records): all rows or none, ids
// continuing the table's, each row's values where they were given, the
// revision untouched, on both engines (in multi-row statements of up to
// maxAppendRows rows: 1,201 rows take several, of several sizes).
func TestAppendStateAllOrNothing(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openTemp(t, dsn)
		cols := []string{"call_id", "start", "end", "direction", "cost"}
		rows := make([][]any, 1201)
		for i := range rows {
			rows[i] = []any{fmt.Sprint("c", i), int64(1000 + i), int64(1005 + i), "outbound", 0.25}
		}
		if err := db.AppendState(ctx, "calls", cols, rows); err != nil {
			t.Fatal(err)
		}
		bad := [][]any{{"ok", int64(1), int64(2), "outbound", 0.0}, {"bad", nil, int64(2), "outbound", 0.0}}
		if err := db.AppendState(ctx, "calls", cols, bad); err == nil {
			t.Fatal("a row with a NULL start was appended")
		}
		// A bad row in a later statement of the batch: the statements
		// before it are not kept either.
		badLate := append(slices.Clone(rows[:600]), bad[1])
		if err := db.AppendState(ctx, "calls", cols, badLate); err == nil {
			t.Fatal("a batch with a NULL start in its last statement was appended")
		}
		err := db.Read(ctx, func(tx *Tx) error {
			n, err := tx.Count(ctx, "calls")
			if err != nil || n != len(rows) {
				t.Errorf("%d calls (%v), want %d: the failed batch wrote", n, err, len(rows))
			}
			lo, hi, err := tx.IDRange(ctx, "calls")
			if lo != 1 || hi != int64(len(rows)) {
				t.Errorf("ids %d..%d, want 1..%d", lo, hi, len(rows))
			}
			if err != nil {
				return err
			}
			return tx.Scan(ctx, "calls", []string{"id", "call_id", "start", "end", "direction", "cost"}, nil, func(r Scanner) error {
				var id, start, end int64
				var callID, dir string
				var cost float64
				if err := r.Scan(&id, &callID, &start, &end, &dir, &cost); err != nil {
					return err
				}
				if want := rows[id-1]; callID != want[0] || start != want[1] || end != want[2] || dir != want[3] || cost != want[4] {
					t.Errorf("row %d: %v %v %v %v %v, want %v", id, callID, start, end, dir, cost, want)
				}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		if db.Revision() != 0 {
			t.Fatalf("appending moved the revision to %d", db.Revision())
		}
		if err := db.AppendState(ctx, "calls", cols, rows[:1]); err != nil {
			t.Fatal(err)
		}
		err = db.Read(ctx, func(tx *Tx) error {
			_, hi, err := tx.IDRange(ctx, "calls")
			if hi != int64(len(rows))+1 {
				t.Errorf("next id %d, want %d (the failed batch gave its ids back)", hi, len(rows)+1)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// Eight transactions that each hold one of the pool's eight connections
// and then run a statement nobody has prepared yet: preparing needs a
// connection of its own, so if they waited for it (and for one another)
// the store hung for good (found by eight first logins at once).
func TestFirstStatementsInFullPoolDoNotHang(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "pool.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 8 // the pool's size
	var holding sync.WaitGroup
	holding.Add(n)
	errs := make(chan error, n)
	for range n {
		go func() {
			errs <- db.Read(ctx, func(tx *Tx) error {
				holding.Done()
				holding.Wait() // every connection is held now
				_, err := tx.List(ctx, "phones", Query{})
				return err
			})
		}()
	}
	for range n {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			t.Fatal("transactions holding every connection hung on their first statement")
		}
	}
}
