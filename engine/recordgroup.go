package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

// Record groups (recordgroups/*; issue 29): which calls of the lines that
// name one (phones' recordgroup) are recorded, where the files go and how
// long they are kept (routing/recordgroup.go has the rules both call
// paths follow). INFERRED names: the seed pages name only a phone's
// "ID of record group", so the group's own fields follow the switch's
// other objects (name, customer, description) and say what they hold:
// calls, retention (days), directory.

// RecordGroupSpec is recordgroups/create (and update).
var RecordGroupSpec = newSpec(
	required(str("name", "", checkCallerIDText)),
	id("customer", false),
	str("description", "", nil),
	enum("calls", String, routing.RecordAll, routing.RecordAll, routing.RecordInbound, routing.RecordOutbound),
	integer("retention", "0", 0, 36500),
	str("directory", "", checkRecordDirectory),
	validationParam,
)

func checkRecordDirectory(s string) error {
	if err := routing.CheckRecordDirectory(s); err != nil {
		var msg string
		if errors.Is(err, routing.ErrRecordDirectory) {
			msg = "must be a relative path of names made of letters, digits, '-', '_' and '.' (no '..'), at most 200 characters"
		} else {
			msg = err.Error()
		}
		return errors.New(msg)
	}
	return nil
}

// kindRecordGroup is recordgroups/*. INFERRED privileges: as time groups,
// a customer's administrators and commerce users manage them and every
// user may read them (whether their calls are recorded is theirs to
// know); which group a line is in is set by those who manage the line
// (phones' recordgroup is not the owner's to change).
var kindRecordGroup = &Kind{
	Name: "record group", Table: "recordgroups", Key: "id", Spec: RecordGroupSpec, ReturnsID: true,
	check: func(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
		return checkCustomerRef(ctx, tx, a, "customer", atoi(v["customer"]))
	},
	CreatePriv: []Privilege{PrivAdministrator, PrivCommerce}, UpdatePriv: []Privilege{PrivAdministrator, PrivCommerce},
	DeletePriv: []Privilege{PrivAdministrator, PrivCommerce},
	GetPriv:    []Privilege{PrivUser, PrivCommerce}, ListPriv: []Privilege{PrivUser, PrivCommerce},
	Sorts:       []string{"name", "description"},
	Filters:     map[string]string{"customer": "=", "name": "prefix"},
	defaultsFor: actorCustomerDefault("customer"),
	visible:     ownsCustomer,
	listScope:   customerScope,
	beforeDelete: func(ctx context.Context, tx *storage.Tx, v Values) error {
		return refuseIfReferenced(ctx, tx, atoi(v["id"]), "record group is used by", reference{"phones", "recordgroup", "line(s)"})
	},
}

// checkRecordGroupRef: a line's recordgroup (other than 0) names a group
// of the line's customer or one above it (or the system's, customer 0),
// as a plan or class of service is.
func checkRecordGroupRef(ctx context.Context, tx *storage.Tx, v, old Values) (FieldErrors, error) {
	g, cust := atoi(v["recordgroup"]), atoi(v["customer"])
	if g == 0 || old != nil && v["recordgroup"] == old["recordgroup"] && v["customer"] == old["customer"] {
		return nil, nil
	}
	rec, err := tx.Get(ctx, "recordgroups", "id", g)
	if errors.Is(err, storage.ErrNotFound) {
		return FieldErrors{{Key: "recordgroup", Message: fmt.Sprintf("record group %d does not exist or is not available to customer %d", g, cust)}}, nil
	}
	if err != nil {
		return nil, err
	}
	if owner := atoi(valuesOfRecord(rec)["customer"]); owner != 0 {
		anc, err := customerAncestors(ctx, tx, cust)
		if err != nil {
			return nil, err
		}
		if !anc[owner] {
			return FieldErrors{{Key: "recordgroup", Message: fmt.Sprintf("record group %d does not exist or is not available to customer %d", g, cust)}}, nil
		}
	}
	return nil, nil
}

// CallRecording returns where the recording of call id is, relative to
// the recordings directory (the call record's recording), when the actor
// may read the call (calls/get's rule): ErrNotFound for a call it may not
// see, one that does not exist, or one that was not recorded.
func (s *Service) CallRecording(ctx context.Context, a *Actor, id string) (string, error) {
	obj, err := s.Get(ctx, a, kindCall, id, ListOptions{})
	if err != nil {
		return "", err
	}
	path, _ := obj["recording"].(string)
	if path == "" {
		return "", ErrNotFound
	}
	return path, nil
}

// recordingFunction is calls/recording (api/recording.go).
func recordingFunction() APIFunction {
	return APIFunction{Name: "calls/recording", Summary: "The recording of a call (audio/wav: two channels, caller left, callee right, G.711), for whoever may read the call (calls/get); 404 when the call was not recorded or its file is not on this host",
		Params: []Param{withDoc(Param{Name: "id", Type: Integer, Min: 1, MinSet: true}, "the call record's id, as calls/list gives it")}, Required: []string{"id"}}
}
