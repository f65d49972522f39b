package api_test

import (
	"encoding/json"
	"testing"

	"github.com/sipswitch/sipswitch/routing"
)

// Issue 29, virtual lines through the API: a line logs into another with
// phones/update ltype=phone lnumber=<line> and out with ltype empty;
// routes/simulate shows a call to it ringing the line it is logged into,
// and that line's calls presenting it. What would make a login mean two
// things (itself, chains, two on one desk) or reach another customer's
// line is refused 400 naming the parameter, with nothing written.
func TestVirtualLineLoginThroughTheAPI(t *testing.T) {
	ts := lineOwnerSwitch(t) // lines 2001, 2002, 2003 of customer 1; admin2 administers customer 2
	ts.mustOK("plans/routes/create", map[string]string{"plan": "1", "called_prefix": "", "peer1": "1"})
	ts.mustOK("settings/update", map[string]string{"default_plan": "1"})
	ts.mustOK("phones/create", map[string]string{"name": "hot1", "password": "hot-desk-pw", "callerid_external": "441632960555"})

	var sim routing.Simulation
	simulate := func(params map[string]string) routing.Simulation {
		t.Helper()
		var s routing.Simulation
		if err := json.Unmarshal(ts.mustOK("routes/simulate", params).Data, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	// Logged out: a call to hot1 rings hot1's own contacts; 2002 shows itself.
	if sim = simulate(map[string]string{"phone": "2001", "called": "hot1"}); sim.Outcome != "line" || sim.CalledLine != "hot1" || sim.Device != "hot1" {
		t.Fatalf("call to a logged-out line: %+v", sim)
	}
	if sim = simulate(map[string]string{"phone": "2002", "called": "0123"}); sim.Caller != "2002" {
		t.Fatalf("2002's own call: caller %q", sim.Caller)
	}

	ts.mustOK("phones/update", map[string]string{"name": "hot1", "ltype": "phone", "lnumber": "2002"})
	if sim = simulate(map[string]string{"phone": "2001", "called": "hot1"}); sim.Outcome != "line" || sim.Device != "2002" {
		t.Fatalf("call to the virtual line: %+v, want it to ring 2002", sim)
	}
	sim = simulate(map[string]string{"phone": "2002", "called": "0123"})
	if sim.Caller != "441632960555" || len(sim.Attempts) != 1 || sim.Attempts[0].CallerID != "441632960555" {
		t.Fatalf("2002's call with hot1 logged in: caller %q, attempts %+v; want hot1's number", sim.Caller, sim.Attempts)
	}

	rev := ts.db.Revision()
	for _, bad := range []struct {
		user   string
		params map[string]string
		key    string
	}{
		{"admin", map[string]string{"name": "2001", "ltype": "phone", "lnumber": "2001"}, "lnumber"},                                // itself
		{"admin", map[string]string{"name": "2001", "ltype": "phone", "lnumber": "2002"}, "lnumber"},                                // 2002 has hot1
		{"admin", map[string]string{"name": "2001", "ltype": "phone", "lnumber": "hot1"}, "lnumber"},                                // hot1 is itself logged in
		{"admin", map[string]string{"name": "2002", "ltype": "phone", "lnumber": "2003"}, "ltype"},                                  // hot1 is logged into 2002
		{"admin", map[string]string{"name": "2001", "ltype": "phone", "lnumber": "nosuch"}, "lnumber"},                              // no such line
		{"admin", map[string]string{"name": "2001", "ltype": "phone"}, "lnumber"},                                                   // required
		{"admin", map[string]string{"name": "2001", "ltype": "virtual", "lnumber": "2003"}, "ltype"},                                // not a type
		{"admin2", map[string]string{"name": "tenant1", "password": "tenant-pw-1", "ltype": "phone", "lnumber": "2003"}, "lnumber"}, // another customer's desk
	} {
		fn := "phones/update"
		if bad.params["password"] != "" {
			fn = "phones/create"
		}
		r := ts.as(bad.user, fn, bad.params)
		if bad.user == "admin" {
			r = ts.call(fn, bad.params)
		}
		if r.code() != "400" || !hasKey(r, bad.key) {
			t.Errorf("%s %s %v: %+v, want 400 naming %s", bad.user, fn, bad.params, r.Responses, bad.key)
		}
	}
	if ts.db.Revision() != rev {
		t.Error("a refused login changed the store")
	}

	// Logging out: ltype empty (lnumber may stay; it means nothing then).
	ts.mustOK("phones/update", map[string]string{"name": "hot1", "ltype": ""})
	if sim = simulate(map[string]string{"phone": "2001", "called": "hot1"}); sim.Device != "hot1" {
		t.Fatalf("call to the logged-out line: %+v", sim)
	}
	if sim = simulate(map[string]string{"phone": "2002", "called": "0123"}); sim.Caller != "2002" {
		t.Fatalf("2002 after hot1 logged out: caller %q", sim.Caller)
	}
	// The desk is free again for another login.
	ts.mustOK("phones/update", map[string]string{"name": "2001", "ltype": "phone", "lnumber": "2002"})
}
