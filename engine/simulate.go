package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
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

// SimulationRequest reads routes/simulate's parameters: called, the
// line or plan, caller, media and time (unix seconds or RFC 3339; default
// now), checking the actor may see the plan or line. A call is simulated
// for a line when phone names one, or when caller does: then, as on the
// SIP core, the line's class of service applies, the caller is the line's
// callerid_external (withheld by presentation_external) and the plan is
// the line's unless plan is given. source and user_agent, for a line's
// call, are judged against its source and allowed_ua as the SIP core
// judges each request.
func (s *Service) SimulationRequest(ctx context.Context, a *Actor, p Values) (routing.CallRequest, error) {
	if err := s.authorize(a, []Privilege{PrivCommerce}); err != nil {
		return routing.CallRequest{}, err
	}
	req := routing.CallRequest{Called: p["called"], Caller: p["caller"], Media: p["media"]}
	var errs FieldErrors
	// The SIP core's rule: the number is decided on as its dial string,
	// unless it is a line's name (then the line rings: below).
	calledErr := false
	if n, err := routing.NormalizeNumber(req.Called); err != nil {
		calledErr = true
	} else {
		req.Called = n
	}
	if v := p["source"]; v != "" {
		if addr, err := netip.ParseAddr(v); err != nil {
			errs = append(errs, FieldError{Key: "source", Message: "source must be the IP address the call comes from"})
		} else {
			req.Source = addr.Unmap()
		}
	}
	if v := p["user_agent"]; v != "" {
		if len(v) > 255 {
			errs = append(errs, FieldError{Key: "user_agent", Message: "user_agent must be at most 255 characters"})
		}
		req.UserAgent = v
	}
	switch req.Media {
	case "", routing.MediaVoice, routing.MediaFax:
	default:
		errs = append(errs, FieldError{Key: "media", Message: `media must be "voice" or "fax"`})
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
		// A called line's name rings the line, as on the SIP core; a line
		// the actor may not read is simulated as a number.
		if called, ok, err := s.calledLine(ctx, tx, a, p["called"]); err != nil {
			return err
		} else if ok {
			req.CalledLine, req.CalledDevice = called.line, called.device
			req.Called, calledErr = called.line.Name, false
		}
		if calledErr {
			errs = append(errs, FieldError{Key: "called", Message: "called is required: a line's name or " + routing.NumberRule})
		}
		lineKey, lineName := "phone", p["phone"]
		if lineName == "" && req.Caller != "" {
			if _, ok, err := readableLine(ctx, tx, a, req.Caller); err != nil {
				return err
			} else if ok {
				lineKey, lineName = "caller", req.Caller
			}
		}
		if lineName != "" && lineKey == "phone" {
			// A sip_endpoint that registers to the switch is a line on
			// the SIP core (simulate_endpoint.go).
			line, ok, err := s.simulatedEndpointLine(ctx, tx, a, lineName)
			if err != nil {
				return err
			}
			if ok {
				req.Line = line
				lineName = ""
				if req.Media == "" {
					req.Media = line.CallMedia()
				}
				req.Caller, req.Presentation = line.ExternalIdentity()
				if p["plan"] == "" {
					if req.Plan, err = effectivePlan(ctx, tx, line.Customer); err != nil {
						return err
					}
				}
			}
		}
		if lineName != "" {
			vals, _, err := s.load(ctx, tx, a, kindPhone, lineName)
			if errors.Is(err, ErrNotFound) {
				errs = append(errs, FieldError{Key: lineKey, Message: fmt.Sprintf("telephone line %q does not exist or is not yours", lineName)})
				return nil
			}
			if err != nil {
				return err
			}
			var line routing.Phone
			bindValues(&line, vals)
			req.Line = &line
			if req.Media == "" {
				req.Media = line.CallMedia()
			}
			// The line presents the virtual line logged into it, if any.
			presenting, err := presentingLine(ctx, tx, &line)
			if err != nil {
				return err
			}
			req.Caller, req.Presentation = presenting.ExternalIdentity()
			if p["plan"] == "" {
				if req.Plan = line.Plan; req.Plan == 0 {
					if req.Plan, err = effectivePlan(ctx, tx, line.Customer); err != nil {
						return err
					}
				}
			}
		} else if req.Caller != "" && req.Line == nil {
			// A caller number given (not a line's identity: an endpoint
			// line's is its name, which need not be a number).
			if n, err := routing.NormalizeNumber(req.Caller); err != nil {
				errs = append(errs, FieldError{Key: "caller", Message: "caller must be a line or " + routing.NumberRule})
			} else {
				req.Caller = n
			}
		}
		switch {
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
		case req.Line == nil:
			errs = append(errs, FieldError{Key: "plan", Message: "plan, phone or a caller that is a line is required"})
		}
		return nil
	})
	if err != nil {
		return req, err
	}
	if req.Line == nil && (req.Source.IsValid() || req.UserAgent != "") && len(errs) == 0 {
		key := "source"
		if !req.Source.IsValid() {
			key = "user_agent"
		}
		errs = append(errs, FieldError{Key: key, Message: key + " is judged against a line: give phone, or a caller that is a line"})
	}
	if req.Line == nil && req.Caller == "" {
		req.Presentation = routing.PresentationUnknown
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

// simulatedCall is a called line and the device that rings for it.
type simulatedCall struct{ line, device *routing.Phone }

// calledLine finds the line a called number names (its name as it is, as
// routing.Dialled decides on the SIP core) when the actor may read it,
// and the device it rings: the line's own, or for a virtual line the line
// it is logged into (routing/virtual.go).
func (s *Service) calledLine(ctx context.Context, tx *storage.Tx, a *Actor, called string) (simulatedCall, bool, error) {
	if called == "" || checkName(called) != nil {
		return simulatedCall{}, false, nil
	}
	vals, ok, err := readableLine(ctx, tx, a, called)
	if err != nil || !ok {
		return simulatedCall{}, false, err
	}
	phones := make([]routing.Phone, 1, 2)
	bindValues(&phones[0], vals)
	if phones[0].LNumber != "" {
		rec, err := tx.Get(ctx, "phones", "name", phones[0].LNumber)
		switch {
		case err == nil:
			var dev routing.Phone
			bindValues(&dev, valuesOfRecord(rec))
			phones = append(phones, dev)
		case !errors.Is(err, storage.ErrNotFound):
			return simulatedCall{}, false, fmt.Errorf("read telephone line %q: %w", phones[0].LNumber, err)
		}
	}
	c := simulatedCall{line: &phones[0], device: &phones[0]}
	if dev, ok := routing.NewLogins(phones).Device(c.line); ok {
		c.device = dev
	}
	return c, true, nil
}

// presentingLine is the line whose caller presentation line's calls show
// (routing.Logins.Presenting over the store's lines): a virtual line
// logged into it, else line itself.
func presentingLine(ctx context.Context, tx *storage.Tx, line *routing.Phone) (*routing.Phone, error) {
	recs, err := tx.List(ctx, "phones", storage.Query{Where: []storage.Cond{{Col: "ltype", Op: "=", Val: routing.LTypePhone}}})
	if err != nil {
		return nil, fmt.Errorf("read virtual lines: %w", err)
	}
	phones := []routing.Phone{*line}
	for _, rec := range recs {
		var v routing.Phone
		bindValues(&v, valuesOfRecord(rec))
		if v.ID != line.ID && strings.EqualFold(v.LNumber, line.Name) {
			phones = append(phones, v)
		}
	}
	return routing.NewLogins(phones).Presenting(&phones[0]), nil
}
