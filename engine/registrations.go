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
	return s.db.PutRegistration(ctx, r.Phone, r.Contact, data, r.ExpiresAt.Unix())
}

// DeleteRegistration removes one binding.
func (s *RegistrationStore) DeleteRegistration(ctx context.Context, phone, contact string) error {
	return s.db.DeleteRegistration(ctx, phone, contact)
}

// LoadRegistrations returns the bindings that have not expired, dropping
// the ones that have.
func (s *RegistrationStore) LoadRegistrations(ctx context.Context) ([]Registration, error) {
	if err := s.db.DeleteRegistrationsExpiredBy(ctx, time.Now().Unix()); err != nil {
		return nil, err
	}
	var out []Registration
	err := s.db.EachRegistration(ctx, func(data []byte) error {
		var r Registration
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("registration record: %w", err)
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load registrations: %w", err)
	}
	return out, nil
}
