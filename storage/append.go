package storage

import (
	"context"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
)

// Run-time state appended in bulk (call records, audit lines) goes in
// few statements of many rows each, so that what a statement costs apart
// from its rows (database/sql's and the driver's work per call, SQLite's
// VDBE start and reset, a PostgreSQL round trip, planning) is paid once
// per chunk rather than once per row: at a thousand call records a
// second a statement per row was most of what committing them cost. What
// is stored, the skipping of known keys and the all-or-none of a batch
// are the same either way.
//
// SQLite takes multi-row INSERTs (appendValues) of a power of two rows
// each (appendChunk), so that a batch of any length is written with a
// few statement texts per table and column list, each built once
// (appendText) and prepared once (the statement cache). PostgreSQL takes
// each column as one array parameter (appendArrays), a text per column
// list whatever the rows.

// maxAppendRows bounds the rows of one SQLite statement: larger ones
// save little more per row, and SQLite holds each prepared size's
// program, which grows with its rows, on every connection that ran it.
const maxAppendRows = 64

// sqliteMaxParams is the most parameters a SQLite statement takes
// (SQLITE_MAX_VARIABLE_NUMBER, 32,766 since 3.32).
const sqliteMaxParams = 32766

// appendChunk is how many of n rows left, of width values each, the next
// statement takes: the largest power of two at most n, maxAppendRows and
// what SQLite's parameter limit allows.
func appendChunk(n, width int) int {
	most := min(n, maxAppendRows, sqliteMaxParams/max(width, 1))
	return 1 << (bits.Len(uint(most)) - 1)
}

// appendTextKey names a multi-row INSERT's text: its start (table and
// columns), its end (a conflict clause) and its rows.
type appendTextKey struct {
	head, tail string
	width      int
	rows       int
}

// appendText returns the INSERT of rows tuples of width parameters
// between head and tail, built once.
func (db *DB) appendText(head, tail string, width, rows int) string {
	k := appendTextKey{head: head, tail: tail, width: width, rows: rows}
	db.stmtMu.Lock()
	text, ok := db.appendTexts[k]
	db.stmtMu.Unlock()
	if ok {
		return text
	}
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?,", width), ",") + ")"
	text = head + strings.TrimSuffix(strings.Repeat(tuple+",", rows), ",") + tail
	db.stmtMu.Lock()
	// Bounded as the statement cache is: the texts are few (a table's
	// column lists times the powers of two up to maxAppendRows).
	if len(db.appendTexts) < maxCachedStmts {
		db.appendTexts[k] = text
	}
	db.stmtMu.Unlock()
	return text
}

// AppendState inserts rows of cols into table in one transaction, as
// run-time state: serialized with other writes, but the store revision
// does not move (call records wake no renderer). All rows or none.
func (db *DB) AppendState(ctx context.Context, table string, cols []string, rows [][]any) error {
	_, err := db.appendState(ctx, table, cols, rows, "")
	return err
}

// AppendStateOnce is AppendState for rows that carry their own unique
// key in keyCol (a column with a unique index): a row whose key the table
// holds already is skipped, so that rows written twice (a batch retried
// after a commit whose outcome was unknown, a journal replayed after a
// crash) are stored once. It returns how many rows were new. A row whose
// key is NULL is always new. Any other refusal of a row (a NULL in a NOT
// NULL column) fails the whole batch, which stays the caller's to retry.
func (db *DB) AppendStateOnce(ctx context.Context, table string, cols []string, rows [][]any, keyCol string) (int64, error) {
	if !slices.Contains(cols, keyCol) {
		return 0, fmt.Errorf("append to %s: key column %q is not among the columns", table, keyCol)
	}
	return db.appendState(ctx, table, cols, rows, keyCol)
}

// appendState is AppendState, skipping rows whose keyCol collides when
// keyCol is set; it returns the rows inserted. SQLite's appends hold the
// writer lock; PostgreSQL's take none: appends of several hosts queue
// only on the table's row of sipswitch_sequence, for the length of their
// transaction.
func (db *DB) appendState(ctx context.Context, table string, cols []string, rows [][]any, keyCol string) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	for _, r := range rows {
		if len(r) != len(cols) {
			return 0, fmt.Errorf("append to %s: a row of %d values for %d columns", table, len(r), len(cols))
		}
	}
	if db.dialect != postgresDialect {
		db.writeMu.Lock()
		defer db.writeMu.Unlock()
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
	for _, c := range cols {
		if err := tx.checkCol(table, c); err != nil {
			return 0, err
		}
	}
	var inserted int64
	if db.dialect == postgresDialect {
		inserted, err = tx.appendArrays(ctx, table, cols, rows, skipConflict(keyCol))
	} else {
		inserted, err = tx.appendValues(ctx, table, cols, rows, skipConflict(keyCol))
	}
	if err != nil {
		if isUniqueViolation(err) {
			return 0, fmt.Errorf("append to %s: %w", table, ErrConflict)
		}
		return 0, fmt.Errorf("append to %s: %w", table, err)
	}
	if err := stx.Commit(); err != nil {
		return 0, fmt.Errorf("append to %s: commit: %w", table, err)
	}
	return inserted, nil
}

