package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/storage/storagetest"
)

func postgresOnly(t *testing.T) string {
	t.Helper()
	for _, b := range storagetest.Backends() {
		if b.Name == "postgres" {
			return b.DSN(t)
		}
	}
	t.Skip("SIPSWITCH_TEST_POSTGRES=off")
	return ""
}

func TestRebindLeavesQuotedQuestionMarks(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT a FROM t WHERE b=? AND c=?`, `SELECT a FROM t WHERE b=$1 AND c=$2`},
		{`SELECT '?' , "x?" FROM t WHERE b=?`, `SELECT '?' , "x?" FROM t WHERE b=$1`},
		{`SELECT 1`, `SELECT 1`},
	} {
		if got := postgresDialect.rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := sqliteDialect.rebind(tc.in); got != tc.in {
			t.Errorf("sqlite rebind changed %q to %q", tc.in, got)
		}
	}
}

func TestRedactDSNHidesPassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://switch:s3cret@db.example:5432/switch",
		"postgresql://db.example/switch?user=switch&password=s3cret",
	} {
		if got := RedactDSN(dsn); got == dsn || strings.Contains(got, "s3cret") {
			t.Errorf("RedactDSN(%q) = %q", dsn, got)
		}
	}
	if got := RedactDSN("/var/lib/sipswitch/sipswitch.db"); got != "/var/lib/sipswitch/sipswitch.db" {
		t.Errorf("SQLite path changed: %q", got)
	}
}

// Rows given their ids (the root customer, the built-in class of
// service) must not make PostgreSQL hand the same id out again.
func TestPostgresExplicitIDsAreNotHandedOutAgain(t *testing.T) {
	dsn := postgresOnly(t)
	ctx := context.Background()
	db := openTemp(t, dsn)
	var ids []int64
	_, err := db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.Insert(ctx, "customers", Record{"id": int64(7), "name": "given"}); err != nil {
			return err
		}
		id, err := tx.Insert(ctx, "customers", Record{"name": "next"})
		ids = append(ids, id)
		if err != nil {
			return err
		}
		id, err = tx.Insert(ctx, "cos", Record{"name": "first made"})
		ids = append(ids, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] != 8 || ids[1] != 2 {
		t.Fatalf("ids after explicit ones: customer %d (want 8), class of service %d (want 2, 1 is built in)", ids[0], ids[1])
	}
}

// Two hosts on one store: writers on both are serialized on the revision
// (no write lost, revisions dense), and each host's Changed fires for the
// other's commits through LISTEN/NOTIFY.
func TestPostgresHostsShareRevisionAndWakeEachOther(t *testing.T) {
	dsn := postgresOnly(t)
	ctx := context.Background()
	a, b := openTemp(t, dsn), openTemp(t, dsn)
	woke := b.Changed()
	rev, err := a.Write(ctx, func(tx *Tx) error {
		_, err := tx.Insert(ctx, "customers", Record{"name": "from a"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-woke:
	case <-time.After(10 * time.Second):
		t.Fatal("host b never heard of host a's commit")
	}
	if b.Revision() < rev {
		t.Fatalf("b woke at revision %d, a committed %d", b.Revision(), rev)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		db := a
		if i%2 == 1 {
			db = b
		}
		wg.Go(func() {
			if _, err := db.Write(ctx, func(tx *Tx) error {
				_, err := tx.Insert(ctx, "customers", Record{"name": fmt.Sprintf("c%d", i)})
				return err
			}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var final int64
	err = a.Read(ctx, func(tx *Tx) error {
		var err error
		final, err = tx.Revision(ctx)
		if n, cerr := tx.Count(ctx, "customers"); cerr != nil || n != 21 {
			t.Errorf("customers %d (%v), want 21", n, cerr)
		}
		return err
	})
	if err != nil || final != rev+20 {
		t.Fatalf("revision %d (%v), want %d", final, err, rev+20)
	}
}

// Three hosts starting at once on an empty schema: one migrates, the
// others wait for it and find nothing left to do.
func TestPostgresConcurrentOpenMigratesOnce(t *testing.T) {
	dsn := postgresOnly(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			db, err := Open(ctx, dsn)
			if err != nil {
				errs <- err
				return
			}
			db.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	db := openTemp(t, dsn)
	err := db.Read(ctx, func(tx *Tx) error {
		n, err := tx.Count(ctx, "cos")
		if n != 1 {
			t.Errorf("built-in classes of service: %d", n)
		}
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}
