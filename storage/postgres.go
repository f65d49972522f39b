package storage

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// openPostgres opens the PostgreSQL database dsn names through pgx's
// database/sql driver, so every statement of this package runs on one
// code path whichever engine holds the store. A search_path parameter in
// the URL selects the schema (tests give each their own).
func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	sqldb, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", RedactDSN(dsn), err)
	}
	// The API's writes are serialized on the revision row anyway; a
	// small pool serves the reads and the call records beside them
	// without taking a PostgreSQL backend per goroutine.
	sqldb.SetMaxOpenConns(16)
	sqldb.SetMaxIdleConns(8)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db := newDB(sqldb, dsn, postgresDialect)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqldb.PingContext(pingCtx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open %s: %w", RedactDSN(dsn), err)
	}
	return db, nil
}

// RedactDSN masks the password of a postgres:// URL so the address can be
// logged; a SQLite path comes back as it is.
func RedactDSN(dsn string) string {
	if !IsPostgresDSN(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Ids on PostgreSQL. SQLite's AUTOINCREMENT keeps the highest id a table
// ever handed out in sqlite_sequence, inside the writing transaction: a
// rolled-back insert (validation=1's dry run) gives its id back, and the
// next row gets the same one. A PostgreSQL sequence would burn it, so the
// two engines would number the same objects differently. PostgreSQL's ids
// are therefore counted the way SQLite counts them, in a table of its
// own, sipswitch_sequence, updated in the inserting transaction. Config
// writes are serialized on the revision row anyway; concurrent appends of
// call records from several hosts queue on the calls row for the length
// of one batch's transaction.

// claimID takes the next id of table: one more than both the highest it
// handed out and the highest id in the table (rows a migration inserted
// with their ids). The row lock it takes is held to the end of the
// transaction.
func (tx *Tx) claimID(ctx context.Context, table, idCol string) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `INSERT INTO sipswitch_sequence(name, seq) VALUES (?, (SELECT COALESCE(max(`+quote(idCol)+`), 0) FROM `+quote(table)+`) + 1)
		ON CONFLICT (name) DO UPDATE SET seq = GREATEST(sipswitch_sequence.seq + 1, excluded.seq) RETURNING seq`, table).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("next id of %s: %w", table, err)
	}
	return id, nil
}

// recordID notes that table holds id, given explicitly, so that ids
// claimed later are above it even once its row is deleted.
func (tx *Tx) recordID(ctx context.Context, table string, id int64) error {
	if _, err := tx.exec(ctx, `INSERT INTO sipswitch_sequence(name, seq) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET seq = GREATEST(sipswitch_sequence.seq, excluded.seq)`, table, id); err != nil {
		return fmt.Errorf("record id of %s: %w", table, err)
	}
	return nil
}

// insertPostgres inserts rec into table, claiming its id when rec has
// none, and returns the id (0 for tables without one).
func (tx *Tx) insertPostgres(ctx context.Context, table string, rec Record) (int64, error) {
	idCol := tx.db.identity[table]
	var id int64
	if idCol != "" {
		if v, given := rec[idCol]; given {
			n, ok := asInt64(v)
			if !ok {
				return 0, fmt.Errorf("insert %s: %s %v is not an integer", table, idCol, v)
			}
			if err := tx.recordID(ctx, table, n); err != nil {
				return 0, err
			}
			id = n
		} else {
			var err error
			if id, err = tx.claimID(ctx, table, idCol); err != nil {
				return 0, err
			}
			withID := make(Record, len(rec)+1)
			for k, v := range rec {
				withID[k] = v
			}
			withID[idCol] = id
			rec = withID
		}
	}
	stmt, args, err := tx.insertStatement(table, rec)
	if err != nil {
		return 0, err
	}
	if _, err := tx.exec(ctx, stmt, args...); err != nil {
		if isUniqueViolation(err) {
			return 0, fmt.Errorf("insert %s: %w", table, ErrConflict)
		}
		return 0, fmt.Errorf("insert %s: %w", table, err)
	}
	return id, nil
}

func asInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		return i, err == nil
	}
	return 0, false
}
