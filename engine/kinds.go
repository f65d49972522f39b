package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/storage"
)

// The object kinds of the Enswitch API. Privileges follow the function
// pages (shared/reference/api-and-asterisk.md §2); where a page is missing
// the choice is marked INFERRED.

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func exists(ctx context.Context, tx *storage.Tx, table string, id int) (bool, error) {
	n, err := tx.Count(ctx, table, storage.Cond{Col: "id", Op: "=", Val: id})
	return n > 0, err
}

// reference is a column of another table that points at a row.
type reference struct{ table, col, what string }

// refuseIfReferenced fails the delete of row id while any ref points at
// it: "<subject> <n> <what>", e.g. "customer has 2 user(s)".
func refuseIfReferenced(ctx context.Context, tx *storage.Tx, id int, subject string, refs ...reference) error {
	for _, ref := range refs {
		n, err := tx.Count(ctx, ref.table, storage.Cond{Col: ref.col, Op: "=", Val: id})
		if err != nil {
			return err
		}
		if n > 0 {
			return FieldErrors{{Key: "id", Message: fmt.Sprintf("%s %d %s", subject, n, ref.what)}}
		}
	}
	return nil
}

// sectionHolders share one name space: every peer, phone and SIP endpoint
// becomes an Asterisk section of the same name. The name columns are
// COLLATE NOCASE, as Asterisk compares section names, so "Acme" holds
// "ACME".
var sectionHolders = []storage.NameHolder{
	{Table: "peers", Column: "name", Label: "peer"},
	{Table: "phones", Column: "name", Label: "telephone line"},
	{Table: "sip_endpoints", Column: "name", Label: "SIP endpoint"},
}

// sectionNameTaken reports which other kind already uses name as its
// Asterisk section name ("" when free). self is the table of the object
// being saved, which its own UNIQUE constraint covers.
func sectionNameTaken(ctx context.Context, tx *storage.Tx, name, self string) (string, error) {
	others := make([]storage.NameHolder, 0, len(sectionHolders))
	for _, h := range sectionHolders {
		if h.Table != self {
			others = append(others, h)
		}
	}
	return tx.FirstHolder(ctx, name, others)
}

func (s *Service) sectionNameCheck(ctx context.Context, tx *storage.Tx, name, self string) (FieldErrors, error) {
	what, err := sectionNameTaken(ctx, tx, name, self)
	if err != nil || what == "" {
		return nil, err
	}
	return FieldErrors{{Key: "name", Message: "name is already used by a " + what + " (peers, lines and SIP endpoints share Asterisk section names)", Reason: ReasonInUse}}, nil
}

// actorCustomerDefault returns a defaultsFor that fills key, when the
// input leaves it out, with the acting user's customer.
func actorCustomerDefault(key string) func(a *Actor, input Values) Values {
	return func(a *Actor, input Values) Values {
		if _, ok := input[key]; ok || a == nil {
			return input
		}
		out := make(Values, len(input)+1)
		for k, v := range input {
			out[k] = v
		}
		out[key] = strconv.Itoa(a.User.Customer)
		return out
	}
}

func ownsCustomer(_ context.Context, _ *storage.Tx, a *Actor, vals Values) (bool, error) {
	return a.Owns(atoi(vals["customer"])), nil
}

func customerScope(a *Actor) []storage.Cond {
	if a.System() {
		return nil
	}
	ids := make([]any, 0, len(a.Tree))
	for id := range a.Tree {
		ids = append(ids, id)
	}
	return []storage.Cond{{Col: "customer", Op: "in", Val: ids}}
}

// checkCustomerRef: a customer parameter must name a customer in the
// actor's tree — never silently another customer's.
func checkCustomerRef(ctx context.Context, tx *storage.Tx, a *Actor, key string, id int) (FieldErrors, error) {
	ok, err := exists(ctx, tx, "customers", id)
	if err != nil {
		return nil, err
	}
	if !ok || !a.Owns(id) {
		return FieldErrors{{Key: key, Message: fmt.Sprintf("customer %d does not exist or is not yours", id)}}, nil
	}
	return nil, nil
}

