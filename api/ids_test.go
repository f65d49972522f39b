package api_test

import (
	"fmt"
	"testing"
)

// A script still holding a deleted object's id must never reach the object
// created after it (SQLite reused the highest id of a table without
// AUTOINCREMENT).
func TestDeletedIDsAreNotGivenToNewObjects(t *testing.T) {
	ts := newTestSwitch(t)
	ts.mustOK("peers/create", map[string]string{"name": "carrier-a", "type": "sip", "destination": "192.0.2.1"})
	old := ts.mustOK("peers/create", map[string]string{"name": "carrier-b", "type": "sip", "destination": "192.0.2.2"}).id(t)
	ts.mustOK("peers/delete", map[string]string{"id": fmt.Sprint(old)})
	id := ts.mustOK("peers/create", map[string]string{"name": "carrier-c", "type": "sip", "destination": "192.0.2.3"}).id(t)
	if id <= old {
		t.Fatalf("the new peer got id %d, the deleted one's was %d", id, old)
	}
	if r := ts.call("peers/update", map[string]string{"id": fmt.Sprint(old), "outmaximum": "1000"}); r.code() != "404" {
		t.Fatalf("update of the deleted peer's id: %+v", r.Responses)
	}

	plan := ts.mustOK("plans/create", map[string]string{"name": "doomed"}).id(t)
	ts.mustOK("plans/delete", map[string]string{"id": fmt.Sprint(plan)})
	if again := ts.mustOK("plans/create", map[string]string{"name": "next"}).id(t); again <= plan {
		t.Fatalf("the new plan got id %d, the deleted one's was %d", again, plan)
	}
}
