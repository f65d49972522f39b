package api_test

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestTimeGroupsAndPeriods(t *testing.T) {
	ts := newTestSwitch(t)
	seedFixture(ts)
	tg := ts.mustOK("timegroups/create", map[string]string{"name": "office hours"}).id(t)
	ts.mustOK("timegroups/periods/create", map[string]string{"timegroup": fmt.Sprint(tg), "days": "12345", "starthour": "9", "endhour": "17", "endminute": "0", "timezone": "Europe/London"})
	for _, bad := range []struct{ key, val string }{{"days", "1238"}, {"starthour", "24"}, {"timezone", "Mars/Olympus"}, {"startdate", "2026-13-01"}} {
		p := map[string]string{"timegroup": fmt.Sprint(tg)}
		p[bad.key] = bad.val
		if r := ts.call("timegroups/periods/create", p); r.code() != "400" || !hasKey(r, bad.key) {
			t.Errorf("%s=%s: %+v", bad.key, bad.val, r.Responses)
		}
	}
	var rows []map[string]any
	json.Unmarshal(ts.mustOK("timegroups/periods/list", map[string]string{"timegroup": fmt.Sprint(tg)}).Data, &rows)
	if len(rows) != 1 || rows[0]["timezone"] != "Europe/London" || rows[0]["endminute"] != 0.0 {
		t.Fatalf("periods: %v", rows)
	}
	// Plans and routes refer to time groups; a used group cannot go.
	ts.mustOK("plans/update", map[string]string{"id": "1", "cos_timegroup": fmt.Sprint(tg)})
	ts.mustOK("plans/routes/create", map[string]string{"plan": "1", "called_prefix": "1", "allow": "2", "timegroup": fmt.Sprint(tg)})
	if r := ts.call("plans/routes/create", map[string]string{"plan": "1", "called_prefix": "2", "timegroup": "99"}); r.code() != "400" || !hasKey(r, "timegroup") {
		t.Fatalf("route to a missing time group: %+v", r.Responses)
	}
	if r := ts.call("timegroups/delete", map[string]string{"id": fmt.Sprint(tg)}); r.code() != "400" {
		t.Fatalf("deleting a used time group: %+v", r.Responses)
	}
}

func TestPeerCostsCRUD(t *testing.T) {
	ts := newTestSwitch(t)
	seedFixture(ts)
	id := ts.mustOK("peers/costs/create", map[string]string{"peer": "1", "called_prefix": "44", "cost": "0.012", "connectfee": "0.05"}).id(t)
	obj := ts.mustOK("peers/costs/get", map[string]string{"id": fmt.Sprint(id)}).object(t)
	want := map[string]any{"called_max": 100.0, "called_min": 1.0, "caller_type": "prefix", "days": "1234567", "end": -1.0, "start": -1.0,
		"endhour": 23.0, "endminute": 59.0, "increment": 1.0, "least_cost": 1.0, "media": "voice_fax", "priority": 1.0, "cost": 0.012}
	for k, v := range want {
		if obj[k] != v {
			t.Errorf("%s = %v, want %v", k, obj[k], v)
		}
	}
	if r := ts.call("peers/costs/create", map[string]string{"peer": "77", "cost": "1"}); r.code() != "400" || !hasKey(r, "peer") {
		t.Errorf("cost for a missing peer: %+v", r.Responses)
	}
	if r := ts.call("peers/costs/create", map[string]string{"peer": "1", "priority": "11"}); r.code() != "400" || !hasKey(r, "priority") {
		t.Errorf("priority 11: %+v", r.Responses)
	}
	ts.mustOK("peers/costs/delete", map[string]string{"id": fmt.Sprint(id)})
	if r := ts.call("peers/costs/get", map[string]string{"id": fmt.Sprint(id)}); r.code() != "404" {
		t.Errorf("deleted cost: %+v", r.Responses)
	}
}
