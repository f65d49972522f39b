package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/storage"
)

// kindSIPEndpoint is the gateway API's sip_endpoint.* objects, stored in
// sip_endpoints and keyed by object_id (the name is unique too).
// INFERRED privileges: the gateway has one kind of user, its administrator,
// who configures the whole box; on a switch that is the system owner.
var kindSIPEndpoint = &Kind{
	Name: "SIP endpoint", Table: "sip_endpoints", Key: "object_id", Spec: SIPEndpointSpec, ReturnsID: true,
	CreatePriv: []Privilege{PrivSystem}, UpdatePriv: []Privilege{PrivSystem}, DeletePriv: []Privilege{PrivSystem},
	GetPriv: []Privilege{PrivSystem}, ListPriv: []Privilege{PrivSystem},
	Sorts: []string{"name"},
	check: checkSIPEndpoint,
}

// sipEndpointRules are the rules between parameters of one endpoint; the
// API and the switch-file loader both apply them after the spec.
func sipEndpointRules(v Values) FieldErrors {
	var errs FieldErrors
	if minSE, exp := atoi(v["session-minse"]), atoi(v["session-expires"]); exp < minSE {
		errs = append(errs, FieldError{Key: "session-expires", Message: fmt.Sprintf("session-expires (%d) must not be below session-minse (%d)", exp, minSE)})
	}
	if v["registration"] == "out" {
		if strings.EqualFold(v["host"], "dynamic") {
			errs = append(errs, FieldError{Key: "host", Message: "host must be the registrar's address when registration is out, not dynamic"})
		}
		// register => user:secret@host cannot carry these characters.
		for _, key := range []string{"defaultuser", "secret", "remotesecret"} {
			if strings.ContainsAny(v[key], ":@/") {
				errs = append(errs, FieldError{Key: key, Message: key + " must not contain ':', '@' or '/' when registration is out"})
			}
		}
	}
	return errs
}

// checkSIPEndpoint: the rules between the endpoint's parameters, and its
// name is no peer's or line's (they share Asterisk section names).
func checkSIPEndpoint(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
	errs := sipEndpointRules(v)
	if old == nil || !strings.EqualFold(old["name"], v["name"]) {
		more, err := sectionNameCheck(ctx, tx, v["name"], "sip_endpoints")
		if err != nil {
			return nil, err
		}
		errs = append(errs, more...)
	}
	return errs, nil
}

// Warning is a saved endpoint's state that Asterisk would not use as the
// operator probably meant; the save still succeeds.
type Warning struct {
	Key     string `json:"warning_key"`
	Message string `json:"warning"`
}

// sipEndpointWarnings lists what is legal but unusable in an endpoint.
func sipEndpointWarnings(v Values) []Warning {
	var ws []Warning
	add := func(key, msg string) { ws = append(ws, Warning{Key: key, Message: msg}) }
	// An empty or dynamic host makes the endpoint register to the switch
	// (the renderer writes host=dynamic and an aor taking one contact),
	// whatever registration says; Asterisk qualifies such an endpoint once
	// it has registered, so qualify needs no warning.
	dynamic := v["host"] == "" || strings.EqualFold(v["host"], "dynamic")
	switch {
	case v["registration"] == "out":
		if v["secret"] == "" && v["remotesecret"] == "" {
			add("REGISTRATION_WITHOUT_SECRET", "registration is out but neither secret nor remotesecret is set: the registrar will likely refuse the registration")
		}
		if v["defaultuser"] == "" {
			add("REGISTRATION_WITHOUT_DEFAULTUSER", "registration is out but defaultuser is empty: the endpoint registers as its name "+v["name"])
		}
	case dynamic:
		if v["secret"] == "" && v["insecure"] != "1" {
			add("REGISTRATION_WITHOUT_SECRET", "host is dynamic (the endpoint registers to the switch) but secret is empty: anyone who knows the name can register as this endpoint")
		}
	case v["registration"] == "in":
		add("REGISTRATION_IN_WITH_STATIC_HOST", "registration is in but host is a fixed address: Asterisk does not accept registrations from an endpoint with a fixed host; set host to dynamic")
	}
	if v["t38pt_udptl"] != "no" && t38Default(v) == "no" {
		add("T38_WITHOUT_FAX_CODEC", "t38pt_udptl is on but neither ulaw nor alaw is enabled: a fax call cannot start before switching to T.38")
	}
	if t1, b := atoi(v["timert1"]), atoi(v["timerb"]); b < 64*t1 {
		add("TIMERB_BELOW_64_T1", fmt.Sprintf("timerb %d is below 64 x timert1 (%d): chan_sip raises it to %d", b, 64*t1, 64*t1))
	}
	return ws
}

// SaveResult is the outcome of SaveSIPEndpoint.
type SaveResult struct {
	ID       int64
	Created  bool
	Warnings []Warning
}

