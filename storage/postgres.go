package storage

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
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

// appendRowsPerStatement bounds a multi-row INSERT (PostgreSQL takes at
// most 65,535 parameters in one statement).
const appendRowsPerStatement = 500

// appendStatePostgres is AppendState on PostgreSQL: the rows go in
// multi-row INSERTs, a round trip per appendRowsPerStatement rows rather
// than per row (a row per round trip cost the store more CPU than the
// call it records), with ids claimed once for the whole batch. No writer
// lock: appends of several hosts queue only on the table's row of
// sipswitch_sequence, for the length of their transaction.
func (db *DB) appendStatePostgres(ctx context.Context, table string, cols []string, rows [][]any, keyCol string) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	stx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("append to %s: begin: %w", table, err)
	}
	defer stx.Rollback()
	tx := &Tx{tx: stx, db: db, write: true}
	if err := tx.checkTable(table); err != nil {
		return 0, err
	}
	quoted := make([]string, 0, len(cols)+1)
	for _, c := range cols {
		if err := tx.checkCol(table, c); err != nil {
			return 0, err
		}
		quoted = append(quoted, quote(c))
	}
	idCol := db.identity[table]
	var nextID int64
	if idCol != "" && !slices.Contains(cols, idCol) {
		if nextID, err = tx.claimID(ctx, table, idCol); err != nil {
			return 0, err
		}
		quoted = append(quoted, quote(idCol))
	}
	head := "INSERT INTO " + quote(table) + " (" + strings.Join(quoted, ",") + ") VALUES "
	tail := skipConflict(keyCol)
	var inserted int64
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?,", len(quoted)), ",") + ")"
	lastID := nextID - 1
	for start := 0; start < len(rows); start += appendRowsPerStatement {
		chunk := rows[start:min(start+appendRowsPerStatement, len(rows))]
		args := make([]any, 0, len(chunk)*len(quoted))
		tuples := make([]string, len(chunk))
		for i, r := range chunk {
			if len(r) != len(cols) {
				return 0, fmt.Errorf("append to %s: a row of %d values for %d columns", table, len(r), len(cols))
			}
			args = append(args, r...)
			if nextID > 0 {
				lastID++
				args = append(args, lastID)
			}
			tuples[i] = tuple
		}
		res, err := stx.ExecContext(ctx, db.dialect.rebind(head+strings.Join(tuples, ",")+tail), args...)
		if err != nil {
			if isUniqueViolation(err) {
				return 0, fmt.Errorf("append to %s: %w", table, ErrConflict)
			}
			return 0, fmt.Errorf("append to %s: %w", table, err)
		}
		if n, err := res.RowsAffected(); err == nil {
			inserted += n
		}
	}
	if nextID > 0 {
		if err := tx.recordID(ctx, table, lastID); err != nil {
			return 0, err
		}
	}
	if err := stx.Commit(); err != nil {
		return 0, fmt.Errorf("append to %s: commit: %w", table, err)
	}
	return inserted, nil
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
