package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
)

// recordingSwitch is a switch whose API serves recordings from dir:
// customer 2 below 1, admin2 its administrator, alice a user of 1.
func recordingSwitch(t *testing.T, dir string) *testSwitch {
	t.Helper()
	ts := newTestSwitch(t, api.WithRecordings(dir))
	seedFixture(ts)
	ts.mustOK("customers/create", map[string]string{"name": "Tenant", "parent": "1"})
	for _, u := range []struct {
		name, role string
		customer   int
	}{{"alice", "user", 1}, {"admin2", "administrator", 2}} {
		if err := ts.svc.AddUser(context.Background(), u.name, "password-"+u.name, u.role, u.customer); err != nil {
			t.Fatal(err)
		}
	}
	return ts
}

// Record groups: created, listed and read through the API with their
// checks (calls, retention, a directory that stays under the recordings
// directory), referred to by a line (no longer refused), kept while a
// line names them.
func TestRecordGroups(t *testing.T) {
	ts := recordingSwitch(t, t.TempDir())
	g := ts.mustOK("recordgroups/create", map[string]string{"name": "Sales", "calls": "outbound", "retention": "30", "directory": "sales/2026"}).id(t)
	got := ts.mustOK("recordgroups/get", map[string]string{"id": "1"}).object(t)
	if got["calls"] != "outbound" || got["retention"] != float64(30) || got["directory"] != "sales/2026" || got["customer"] != float64(1) {
		t.Fatalf("recordgroups/get: %v", got)
	}
	for _, bad := range []struct{ key, value string }{
		{"directory", "../etc"}, {"directory", "/var/spool"}, {"directory", "a//b"}, {"directory", "a/./b"}, {"directory", "x y"},
		{"calls", "some"}, {"retention", "-1"},
	} {
		before := ts.count("recordgroups")
		r := ts.call("recordgroups/create", map[string]string{"name": "Bad", bad.key: bad.value})
		if r.code() != "400" || !hasKey(r, bad.key) || ts.count("recordgroups") != before {
			t.Errorf("%s=%q: %+v", bad.key, bad.value, r.Responses)
		}
	}
	// A line refers to it; customer 2's administrator cannot see it (a
	// group above is usable, as a plan above is), and a line of customer
	// 1 cannot be put in customer 2's group.
	ts.mustOK("phones/update", map[string]string{"name": "2002", "recordgroup": "1"})
	if r := ts.as("admin2", "recordgroups/get", map[string]string{"id": "1"}); r.code() != "404" {
		t.Errorf("another customer's group: %+v", r.Responses)
	}
	g2 := ts.as("admin2", "recordgroups/create", map[string]string{"name": "Tenant calls"})
	if g2.code() != "200" || g2.id(t) != 2 {
		t.Fatalf("admin2's group: %+v", g2.Responses)
	}
	if r := ts.call("phones/update", map[string]string{"name": "2002", "recordgroup": "2"}); r.code() != "400" || !hasKey(r, "recordgroup") {
		t.Errorf("a line of customer 1 in customer 2's group: %+v", r.Responses)
	}
	if r := ts.call("phones/update", map[string]string{"name": "2002", "recordgroup": "99"}); r.code() != "400" || !hasKey(r, "recordgroup") {
		t.Errorf("no such group: %+v", r.Responses)
	}
	if r := ts.call("recordgroups/delete", map[string]string{"id": "1"}); r.code() != "400" {
		t.Errorf("a group a line names was deleted: %+v", r.Responses)
	}
	var list []map[string]any
	json.Unmarshal(ts.mustOK("recordgroups/list", nil).Data, &list)
	if len(list) != 2 || list[0]["name"] != "Sales" {
		t.Errorf("recordgroups/list: %v", list)
	}
	_ = g
}

// calls/recording serves a call's recording to whoever may read the
// call: its customer's administrator gets the file; another customer's
// gets 404 as for a call that does not exist, a line's user 402; a call
// not recorded, a file gone, or a record whose path would leave the
// recordings directory, 404.
func TestCallsRecording(t *testing.T) {
	dir := t.TempDir()
	ts := recordingSwitch(t, dir)
	wav := []byte("RIFF....WAVEfmt the recording")
	if err := os.MkdirAll(filepath.Join(dir, "2", "in"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "2", "in", "abc@host.wav"), wav, 0o600)
	os.WriteFile(filepath.Join(filepath.Dir(dir), "secret.wav"), []byte("outside"), 0o600)
	r := engine.NewCallRecorder(ts.db)
	for _, c := range []engine.CallRecord{
		{CallID: "abc@host", Customer: 2, Line: "3001", Recording: "2/in/abc@host.wav"}, // 1
		{CallID: "not-recorded", Customer: 2, Line: "3001"},                             // 2
		{CallID: "gone", Customer: 2, Line: "3001", Recording: "2/in/gone.wav"},         // 3
		{CallID: "escape", Customer: 2, Line: "3001", Recording: "../secret.wav"},       // 4
		{CallID: "other", Customer: 1, Line: "2002", Recording: "2/in/abc@host.wav"},    // 5
	} {
		c.Direction, c.Start, c.End = engine.CallInbound, 1000, 1010
		r.Record(c)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	get := func(user, id string) (*http.Response, []byte) {
		t.Helper()
		u := ts.url + "calls/recording/?auth_username=" + user + ";auth_password=password-" + user + ";id=" + id
		if user == "admin" {
			u = ts.url + "calls/recording/?auth_username=admin;auth_password=" + adminPassword + ";id=" + id
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	for _, user := range []string{"admin", "admin2"} {
		resp, b := get(user, "1")
		if resp.Header.Get("Content-Type") != "audio/wav" || string(b) != string(wav) ||
			!strings.Contains(resp.Header.Get("Content-Disposition"), `filename="abc@host.wav"`) {
			t.Errorf("%s: %s %q", user, resp.Header, b)
		}
	}
	for _, c := range []struct{ user, id, code string }{
		{"admin2", "5", "404"}, // another customer's call, whose file exists
		{"alice", "1", "402"},  // a line's user reads no call records
		{"admin", "2", "404"},  // not recorded
		{"admin", "3", "404"},  // deleted after retention
		{"admin", "4", "404"},  // a path out of the directory
		{"admin", "99", "404"}, // no such call
		{"admin", "x", "400"},
		{"admin", "", "400"},
	} {
		resp, b := get(c.user, c.id)
		var env result
		if err := json.Unmarshal(b, &env); err != nil || resp.Header.Get("Content-Type") != "application/json" || env.code() != c.code {
			t.Errorf("%s reading call %q: %s %q, want code %s", c.user, c.id, resp.Header.Get("Content-Type"), b, c.code)
		}
		if strings.Contains(string(b), "outside") || strings.Contains(string(b), "the recording") {
			t.Errorf("%s reading call %q got a file: %q", c.user, c.id, b)
		}
	}
}