// KindPeer is peers/*: system only. Others may get a peer they can route
// to, seeing only its id and name (peers/get).
var KindPeer = &Kind{
	Name: "peer", Table: "peers", Key: "id", Spec: PeerSpec, ReturnsID: true,
	CreatePriv: []Privilege{PrivSystem}, UpdatePriv: []Privilege{PrivSystem}, DeletePriv: []Privilege{PrivSystem},
	GetPriv:  []Privilege{PrivUser, PrivCommerce},
	ListPriv: []Privilege{PrivUser, PrivCommerce},
	Sorts:    []string{"name", "description", "type"},
	Filters:  map[string]string{"customer": "=", "type": "="},
	visible: func(_ context.Context, _ *storage.Tx, a *Actor, v Values) (bool, error) {
		return a.System() || peerRoutableBy(a, v), nil
	},
	redact: func(a *Actor, obj map[string]any, _ ListOptions) {
		if a.System() {
			return
		}
		for k := range obj {
			if k != "id" && k != "name" {
				delete(obj, k)
			}
		}
	},
	check: func(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
		var errs FieldErrors
		for _, key := range []string{"customer", "plan_customer"} {
			if id := atoi(v[key]); id > 0 {
				more, err := checkCustomerRef(ctx, tx, a, key, id)
				if err != nil {
					return nil, err
				}
				errs = append(errs, more...)
			}
		}
		return errs, nil
	},
	beforeDelete: func(ctx context.Context, tx *storage.Tx, v Values) error {
		id := atoi(v["id"])
		n := 0
		for _, col := range []string{"peer1", "peer2", "peer3"} {
			c, err := tx.Count(ctx, "plan_routes", storage.Cond{Col: col, Op: "=", Val: id})
			if err != nil {
				return err
			}
			n += c
		}
		if n > 0 {
			return FieldErrors{{Key: "id", Message: fmt.Sprintf("peer is used by %d rate plan route(s); change them first", n)}}
		}
		if def, err := tx.Setting(ctx, "default_peer"); err != nil {
			return err
		} else if def == v["id"] {
			return FieldErrors{{Key: "id", Message: "peer is the system default peer"}}
		}
		return nil
	},
}

// peerRoutableBy: plan_customer names the customer (and its children)
// allowed to route to the peer; -1 all, 0 none.
func peerRoutableBy(a *Actor, v Values) bool {
	pc := atoi(v["plan_customer"])
	return pc == -1 || (pc > 0 && a.Ancestors[pc])
}

// KindPhone is phones/*, keyed by name.
var KindPhone = &Kind{
	Name: "telephone line", Table: "phones", Key: "name", Spec: PhoneSpec,
	CreatePriv: []Privilege{PrivAdministrator, PrivWholesale},
	UpdatePriv: []Privilege{PrivAdministrator, PrivResidential, PrivUser, PrivWholesale},
	// INFERRED: phones/delete's page is missing; deleting a line is an
	// administrator's job, as creating one is.
	DeletePriv:  []Privilege{PrivAdministrator, PrivWholesale},
	GetPriv:     []Privilege{PrivResidential, PrivUser, PrivWholesale},
	ListPriv:    []Privilege{PrivResidential, PrivUser},
	Sorts:       []string{"name", "description"},
	Filters:     map[string]string{"customer": "=", "owner": "="},
	defaultsFor: actorCustomerDefault("customer"),
	visible:     lineVisible,
	ownerOnly:   func(a *Actor) bool { return !lineAdministrator(a) },
	listScope: func(a *Actor) []storage.Cond {
		conds := customerScope(a)
		if !lineAdministrator(a) {
			conds = append(conds, storage.Cond{Col: "owner", Op: "=", Val: a.User.ID})
		}
		return conds
	},
	redact: func(a *Actor, obj map[string]any, opts ListOptions) {
		if !opts.Password {
			delete(obj, "password")
		}
	},
}

func (s *Service) phoneCheck(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
	var errs FieldErrors
	cust := atoi(v["customer"])
	more, err := checkCustomerRef(ctx, tx, a, "customer", cust)
	if err != nil {
		return nil, err
	}
	errs = append(errs, more...)
	if old == nil || !strings.EqualFold(old["name"], v["name"]) {
		more, err := s.sectionNameCheck(ctx, tx, v["name"], "phones")
		if err != nil {
			return nil, err
		}
		errs = append(errs, more...)
	}
	more, err = copyPassword(ctx, tx, a, v)
	if err != nil {
		return nil, err
	}
	errs = append(errs, more...)
	if v["password"] != "" && strings.EqualFold(v["password"], v["name"]) {
		errs = append(errs, FieldError{Key: "password", Message: "password must not be the line's name"})
	}
	if plan := atoi(v["plan"]); plan > 0 {
		ok, err := s.planUsableBy(ctx, tx, plan, cust)
		if err != nil {
			return nil, err
		}
		if !ok {
			errs = append(errs, FieldError{Key: "plan", Message: fmt.Sprintf("rate plan %d does not exist or is not available to customer %d", plan, cust)})
		}
	}
	// INFERRED: sipswitch has no class-of-service objects; 0 (default) and
	// 1 (the system COS that allows all calls) are the ones that exist.
	if c := atoi(v["cos"]); c > 1 {
		errs = append(errs, FieldError{Key: "cos", Message: "cos must be 0 (default) or 1 (system COS allowing all calls)"})
	}
	if o := atoi(v["owner"]); o > 0 {
		rec, err := tx.Get(ctx, "users", "id", o)
		if err != nil || !a.Owns(atoi(valuesOfRecord(rec)["customer"])) {
			errs = append(errs, FieldError{Key: "owner", Message: fmt.Sprintf("user %d does not exist or is not yours", o)})
		}
	}
	more, err = checkLineReferences(ctx, tx, a, v, old)
	if err != nil {
		return nil, err
	}
	return append(errs, more...), nil
}

