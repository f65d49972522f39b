package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Record is one row by column name. Values are int64, float64 or string,
// as SQLite returns them.
type Record map[string]any

// Tx is a transaction. Table and column names given to it are checked
// against the schema, so no caller-supplied text reaches SQL as an
// identifier.
type Tx struct {
	tx    *sql.Tx
	db    *DB
	write bool
}

// exec and query run a statement through the prepared-statement cache,
// bound to this transaction's connection.
func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := tx.db.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return tx.tx.ExecContext(ctx, tx.db.dialect.rebind(query), args...)
	}
	return tx.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

func (tx *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := tx.db.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return tx.tx.QueryContext(ctx, tx.db.dialect.rebind(query), args...)
	}
	return tx.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
}

func (tx *Tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := tx.db.prepared(ctx, query)
	if err != nil || st == nil {
		// Let an error surface from Scan, as QueryRow does.
		return tx.tx.QueryRowContext(ctx, tx.db.dialect.rebind(query), args...)
	}
	return tx.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}

func (tx *Tx) checkTable(table string) error {
	if tx.db.columns[table] == nil {
		return fmt.Errorf("%w %q", ErrNoSuchTbl, table)
	}
	return nil
}

func (tx *Tx) checkCol(table, col string) error {
	if !tx.db.columns[table][col] {
		return fmt.Errorf("%w %s.%s", ErrNoSuchCol, table, col)
	}
	return nil
}

func quote(id string) string { return `"` + id + `"` }

