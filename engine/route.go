package engine

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

// Rate plan routes (Enswitch plans/routes/*).

// RouteSpec is plans/routes/create (and update). timegroup is a sipswitch
// addition (0 = the plan's cos_timegroup).
var RouteSpec = newSpec(
	prefixParam(Param{Name: "called_prefix", Type: String, Required: true, EmptyOK: true, Check: checkText}),
	required(Param{Name: "plan", Type: Integer, Min: 1, MinSet: true}),
	enum("allow", Integer, "1", "0", "1", "2", "3"),
	prefixParam(str("caller_prefix", "", nil)),
	str("description", "", nil),
	enum("media", String, routing.MediaVoiceFax, routing.MediaFax, routing.MediaVoice, routing.MediaVoiceFax),
	id("peer1", true),
	id("peer2", true),
	id("peer3", true),
	id("timegroup", false),
	validationParam,
)

// A plan has one route per called prefix, caller prefix and media: the
// store enforces it (UNIQUE (plan, called_prefix, caller_prefix, media)),
// answered by conflictError with routeExists, for the API and the
// switch-file loader alike.

// routeExists is the error of a route whose plan, called_prefix,
// caller_prefix and media another route has.
func routeExists() FieldError {
	return FieldError{Key: "called_prefix", Message: "a route with this called_prefix, caller_prefix and media already exists in the plan"}
}

// kindRoute is plans/routes/*.
var kindRoute = &Kind{
	Name: "rate plan route", Table: "plan_routes", Key: "id", Spec: RouteSpec, ReturnsID: true,
	check:      checkRoute,
	CreatePriv: []Privilege{PrivCommerce}, UpdatePriv: []Privilege{PrivCommerce}, DeletePriv: []Privilege{PrivCommerce},
	GetPriv: []Privilege{PrivCommerce}, ListPriv: []Privilege{PrivCommerce},
	Sorts:          []string{"called_prefix", "allow", "caller_prefix", "media"},
	Filters:        map[string]string{"plan": "=", "called_prefix": "prefix", "caller_prefix": "prefix", "media": "="},
	RequiredFilter: "plan",
	// 4.1 removed plan from plans/routes/update: a route stays in its plan.
	Immutable: []string{"plan"},
	visible:   planVisible,
}

func checkRoute(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
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
		// Only plan_customer is read: a peer row has thirty columns and a
		// rate deck loaded through this check (a switch file) has
		// thousands of routes.
		var planCustomer sql.NullInt64
		found := false
		err := tx.Scan(ctx, "peers", []string{"plan_customer"}, []storage.Cond{{Col: "id", Op: "=", Val: id}}, func(r storage.Scanner) error {
			found = true
			return r.Scan(&planCustomer)
		})
		if err != nil {
			return nil, err
		}
		if !found || !a.System() && !peerRoutableBy(a, Values{"plan_customer": strconv.FormatInt(planCustomer.Int64, 10)}) {
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
