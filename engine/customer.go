package engine

import (
	"context"
	"fmt"

	"github.com/sipswitch/sipswitch/storage"
)

// Customers: the tree every object and user hangs in (customers/*).

// customerSpec is customers/create (and update). INFERRED: Enswitch's
// customer functions take many billing fields; sipswitch keeps the tree
// and the default rate plan.
var customerSpec = newSpec(
	required(str("name", "", checkCallerIDText)),
	id("parent", false),
	id("plan", false),
	validationParam,
)

// kindCustomer is customers/*. INFERRED: resellers (commerce) and
// administrators create customers below their own.
var kindCustomer = &Kind{
	Name: "customer", Table: "customers", Key: "id", Spec: customerSpec, ReturnsID: true,
	check:      checkCustomer,
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

func checkCustomer(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
	parent := atoi(v["parent"])
	if old != nil && old["parent"] != v["parent"] {
		return FieldErrors{{Key: "parent", Message: "parent cannot be changed"}}, nil
	}
	errs, err := checkCustomerRef(ctx, tx, a, "parent", parent)
	if err != nil {
		return nil, err
	}
	if plan := atoi(v["plan"]); plan > 0 {
		ok, err := planUsableBy(ctx, tx, plan, parent)
		if err != nil {
			return nil, err
		}
		if !ok {
			errs = append(errs, FieldError{Key: "plan", Message: fmt.Sprintf("rate plan %d does not exist or is not available", plan)})
		}
	}
	return errs, nil
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

func customerTree(ctx context.Context, tx *storage.Tx, root int) (map[int]bool, error) {
	return tx.Descendants(ctx, "customers", "parent", root)
}

func customerAncestors(ctx context.Context, tx *storage.Tx, leaf int) (map[int]bool, error) {
	return tx.Ancestors(ctx, "customers", "parent", leaf)
}
