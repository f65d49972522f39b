package storage

import (
	"context"
	"fmt"
)

// pruneBatch bounds one delete of PruneState, so a first prune of a
// large table does not hold the writer lock for long at a time.
const pruneBatch = 10_000

// PruneState deletes the rows of a table of run-time state (the audit
// log, call records) whose integer column col is below before, in
// batches, as run-time state: the store revision does not move. It
// returns how many rows went.
func (db *DB) PruneState(ctx context.Context, table, col string, before int64) (int64, error) {
	if db.columns[table] == nil {
		return 0, fmt.Errorf("%w %q", ErrNoSuchTbl, table)
	}
	if !db.columns[table][col] || !db.columns[table]["id"] {
		return 0, fmt.Errorf("%w %s.%s", ErrNoSuchCol, table, col)
	}
	stmt := "DELETE FROM " + quote(table) + " WHERE " + quote("id") + " IN (SELECT " + quote("id") + " FROM " + quote(table) +
		" WHERE " + quote(col) + " < ? LIMIT " + fmt.Sprint(pruneBatch) + ")"
	var total int64
	for {
		n, err := db.pruneOnce(ctx, stmt, before)
		total += n
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", table, err)
		}
		if n < pruneBatch {
			return total, nil
		}
	}
}

func (db *DB) pruneOnce(ctx context.Context, stmt string, before int64) (int64, error) {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	res, err := db.exec(ctx, stmt, before)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
