package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/routing"
)

func TestRoutesSimulate(t *testing.T) {
	ts := newTestSwitch(t)
	seedFixture(ts) // plan 1, peer 1 (fixture-peer), phone 2002
	ts.mustOK("peers/create", map[string]string{"name": "carrier-b", "type": "sip", "destination": "192.0.2.2", "called_prefix": "00", "callerid_unknown": "Unknown"})
	ts.mustOK("plans/routes/create", map[string]string{"plan": "1", "called_prefix": "44", "peer1": "1", "peer2": "2"})
	ts.mustOK("plans/routes/create", map[string]string{"plan": "1", "called_prefix": "44909", "allow": "0"})
	ts.mustOK("phones/update", map[string]string{"name": "2002", "plan": "1"})

	var sim routing.Simulation
	r := ts.mustOK("routes/simulate", map[string]string{"plan": "1", "called": "4420712345", "caller": ""})
	json.Unmarshal(r.Data, &sim)
	if sim.Outcome != "route" || sim.Route == nil || sim.Route.CalledPrefix != "44" || len(sim.Attempts) != 2 {
		t.Fatalf("simulation: %+v", sim)
	}
	if sim.Attempts[0].Name != "fixture-peer" || sim.Attempts[1].Called != "004420712345" || sim.Attempts[1].CallerID != "Unknown" {
		t.Fatalf("attempts: %+v", sim.Attempts)
	}
	json.Unmarshal(ts.mustOK("plans/routes/simulate", map[string]string{"phone": "2002", "called": "44909123"}).Data, &sim)
	if sim.Outcome != "barred" || sim.Route.CalledPrefix != "44909" {
		t.Fatalf("barred premium: %+v", sim)
	}
	json.Unmarshal(ts.mustOK("routes/simulate", map[string]string{"plan": "1", "called": "3312345"}).Data, &sim)
	if sim.Outcome != "no_route" {
		t.Fatalf("no route: %+v", sim)
	}
	for _, bad := range []struct{ key, val string }{{"called", "12a"}, {"media", "video"}, {"time", "tomorrow"}, {"plan", "99"}} {
		p := map[string]string{"plan": "1", "called": "44"}
		p[bad.key] = bad.val
		if r := ts.call("routes/simulate", p); r.code() != "400" || !hasKey(r, bad.key) {
			t.Errorf("%s=%s: %+v", bad.key, bad.val, r.Responses)
		}
	}
	// The simulation follows changes to the store.
	ts.mustOK("plans/routes/update", map[string]string{"id": "1", "peer1": "2", "peer2": "0"})
	json.Unmarshal(ts.mustOK("routes/simulate", map[string]string{"plan": "1", "called": "4420712345"}).Data, &sim)
	if len(sim.Attempts) != 1 || sim.Attempts[0].Name != "carrier-b" {
		t.Fatalf("after update: %+v", sim.Attempts)
	}
}

func TestPeerCostsImport(t *testing.T) {
	ts := newTestSwitch(t)
	seedFixture(ts)
	csv := "called_prefix,cost,connectfee,priority\n44,0.010,0,1\n4420,0.008,0.01,2\n"
	resp, err := http.Post(ts.url+"peers/costs/import/?auth_username=admin;auth_password="+adminPassword+";peer=1", "text/csv", strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	var r result
	json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if r.code() != "200" || string(r.Data) != `{"imported":2}` {
		t.Fatalf("import: %+v %s", r.Responses, r.Data)
	}
	if ts.count("peer_costs") != 2 {
		t.Fatalf("rows: %d", ts.count("peer_costs"))
	}
	// A bad row anywhere stores nothing, and the error names line and column.
	before := ts.db.Revision()
	bad := ts.call("peers/costs/import", map[string]string{"peer": "1", "replace": "1", "csv": "called_prefix,cost\n44,0.1\n4x,0.2\n"})
	if bad.code() != "400" || !hasKey(bad, "csv") || !strings.Contains(bad.Responses[0].Message, "line 3") {
		t.Fatalf("bad deck: %+v", bad.Responses)
	}
	if ts.count("peer_costs") != 2 || ts.db.Revision() != before {
		t.Fatal("a rejected import changed the store")
	}
	ts.mustOK("peers/costs/import", map[string]string{"peer": "1", "replace": "1", "csv": "called_prefix,cost\n1,0.5\n"})
	if ts.count("peer_costs") != 1 {
		t.Fatalf("replace left %d rows", ts.count("peer_costs"))
	}
}

// routes/simulate judges a line's call from an address or User-Agent the
// way the SIP core judges the request (403 before routing): outside the
// line's source, or without one of its allowed_ua, the outcome says so.
func TestSimulationJudgesSourceAndUserAgent(t *testing.T) {
	ts := lineOwnerSwitch(t)
	ts.mustOK("plans/routes/create", map[string]string{"plan": "1", "called_prefix": "", "peer1": "1"})
	ts.mustOK("settings/update", map[string]string{"default_plan": "1"})
	ts.mustOK("phones/update", map[string]string{"name": "2001", "source": "192.0.2.0/24, 2001:db8::7", "allowed_ua": "Yealink"})
	for _, tc := range []struct {
		source, ua, want string
	}{
		{"192.0.2.9", "Yealink SIP-T46S", "route"},
		{"2001:db8::7", "", "route"},
		{"::ffff:192.0.2.9", "", "route"},
		{"198.51.100.7", "Yealink SIP-T46S", routing.ReasonSource},
		{"2001:db8::8", "", routing.ReasonSource},
		{"192.0.2.9", "friendly-scanner", routing.ReasonUserAgent},
		{"", "sipvicious", routing.ReasonUserAgent},
	} {
		params := map[string]string{"phone": "2001", "called": "0123"}
		if tc.source != "" {
			params["source"] = tc.source
		}
		if tc.ua != "" {
			params["user_agent"] = tc.ua
		}
		var sim routing.Simulation
		json.Unmarshal(ts.mustOK("routes/simulate", params).Data, &sim)
		if sim.Outcome != tc.want || sim.Line != "2001" {
			t.Errorf("from %q as %q: outcome %q (line %q), want %q", tc.source, tc.ua, sim.Outcome, sim.Line, tc.want)
		}
	}
	for _, bad := range []struct {
		params map[string]string
		key    string
	}{
		{map[string]string{"phone": "2001", "called": "0123", "source": "192.0.2"}, "source"},
		{map[string]string{"plan": "1", "called": "0123", "source": "192.0.2.9"}, "source"},
		{map[string]string{"plan": "1", "called": "0123", "user_agent": "Yealink"}, "user_agent"},
	} {
		r := ts.call("routes/simulate", bad.params)
		if r.code() != "400" || !strings.Contains(string(r.Data)+fmt.Sprint(r.Responses), bad.key) {
			t.Errorf("%v: %s %+v, want 400 naming %s", bad.params, r.code(), r.Responses, bad.key)
		}
	}
}