// sortedCols gives deterministic SQL text, so the driver's statement cache
// hits.
func sortedCols(rec Record) []string {
	cols := make([]string, 0, len(rec))
	for c := range rec {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	return cols
}

// Insert adds a row and returns its id. Columns of rec the table lacks are
// an error: the caller's field list and the schema must agree.
func (tx *Tx) Insert(ctx context.Context, table string, rec Record) (int64, error) {
	if !tx.write {
		return 0, ErrReadOnlyTx
	}
	if err := tx.checkTable(table); err != nil {
		return 0, err
	}
	if tx.db.dialect == postgresDialect {
		return tx.insertPostgres(ctx, table, rec)
	}
	stmt, args, err := tx.insertStatement(table, rec)
	if err != nil {
		return 0, err
	}
	res, err := tx.exec(ctx, stmt, args...)
	if err != nil {
		if isUniqueViolation(err) {
			return 0, fmt.Errorf("insert %s: %w", table, ErrConflict)
		}
		return 0, fmt.Errorf("insert %s: %w", table, err)
	}
	return res.LastInsertId()
}

// insertStatement is the INSERT of rec's columns into table.
func (tx *Tx) insertStatement(table string, rec Record) (string, []any, error) {
	cols := sortedCols(rec)
	args := make([]any, len(cols))
	q := make([]string, len(cols))
	for i, c := range cols {
		if err := tx.checkCol(table, c); err != nil {
			return "", nil, err
		}
		args[i], q[i] = rec[c], "?"
		cols[i] = quote(c)
	}
	return fmt.Sprintf(`INSERT INTO %s (%s) VALUES (%s)`, quote(table), strings.Join(cols, ","), strings.Join(q, ",")), args, nil
}

// Update sets the columns of rec on the row whose keyCol equals key.
func (tx *Tx) Update(ctx context.Context, table, keyCol string, key any, rec Record) error {
	if !tx.write {
		return ErrReadOnlyTx
	}
	if err := tx.checkCol(table, keyCol); err != nil {
		return err
	}
	cols := sortedCols(rec)
	if len(cols) == 0 {
		return nil
	}
	args := make([]any, 0, len(cols)+1)
	sets := make([]string, len(cols))
	for i, c := range cols {
		if err := tx.checkCol(table, c); err != nil {
			return err
		}
		sets[i] = quote(c) + "=?"
		args = append(args, rec[c])
	}
	args = append(args, key)
	stmt := fmt.Sprintf(`UPDATE %s SET %s WHERE %s=?`, quote(table), strings.Join(sets, ","), quote(keyCol))
	res, err := tx.exec(ctx, stmt, args...)
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("update %s: %w", table, ErrConflict)
		}
		return fmt.Errorf("update %s: %w", table, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Delete removes the rows whose keyCol equals key; ErrNotFound when none.
func (tx *Tx) Delete(ctx context.Context, table, keyCol string, key any) error {
	if !tx.write {
		return ErrReadOnlyTx
	}
	if err := tx.checkCol(table, keyCol); err != nil {
		return err
	}
	res, err := tx.exec(ctx, fmt.Sprintf(`DELETE FROM %s WHERE %s=?`, quote(table), quote(keyCol)), key)
	if err != nil {
		return fmt.Errorf("delete %s: %w", table, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Get returns the row whose keyCol equals key.
func (tx *Tx) Get(ctx context.Context, table, keyCol string, key any) (Record, error) {
	recs, err := tx.List(ctx, table, Query{Where: []Cond{{Col: keyCol, Op: "=", Val: key}}, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, ErrNotFound
	}
	return recs[0], nil
}

// Cond is one WHERE condition. Op is one of = != < <= > >= "prefix"
// (column starts with Val) or "in" (Val is []any).
type Cond struct {
	Col string
	Op  string
	Val any
}

// Query selects rows of one table.
type Query struct {
	Where      []Cond
	OrderBy    []string // columns; the id column is appended as a tie-break when present
	Descending bool
	Limit      int // 0 = no limit
	Offset     int
}

func (tx *Tx) where(table string, conds []Cond) (string, []any, error) {
	if len(conds) == 0 {
		return "", nil, nil
	}
	parts := make([]string, 0, len(conds))
	var args []any
	for _, c := range conds {
		if err := tx.checkCol(table, c.Col); err != nil {
			return "", nil, err
		}
		switch c.Op {
		case "=", "!=", "<", "<=", ">", ">=":
			parts = append(parts, quote(c.Col)+c.Op+"?")
			args = append(args, c.Val)
		case "prefix":
			// substr keeps it exact: LIKE would treat % and _ as wildcards.
			s, _ := c.Val.(string)
			parts = append(parts, tx.db.dialect.prefixMatch(quote(c.Col)))
			args = append(args, len(s), s)
		case "in":
			vals, _ := c.Val.([]any)
			if len(vals) == 0 {
				parts = append(parts, "1=0")
				continue
			}
			parts = append(parts, quote(c.Col)+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")+")")
			args = append(args, vals...)
		default:
			return "", nil, fmt.Errorf("storage: unknown operator %q", c.Op)
		}
	}
	return " WHERE " + strings.Join(parts, " AND "), args, nil
}

// List returns the rows of table matching q.
func (tx *Tx) List(ctx context.Context, table string, q Query) ([]Record, error) {
	if err := tx.checkTable(table); err != nil {
		return nil, err
	}
	where, args, err := tx.where(table, q.Where)
	if err != nil {
		return nil, err
	}
	stmt := "SELECT * FROM " + quote(table) + where
	order := append([]string(nil), q.OrderBy...)
	if tx.db.columns[table]["id"] {
		order = append(order, "id")
	}
	if len(order) > 0 {
		dir := " ASC"
		if q.Descending {
			dir = " DESC"
		}
		parts := make([]string, len(order))
		for i, c := range order {
			if err := tx.checkCol(table, c); err != nil {
				return nil, err
			}
			parts[i] = quote(c) + dir
		}
		stmt += " ORDER BY " + strings.Join(parts, ",")
	}
	if q.Limit > 0 {
		stmt += fmt.Sprintf(" LIMIT %d OFFSET %d", q.Limit, q.Offset)
	} else if q.Offset > 0 {
		stmt += tx.db.dialect.offsetOnly(q.Offset)
	}
	rows, err := tx.query(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", table, err)
	}
	var out []Record
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("list %s: %w", table, err)
		}
		rec := make(Record, len(cols))
		for i, c := range cols {
			v := vals[i]
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			rec[c] = v
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", table, err)
	}
	return out, nil
}

// Count returns how many rows of table match conds.
func (tx *Tx) Count(ctx context.Context, table string, conds ...Cond) (int, error) {
	if err := tx.checkTable(table); err != nil {
		return 0, err
	}
	where, args, err := tx.where(table, conds)
	if err != nil {
		return 0, err
	}
	var n int
	if err := tx.queryRow(ctx, "SELECT count(*) FROM "+quote(table)+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	return n, nil
}

// Setting reads a key of the settings table; "" when unset.
func (tx *Tx) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := tx.queryRow(ctx, `SELECT value FROM settings WHERE key=?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting writes a key of the settings table.
func (tx *Tx) SetSetting(ctx context.Context, key, value string) error {
	if !tx.write {
		return ErrReadOnlyTx
	}
	if _, err := tx.exec(ctx, `INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value`, key, value); err != nil {
		return fmt.Errorf("write setting %s: %w", key, err)
	}
	return nil
}