// planUsableBy: a plan of the customer itself or of one of its ancestors
// (resellers share plans downwards).
func (s *Service) planUsableBy(ctx context.Context, tx *storage.Tx, plan, customer int) (bool, error) {
	rec, err := tx.Get(ctx, "plans", "id", plan)
	if err != nil {
		return false, nil
	}
	owner := atoi(valuesOfRecord(rec)["customer"])
	if owner == 0 {
		return true, nil
	}
	anc, err := customerAncestors(ctx, tx, customer)
	if err != nil {
		return false, err
	}
	return anc[owner], nil
}

// KindPlan is plans/*.
var KindPlan = &Kind{
	Name: "rate plan", Table: "plans", Key: "id", Spec: PlanSpec, ReturnsID: true,
	CreatePriv: []Privilege{PrivCommerce}, UpdatePriv: []Privilege{PrivCommerce}, DeletePriv: []Privilege{PrivCommerce},
	GetPriv:     []Privilege{PrivCommerce, PrivSettings, PrivUser, PrivResidential, PrivWholesale},
	ListPriv:    []Privilege{PrivCommerce, PrivSettings},
	Sorts:       []string{"name", "description"},
	Filters:     map[string]string{"customer": "="},
	defaultsFor: actorCustomerDefault("customer"),
	visible:     ownsCustomer,
	listScope:   customerScope,
	beforeDelete: func(ctx context.Context, tx *storage.Tx, v Values) error {
		if err := refuseIfReferenced(ctx, tx, atoi(v["id"]), "rate plan is used by",
			reference{"phones", "plan", "telephone line(s)"}, reference{"customers", "plan", "customer(s)"}); err != nil {
			return err
		}
		if def, err := tx.Setting(ctx, "default_plan"); err != nil {
			return err
		} else if def == v["id"] {
			return FieldErrors{{Key: "id", Message: "rate plan is the system default plan"}}
		}
		return nil
	},
}

func (s *Service) planCheck(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
	errs, err := checkCustomerRef(ctx, tx, a, "customer", atoi(v["customer"]))
	if err != nil {
		return nil, err
	}
	if tg := atoi(v["cos_timegroup"]); tg > 0 {
		more, err := timeGroupRef(ctx, tx, a, "cos_timegroup", tg)
		if err != nil {
			return nil, err
		}
		errs = append(errs, more...)
	}
	return errs, nil
}

func timeGroupRef(ctx context.Context, tx *storage.Tx, a *Actor, key string, id int) (FieldErrors, error) {
	if !ownedRow(ctx, tx, a, "timegroups", id) {
		return FieldErrors{{Key: key, Message: fmt.Sprintf("time group %d does not exist or is not yours", id)}}, nil
	}
	return nil, nil
}

// ownedRow reports whether the row of table with this id exists and
// belongs to a customer in the actor's tree.
func ownedRow(ctx context.Context, tx *storage.Tx, a *Actor, table string, id int) bool {
	rec, err := tx.Get(ctx, table, "id", id)
	return err == nil && a.Owns(atoi(valuesOfRecord(rec)["customer"]))
}

// planVisible: a route or list of routes belongs to a plan of the actor's.
func planVisible(ctx context.Context, tx *storage.Tx, a *Actor, v Values) (bool, error) {
	return ownedRow(ctx, tx, a, "plans", atoi(v["plan"])), nil
}

// KindRoute is plans/routes/*.
var KindRoute = &Kind{
	Name: "rate plan route", Table: "plan_routes", Key: "id", Spec: RouteSpec, ReturnsID: true,
	CreatePriv: []Privilege{PrivCommerce}, UpdatePriv: []Privilege{PrivCommerce}, DeletePriv: []Privilege{PrivCommerce},
	GetPriv: []Privilege{PrivCommerce}, ListPriv: []Privilege{PrivCommerce},
	Sorts:          []string{"called_prefix", "allow", "caller_prefix", "media"},
	Filters:        map[string]string{"plan": "=", "called_prefix": "prefix", "caller_prefix": "prefix", "media": "="},
	RequiredFilter: "plan",
	// 4.1 removed plan from plans/routes/update: a route stays in its plan.
	Immutable: []string{"plan"},
	visible:   planVisible,
}

