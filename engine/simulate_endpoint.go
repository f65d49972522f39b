package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

// simulatedEndpointLine returns the line sip_endpoint name is on the SIP
// core (routing.EndpointLine), for routes/simulate's phone: a call from it
// is decided as the SIP core and the rendered files decide it, on the
// system default plan. Only a user who may see sip_endpoints (the system
// owner: kindSIPEndpoint) simulates one, and a phone of that name is the
// line (ok false), as on the SIP core.
func (s *Service) simulatedEndpointLine(ctx context.Context, tx *storage.Tx, a *Actor, name string) (*routing.Phone, bool, error) {
	if s.authorize(a, kindSIPEndpoint.GetPriv) != nil {
		return nil, false, nil
	}
	if _, err := tx.Get(ctx, "phones", "name", name); err == nil {
		return nil, false, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, false, fmt.Errorf("read telephone line %q: %w", name, err)
	}
	rec, err := tx.Get(ctx, kindSIPEndpoint.Table, "name", name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read SIP endpoint %q: %w", name, err)
	}
	var e routing.SIPEndpoint
	if err := bindValues(&e, valuesOfRecord(rec)); err != nil {
		return nil, false, fmt.Errorf("read SIP endpoint %q: %w", name, err)
	}
	line, ok := routing.EndpointLine(&e)
	if !ok {
		return nil, false, nil
	}
	return &line, true, nil
}
