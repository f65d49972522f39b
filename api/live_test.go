package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/records"
)

// liveState is an engine.LiveState held in memory: the API's side of the
// live functions is tested here; the SIP core's (sip/live.go) with real
// calls in cmd/sipswitch and the browser test.
type liveState struct {
	mu      sync.Mutex
	calls   []records.LiveCall
	regs    []engine.LiveRegistration
	hungUp  []string
	removed []string
	hub     *engine.LiveHub
}

func (l *liveState) ActiveCalls() []records.LiveCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]records.LiveCall(nil), l.calls...)
}

func (l *liveState) Registrations() []engine.LiveRegistration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]engine.LiveRegistration(nil), l.regs...)
}

func (l *liveState) Hangup(id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, c := range l.calls {
		if c.ID == id {
			l.calls = append(l.calls[:i], l.calls[i+1:]...)
			l.hungUp = append(l.hungUp, id)
			return nil
		}
	}
	return engine.ErrNotFound
}

func (l *liveState) Unregister(_ context.Context, line, contact string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, r := range l.regs {
		if r.Phone == line && r.Contact == contact {
			l.regs = append(l.regs[:i], l.regs[i+1:]...)
			l.removed = append(l.removed, line+" "+contact)
			return nil
		}
	}
	return engine.ErrNotFound
}

func (l *liveState) Subscribe() *engine.LiveSubscription {
	return l.hub.Subscribe()
}

// liveFixture: lines 2002 (system customer), 7002 (customer 2, owned by
// "owner"), 7003 (customer 3, under 2); each with one binding and one
// call; users reseller (customer 2), owner (user role, customer 2) and
// commerce (no line privilege).
func liveFixture(t *testing.T) (*testSwitch, *liveState, func(user, fn string, p map[string]string) result) {
	live := &liveState{hub: engine.NewLiveHub(api.AppendEvent, engine.WithLiveFlush(20*time.Millisecond))}
	ts := newTestSwitch(t, api.WithLiveState(live))
	ctx := context.Background()
	seedFixture(ts)
	for _, c := range []map[string]string{{"name": "Reseller", "parent": "1"}, {"name": "Child", "parent": "2"}} {
		ts.mustOK("customers/create", c)
	}
	for _, u := range []struct {
		name, role string
		customer   int
	}{{"reseller", "reseller", 2}, {"owner", "user", 2}, {"commerce", "commerce", 2}} {
		if err := ts.svc.AddUser(ctx, u.name, "password-"+u.name, u.role, u.customer); err != nil {
			t.Fatal(err)
		}
	}
	owner, err := ts.svc.Login(ctx, netip.Addr{}, "owner", "password-owner")
	if err != nil {
		t.Fatal(err)
	}
	ts.mustOK("phones/create", map[string]string{"name": "7002", "password": "pw-7002-secret", "customer": "2", "owner": fmt.Sprint(owner.User.ID)})
	ts.mustOK("phones/create", map[string]string{"name": "7003", "password": "pw-7003-secret", "customer": "3"})
	now := time.Now()
	for i, line := range []string{"2002", "7002", "7003"} {
		live.regs = append(live.regs, engine.LiveRegistration{Registration: records.Registration{
			Phone: line, Contact: "sip:" + line + "@192.0.2.1:5062", Source: "192.0.2.1:5062", Transport: "UDP",
			UserAgent: "phone " + line, ExpiresAt: now.Add(time.Hour), Host: "sw1",
		}, Since: now.Add(-time.Minute)})
		live.calls = append(live.calls, records.LiveCall{ID: "call-" + line, Host: "sw1", Start: now.Unix() + int64(i), Line: line,
			Direction: records.Outbound, Caller: line, Called: "441234", State: records.CallUp, Answer: now.Unix()})
	}
	// A call from a peer ringing 7002: its owner sees it by the line rung.
	live.calls = append(live.calls, records.LiveCall{ID: "in-7002", Start: now.Unix() + 9, CalledLine: "7002", Direction: records.Inbound, State: records.CallRinging})
	as := func(user, fn string, p map[string]string) result { return ts.callAs(user, "password-"+user, fn, p) }
	return ts, live, as
}

func rowsOf(t *testing.T, r result) []map[string]any {
	t.Helper()
	var rows []map[string]any
	if err := json.Unmarshal(r.Data, &rows); err != nil {
		t.Fatalf("rows %s: %v (%+v)", r.Data, err, r.Responses)
	}
	return rows
}

func column(rows []map[string]any, key string) string {
	s := ""
	for _, r := range rows {
		s += fmt.Sprint(r[key]) + " "
	}
	return s
}