func (s *Service) routeCheck(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
	var errs FieldErrors
	if ok, err := planVisible(ctx, tx, a, v); err != nil {
		return nil, err
	} else if !ok {
		errs = append(errs, FieldError{Key: "plan", Message: fmt.Sprintf("rate plan %s does not exist or is not yours", v["plan"])})
	}
	for _, key := range []string{"peer1", "peer2", "peer3"} {
		id := atoi(v[key])
		if id <= 0 {
			continue
		}
		rec, err := tx.Get(ctx, "peers", "id", id)
		if err != nil {
			errs = append(errs, FieldError{Key: key, Message: fmt.Sprintf("peer %d does not exist", id)})
			continue
		}
		if !a.System() && !peerRoutableBy(a, valuesOfRecord(rec)) {
			errs = append(errs, FieldError{Key: key, Message: fmt.Sprintf("peer %d does not exist", id)})
		}
	}
	if tg := atoi(v["timegroup"]); tg > 0 {
		more, err := timeGroupRef(ctx, tx, a, "timegroup", tg)
		if err != nil {
			return nil, err
		}
		errs = append(errs, more...)
	}
	return errs, nil
}

// KindTimeGroup is timegroups/*. INFERRED privileges: time groups serve
// the whole account, so administrators and commerce users manage them and
// every user may read them.
var KindTimeGroup = &Kind{
	Name: "time group", Table: "timegroups", Key: "id", Spec: TimeGroupSpec, ReturnsID: true,
	CreatePriv: []Privilege{PrivAdministrator, PrivCommerce}, UpdatePriv: []Privilege{PrivAdministrator, PrivCommerce},
	DeletePriv: []Privilege{PrivAdministrator, PrivCommerce},
	GetPriv:    []Privilege{PrivUser, PrivCommerce}, ListPriv: []Privilege{PrivUser, PrivCommerce},
	Sorts:       []string{"name", "description"},
	Filters:     map[string]string{"customer": "="},
	defaultsFor: actorCustomerDefault("customer"),
	visible:     ownsCustomer,
	listScope:   customerScope,
	beforeDelete: func(ctx context.Context, tx *storage.Tx, v Values) error {
		return refuseIfReferenced(ctx, tx, atoi(v["id"]), "time group is used by",
			reference{"plans", "cos_timegroup", "rate plan(s)"}, reference{"plan_routes", "timegroup", "route(s)"})
	},
}

func timeGroupVisible(ctx context.Context, tx *storage.Tx, a *Actor, v Values) (bool, error) {
	return ownedRow(ctx, tx, a, "timegroups", atoi(v["timegroup"])), nil
}

// KindTimePeriod is timegroups/periods/*.
var KindTimePeriod = &Kind{
	Name: "time period", Table: "timeperiods", Key: "id", Spec: TimePeriodSpec, ReturnsID: true,
	CreatePriv: KindTimeGroup.CreatePriv, UpdatePriv: KindTimeGroup.UpdatePriv, DeletePriv: KindTimeGroup.DeletePriv,
	GetPriv: KindTimeGroup.GetPriv, ListPriv: KindTimeGroup.ListPriv,
	Sorts:          []string{"id"},
	Filters:        map[string]string{"timegroup": "="},
	RequiredFilter: "timegroup",
	Immutable:      []string{"timegroup"},
	visible:        timeGroupVisible,
	check: func(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
		if ok, err := timeGroupVisible(ctx, tx, a, v); err != nil || ok {
			return nil, err
		}
		return FieldErrors{{Key: "timegroup", Message: fmt.Sprintf("time group %s does not exist or is not yours", v["timegroup"])}}, nil
	},
}

// KindPeerCost is peers/costs/*: system owner only.
var KindPeerCost = &Kind{
	Name: "peer cost", Table: "peer_costs", Key: "id", Spec: PeerCostSpec, ReturnsID: true,
	CreatePriv: []Privilege{PrivSystem}, UpdatePriv: []Privilege{PrivSystem}, DeletePriv: []Privilege{PrivSystem},
	GetPriv: []Privilege{PrivSystem}, ListPriv: []Privilege{PrivSystem},
	Sorts:          []string{"called_prefix", "media", "cost"},
	Filters:        map[string]string{"peer": "=", "called_prefix": "prefix", "media": "="},
	RequiredFilter: "peer",
	check: func(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
		if ok, err := exists(ctx, tx, "peers", atoi(v["peer"])); err != nil || ok {
			return nil, err
		}
		return FieldErrors{{Key: "peer", Message: fmt.Sprintf("peer %s does not exist", v["peer"])}}, nil
	},
	visible: func(context.Context, *storage.Tx, *Actor, Values) (bool, error) { return true, nil },
}

