package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

// RoutingStates builds routing states from the store on demand and keeps
// the last one until the store revision moves. The daemon's live router
// is preferred where there is one; this serves the API and CLI otherwise.
type RoutingStates struct {
	svc   *Service
	mu    sync.Mutex
	state *routing.RoutingState
}

// NewRoutingStates caches routing states of svc's store.
func NewRoutingStates(svc *Service) *RoutingStates { return &RoutingStates{svc: svc} }

// Current returns a state at the store's current revision.
func (r *RoutingStates) Current(ctx context.Context) (*routing.RoutingState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != nil && r.state.Revision() == r.svc.db.Revision() {
		return r.state, nil
	}
	snap, err := r.svc.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	costs, err := r.svc.PeerCosts(ctx)
	if err != nil {
		return nil, err
	}
	state, err := routing.NewRoutingState(snap, costs)
	if err != nil {
		return nil, err
	}
	r.state = state
	return state, nil
}

// SimulationRequest reads routes/simulate's parameters: plan or phone,
// called, caller, media and time (unix seconds or RFC 3339; default now),
// checking the actor may see the plan or line.
func (s *Service) SimulationRequest(ctx context.Context, a *Actor, p Values) (routing.CallRequest, error) {
	if err := s.authorize(a, []Privilege{PrivCommerce}); err != nil {
		return routing.CallRequest{}, err
	}
	req := routing.CallRequest{Called: p["called"], Caller: p["caller"], Media: p["media"]}
	var errs FieldErrors
	if req.Called == "" || !routing.ValidPrefix(req.Called) {
		errs = append(errs, FieldError{Key: "called", Message: "called is required: a number of 0-9, *, # and +"})
	}
	if req.Caller != "" && !routing.ValidPrefix(req.Caller) {
		errs = append(errs, FieldError{Key: "caller", Message: "caller must be a number of 0-9, *, # and +"})
	}
	switch req.Media {
	case "", routing.MediaVoice, routing.MediaFax:
	default:
		errs = append(errs, FieldError{Key: "media", Message: `media must be "voice" or "fax"`})
	}
	if req.Caller == "" {
		req.Presentation = routing.PresentationUnknown
	}
	if t := p["time"]; t != "" {
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			req.Now = time.Unix(n, 0)
		} else if ts, err := time.Parse(time.RFC3339, t); err == nil {
			req.Now = ts
		} else {
			errs = append(errs, FieldError{Key: "time", Message: "time must be unix seconds or RFC 3339 (2026-11-23T09:00:00Z)"})
		}
	}
	err := s.db.Read(ctx, func(tx *storage.Tx) error {
		switch {
		case p["phone"] != "":
			vals, _, err := s.load(ctx, tx, a, s.Kinds()["phones"], p["phone"])
			if errors.Is(err, ErrNotFound) {
				errs = append(errs, FieldError{Key: "phone", Message: fmt.Sprintf("telephone line %q does not exist or is not yours", p["phone"])})
				return nil
			}
			if err != nil {
				return err
			}
			req.Plan = atoi(vals["plan"])
			if req.Plan == 0 {
				if req.Plan, err = effectivePlan(ctx, tx, atoi(vals["customer"])); err != nil {
					return err
				}
			}
		case p["plan"] != "":
			n, err := strconv.Atoi(p["plan"])
			if err != nil || n < 1 {
				errs = append(errs, FieldError{Key: "plan", Message: "plan must be a rate plan id"})
				return nil
			}
			if ok, err := planVisible(ctx, tx, a, Values{"plan": p["plan"]}); err != nil {
				return err
			} else if !ok {
				errs = append(errs, FieldError{Key: "plan", Message: fmt.Sprintf("rate plan %d does not exist or is not yours", n)})
			}
			req.Plan = n
		default:
			errs = append(errs, FieldError{Key: "plan", Message: "plan or phone is required"})
		}
		return nil
	})
	if err != nil {
		return req, err
	}
	if len(errs) > 0 {
		return req, errs
	}
	return req, nil
}

// effectivePlan is a line's plan when its own is 0: its customer's, else
// the system default.
func effectivePlan(ctx context.Context, tx *storage.Tx, customer int) (int, error) {
	rec, err := tx.Get(ctx, "customers", "id", customer)
	if err == nil {
		if plan := atoi(valuesOfRecord(rec)["plan"]); plan > 0 {
			return plan, nil
		}
	}
	st, err := settingsIn(ctx, tx)
	return st.DefaultPlan, err
}
