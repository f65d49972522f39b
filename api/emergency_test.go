package api_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/routing"
)

// Issue 29 through the API: the emergency numbers are a setting, a line's
// emergency address and location number are stored (validated), and
// routes/simulate shows an emergency call from a line its class bars
// routed anyway, with the bypass named and the location number sent.
func TestEmergencyCallsThroughTheAPI(t *testing.T) {
	ts := lineOwnerSwitch(t)
	ts.mustOK("plans/routes/create", map[string]string{"plan": "1", "called_prefix": "", "peer1": "1"})
	ts.mustOK("peers/update", map[string]string{"id": "1", "emergency_location": "1"})
	ts.mustOK("settings/update", map[string]string{"default_plan": "1", "emergency_numbers": " 112, 999,112"})
	var st routing.Settings
	json.Unmarshal(ts.mustOK("settings/get", nil).Data, &st)
	if st.EmergencyNumbers != "112,999" {
		t.Fatalf("emergency_numbers stored as %q", st.EmergencyNumbers)
	}
	nothing := ts.mustOK("cos/create", map[string]string{"name": "Nothing"}).id(t) // otherwise deny
	ts.mustOK("phones/update", map[string]string{"name": "2001", "cos": strconv.Itoa(nothing), "callerid_location": "441632960001",
		"emergency_address1": "1 High Street", "emergency_address_city": "London", "emergency_country": "gb"})

	var sim routing.Simulation
	json.Unmarshal(ts.mustOK("routes/simulate", map[string]string{"phone": "2001", "called": "0123"}).Data, &sim)
	if sim.Outcome != "cos_barred" || sim.Emergency {
		t.Fatalf("an ordinary number: %+v", sim)
	}
	json.Unmarshal(ts.mustOK("routes/simulate", map[string]string{"phone": "2001", "called": "112"}).Data, &sim)
	if sim.Outcome != "route" || !sim.Emergency || sim.CallerID != "441632960001" || len(sim.Bypassed) != 1 || sim.Bypassed[0].Check != "cos" {
		t.Fatalf("emergency call: %+v", sim)
	}
	if len(sim.Attempts) != 1 || sim.Attempts[0].CallerID != "441632960001" || sim.Attempts[0].Location != (sim.Attempts[0].Type == "sip" || sim.Attempts[0].Type == "pjsip") {
		t.Fatalf("attempts: %+v", sim.Attempts)
	}

	// Refused, naming the parameter, nothing written.
	rev := ts.db.Revision()
	for _, bad := range []struct {
		function string
		params   map[string]string
		key      string
	}{
		{"settings/update", map[string]string{"emergency_numbers": "112,abc"}, "emergency_numbers"},
		{"settings/update", map[string]string{"emergency_numbers": "*112"}, "emergency_numbers"},
		{"settings/update", map[string]string{"default_plan": "x"}, "default_plan"},
		{"phones/update", map[string]string{"name": "2001", "emergency_country": "XX"}, "emergency_country"},
		{"phones/update", map[string]string{"name": "2001", "emergency_country": "GBR"}, "emergency_country"},
		{"phones/update", map[string]string{"name": "2002", "emergency_address1": "1 High Street"}, "emergency_country"},
		{"phones/update", map[string]string{"name": "2001", "emergency_address2": strings.Repeat("a", 129)}, "emergency_address2"},
		{"phones/update", map[string]string{"name": "2001", "emergency_location_code": "a b"}, "emergency_location_code"},
		{"phones/update", map[string]string{"name": "2001", "callerid_location": "somewhere"}, "callerid_location"},
	} {
		if r := ts.call(bad.function, bad.params); r.code() != "400" || !hasKey(r, bad.key) {
			t.Errorf("%s %v: %+v", bad.function, bad.params, r.Responses)
		}
	}
	if ts.db.Revision() != rev {
		t.Error("a refused request changed the store")
	}
}
