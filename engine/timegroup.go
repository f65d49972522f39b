package engine

import (
	"context"
	"fmt"

	"github.com/sipswitch/sipswitch/storage"
)

// Time groups and their periods (timegroups/*, timegroups/periods/*).

// timeGroupSpec is timegroups/create (and update).
var timeGroupSpec = newSpec(
	required(str("name", "", checkCallerIDText)),
	id("customer", false),
	str("description", "", nil),
	validationParam,
)

// timePeriodSpec is timegroups/periods/create (and update).
var timePeriodSpec = newSpec(
	required(Param{Name: "timegroup", Type: Integer, Min: 1, MinSet: true}),
	str("days", "1234567", checkDays),
	integer("starthour", "0", 0, 23),
	integer("startminute", "0", 0, 59),
	integer("endhour", "23", 0, 23),
	integer("endminute", "59", 0, 59),
	str("startdate", "", checkDate),
	str("enddate", "", checkDate),
	str("timezone", "", checkTimezone),
	validationParam,
)

// kindTimeGroup is timegroups/*. INFERRED privileges: time groups serve
// the whole account, so administrators and commerce users manage them and
// every user may read them.
var kindTimeGroup = &Kind{
	Name: "time group", Table: "timegroups", Key: "id", Spec: timeGroupSpec, ReturnsID: true,
	check:      checkTimeGroup,
	CreatePriv: []Privilege{PrivAdministrator, PrivCommerce}, UpdatePriv: []Privilege{PrivAdministrator, PrivCommerce},
	DeletePriv: []Privilege{PrivAdministrator, PrivCommerce},
	GetPriv:    []Privilege{PrivUser, PrivCommerce}, ListPriv: []Privilege{PrivUser, PrivCommerce},
	Sorts:       []string{"name", "description"},
	Filters:     map[string]string{"customer": "=", "name": "prefix"},
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

// kindTimePeriod is timegroups/periods/*.
var kindTimePeriod = &Kind{
	Name: "time period", Table: "timeperiods", Key: "id", Spec: timePeriodSpec, ReturnsID: true,
	CreatePriv: kindTimeGroup.CreatePriv, UpdatePriv: kindTimeGroup.UpdatePriv, DeletePriv: kindTimeGroup.DeletePriv,
	GetPriv: kindTimeGroup.GetPriv, ListPriv: kindTimeGroup.ListPriv,
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

func timeGroupRef(ctx context.Context, tx *storage.Tx, a *Actor, key string, id int) (FieldErrors, error) {
	if !ownedRow(ctx, tx, a, "timegroups", id) {
		return FieldErrors{{Key: key, Message: fmt.Sprintf("time group %d does not exist or is not yours", id)}}, nil
	}
	return nil, nil
}

// checkTimeGroup: a time group belongs to one of the actor's customers.
func checkTimeGroup(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
	return checkCustomerRef(ctx, tx, a, "customer", atoi(v["customer"]))
}