// KindCustomer is customers/*. INFERRED: resellers (commerce) and
// administrators create customers below their own.
var KindCustomer = &Kind{
	Name: "customer", Table: "customers", Key: "id", Spec: CustomerSpec, ReturnsID: true,
	CreatePriv: []Privilege{PrivCommerce, PrivAdministrator}, UpdatePriv: []Privilege{PrivCommerce, PrivAdministrator},
	DeletePriv: []Privilege{PrivCommerce, PrivAdministrator},
	GetPriv:    []Privilege{PrivUser, PrivCommerce}, ListPriv: []Privilege{PrivCommerce, PrivAdministrator},
	Sorts:       []string{"name"},
	Filters:     map[string]string{"parent": "="},
	defaultsFor: actorCustomerDefault("parent"),
	visible: func(_ context.Context, _ *storage.Tx, a *Actor, v Values) (bool, error) {
		return a.Owns(atoi(v["id"])), nil
	},
	listScope: func(a *Actor) []storage.Cond {
		if a.System() {
			return nil
		}
		ids := make([]any, 0, len(a.Tree))
		for id := range a.Tree {
			ids = append(ids, id)
		}
		return []storage.Cond{{Col: "id", Op: "in", Val: ids}}
	},
	beforeDelete: func(ctx context.Context, tx *storage.Tx, v Values) error {
		id := atoi(v["id"])
		if id == RootCustomer {
			return FieldErrors{{Key: "id", Message: "the system customer cannot be deleted"}}
		}
		return refuseIfReferenced(ctx, tx, id, "customer has",
			reference{"customers", "parent", "sub-customer(s)"}, reference{"phones", "customer", "telephone line(s)"},
			reference{"users", "customer", "user(s)"}, reference{"plans", "customer", "rate plan(s)"})
	},
}

func (s *Service) customerCheck(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
	parent := atoi(v["parent"])
	if old != nil && old["parent"] != v["parent"] {
		return FieldErrors{{Key: "parent", Message: "parent cannot be changed"}}, nil
	}
	errs, err := checkCustomerRef(ctx, tx, a, "parent", parent)
	if err != nil {
		return nil, err
	}
	if plan := atoi(v["plan"]); plan > 0 {
		ok, err := s.planUsableBy(ctx, tx, plan, parent)
		if err != nil {
			return nil, err
		}
		if !ok {
			errs = append(errs, FieldError{Key: "plan", Message: fmt.Sprintf("rate plan %d does not exist or is not available", plan)})
		}
	}
	return errs, nil
}

// Kinds returns every kind with its service-bound checks, keyed by the API
// module path ("peers", "plans/routes", ...).
func (s *Service) Kinds() map[string]*Kind {
	bind := func(k *Kind, check func(context.Context, *storage.Tx, *Actor, Values, Values) (FieldErrors, error)) *Kind {
		c := *k
		if check != nil {
			c.check = check
		}
		if c.check == nil {
			c.check = func(context.Context, *storage.Tx, *Actor, Values, Values) (FieldErrors, error) { return nil, nil }
		}
		return &c
	}
	peerCheck := KindPeer.check
	return map[string]*Kind{
		"peers": bind(KindPeer, func(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
			errs, err := peerCheck(ctx, tx, a, v, old)
			if err != nil {
				return nil, err
			}
			if old == nil || !strings.EqualFold(old["name"], v["name"]) {
				more, err := s.sectionNameCheck(ctx, tx, v["name"], "peers")
				if err != nil {
					return nil, err
				}
				errs = append(errs, more...)
			}
			return errs, nil
		}),
		"phones":       bind(KindPhone, s.phoneCheck),
		"plans":        bind(KindPlan, s.planCheck),
		"plans/routes": bind(KindRoute, s.routeCheck),
		"timegroups": bind(KindTimeGroup, func(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
			return checkCustomerRef(ctx, tx, a, "customer", atoi(v["customer"]))
		}),
		"timegroups/periods": bind(KindTimePeriod, nil),
		"peers/costs":        bind(KindPeerCost, nil),
		"customers":          bind(KindCustomer, s.customerCheck),
	}
}
