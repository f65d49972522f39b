package api_test

import (
	"encoding/json"
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
