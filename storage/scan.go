package storage

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// The typed reads and bulk writes the engine builds snapshots and imports
// with. Every statement is written here from checked table and column
// names, so no package above storage holds SQL.

// Scanner is one row of a streamed read.
type Scanner interface{ Scan(dest ...any) error }

// Scan streams cols of the rows of table matching where, in id order, to
// fn one row at a time: for loads too large to hold as Records (a million
// routes), scanned straight into the caller's structs.
func (tx *Tx) Scan(ctx context.Context, table string, cols []string, where []Cond, fn func(row Scanner) error) error {
	if err := tx.checkTable(table); err != nil {
		return err
	}
	for _, c := range cols {
		if err := tx.checkCol(table, c); err != nil {
			return err
		}
	}
	cond, args, err := tx.where(table, where)
	if err != nil {
		return err
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quote(c)
	}
	stmt := "SELECT " + strings.Join(quoted, ",") + " FROM " + quote(table) + cond
	if tx.db.columns[table]["id"] {
		stmt += " ORDER BY id"
	}
	return tx.queryRows(ctx, stmt, args, fn)
}

// IDRange returns the smallest and largest id of table (0, 0 when empty).
func (tx *Tx) IDRange(ctx context.Context, table string) (lo, hi int64, err error) {
	if err := tx.checkCol(table, "id"); err != nil {
		return 0, 0, err
	}
	var l, h sql.NullInt64
	if err := tx.queryRow(ctx, "SELECT min(id), max(id) FROM "+quote(table)).Scan(&l, &h); err != nil {
		return 0, 0, fmt.Errorf("id range of %s: %w", table, err)
	}
	return l.Int64, h.Int64, nil
}

// Revision is the store revision as this transaction sees it.
func (tx *Tx) Revision(ctx context.Context) (int64, error) {
	var rev int64
	if err := tx.queryRow(ctx, `SELECT value FROM meta WHERE key='revision'`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("read revision: %w", err)
	}
	return rev, nil
}

// NameHolder is a column whose values share one name space with others
// (Asterisk section names of peers, lines and endpoints); Label names the
// kind in answers.
type NameHolder struct{ Table, Column, Label string }

// FirstHolder returns the Label of the first holder that has a row whose
// Column equals name (as the column compares: COLLATE NOCASE columns
// ignore case), or "" when none does. One statement for all holders: it
// runs on every create of a line or peer.
func (tx *Tx) FirstHolder(ctx context.Context, name string, holders []NameHolder) (string, error) {
	var parts []string
	var args []any
	for _, h := range holders {
		if tx.db.columns[h.Table] == nil {
			continue // a table of a later migration
		}
		if err := tx.checkCol(h.Table, h.Column); err != nil {
			return "", err
		}
		parts = append(parts, "SELECT CAST(? AS TEXT) FROM "+quote(h.Table)+" WHERE "+quote(h.Column)+" = ?")
		args = append(args, h.Label, name)
	}
	if len(parts) == 0 {
		return "", nil
	}
	label := ""
	err := tx.queryRows(ctx, strings.Join(parts, " UNION ALL ")+" LIMIT 1", args, func(r Scanner) error { return r.Scan(&label) })
	return label, err
}

// Descendants returns the ids of the tree of table below and including
// root, following parentCol (the parent's id; 0 at the top).
func (tx *Tx) Descendants(ctx context.Context, table, parentCol string, root int) (map[int]bool, error) {
	if err := tx.checkCol(table, parentCol); err != nil {
		return nil, err
	}
	t, p := quote(table), quote(parentCol)
	return tx.ids(ctx, `WITH RECURSIVE t(id) AS (SELECT CAST(? AS BIGINT) UNION SELECT c.id FROM `+t+` c JOIN t ON c.`+p+` = t.id) SELECT id FROM t`, root)
}

// Ancestors returns the ids from leaf up to the top of table's tree,
// following parentCol, leaf included.
func (tx *Tx) Ancestors(ctx context.Context, table, parentCol string, leaf int) (map[int]bool, error) {
	if err := tx.checkCol(table, parentCol); err != nil {
		return nil, err
	}
	t, p := quote(table), quote(parentCol)
	return tx.ids(ctx, `WITH RECURSIVE t(id) AS (SELECT CAST(? AS BIGINT) UNION SELECT c.`+p+` FROM `+t+` c JOIN t ON c.id = t.id WHERE c.`+p+` != 0) SELECT id FROM t`, leaf)
}