// appendValues inserts rows (checked) on SQLite: multi-row INSERTs of a
// power of two rows each (appendChunk), which tail ends.
//
// The verb is INSERT OR ROLLBACK: a row refused (a NULL in a NOT NULL
// column) ends the whole transaction at once, as the batch's failure
// does anyway. INSERT (OR ABORT) would undo that statement alone, for
// which SQLite keeps a copy of every page a statement of many rows
// changes, a statement journal that spills to a temporary file past 64
// KiB: a fifth of the CPU of a batch. The ON CONFLICT clause of
// AppendStateOnce still skips a known key.
func (tx *Tx) appendValues(ctx context.Context, table string, cols []string, rows [][]any, tail string) (int64, error) {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quote(c)
	}
	head := "INSERT OR ROLLBACK INTO " + quote(table) + " (" + strings.Join(quoted, ",") + ") VALUES "
	width := len(cols)
	args := make([]any, 0, appendChunk(len(rows), width)*width)
	var inserted int64
	for start := 0; start < len(rows); {
		n := appendChunk(len(rows)-start, width)
		args = args[:0]
		for _, r := range rows[start : start+n] {
			args = append(args, r...)
		}
		res, err := tx.exec(ctx, tx.db.appendText(head, tail, width, n), args...)
		if err != nil {
			return 0, err
		}
		if k, err := res.RowsAffected(); err == nil {
			inserted += k
		}
		start += n
	}
	return inserted, nil
}

// maxArrayRows bounds the rows of one PostgreSQL append statement, and
// so the size of its message.
const maxArrayRows = 8192

// appendArrays inserts rows (checked) on PostgreSQL: one statement per
// maxArrayRows rows, whose parameters are the columns, each an array
// (columnArray) cast to the column's type and unnested by the server
// into rows. The statement's text depends on the columns alone: pgx
// prepares it once per connection, and encodes a column's values with
// one plan, where a multi-row INSERT's parameter each was planned and
// encoded on its own (half the CPU a batch cost the switch). A table
// whose rows the storage layer numbers (postgres.go) gets the ids of the
// whole batch claimed at once, given in the rows' order.
func (tx *Tx) appendArrays(ctx context.Context, table string, cols []string, rows [][]any, tail string) (int64, error) {
	types := tx.db.pgTypes[table]
	target := make([]string, 0, len(cols)+1)
	picks := make([]string, 0, len(cols)+1)
	arrays := make([]string, 0, len(cols))
	names := make([]string, 0, len(cols)+1)
	for i, c := range cols {
		typ := types[c]
		if typ == "" {
			return 0, fmt.Errorf("the type of %s.%s is unknown", table, c)
		}
		target = append(target, quote(c))
		name := "c" + strconv.Itoa(i+1)
		picks = append(picks, "u."+name)
		arrays = append(arrays, "$"+strconv.Itoa(i+1)+"::"+typ+"[]")
		names = append(names, name)
	}
	idCol := tx.db.identity[table]
	numbered := idCol != "" && !slices.Contains(cols, idCol)
	if numbered {
		// The first id of the statement is its last parameter.
		target = append(target, quote(idCol))
		picks = append(picks, "$"+strconv.Itoa(len(cols)+1)+"::bigint + u.ord - 1")
	}
	names = append(names, "ord")
	stmt := "INSERT INTO " + quote(table) + " (" + strings.Join(target, ",") + ") SELECT " + strings.Join(picks, ",") +
		" FROM unnest(" + strings.Join(arrays, ",") + ") WITH ORDINALITY AS u(" + strings.Join(names, ",") + ")" + tail
	var nextID int64
	if numbered {
		var err error
		if nextID, err = tx.claimID(ctx, table, idCol); err != nil {
			return 0, err
		}
	}
	args := make([]any, len(cols), len(cols)+1)
	var inserted int64
	for start := 0; start < len(rows); start += maxArrayRows {
		chunk := rows[start:min(start+maxArrayRows, len(rows))]
		for i := range cols {
			args[i] = columnArray{rows: chunk, col: i}
		}
		if numbered {
			args = append(args[:len(cols)], nextID+int64(start))
		}
		res, err := tx.tx.ExecContext(ctx, stmt, args...)
		if err != nil {
			return 0, err
		}
		if k, err := res.RowsAffected(); err == nil {
			inserted += k
		}
	}
	if numbered {
		if err := tx.recordID(ctx, table, nextID+int64(len(rows))-1); err != nil {
			return 0, err
		}
	}
	return inserted, nil
}

// columnArray is one column of rows as a PostgreSQL array parameter
// (pgtype.ArrayGetter): its elements are the rows' values as they are,
// nil a NULL.
type columnArray struct {
	rows [][]any
	col  int
}

func (a columnArray) Dimensions() []pgtype.ArrayDimension {
	return []pgtype.ArrayDimension{{Length: int32(len(a.rows)), LowerBound: 1}}
}

func (a columnArray) Index(i int) any { return a.rows[i][a.col] }

// IndexType is the column's first value that is not NULL (nil when all
// are), for pgx to plan the elements' encoding by.
func (a columnArray) IndexType() any {
	for _, r := range a.rows {
		if v := r[a.col]; v != nil {
			return v
		}
	}
	return nil
}
