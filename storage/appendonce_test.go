package storage

import (
	"context"
	"fmt"
	"math/bits"
	"testing"

	"github.com/sipswitch/sipswitch/storage/storagetest"
)

// A batch of call records written twice (a retried commit whose outcome
// was unknown, a journal replayed after a crash) is stored once: rows are
// keyed by record_key, and only the unseen ones go in. A row breaking
// another rule still fails the batch (ON CONFLICT names the key, unlike
// INSERT OR IGNORE), and rows without a key (NULL) are never skipped.
func TestAppendStateOnceSkipsKnownKeys(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openTemp(t, dsn)
		cols := []string{"call_id", "start", "end", "direction", "record_key"}
		rows := make([][]any, 700) // several statements, of several sizes
		for i := range rows {
			rows[i] = []any{"same-call-id", int64(1000 + i), int64(1005 + i), "outbound", fmt.Sprint("k-", i)}
		}
		if n, err := db.AppendStateOnce(ctx, "calls", cols, rows[:400], "record_key"); err != nil || n != 400 {
			t.Fatalf("first batch: %d inserted (%v), want 400", n, err)
		}
		n, err := db.AppendStateOnce(ctx, "calls", cols, rows, "record_key")
		if err != nil || n != 300 {
			t.Fatalf("the batch again with 300 more: %d inserted (%v), want 300", n, err)
		}
		noKey := [][]any{{"x", int64(1), int64(2), "outbound", nil}, {"x", int64(1), int64(2), "outbound", nil}}
		if n, err := db.AppendStateOnce(ctx, "calls", cols, noKey, "record_key"); err != nil || n != 2 {
			t.Fatalf("rows without a key: %d inserted (%v), want 2", n, err)
		}
		bad := [][]any{{"ok", int64(1), int64(2), "outbound", "k-new"}, {"bad", nil, int64(2), "outbound", "k-bad"}}
		if _, err := db.AppendStateOnce(ctx, "calls", cols, bad, "record_key"); err == nil {
			t.Fatal("a row with a NULL start was skipped instead of failing the batch")
		}
		if err := db.AppendState(ctx, "calls", cols, rows[:1]); err == nil {
			t.Fatal("AppendState stored a second row with a known record_key")
		}
		if _, err := db.AppendStateOnce(ctx, "calls", cols[:4], rows[:1], "record_key"); err == nil {
			t.Fatal("a key column outside the columns was accepted")
		}
		err = db.Read(ctx, func(tx *Tx) error {
			n, err := tx.Count(ctx, "calls")
			if err == nil && n != len(rows)+2 {
				t.Errorf("%d calls stored, want %d", n, len(rows)+2)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// A SQLite append statement takes a power of two rows, at most
// maxAppendRows and within SQLite's parameter limit, so that batches of
// any length share a few prepared statements.
func TestAppendChunk(t *testing.T) {
	for _, c := range []struct{ n, width, want int }{
		{1, 37, 1}, {3, 37, 2}, {maxAppendRows - 1, 37, maxAppendRows / 2}, {1000, 37, maxAppendRows},
		{1000, sqliteMaxParams / 3, 2}, {5, sqliteMaxParams, 1},
	} {
		if got := appendChunk(c.n, c.width); got != c.want {
			t.Errorf("appendChunk(%d, %d) = %d, want %d", c.n, c.width, got, c.want)
		}
	}
	sizes := map[int]bool{}
	for n := 1; n <= 1000; n++ {
		for left := n; left > 0; {
			k := appendChunk(left, 37)
			sizes[k] = true
			left -= k
		}
	}
	if len(sizes) > bits.Len(maxAppendRows) {
		t.Errorf("batches of 1 to 1,000 rows took %d statement sizes", len(sizes))
	}
}
