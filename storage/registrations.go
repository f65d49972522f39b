package storage

import (
	"context"
	"fmt"
)

// Registrations are run-time state, not configuration: writing them does
// not move the store revision, so a phone refreshing its binding never
// wakes a renderer or rebuilds routes. A binding is kept as its caller's
// encoding (data), keyed by phone and contact.

// PutRegistration inserts or refreshes one binding.
func (db *DB) PutRegistration(ctx context.Context, phone, contact string, data []byte, expiresAt int64) error {
	return db.writeState(ctx, `INSERT INTO registrations(phone, contact, data, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT(phone, contact) DO UPDATE SET data=excluded.data, expires_at=excluded.expires_at`,
		phone, contact, string(data), expiresAt)
}

// DeleteRegistration removes one binding.
func (db *DB) DeleteRegistration(ctx context.Context, phone, contact string) error {
	return db.writeState(ctx, `DELETE FROM registrations WHERE phone=? AND contact=?`, phone, contact)
}

// DeleteRegistrationsExpiredBy removes the bindings that expire at or
// before now (unix seconds).
func (db *DB) DeleteRegistrationsExpiredBy(ctx context.Context, now int64) error {
	return db.writeState(ctx, `DELETE FROM registrations WHERE expires_at <= ?`, now)
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