// SaveSIPEndpoint creates or updates an endpoint (sip_endpoint.save). The
// object saved is the one input's object_id names, else the one old_name
// names (a rename), else the one called name; with none of them it is
// created. On update, omitted parameters keep their values. Everything
// happens in one transaction: on any error nothing is stored.
func (s *Service) SaveSIPEndpoint(ctx context.Context, a *Actor, input Values) (SaveResult, error) {
	k := kindSIPEndpoint
	if err := s.authorize(a, k.CreatePriv); err != nil {
		return SaveResult{}, err
	}
	var res SaveResult
	err := s.writeAudited(ctx, func(ctx context.Context, tx *storage.Tx) error {
		res = SaveResult{}
		id, err := s.resolveSIPEndpoint(ctx, tx, input)
		if err != nil {
			return err
		}
		if id == 0 {
			if res.ID, err = s.createIn(ctx, tx, a, k, input, false); err != nil {
				return err
			}
			res.Created = true
		} else {
			res.ID = id
			if err := s.updateIn(ctx, tx, a, k, strconv.FormatInt(id, 10), input, false); err != nil {
				return err
			}
		}
		rec, err := tx.Get(ctx, k.Table, k.Key, res.ID)
		if err != nil {
			return fmt.Errorf("reread SIP endpoint: %w", err)
		}
		vals := valuesOfRecord(rec)
		res.Warnings = sipEndpointWarnings(vals)
		if w, ok := EndpointDriverWarning(s.EndpointDriver(), vals); ok {
			res.Warnings = append(res.Warnings, w)
		}
		return nil
	})
	if err != nil {
		return SaveResult{}, err
	}
	return res, nil
}

// resolveSIPEndpoint finds the endpoint a save refers to: 0 to create.
func (s *Service) resolveSIPEndpoint(ctx context.Context, tx *storage.Tx, input Values) (int64, error) {
	if raw, ok := input["object_id"]; ok && raw != "" {
		id, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil || id < 1 {
			return 0, FieldErrors{{Key: "object_id", Message: fmt.Sprintf("object_id must be a positive integer, got %q", clip(raw))}}
		}
		if n, err := tx.Count(ctx, "sip_endpoints", storage.Cond{Col: "object_id", Op: "=", Val: id}); err != nil {
			return 0, err
		} else if n == 0 {
			return 0, ErrNotFound
		}
		return id, nil
	}
	if old, ok := input["old_name"]; ok && old != "" {
		id, err := sipEndpointIDByName(ctx, tx, old)
		if err == nil && id == 0 {
			return 0, ErrNotFound
		}
		return id, err
	}
	if name := input["name"]; name != "" {
		return sipEndpointIDByName(ctx, tx, name)
	}
	return 0, nil // create: the spec reports the missing name
}

func sipEndpointIDByName(ctx context.Context, tx *storage.Tx, name string) (int64, error) {
	rec, err := tx.Get(ctx, "sip_endpoints", "name", name)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("find SIP endpoint: %w", err)
	}
	id, _ := rec["object_id"].(int64)
	return id, nil
}

// SIPEndpointRef names one endpoint: by ObjectID when set, else by Name.
type SIPEndpointRef struct {
	ObjectID string
	Name     string
}

func (s *Service) resolveRef(ctx context.Context, tx *storage.Tx, ref SIPEndpointRef) (int64, error) {
	switch {
	case ref.ObjectID != "":
		id, err := strconv.ParseInt(strings.TrimSpace(ref.ObjectID), 10, 64)
		if err != nil || id < 1 {
			return 0, FieldErrors{{Key: "object_id", Message: fmt.Sprintf("object_id must be a positive integer, got %q", clip(ref.ObjectID))}}
		}
		return id, nil
	case ref.Name != "":
		id, err := sipEndpointIDByName(ctx, tx, ref.Name)
		if err == nil && id == 0 {
			return 0, ErrNotFound
		}
		return id, err
	}
	return 0, FieldErrors{{Key: "object_name", Message: "object_name (or object_id) is required", Reason: ReasonMissing}}
}

// SIPEndpoint returns one endpoint's stored values: every parameter at its
// effective value, plus object_id.
func (s *Service) SIPEndpoint(ctx context.Context, a *Actor, ref SIPEndpointRef) (Values, error) {
	if err := s.authorize(a, kindSIPEndpoint.GetPriv); err != nil {
		return nil, err
	}
	var out Values
	err := s.db.Read(ctx, func(tx *storage.Tx) error {
		id, err := s.resolveRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		rec, err := tx.Get(ctx, "sip_endpoints", "object_id", id)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("load SIP endpoint: %w", err)
		}
		out = valuesOfRecord(rec)
		return nil
	})
	return out, err
}

// SIPEndpoints returns every endpoint, by name.
func (s *Service) SIPEndpoints(ctx context.Context, a *Actor) ([]Values, error) {
	if err := s.authorize(a, kindSIPEndpoint.ListPriv); err != nil {
		return nil, err
	}
	out := []Values{}
	err := s.db.Read(ctx, func(tx *storage.Tx) error {
		recs, err := tx.List(ctx, "sip_endpoints", storage.Query{OrderBy: []string{"name"}})
		if err != nil {
			return fmt.Errorf("list SIP endpoints: %w", err)
		}
		for _, rec := range recs {
			out = append(out, valuesOfRecord(rec))
		}
		return nil
	})
	return out, err
}

// DeleteSIPEndpoint removes one endpoint. Nothing on a switch refers to
// endpoints by id (the gateway's call routing rules and groups do not
// exist here), so no rule or group is ever made invalid.
func (s *Service) DeleteSIPEndpoint(ctx context.Context, a *Actor, ref SIPEndpointRef) error {
	if err := s.authorize(a, kindSIPEndpoint.DeletePriv); err != nil {
		return err
	}
	return s.writeAudited(ctx, func(ctx context.Context, tx *storage.Tx) error {
		id, err := s.resolveRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		err = tx.Delete(ctx, "sip_endpoints", "object_id", id)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "sip_endpoints/delete", auditObject(kindSIPEndpoint, strconv.FormatInt(id, 10)), nil)
	})
}
