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
//
// On a PostgreSQL store the hosts of a cluster share the bindings: each
// host saves what its registrar accepted, and learns of the others'
// through Watch (storage.WatchRegistrations), reading the phone's
// bindings again with LoadPhone.
type RegistrationStore struct {
	db   *storage.DB
	host string
}

// RegistrationStoreOption configures NewRegistrationStore.
type RegistrationStoreOption func(*RegistrationStore)

// WithRegistrarHost stamps host (cluster.host) on the bindings saved, so
// they tell which host took the REGISTER.
func WithRegistrarHost(host string) RegistrationStoreOption {
	return func(s *RegistrationStore) { s.host = host }
}

// NewRegistrationStore stores registrations in db.
func NewRegistrationStore(db *storage.DB, opts ...RegistrationStoreOption) *RegistrationStore {
	s := &RegistrationStore{db: db}
	for _, o := range opts {
		o(s)
	}
	return s
}

// SaveRegistration inserts or refreshes one binding.
func (s *RegistrationStore) SaveRegistration(ctx context.Context, r Registration) error {
	if r.Host == "" {
		r.Host = s.host
	}
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

// DeleteLapsedRegistration removes one binding that lapsed at, unless the
// store holds it refreshed (by another host's registrar).
func (s *RegistrationStore) DeleteLapsedRegistration(ctx context.Context, phone, contact string, at time.Time) error {
	return s.db.DeleteLapsedRegistration(ctx, phone, contact, at.Unix())
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

// LoadPhone returns the unexpired bindings of phone as the store holds
// them now, whichever host saved them.
func (s *RegistrationStore) LoadPhone(ctx context.Context, phone string) ([]Registration, error) {
	now := time.Now()
	var out []Registration
	err := s.db.EachRegistrationOf(ctx, phone, func(data []byte) error {
		var r Registration
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("registration record: %w", err)
		}
		if now.Before(r.ExpiresAt) {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load registrations: %w", err)
	}
	return out, nil
}

// Watch calls fn with each phone whose bindings another host changed, ""
// for all (storage.WatchRegistrations).
func (s *RegistrationStore) Watch(fn func(phone string)) { s.db.WatchRegistrations(fn) }
