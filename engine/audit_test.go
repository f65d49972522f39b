package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

func auditRows(t *testing.T, s *engine.Service, filters engine.Values) []map[string]any {
	t.Helper()
	rows, _, err := s.List(context.Background(), engine.SystemActor(), s.Kinds()["audit"], engine.ListOptions{Filters: filters})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// Writes from the host's shell (an import's batch, a rate deck, a new
// user) are audited as the command line's; a batch's dry run, rolled
// back, leaves nothing.
func TestAuditOfCommandLineWrites(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := batchService(t, dsn)
		items := []engine.BatchItem{
			{Module: "peers", Input: engine.Values{"name": "carrier-a", "type": "sip", "destination": "192.0.2.1", "password": "carrier-s3cret"}},
			{Module: "phones", Input: engine.Values{"name": "2001", "password": "line-s3cret-1"}},
		}
		if _, err := s.CreateBatch(ctx, engine.SystemActor(), items, true); err != nil {
			t.Fatal(err)
		}
		if rows := auditRows(t, s, nil); len(rows) != 0 {
			t.Fatalf("a dry run left audit rows: %v", rows)
		}
		if _, err := s.CreateBatch(ctx, engine.SystemActor(), items, false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ImportCosts(ctx, engine.SystemActor(), 1, strings.NewReader("called_prefix,cost\n44,0.01\n33,0.02\n"), true); err != nil {
			t.Fatal(err)
		}
		rows := auditRows(t, s, engine.Values{"via": "cli"})
		got := make([]string, len(rows))
		for i, r := range rows {
			got[i] = fmt.Sprint(r["username"], " ", r["function"], " ", r["object"], " ", r["changes"])
		}
		want := []string{
			"(cli) peers/create peers/1 map[destination:192.0.2.1 name:carrier-a password:(changed) type:sip]",
			"(cli) phones/create phones/2001 map[customer:1 name:2001 password:(changed)]",
			"(cli) peers/costs/import peers/1 map[replace:1 rows:2]",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("audit rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// PruneAudit bounds the log's growth: rows older than the cut go, newer
// ones stay, and the revision does not move.
func TestPruneAudit(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := batchService(t, dsn)
		now := time.Now()
		var rows [][]any
		for _, age := range []time.Duration{400 * 24 * time.Hour, 366 * 24 * time.Hour, 364 * 24 * time.Hour, time.Hour} {
			rows = append(rows, []any{now.Add(-age).Unix(), "admin", int64(1), "phones/create", "phones/" + age.String()})
		}
		if err := s.DB().AppendState(ctx, "audit", []string{"time", "username", "customer", "function", "object"}, rows); err != nil {
			t.Fatal(err)
		}
		rev := s.DB().Revision()
		n, err := s.PruneAudit(ctx, now.Add(-365*24*time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("pruned %d rows (%v), want 2", n, err)
		}
		left := auditRows(t, s, nil)
		if len(left) != 2 || left[0]["object"] != "phones/8736h0m0s" || left[1]["object"] != "phones/1h0m0s" {
			t.Fatalf("left: %v", left)
		}
		if s.DB().Revision() != rev {
			t.Fatal("pruning moved the store revision")
		}
	})
}

// PruneState deletes in batches and refuses tables and columns the
// schema lacks.
func TestPruneStateRefusesUnknownNames(t *testing.T) {
	s := batchService(t, storagetest.SQLite(t))
	for _, c := range []struct {
		table, col string
		want       error
	}{{"no_such_table", "time", storage.ErrNoSuchTbl}, {"audit", "no_such_col", storage.ErrNoSuchCol}} {
		if _, err := s.DB().PruneState(context.Background(), c.table, c.col, 1); !errors.Is(err, c.want) {
			t.Errorf("PruneState(%s, %s): %v, want %v", c.table, c.col, err, c.want)
		}
	}
}
