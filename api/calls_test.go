package api_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/sipswitch/sipswitch/engine"
)

// calls/list: the switch's call records, filtered, sorted and paged, each
// customer seeing its own tree's calls only.
func TestCallsList(t *testing.T) {
	ts := lineOwnerSwitch(t) // customers 1 and 2 (below 1); admin2 administers 2
	r := engine.NewCallRecorder(ts.db)
	for i := range 30 {
		customer, line := 1, "2002"
		if i%3 == 0 {
			customer, line = 2, "3001"
		}
		r.Record(engine.CallRecord{CallID: "call-" + strconv.Itoa(i), Start: int64(1000 + i), End: int64(1010 + i), Direction: engine.CallOutbound,
			Line: line, Customer: customer, Peer: "fixture-peer", Cause: 200, Cost: float64(i), Emergency: b2i(i == 7)})
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rows []engine.CallRecord
	list := func(user string, params map[string]string) result {
		t.Helper()
		res := ts.as2(user, "calls/list", params)
		rows = nil
		if res.code() == "200" {
			json.Unmarshal(res.Data, &rows)
		}
		return res
	}
	list("admin", map[string]string{"line": "2002", "since": "1010", "sort": "cost", "descending": "1", "limit": "5"})
	if len(rows) != 5 || rows[0].Cost != 29 || rows[0].Line != "2002" || rows[4].Cost < rows[0].Cost-8 {
		t.Fatalf("filtered, sorted, paged: %+v", rows)
	}
	var count struct{ Count int }
	json.Unmarshal(ts.as2("admin", "calls/list", map[string]string{"until": "1015", "count": "1"}).Data, &count)
	if count.Count != 15 {
		t.Errorf("calls before 1015: %d, want 15", count.Count)
	}
	// The record of an emergency call says so, and calls/list finds it.
	list("admin", map[string]string{"emergency": "1"})
	if len(rows) != 1 || rows[0].CallID != "call-7" || rows[0].Emergency != 1 {
		t.Fatalf("emergency calls: %+v", rows)
	}
	list("admin2", map[string]string{})
	if len(rows) != 10 {
		t.Fatalf("customer 2's administrator sees %d calls, want its 10", len(rows))
	}
	for _, c := range rows {
		if c.Customer != 2 {
			t.Fatalf("customer 2's administrator sees a call of customer %d", c.Customer)
		}
	}
	if res := list("alice", map[string]string{}); res.code() != "402" {
		t.Errorf("a line owner listed calls: %+v", res.Responses)
	}
	for _, fn := range []string{"calls/create", "calls/update", "calls/delete"} {
		if res := ts.call(fn, map[string]string{"id": "1"}); res.code() != "404" {
			t.Errorf("%s exists: %+v", fn, res.Responses)
		}
	}
	if res := ts.call("calls/list", map[string]string{"since": "soon"}); res.code() != "400" || !hasKey(res, "since") {
		t.Errorf("bad since: %+v", res.Responses)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