// Each role sees the bindings and calls of the lines phones/list shows
// it, and nothing else; filters and paging work as on every list.
func TestLiveFunctionsByRole(t *testing.T) {
	ts, _, as := liveFixture(t)
	for _, tc := range []struct {
		user, fn  string
		p         map[string]string
		col, want string
	}{
		{"admin", "registrations/list", nil, "line", "2002 7002 7003 "},
		{"reseller", "registrations/list", nil, "line", "7002 7003 "},
		{"owner", "registrations/list", nil, "line", "7002 "},
		{"admin", "registrations/list", map[string]string{"customer": "3"}, "line", "7003 "},
		{"admin", "registrations/list", map[string]string{"line": "7002"}, "line", "7002 "},
		{"reseller", "registrations/list", map[string]string{"line": "2002"}, "line", ""},
		{"admin", "registrations/list", map[string]string{"limit": "2", "offset": "1"}, "line", "7002 7003 "},
		{"admin", "calls/active", nil, "id", "call-2002 call-7002 call-7003 in-7002 "},
		{"owner", "calls/active", nil, "id", "call-7002 in-7002 "},
		{"reseller", "calls/active", map[string]string{"state": "ringing"}, "id", "in-7002 "},
		{"admin", "calls/active", map[string]string{"limit": "1", "offset": "3"}, "id", "in-7002 "},
	} {
		r := as(tc.user, tc.fn, tc.p)
		if r.code() != "200" {
			if tc.user == "admin" {
				r = ts.call(tc.fn, tc.p)
			}
			if r.code() != "200" {
				t.Errorf("%s %s %v: %+v", tc.user, tc.fn, tc.p, r.Responses)
				continue
			}
		}
		if got := column(rowsOf(t, r), tc.col); got != tc.want {
			t.Errorf("%s %s %v: %s %q, want %q", tc.user, tc.fn, tc.p, tc.col, got, tc.want)
		}
	}
	row := rowsOf(t, ts.call("registrations/list", map[string]string{"line": "7003"}))[0]
	for _, k := range []string{"line", "contact", "source_address", "source_port", "transport", "user_agent", "expires", "registered", "host"} {
		if _, ok := row[k]; !ok {
			t.Errorf("registrations/list row has no %s: %v", k, row)
		}
	}
	if row["source_address"] != "192.0.2.1" || row["source_port"] != "5062" || row["host"] != "sw1" {
		t.Errorf("registration row: %v", row)
	}
	if r := ts.call("calls/active", map[string]string{"count": "1"}); string(r.Data) != `{"count":4}` {
		t.Errorf("count: %s", r.Data)
	}
	if r := ts.call("registrations/list", map[string]string{"pages": "1", "limit": "2"}); string(r.Data) != `{"pages":2}` {
		t.Errorf("pages: %s", r.Data)
	}
	if r := as("commerce", "calls/active", nil); r.code() != "402" {
		t.Errorf("commerce role listing calls: %+v", r.Responses)
	}
	if r := as("commerce", "registrations/list", nil); r.code() != "402" {
		t.Errorf("commerce role listing registrations: %+v", r.Responses)
	}
}

// Hang-up and unregister act only on what the caller may see; another's
// call or binding answers as if none existed.
func TestLiveHangupAndUnregister(t *testing.T) {
	ts, live, as := liveFixture(t)
	if r := as("owner", "calls/hangup", map[string]string{"id": "call-2002"}); r.code() != "404" {
		t.Errorf("owner hanging up the system's call: %+v", r.Responses)
	}
	if r := as("owner", "calls/hangup", map[string]string{"id": "in-7002"}); r.code() != "204" {
		t.Errorf("hanging up a ringing call: %+v", r.Responses)
	}
	if r := as("owner", "calls/hangup", map[string]string{"id": "call-7002"}); r.code() != "204" {
		t.Errorf("owner hanging up its call: %+v", r.Responses)
	}
	if r := ts.call("calls/hangup", map[string]string{"id": "no-such-call"}); r.code() != "404" {
		t.Errorf("unknown call: %+v", r.Responses)
	}
	if r := as("reseller", "registrations/delete", map[string]string{"line": "2002", "contact": "sip:2002@192.0.2.1:5062"}); r.code() != "404" {
		t.Errorf("reseller unregistering the system's phone: %+v", r.Responses)
	}
	if r := as("reseller", "registrations/delete", map[string]string{"line": "7003", "contact": "sip:other@192.0.2.9"}); r.code() != "404" {
		t.Errorf("unknown contact: %+v", r.Responses)
	}
	if r := as("reseller", "registrations/delete", map[string]string{"line": "7003", "contact": "sip:7003@192.0.2.1:5062"}); r.code() != "204" {
		t.Errorf("reseller unregistering its phone: %+v", r.Responses)
	}
	live.mu.Lock()
	defer live.mu.Unlock()
	if fmt.Sprint(live.hungUp) != "[in-7002 call-7002]" || fmt.Sprint(live.removed) != "[7003 sip:7003@192.0.2.1:5062]" {
		t.Errorf("hung up %v, removed %v", live.hungUp, live.removed)
	}
}

// Bad input is refused naming the parameter, and changes nothing.
func TestLiveBadInput(t *testing.T) {
	ts, live, _ := liveFixture(t)
	for _, tc := range []struct {
		fn  string
		p   map[string]string
		key string
	}{
		{"calls/hangup", nil, "id"},
		{"registrations/delete", map[string]string{"line": "7002"}, "contact"},
		{"registrations/delete", map[string]string{"contact": "sip:x@y"}, "line"},
		{"registrations/list", map[string]string{"customer": "x"}, "customer"},
		{"registrations/list", map[string]string{"limit": "-1"}, "limit"},
		{"calls/active", map[string]string{"state": "talking"}, "state"},
		{"calls/active", map[string]string{"offset": "1.5"}, "offset"},
	} {
		if r := ts.call(tc.fn, tc.p); r.code() != "400" || !hasKey(r, tc.key) {
			t.Errorf("%s %v: %+v, want 400 naming %s", tc.fn, tc.p, r.Responses, tc.key)
		}
	}
	if len(live.ActiveCalls()) != 4 || len(live.Registrations()) != 3 {
		t.Error("bad input changed the live state")
	}
	// An API without a SIP core says so.
	bare := newTestSwitch(t)
	if r := bare.call("calls/active", nil); r.code() != "400" || r.Responses[0].Message == "" {
		t.Errorf("calls/active without a SIP core: %+v", r.Responses)
	}
}
