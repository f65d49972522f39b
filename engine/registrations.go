package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sipswitch/sipswitch/storage"
)

// RegistrationStore keeps phone registrations in the database so they
// survive a restart of the daemon. Registrations are not configuration:
// writing them does not move the store revision, so a phone refreshing its
// binding never triggers a re-render or a routing rebuild.
type RegistrationStore struct{ db *storage.DB }

// NewRegistrationStore stores registrations in db.
func NewRegistrationStore(db *storage.DB) *RegistrationStore { return &RegistrationStore{db: db} }

// SaveRegistration inserts or refreshes one binding.
func (s *RegistrationStore) SaveRegistration(ctx context.Context, r Registration) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("save registration: %w", err)
	}
	return s.db.WriteState(ctx, `INSERT INTO registrations(phone, contact, data, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT(phone, contact) DO UPDATE SET data=excluded.data, expires_at=excluded.expires_at`,
		r.Phone, r.Contact, string(data), r.ExpiresAt.Unix())
}

// DeleteRegistration removes one binding.
func (s *RegistrationStore) DeleteRegistration(ctx context.Context, phone, contact string) error {
	return s.db.WriteState(ctx, `DELETE FROM registrations WHERE phone=? AND contact=?`, phone, contact)
}

// LoadRegistrations returns the bindings that have not expired, dropping
// the ones that have.
func (s *RegistrationStore) LoadRegistrations(ctx context.Context) ([]Registration, error) {
	now := time.Now().Unix()
	if err := s.db.WriteState(ctx, `DELETE FROM registrations WHERE expires_at <= ?`, now); err != nil {
		return nil, err
	}
	var out []Registration
	err := s.db.Read(ctx, func(tx *storage.Tx) error {
		return tx.QueryRows(ctx, `SELECT data FROM registrations ORDER BY phone, contact`, nil, func(row storage.Scanner) error {
			var data string
			if err := row.Scan(&data); err != nil {
				return err
			}
			var r Registration
			if err := json.Unmarshal([]byte(data), &r); err != nil {
				return fmt.Errorf("registration record: %w", err)
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("load registrations: %w", err)
	}
	return out, nil
}