func (tx *Tx) ids(ctx context.Context, stmt string, start int) (map[int]bool, error) {
	out := map[int]bool{}
	err := tx.queryRows(ctx, stmt, []any{start}, func(r Scanner) error {
		var id int
		if err := r.Scan(&id); err != nil {
			return err
		}
		out[id] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tree from %d: %w", start, err)
	}
	return out, nil
}

// DeleteWhere removes the rows of table matching conds (at least one: a
// whole table is never emptied by accident).
func (tx *Tx) DeleteWhere(ctx context.Context, table string, conds ...Cond) error {
	if !tx.write {
		return ErrReadOnlyTx
	}
	if len(conds) == 0 {
		return fmt.Errorf("delete from %s: no condition", table)
	}
	if err := tx.checkTable(table); err != nil {
		return err
	}
	cond, args, err := tx.where(table, conds)
	if err != nil {
		return err
	}
	if _, err := tx.exec(ctx, "DELETE FROM "+quote(table)+cond, args...); err != nil {
		return fmt.Errorf("delete from %s: %w", table, err)
	}
	return nil
}

// Inserter inserts many rows of the same columns with one prepared
// statement (a rate deck of half a million rows, a batch of call records).
type Inserter struct {
	ctx   context.Context
	tx    *Tx
	table string
	stmt  *sql.Stmt
	// On PostgreSQL (postgres.go): where the table's id column is among
	// the values (-1: not given, the Inserter claims ids), the last id
	// claimed and the highest id seen, recorded in sipswitch_sequence by
	// Close.
	identityAt int
	idCol      string
	claimed    bool
	nextID     int64
	maxID      int64
	// inserted counts the rows the statements inserted (fewer than the
	// rows given when a conflict skipped some).
	inserted int64
}

// Inserter prepares inserts of cols into table within the transaction;
// Close it when done.
func (tx *Tx) Inserter(ctx context.Context, table string, cols []string, orIgnore bool) (*Inserter, error) {
	verb, suffix := tx.db.dialect.insertVerb(orIgnore)
	return tx.inserter(ctx, table, cols, verb, suffix)
}

// inserter is Inserter with the statement's verb (INSERT, INSERT OR
// IGNORE) and what follows its VALUES (an ON CONFLICT clause) given.
func (tx *Tx) inserter(ctx context.Context, table string, cols []string, verb, suffix string) (*Inserter, error) {
	if !tx.write {
		return nil, ErrReadOnlyTx
	}
	if err := tx.checkTable(table); err != nil {
		return nil, err
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		if err := tx.checkCol(table, c); err != nil {
			return nil, err
		}
		quoted[i] = quote(c)
	}
	identityAt, idCol := -1, ""
	if tx.db.dialect == postgresDialect && tx.db.identity[table] != "" {
		idCol = tx.db.identity[table]
		identityAt = slices.Index(cols, idCol)
		if identityAt < 0 {
			// The Inserter gives each row its id: one more column, last.
			quoted = append(quoted, quote(idCol))
		}
	}
	stmt := verb + " INTO " + quote(table) + " (" + strings.Join(quoted, ",") + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?,", len(quoted)), ",") + ")" + suffix
	st, err := tx.tx.PrepareContext(ctx, tx.db.dialect.rebind(stmt))
	if err != nil {
		return nil, fmt.Errorf("prepare insert into %s: %w", table, err)
	}
	return &Inserter{ctx: ctx, tx: tx, table: table, stmt: st, identityAt: identityAt, idCol: idCol}, nil
}

// Insert adds one row: values in the order of the Inserter's columns.
func (in *Inserter) Insert(values ...any) error {
	if in.idCol != "" {
		var err error
		if values, err = in.withID(values); err != nil {
			return err
		}
	}
	res, err := in.stmt.ExecContext(in.ctx, values...)
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("insert into %s: %w", in.table, ErrConflict)
		}
		return fmt.Errorf("insert into %s: %w", in.table, err)
	}
	if n, err := res.RowsAffected(); err == nil {
		in.inserted += n
	}
	return nil
}

// withID gives a PostgreSQL row its id: the one it has, noted, or the
// next of the ids the Inserter claimed. The first claim locks the table's
// sipswitch_sequence row for the transaction, so the ids that follow are
// counted here without a round trip each.
func (in *Inserter) withID(values []any) ([]any, error) {
	if in.identityAt >= 0 {
		if in.identityAt < len(values) {
			if id, ok := asInt64(values[in.identityAt]); ok && id > in.maxID {
				in.maxID = id
			}
		}
		return values, nil
	}
	if !in.claimed {
		id, err := in.tx.claimID(in.ctx, in.table, in.idCol)
		if err != nil {
			return nil, err
		}
		in.claimed, in.nextID = true, id
	} else {
		in.nextID++
	}
	in.maxID = max(in.maxID, in.nextID)
	return append(values[:len(values):len(values)], in.nextID), nil
}

// Close releases the prepared statement (and, on PostgreSQL, records the
// highest id the rows took).
func (in *Inserter) Close() error {
	var err error
	if in.maxID > 0 {
		err = in.tx.recordID(in.ctx, in.table, in.maxID)
	}
	if cerr := in.stmt.Close(); err == nil {
		err = cerr
	}
	return err
}

// queryRows streams the rows of a statement of this package to fn.
func (tx *Tx) queryRows(ctx context.Context, stmt string, args []any, fn func(row Scanner) error) error {
	rows, err := tx.query(ctx, stmt, args...)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	return nil
}

// SumBy returns, for each value of groupCol among the rows of table
// matching where, the sum of sumCol.
func (tx *Tx) SumBy(ctx context.Context, table, sumCol, groupCol string, where []Cond) (map[string]float64, error) {
	for _, c := range []string{sumCol, groupCol} {
		if err := tx.checkCol(table, c); err != nil {
			return nil, err
		}
	}
	cond, args, err := tx.where(table, where)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	err = tx.queryRows(ctx, "SELECT "+quote(groupCol)+", "+tx.db.dialect.floatSum(quote(sumCol))+" FROM "+quote(table)+cond+" GROUP BY "+quote(groupCol), args, func(r Scanner) error {
		var k string
		var v float64
		if err := r.Scan(&k, &v); err != nil {
			return err
		}
		out[k] = v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sum %s of %s by %s: %w", sumCol, table, groupCol, err)
	}
	return out, nil
}
