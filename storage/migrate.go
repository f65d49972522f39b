package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one embedded schema step, applied once, in Version order.
// SQL is written in SQLite's dialect; PostgreSQL runs it translated by
// postgresDDL, or, where the step is SQLite's own procedure (rebuilding a
// table to change a column), the file NNNN_name.postgres.sql beside it.
type Migration struct {
	Version     int
	Name        string
	SQL         string
	PostgresSQL string
}

// Migrations lists the embedded migrations in order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []Migration
	overrides := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if base, ok := strings.CutSuffix(name, ".postgres.sql"); ok {
			body, err := migrationFS.ReadFile("migrations/" + name)
			if err != nil {
				return nil, fmt.Errorf("read migration %s: %w", name, err)
			}
			overrides[base+".sql"] = string(body)
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and '_'", name)
		}
		body, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	for i := range out {
		if o, ok := overrides[out[i].Name]; ok {
			out[i].PostgresSQL = o
		} else {
			out[i].PostgresSQL = postgresDDL(out[i].SQL)
		}
		delete(overrides, out[i].Name)
	}
	for name := range overrides {
		return nil, fmt.Errorf("migration %s.postgres.sql: no %s beside it", strings.TrimSuffix(name, ".sql"), name)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate applies every embedded migration the database has not seen, each
// in its own transaction, and returns the names applied.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	if db.dialect == postgresDialect {
		return db.migratePostgres(ctx)
	}
	if _, err := db.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	migs, err := Migrations()
	if err != nil {
		return nil, err
	}
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	// Rebuilding a table (SQLite's procedure for what ALTER TABLE cannot
	// do) drops it, and a DROP with foreign keys on deletes its rows first,
	// cascading to the children's. So migrations run with foreign keys off
	// and check them before committing. The pragma cannot change inside a
	// transaction, hence this one connection; it must not go back to the
	// pool with the keys off.
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return nil, fmt.Errorf("migrate: foreign keys off: %w", err)
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // discard the connection
		}
	}()
	return db.applyAll(ctx, conn, migs, sqliteDialect)
}

// applyAll applies each of migs the database has not seen, in the
// dialect's text, and re-reads the schema when any ran.
func (db *DB) applyAll(ctx context.Context, conn *sql.Conn, migs []Migration, d dialect) ([]string, error) {
	var applied []string
	for _, m := range migs {
		body := m.SQL
		if d == postgresDialect {
			body = m.PostgresSQL
		}
		done, err := applyMigration(ctx, conn, m, body, d)
		if err != nil {
			return applied, fmt.Errorf("migrate %s: %w", m.Name, err)
		}
		if done {
			applied = append(applied, m.Name)
		}
	}
	if len(applied) > 0 {
		if err := db.loadColumns(ctx); err != nil {
			return applied, err
		}
	}
	return applied, nil
}

// applyMigration runs m unless the database has it, and reports whether it
// ran.
func applyMigration(ctx context.Context, conn *sql.Conn, m Migration, body string, d dialect) (bool, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, d.rebind(`SELECT count(*) FROM schema_migrations WHERE version = ?`), m.Version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return false, err
	}
	// PostgreSQL checks foreign keys as each statement runs.
	if d == sqliteDialect {
		if err := checkForeignKeys(ctx, tx); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO schema_migrations(version, name) VALUES (?, ?)`), m.Version, m.Name); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// checkForeignKeys fails when any row points at a row that does not exist,
// what foreign keys would have refused had they been on.
func checkForeignKeys(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return fmt.Errorf("foreign key check: %w", err)
		}
		return fmt.Errorf("row %d of %s refers to a missing row of %s", rowid.Int64, table, parent)
	}
	return rows.Err()
}

// migratePostgres applies the migrations on PostgreSQL. Several hosts may
// start at once on one store: a session advisory lock keyed by the schema
// lets one of them migrate while the others wait, then find nothing left.
func (db *DB) migratePostgres(ctx context.Context) ([]string, error) {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtext('sipswitch migrate ' || current_schema()))`); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('sipswitch migrate ' || current_schema()))`)
	// SQLite's COLLATE NOCASE (postgresDDL): ICU, case-insensitive,
	// nondeterministic so that equal-but-for-case names collide in
	// unique indexes.
	if _, err := conn.ExecContext(ctx, `CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`); err != nil {
		return nil, fmt.Errorf("migrate: collation nocase: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	// SQLite's sqlite_sequence, for PostgreSQL (postgres.go).
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS sipswitch_sequence (name TEXT PRIMARY KEY, seq BIGINT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	migs, err := Migrations()
	if err != nil {
		return nil, err
	}
	return db.applyAll(ctx, conn, migs, postgresDialect)
}
