package engine

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/sipswitch/sipswitch/records"
)

// The live state: what the SIP core of this host holds now — calls in
// progress and phones' bindings — as the API's registrations/list,
// registrations/delete, calls/active and calls/hangup and the event
// stream show it. The engine holds none of it; the daemon gives the API
// a LiveState over its SIP core (cmd/sipswitch/live.go), so that neither
// the API nor the engine imports the SIP core.
//
// Who sees what: the live functions take the privileges of phones/list
// (residential, user), and each answers only for the lines phones/list
// would show the caller (its customer tree; a line owner without the
// administrator or wholesale privilege, only the lines it owns). A call
// is shown when the line whose call it is or the line it rings is one of
// them. INFERRED: a user may hang up its own lines' calls and unregister
// its own phones, as it may change its own lines.
//
// In a cluster each host answers for the calls it carries; bindings are
// shared through the store (cmd/sipswitch/cluster.go), and each says the
// host whose registrar took it.

// LiveRegistration is one binding as the live state shows it.
type LiveRegistration struct {
	records.Registration
	// Since is when this host first saw the binding: its REGISTER, or
	// its arrival from the store (at start or from another host).
	Since time.Time
}

// LiveState is the SIP core's live state, as the API reads it.
type LiveState interface {
	// ActiveCalls are the calls in progress on this host.
	ActiveCalls() []records.LiveCall
	// Registrations are the bindings the registrar holds (shared in a
	// cluster).
	Registrations() []LiveRegistration
	// Hangup ends an answered call of this host by its id, sending BYE on
	// both legs; its record's hangup is "operator". ErrNotFound when this
	// host carries no such call, ErrNotAnswered while it rings.
	Hangup(id string) error
	// Unregister removes one binding (ErrNotFound when there is none).
	Unregister(ctx context.Context, line, contact string) error
	// Subscribe streams the live events, in chunks from a LiveHub: the
	// publisher is never held, a subscriber that falls behind loses
	// events and is told (LiveSubscription.Read). Close ends it.
	Subscribe() *LiveSubscription
}

// Errors of the live state.
var (
	ErrNoLiveState = errors.New("this server carries no calls: the live state is served by sipswitch serve")
)

// CallStates are the states calls/active shows.
var CallStates = []string{records.CallRinging, records.CallUp, records.CallHeld}

// LivePrivileges are phones/list's: whoever may list lines may see their
// live state.
var LivePrivileges = []Privilege{PrivResidential, PrivUser}

// LineScope is the set of lines an actor may see the live state of,
// narrowed by the list filters line and customer.
type LineScope struct {
	all   bool           // every line (a system actor, no customer filter)
	lines map[string]int // line name -> customer
	line  string         // the line filter ("" none)
}

// Allows reports whether the live state of line may be shown.
func (sc *LineScope) Allows(line string) bool {
	if line == "" || (sc.line != "" && line != sc.line) {
		return false
	}
	if sc.all {
		return true
	}
	_, ok := sc.lines[line]
	return ok
}

// AllowsCall reports whether a call may be shown: its line's or the line
// it rings.
func (sc *LineScope) AllowsCall(c *records.LiveCall) bool {
	return sc.Allows(c.Line) || sc.Allows(c.CalledLine)
}

// LiveScope is the scope of the live functions for an actor with the
// filters line and customer (either may be empty). The lines are read
// as phones/list reads them, so the scope is exactly what that list
// shows.
func (s *Service) LiveScope(ctx context.Context, a *Actor, line, customer string) (*LineScope, error) {
	if err := s.authorize(a, LivePrivileges); err != nil {
		return nil, err
	}
	if customer != "" {
		if n, err := strconv.Atoi(customer); err != nil || n < 1 {
			return nil, FieldErrors{{Key: "customer", Message: "customer must be a customer id"}}
		}
	}
	if len(line) > 128 {
		return nil, FieldErrors{{Key: "line", Message: "line must be a line name of at most 128 characters"}}
	}
	sc := &LineScope{line: line}
	if a.System() && customer == "" {
		sc.all = true
		return sc, nil
	}
	filters := Values{}
	if customer != "" {
		filters["customer"] = customer
	}
	rows, _, err := s.List(ctx, a, kindPhone, ListOptions{Filters: filters})
	if err != nil {
		return nil, err
	}
	sc.lines = make(map[string]int, len(rows))
	for _, r := range rows {
		v := valuesOfRecord(r)
		sc.lines[v["name"]] = atoi(v["customer"])
	}
	return sc, nil
}
