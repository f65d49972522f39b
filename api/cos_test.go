package api_test

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/sipswitch/sipswitch/routing"
)

// Classes of service through the API: created by commerce users, given to
// lines, applied by routes/simulate as the SIP core applies them, and out
// of reach of those who may not give them.
func TestClassesOfService(t *testing.T) {
	ts := lineOwnerSwitch(t) // alice (user) owns 2001; admin2 administers customer 2
	ts.mustOK("plans/routes/create", map[string]string{"plan": "1", "called_prefix": "", "peer1": "1"})
	ts.mustOK("settings/update", map[string]string{"default_plan": "1"})
	noPremium := ts.mustOK("cos/create", map[string]string{"name": "No premium", "otherwise": "allow"}).id(t)
	if noPremium == routing.COSAllowAll {
		t.Fatal("a created class got the built-in class's id")
	}
	cos := strconv.Itoa(noPremium)
	ts.mustOK("cos/rules/create", map[string]string{"cos": cos, "prefix": "09", "allow": "0", "position": "1"})
	ts.mustOK("phones/update", map[string]string{"name": "2001", "cos": cos})

	var sim routing.Simulation
	json.Unmarshal(ts.mustOK("routes/simulate", map[string]string{"phone": "2001", "called": "0909123"}).Data, &sim)
	if sim.Outcome != "cos_barred" || sim.COS != noPremium || sim.COSRule == nil || sim.COSRule.Prefix != "09" {
		t.Fatalf("simulation of a barred number for the line: %+v", sim)
	}
	// A caller that is a line is simulated as that line.
	json.Unmarshal(ts.mustOK("routes/simulate", map[string]string{"caller": "2001", "called": "0909123"}).Data, &sim)
	if sim.Outcome != "cos_barred" || sim.Line != "2001" {
		t.Fatalf("simulation with caller=2001: %+v", sim)
	}
	json.Unmarshal(ts.mustOK("routes/simulate", map[string]string{"phone": "2001", "called": "0123"}).Data, &sim)
	if sim.Outcome != "route" {
		t.Fatalf("an allowed number: %+v", sim)
	}

	// The default class (settings default_cos) applies to cos 0 lines.
	localOnly := ts.mustOK("cos/create", map[string]string{"name": "Local only"}).id(t) // otherwise deny
	ts.mustOK("settings/update", map[string]string{"default_cos": strconv.Itoa(localOnly)})
	json.Unmarshal(ts.mustOK("routes/simulate", map[string]string{"phone": "2002", "called": "0123"}).Data, &sim)
	if sim.Outcome != "cos_barred" || sim.COS != localOnly {
		t.Fatalf("cos 0 line under a deny-all default: %+v", sim)
	}

	// Refused, nothing written:
	rev := ts.db.Revision()
	for _, bad := range []struct {
		user, function string
		params         map[string]string
		code, key      string
	}{
		{"alice", "cos/create", map[string]string{"name": "Mine"}, "402", ""},
		{"alice", "phones/update", map[string]string{"name": "2001", "cos": "1"}, "402", "cos"},
		{"admin2", "cos/rules/create", map[string]string{"cos": cos, "prefix": "0", "allow": "1"}, "402", ""},
		{"admin", "cos/update", map[string]string{"id": "1", "otherwise": "deny"}, "400", "id"},
		{"admin", "cos/delete", map[string]string{"id": "1"}, "400", "id"},
		{"admin", "cos/delete", map[string]string{"id": cos}, "400", "id"}, // line 2001 has it
		{"admin", "cos/rules/create", map[string]string{"cos": "1", "prefix": "09", "allow": "0"}, "400", "cos"},
		{"admin", "cos/rules/create", map[string]string{"cos": cos, "prefix": "0x", "allow": "0"}, "400", "prefix"},
		{"admin", "phones/update", map[string]string{"name": "2002", "cos": "999"}, "400", "cos"},
		{"admin", "settings/update", map[string]string{"default_cos": "999"}, "400", "default_cos"},
	} {
		r := ts.as2(bad.user, bad.function, bad.params)
		if r.code() != bad.code || (bad.key != "" && !hasKey(r, bad.key)) {
			t.Errorf("%s %s %v: %+v, want %s naming %q", bad.user, bad.function, bad.params, r.Responses, bad.code, bad.key)
		}
	}
	if ts.db.Revision() != rev {
		t.Error("a refused request wrote to the store")
	}

	// Classes are shared downwards: an administrator of customer 2 may
	// give its line a class of customer 1 (its parent), never one of a
	// sibling customer, and cannot touch a line of customer 1.
	ts.mustOK("phones/create", map[string]string{"name": "3001", "password": "tenant-line-pw", "customer": "2"})
	parents := ts.mustOK("cos/create", map[string]string{"name": "Root only"}).id(t)
	if r := ts.as("admin2", "phones/update", map[string]string{"name": "3001", "cos": strconv.Itoa(parents)}); r.code() != "204" {
		t.Errorf("a class of the parent customer: %+v", r.Responses)
	}
	sibling := ts.mustOK("customers/create", map[string]string{"name": "Sibling", "parent": "1"}).id(t)
	siblings := ts.mustOK("cos/create", map[string]string{"name": "Sibling class", "customer": strconv.Itoa(sibling)}).id(t)
	if r := ts.as("admin2", "phones/update", map[string]string{"name": "3001", "cos": strconv.Itoa(siblings)}); r.code() != "400" || !hasKey(r, "cos") {
		t.Errorf("a sibling customer's class: %+v", r.Responses)
	}
	if r := ts.as("admin2", "phones/update", map[string]string{"name": "2002", "cos": cos}); r.code() != "404" {
		t.Errorf("admin2 changed a line of customer 1: %+v", r.Responses)
	}
}

