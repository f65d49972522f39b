package storage

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/storage/storagetest"
)

// idTables are the tables whose integer ids the APIs expose, with the
// column that holds the id.
var idTables = map[string]string{
	"customers": "id", "users": "id", "timegroups": "id", "timeperiods": "id", "plans": "id",
	"plan_routes": "id", "peers": "id", "peer_costs": "id", "phones": "id", "sip_endpoints": "object_id",
}

// A client holding a deleted peer's id must never reach the peer created
// after it: SQLite reuses the highest rowid unless the table says
// AUTOINCREMENT.
func TestDeletedIDsAreNeverReused(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openTemp(t, dsn)
		insertPeer := func(name string) int64 {
			t.Helper()
			var id int64
			if _, err := db.Write(ctx, func(tx *Tx) error {
				var err error
				id, err = tx.Insert(ctx, "peers", Record{"name": name, "type": "sip"})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return id
		}
		insertPeer("keep")
		old := insertPeer("doomed")
		if _, err := db.Write(ctx, func(tx *Tx) error { return tx.Delete(ctx, "peers", "id", old) }); err != nil {
			t.Fatal(err)
		}
		if id := insertPeer("newcomer"); id <= old {
			t.Fatalf("new peer got id %d, the deleted peer's was %d", id, old)
		}
		for table, col := range idTables {
			if db.Backend() == "postgres" {
				if db.identity[table] != col {
					t.Errorf("%s: identity column %q, want %q", table, db.identity[table], col)
				}
				continue
			}
			var ddl string
			if err := db.sql.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type='table' AND name=?`, table).Scan(&ddl); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(ddl, "AUTOINCREMENT") {
				t.Errorf("%s reuses ids: %s", table, ddl)
			}
		}
	})
}

// openAt0002 makes a database as sipswitch left it before migration 0003,
// with rows, ids with gaps, and children of every parent.
func openAt0002(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	migs, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`}
	for _, m := range migs {
		if m.Version <= 2 {
			stmts = append(stmts, m.SQL, fmt.Sprintf(`INSERT INTO schema_migrations VALUES (%d, '%s')`, m.Version, m.Name))
		}
	}
	stmts = append(stmts,
		`UPDATE meta SET value = 41 WHERE key = 'revision'`,
		`INSERT INTO customers (id, parent, name) VALUES (1, 0, 'System'), (6, 1, 'Tenant')`,
		`INSERT INTO users (id, username, password_hash, role, customer) VALUES (1, 'admin', 'x', 'system', 1), (3, 'tenant', 'y', 'administrator', 6)`,
		`INSERT INTO timegroups (id, name, customer) VALUES (2, 'office', 6)`,
		`INSERT INTO timeperiods (id, timegroup, starthour) VALUES (8, 2, 9)`,
		`INSERT INTO plans (id, name, customer, cos_timegroup) VALUES (1, 'Retail', 1, 0), (5, 'Tenant', 6, 2)`,
		`INSERT INTO plan_routes (id, plan, called_prefix, peer1) VALUES (7, 5, '44', 9), (11, 1, '', 3)`,
		`INSERT INTO peers (id, name, type, destination) VALUES (3, 'carrier-a', 'sip', 'a.example'), (9, 'carrier-b', 'pjsip', 'b.example')`,
		`INSERT INTO peer_costs (id, peer, called_prefix, cost) VALUES (12, 9, '44', 0.5), (13, 3, '1', 0.25)`,
		`INSERT INTO phones (id, name, password, customer, plan) VALUES (4, '2001', 'secret-2001', 6, 5)`,
		`INSERT INTO sip_endpoints (object_id, name, secret) VALUES (10, 'gw-one', 'gw-secret')`,
		`INSERT INTO registrations (phone, contact, data, expires_at) VALUES ('2001', 'sip:2001@192.0.2.1', '{}', 99)`,
	)
	for _, s := range stmts {
		if _, err := raw.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestMigrationFrom0002KeepsRowsIDsAndKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	openAt0002(t, path)
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	want := map[string][]int64{
		"customers": {1, 6}, "users": {1, 3}, "timegroups": {2}, "timeperiods": {8}, "plans": {1, 5},
		"plan_routes": {7, 11}, "peers": {3, 9}, "peer_costs": {12, 13}, "phones": {4}, "sip_endpoints": {10},
	}
	for table, ids := range want {
		col := idTables[table]
		var got []int64
		rows, err := db.sql.QueryContext(ctx, `SELECT "`+col+`" FROM `+table+` ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			got = append(got, id)
		}
		rows.Close()
		if !slices.Equal(got, ids) {
			t.Errorf("%s ids after the migration: %v, want %v", table, got, ids)
		}
		var seq int64
		if err := db.sql.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = ?`, table).Scan(&seq); err != nil || seq != ids[len(ids)-1] {
			t.Errorf("%s: sqlite_sequence %d (%v), want the highest id %d", table, seq, err, ids[len(ids)-1])
		}
	}
	err = db.Read(ctx, func(tx *Tx) error {
		rec, err := tx.Get(ctx, "phones", "name", "2001")
		if err != nil || rec["password"] != "secret-2001" || rec["plan"] != int64(5) {
			t.Errorf("phone after the migration: %v %v", rec, err)
		}
		rec, err = tx.Get(ctx, "sip_endpoints", "object_id", 10)
		if err != nil || rec["secret"] != "gw-secret" || rec["session-expires"] != int64(1800) {
			t.Errorf("SIP endpoint after the migration: %v %v", rec, err)
		}
		if n, err := tx.Count(ctx, "registrations"); err != nil || n != 1 {
			t.Errorf("registrations: %d %v", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if db.Revision() != 41 {
		t.Errorf("revision %d, want 41", db.Revision())
	}
	var indexes []string
	rows, err := db.sql.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		indexes = append(indexes, n)
	}
	rows.Close()
	// The rebuilt tables keep their indexes (later migrations add more).
	for _, want := range []string{"customers_parent", "peer_costs_peer_prefix", "phones_customer", "timeperiods_timegroup"} {
		if !slices.Contains(indexes, want) {
			t.Errorf("index %s lost in the migration; indexes: %s", want, strings.Join(indexes, " "))
		}
	}

	// New rows get ids above the old highest; foreign keys are on again on
	// every connection, point at the rebuilt parents and still cascade.
	_, err = db.Write(ctx, func(tx *Tx) error {
		id, err := tx.Insert(ctx, "peers", Record{"name": "carrier-c", "type": "sip"})
		if err != nil || id != 10 {
			t.Errorf("new peer id %d (%v), want 10", id, err)
		}
		if _, err := tx.Insert(ctx, "plan_routes", Record{"plan": 999, "called_prefix": "1"}); err == nil {
			t.Error("a route of a missing plan was stored: foreign keys are off")
		}
		if err := tx.Delete(ctx, "plan_routes", "peer1", 9); err != nil {
			return err
		}
		if err := tx.Delete(ctx, "peers", "id", 9); err != nil {
			return err
		}
		if n, err := tx.Count(ctx, "peer_costs", Cond{Col: "peer", Op: "=", Val: 9}); err != nil || n != 0 {
			t.Errorf("peer 9's costs after its delete: %d %v (ON DELETE CASCADE lost)", n, err)
		}
		if n, err := tx.Count(ctx, "peer_costs"); err != nil || n != 1 {
			t.Errorf("peer costs: %d %v", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]*sql.Conn, 0, 8)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 8 { // every connection of the pool, the migration's among them
		c, err := db.sql.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var fk int
		if err := c.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
			t.Fatalf("connection %d: foreign_keys = %d (%v)", i, fk, err)
		}
	}
}

// A migration that would leave a row pointing nowhere is rolled back.
func TestMigrationLeavingDanglingKeysIsRolledBack(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t, storagetest.SQLite(t))
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`)
	defer conn.ExecContext(ctx, `PRAGMA foreign_keys = ON`)
	bad := Migration{Version: 999, Name: "0999_bad.sql", SQL: `INSERT INTO plans (id, name) VALUES (1, 'p'); INSERT INTO plan_routes (plan, called_prefix) VALUES (77, '1');`}
	if _, err := applyMigration(ctx, conn, bad, bad.SQL, sqliteDialect); err == nil || !strings.Contains(err.Error(), "plan_routes") {
		t.Fatalf("dangling key: %v", err)
	}
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM plans`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rolled-back migration left %d plans (%v)", n, err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = 999`).Scan(&n); err != nil || n != 0 {
		t.Fatal("rolled-back migration recorded as applied")
	}
}
