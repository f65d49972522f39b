package engine

import (
	"context"

	"github.com/sipswitch/sipswitch/storage"
)

// Rate plans (Enswitch plans/*).

// PlanSpec is plans/create (and plans/update). cos_timegroup is the time
// group allow=2/3 routes consult.
var PlanSpec = newSpec(
	required(str("name", "", checkCallerIDText)),
	str("description", "", nil),
	id("customer", false),
	id("cos_timegroup", false),
	validationParam,
)

// planUsableBy: a plan of the customer itself or of one of its ancestors
// (resellers share plans downwards).
func planUsableBy(ctx context.Context, tx *storage.Tx, plan, customer int) (bool, error) {
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

// kindPlan is plans/*.
var kindPlan = &Kind{
	Name: "rate plan", Table: "plans", Key: "id", Spec: PlanSpec, ReturnsID: true,
	check:      checkPlan,
	CreatePriv: []Privilege{PrivCommerce}, UpdatePriv: []Privilege{PrivCommerce}, DeletePriv: []Privilege{PrivCommerce},
	GetPriv:     []Privilege{PrivCommerce, PrivSettings, PrivUser, PrivResidential, PrivWholesale},
	ListPriv:    []Privilege{PrivCommerce, PrivSettings},
	Sorts:       []string{"name", "description"},
	Filters:     map[string]string{"customer": "=", "name": "prefix"},
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

func checkPlan(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
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

// planVisible: a route or list of routes belongs to a plan of the actor's.
func planVisible(ctx context.Context, tx *storage.Tx, a *Actor, v Values) (bool, error) {
	return ownedRow(ctx, tx, a, "plans", atoi(v["plan"])), nil
}