// as2 calls as user, the system owner being "admin".
func (ts *testSwitch) as2(user, function string, params map[string]string) result {
	ts.t.Helper()
	if user == "admin" {
		return ts.call(function, params)
	}
	return ts.as(user, function, params)
}

// validation=1 answers 201 exactly when the create would succeed: the
// store's uniqueness rules included (a duplicate name or route answered
// 201, then the real create 400).
func TestValidationRunsUniquenessChecks(t *testing.T) {
	ts := newTestSwitch(t)
	seedFixture(ts) // plan 1, peer fixture-peer, line 2002
	ts.mustOK("plans/routes/create", map[string]string{"plan": "1", "called_prefix": "44", "peer1": "1"})
	rev := ts.db.Revision()
	for _, tc := range []struct {
		function string
		params   map[string]string
		key      string
	}{
		{"peers/create", map[string]string{"name": "fixture-peer", "type": "sip", "destination": "192.0.2.9"}, "name"},
		{"phones/create", map[string]string{"name": "2002", "password": "another-pw"}, "name"},
		{"plans/routes/create", map[string]string{"plan": "1", "called_prefix": "44", "peer1": "1"}, "called_prefix"},
	} {
		tc.params["validation"] = "1"
		if r := ts.call(tc.function, tc.params); r.code() != "400" || !hasKey(r, tc.key) {
			t.Errorf("%s with validation=1 of a duplicate: %+v, want 400 naming %s", tc.function, r.Responses, tc.key)
		}
	}
	if r := ts.call("peers/create", map[string]string{"name": "new-peer", "type": "sip", "destination": "192.0.2.9", "validation": "1"}); r.code() != "201" {
		t.Errorf("a valid create with validation=1: %+v", r.Responses)
	}
	if r := ts.call("phones/update", map[string]string{"name": "2002", "ringtime": "30", "validation": "1"}); r.code() != "201" {
		t.Errorf("a valid update with validation=1: %+v", r.Responses)
	}
	if ts.db.Revision() != rev || ts.count("peers") != 1 {
		t.Error("validation=1 wrote to the store")
	}
}
