package storage

import (
	"context"
	"fmt"
)

// Registrations are run-time state, not configuration: writing them does
// not move the store revision, so a phone refreshing its binding never
// wakes a renderer or rebuilds routes. A binding is kept as its caller's
// encoding (data), keyed by phone and contact.

//
// On PostgreSQL every change of a phone's bindings is also announced to
// the other hosts (NOTIFY with the phone's name, sent when the change
// commits), so a line registered through one host is callable through
// all of them (WatchRegistrations).

// PutRegistration inserts or refreshes one binding.
func (db *DB) PutRegistration(ctx context.Context, phone, contact string, data []byte, expiresAt int64) error {
	return db.writeRegistration(ctx, phone, `INSERT INTO registrations(phone, contact, data, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT(phone, contact) DO UPDATE SET data=excluded.data, expires_at=excluded.expires_at`,
		phone, contact, string(data), expiresAt)
}

// DeleteRegistration removes one binding.
func (db *DB) DeleteRegistration(ctx context.Context, phone, contact string) error {
	return db.writeRegistration(ctx, phone, `DELETE FROM registrations WHERE phone=? AND contact=?`, phone, contact)
}

// DeleteLapsedRegistration removes one binding if it expires at or before
// now (unix seconds): a host whose copy of a binding lapsed must not
// remove the row another host's registrar has refreshed meanwhile.
func (db *DB) DeleteLapsedRegistration(ctx context.Context, phone, contact string, now int64) error {
	return db.writeRegistration(ctx, phone, `DELETE FROM registrations WHERE phone=? AND contact=? AND expires_at <= ?`, phone, contact, now)
}

// DeleteRegistrationsExpiredBy removes the bindings that expire at or
// before now (unix seconds). Other hosts lapse the same bindings by their
// own clocks, so nothing is announced.
func (db *DB) DeleteRegistrationsExpiredBy(ctx context.Context, now int64) error {
	return db.writeState(ctx, `DELETE FROM registrations WHERE expires_at <= ?`, now)
}

// writeRegistration runs stmt and, on PostgreSQL, announces phone in the
// same transaction.
func (db *DB) writeRegistration(ctx context.Context, phone, stmt string, args ...any) error {
	if db.dialect != postgresDialect {
		return db.writeState(ctx, stmt, args...)
	}
	stx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write registration: begin: %w", err)
	}
	defer stx.Rollback()
	tx := &Tx{tx: stx, db: db, write: true}
	if _, err := tx.exec(ctx, stmt, args...); err != nil {
		return fmt.Errorf("write registration: %w", err)
	}
	if _, err := tx.exec(ctx, `SELECT pg_notify('sipswitch_registrations_' || current_schema(), ?)`, phone); err != nil {
		return fmt.Errorf("write registration: notify: %w", err)
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("write registration: commit: %w", err)
	}
	return nil
}

// EachRegistrationOf passes the data of every binding of phone to fn.
func (db *DB) EachRegistrationOf(ctx context.Context, phone string, fn func(data []byte) error) error {
	err := db.Read(ctx, func(tx *Tx) error {
		return tx.queryRows(ctx, `SELECT data FROM registrations WHERE phone = ? ORDER BY contact`, []any{phone}, func(row Scanner) error {
			var data string
			if err := row.Scan(&data); err != nil {
				return err
			}
			return fn([]byte(data))
		})
	})
	if err != nil {
		return fmt.Errorf("registrations of %s: %w", phone, err)
	}
	return nil
}

// EachRegistration passes the data of every binding to fn, ordered by
// phone and contact.
func (db *DB) EachRegistration(ctx context.Context, fn func(data []byte) error) error {
	err := db.Read(ctx, func(tx *Tx) error {
		return tx.queryRows(ctx, `SELECT data FROM registrations ORDER BY phone, contact`, nil, func(row Scanner) error {
			var data string
			if err := row.Scan(&data); err != nil {
				return err
			}
			return fn([]byte(data))
		})
	})
	if err != nil {
		return fmt.Errorf("registrations: %w", err)
	}
	return nil
}
