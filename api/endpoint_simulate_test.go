package api_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/routing"
)

// routes/simulate's phone may name a sip_endpoint that registers to the
// switch: it is a line on the SIP core (routing.EndpointLine), its calls
// follow the system default plan and show its name, as the SIP core and
// the rendered files route them. One that is no line (registration out)
// is no line to simulate, and only the system owner sees endpoints.
func TestSimulateSIPEndpointLine(t *testing.T) {
	ts := lineOwnerSwitch(t) // plan 1, peer 1; alice is a user
	ctx := context.Background()
	ts.mustOK("plans/routes/create", map[string]string{"plan": "1", "called_prefix": "44", "peer1": "1"})
	ts.mustOK("settings/update", map[string]string{"default_plan": "1"})
	for _, e := range []engine.Values{
		{"name": "8005555555", "secret": "sdlkfj9348jkh7", "host": "dynamic", "registration": "in"},
		{"name": "trunk", "secret": "trunksecret", "host": "192.0.2.9", "registration": "out", "defaultuser": "acct"},
	} {
		if _, err := ts.svc.SaveSIPEndpoint(ctx, engine.SystemActor(), e); err != nil {
			t.Fatal(err)
		}
	}
	var sim routing.Simulation
	json.Unmarshal(ts.mustOK("routes/simulate", map[string]string{"phone": "8005555555", "called": "441632960001"}).Data, &sim)
	if sim.Outcome != "route" || sim.Plan != 1 || sim.Caller != "8005555555" || len(sim.Attempts) == 0 || sim.Attempts[0].Peer != 1 {
		t.Fatalf("simulation from the endpoint: %+v", sim)
	}
	if r := ts.callAs("admin", adminPassword, "routes/simulate", map[string]string{"phone": "trunk", "called": "441632960001"}); r.code() != "400" {
		t.Fatalf("an endpoint that is no line: %+v", r.Responses)
	}
	if r := ts.as("alice", "routes/simulate", map[string]string{"phone": "8005555555", "called": "441632960001"}); r.code() == "200" {
		t.Fatalf("a user simulated a sip_endpoint: %+v", r.Responses)
	}
}
