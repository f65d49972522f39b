package engine

import (
	"context"
	"fmt"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

// Classes of service (cos/*) and their rules (cos/rules/*): which numbers
// a line may call. INFERRED: Enswitch documents the phones/create "cos"
// parameter but no cos/* page; the functions follow its naming and the
// plans/routes pattern. Privileges: commerce users (resellers, the system
// owner) manage classes as they manage rate plans; administrators and
// wholesale users may read them, to give them to lines.

// cosSpec is cos/create (and update). otherwise says what happens to a
// number no rule matches; INFERRED default deny: a class is a list of what
// its lines may call unless its operator says otherwise, so a class
// created without rules bars instead of opening every number.
var cosSpec = newSpec(
	required(str("name", "", checkCallerIDText)),
	str("description", "", nil),
	id("customer", false),
	enum("otherwise", String, routing.COSDeny, routing.COSDeny, routing.COSAllow),
	validationParam,
)

// cosRuleSpec is cos/rules/create (and update).
var cosRuleSpec = newSpec(
	required(Param{Name: "cos", Type: Integer, Min: 1, MinSet: true}),
	integer("position", "0", 0, 1_000_000),
	prefixParam(str("prefix", "", nil)),
	flag("allow", "0"),
	id("timegroup", false),
	str("description", "", nil),
	validationParam,
)

var cosPrivs = struct{ manage, read []Privilege }{
	manage: []Privilege{PrivCommerce},
	read:   []Privilege{PrivCommerce, PrivAdministrator, PrivWholesale},
}

// kindCOS is cos/*. The built-in class 1 is listed for everyone and can be
// neither changed nor deleted.
var kindCOS = &Kind{
	Name: "class of service", Table: "cos", Key: "id", Spec: cosSpec, ReturnsID: true,
	check:      checkCOS,
	CreatePriv: cosPrivs.manage, UpdatePriv: cosPrivs.manage, DeletePriv: cosPrivs.manage,
	GetPriv: cosPrivs.read, ListPriv: cosPrivs.read,
	Sorts:       []string{"name", "description"},
	Filters:     map[string]string{"customer": "=", "name": "prefix"},
	defaultsFor: actorCustomerDefault("customer"),
	visible: func(_ context.Context, _ *storage.Tx, a *Actor, v Values) (bool, error) {
		return atoi(v["id"]) == routing.COSAllowAll || a.Owns(atoi(v["customer"])), nil
	},
	beforeDelete: func(ctx context.Context, tx *storage.Tx, v Values) error {
		id := atoi(v["id"])
		if id == routing.COSAllowAll {
			return FieldErrors{{Key: "id", Message: "class of service 1 is built in and cannot be deleted"}}
		}
		if err := refuseIfReferenced(ctx, tx, id, "class of service is used by", reference{"phones", "cos", "telephone line(s)"}); err != nil {
			return err
		}
		if def, err := tx.Setting(ctx, "default_cos"); err != nil {
			return err
		} else if def == v["id"] {
			return FieldErrors{{Key: "id", Message: "class of service is the system default (settings default_cos)"}}
		}
		return nil
	},
}

// checkCOS: a class belongs to one of the actor's customers, and the
// built-in class stays as it is.
func checkCOS(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
	if old != nil && atoi(old["id"]) == routing.COSAllowAll {
		return FieldErrors{{Key: "id", Message: "class of service 1 is built in and cannot be changed"}}, nil
	}
	return checkCustomerRef(ctx, tx, a, "customer", atoi(v["customer"]))
}

// cosRuleVisible: a rule is its class's, which must be the actor's own
// (the built-in class has no rules to see or add).
func cosRuleVisible(ctx context.Context, tx *storage.Tx, a *Actor, v Values) (bool, error) {
	id := atoi(v["cos"])
	return id != routing.COSAllowAll && ownedRow(ctx, tx, a, "cos", id), nil
}

// kindCOSRule is cos/rules/*.
var kindCOSRule = &Kind{
	Name: "class of service rule", Table: "cos_rules", Key: "id", Spec: cosRuleSpec, ReturnsID: true,
	CreatePriv: cosPrivs.manage, UpdatePriv: cosPrivs.manage, DeletePriv: cosPrivs.manage,
	GetPriv: cosPrivs.read, ListPriv: cosPrivs.read,
	Sorts:          []string{"position", "prefix"},
	Filters:        map[string]string{"cos": "=", "prefix": "prefix"},
	RequiredFilter: "cos",
	Immutable:      []string{"cos"},
	visible:        cosRuleVisible,
	check: func(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
		var errs FieldErrors
		if ok, err := cosRuleVisible(ctx, tx, a, v); err != nil {
			return nil, err
		} else if !ok {
			errs = append(errs, FieldError{Key: "cos", Message: fmt.Sprintf("class of service %s does not exist, is not yours or is the built-in class", v["cos"])})
		}
		if tg := atoi(v["timegroup"]); tg > 0 {
			more, err := timeGroupRef(ctx, tx, a, "timegroup", tg)
			if err != nil {
				return nil, err
			}
			errs = append(errs, more...)
		}
		return errs, nil
	},
}

// cosUsableBy: a line of customer may have the built-in class, a class of
// its own customer or of one above it (resellers share classes downwards,
// as rate plans), or one of no customer.
func cosUsableBy(ctx context.Context, tx *storage.Tx, cos, customer int) (bool, error) {
	if cos == routing.COSDefault || cos == routing.COSAllowAll {
		return true, nil
	}
	rec, err := tx.Get(ctx, "cos", "id", cos)
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

// loadClasses reads every class of service with its rules.
func loadClasses(ctx context.Context, tx *storage.Tx) ([]routing.ClassOfService, error) {
	var classes []routing.ClassOfService
	if err := loadAll(ctx, tx, "cos", &classes); err != nil {
		return nil, err
	}
	var rules []routing.COSRule
	if err := loadAll(ctx, tx, "cos_rules", &rules); err != nil {
		return nil, err
	}
	byID := make(map[int]int, len(classes))
	for i, c := range classes {
		byID[c.ID] = i
	}
	for _, r := range rules {
		if i, ok := byID[r.COS]; ok {
			classes[i].Rules = append(classes[i].Rules, r)
		}
	}
	return classes, nil
}
