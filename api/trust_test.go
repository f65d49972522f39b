package api_test

import (
	"context"
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"testing"
)

// lineOwnerSwitch has, in customer 1, the user alice (role user, id 2)
// owning line 2001, and the line 2002 (owner none) whose password alice
// must never learn; customer 2 below 1 has an administrator, admin2.
func lineOwnerSwitch(t *testing.T) *testSwitch {
	t.Helper()
	ts := newTestSwitch(t)
	ctx := context.Background()
	seedFixture(ts) // plan 1, peer 1, line 2002 with password fixture-pw
	ts.mustOK("customers/create", map[string]string{"name": "Tenant", "parent": "1"})
	for _, u := range []struct {
		name, role string
		customer   int
	}{{"alice", "user", 1}, {"admin2", "administrator", 2}, {"res", "residential", 1}} {
		if err := ts.svc.AddUser(ctx, u.name, "password-"+u.name, u.role, u.customer); err != nil {
			t.Fatal(err)
		}
	}
	ts.mustOK("phones/create", map[string]string{"name": "2001", "password": "alice-line-pw", "owner": "2"})
	ts.mustOK("phones/create", map[string]string{"name": "2003", "password": "res-line-pw", "owner": "4"})
	return ts
}

func (ts *testSwitch) as(user, function string, params map[string]string) result {
	ts.t.Helper()
	return ts.callAs(user, "password-"+user, function, params)
}

// phone reads a line as the system owner, password included.
func (ts *testSwitch) phone(name string) map[string]any {
	ts.t.Helper()
	return ts.mustOK("phones/get", map[string]string{"name": name, "password": "1"}).object(ts.t)
}

// A line's owner tries to lift what the operator set on its line: each
// try is refused 402 naming the parameter, and nothing is written.
func TestLineOwnerCannotChangeWhatTheOperatorManages(t *testing.T) {
	ts := lineOwnerSwitch(t)
	ts.mustOK("plans/create", map[string]string{"name": "Premium"})
	attempts := []struct{ key, value string }{
		{"totalmaximum", "100"},
		{"call_maximum", "9999"},
		{"cos", "1"},
		{"owner", "1"},
		{"plan", "2"},
		{"customer", "2"},
		{"source", "192.0.2.66"},
		{"allowed_ua", "Attacker"},
		{"callerid_external", "442071234567"},
		{"callerid_internal", "100"},
		{"callerid_location", "442071234567"},
		{"copy_password", "2002"},
		{"codec", "g722"},
		{"media", "fax"},
		{"delivery", "last_number"},
		{"registrar", "evil.example.com"},
		{"provisioning", "3"},
		{"expect_registered", "0"},
		{"ping", "1"},
		{"dialplan", "international"},
		{"recordgroup", "1"},
		{"aoc", "1"},
		{"emergency_address1", "Elsewhere"},
	}
	for _, user := range []string{"alice", "res"} {
		line := map[string]string{"alice": "2001", "res": "2003"}[user]
		before := ts.phone(line)
		rev := ts.db.Revision()
		for _, at := range attempts {
			r := ts.as(user, "phones/update", map[string]string{"name": line, at.key: at.value, "description": "sneaky"})
			if r.code() != "402" || !hasKey(r, at.key) {
				t.Errorf("%s: phones/update %s=%s: %+v, want 402 with key %s", user, at.key, at.value, r.Responses, at.key)
			}
		}
		// ltype/lnumber together (lnumber is required with ltype=phone).
		r := ts.as(user, "phones/update", map[string]string{"name": line, "ltype": "phone", "lnumber": line})
		if r.code() != "402" || !hasKey(r, "ltype") || !hasKey(r, "lnumber") {
			t.Errorf("%s: ltype/lnumber: %+v, want 402 naming both", user, r.Responses)
		}
		if ts.db.Revision() != rev {
			t.Fatalf("%s: a refused update moved the store revision", user)
		}
		if after := ts.phone(line); !sameObject(before, after) {
			t.Fatalf("%s: refused updates changed the line:\nbefore %v\nafter  %v", user, before, after)
		}
	}
}

func sameObject(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// What the user portal offers a line's owner still works, and an operator
// parameter given at its current value is no change and is accepted.
func TestLineOwnerManagesItsPortalSettings(t *testing.T) {
	ts := lineOwnerSwitch(t)
	ts.mustOK("phones/update", map[string]string{"name": "2001", "mailbox": "2001"})
	r := ts.as("alice", "phones/update", map[string]string{
		"name": "2001", "description": "Alice's desk", "forwarding": "07700900123", "use_forwarding": "0",
		"dnd": "1", "ringtime": "30", "btype": "voicemail", "bnumber": "2001", "dtype": "external", "dnumber": "07700900124",
		"utype": "phone", "unumber": "2001", "unumber_group": "0", "callername_external": "Alice", "callername_internal": "Alice",
		"presentation_external": "0", "presentation_internal": "0", "acr": "1", "language": "en_GB", "music": "2",
		"music_ringing": "1", "missedemail": "0", "screen": "0", "pin": "1234", "mailbox": "2001", "password": "alice-new-pw",
		// Operator parameters at their current values.
		"totalmaximum": "-1", "cos": "0", "owner": "2", "customer": "1", "call_maximum": "-1.0",
	})
	if r.code() != "204" {
		t.Fatalf("owner's portal settings: %+v", r.Responses)
	}
	obj := ts.phone("2001")
	if obj["description"] != "Alice's desk" || obj["dnd"] != 1.0 || obj["ringtime"] != 30.0 || obj["password"] != "alice-new-pw" {
		t.Fatalf("portal settings not stored: %v", obj)
	}
}

// The hole of issue 12: copy another line's password onto your own line,
// then read your own line's password.
func TestLineOwnerCannotReadAnotherLinesPassword(t *testing.T) {
	ts := lineOwnerSwitch(t)
	r := ts.as("alice", "phones/update", map[string]string{"name": "2001", "copy_password": "2002"})
	if r.code() != "402" || !hasKey(r, "copy_password") {
		t.Errorf("copy_password by a line owner: %+v, want 402 copy_password", r.Responses)
	}
	obj := ts.as("alice", "phones/get", map[string]string{"name": "2001", "password": "1"}).object(t)
	if obj["password"] != "alice-line-pw" {
		t.Fatalf("alice's line now has password %v (2002's is fixture-pw)", obj["password"])
	}
	// Reading passwords: only of her own lines, in get and in list.
	if r := ts.as("alice", "phones/get", map[string]string{"name": "2002", "password": "1"}); r.code() != "404" {
		t.Fatalf("alice reading 2002: %+v", r.Responses)
	}
	var rows []map[string]any
	json.Unmarshal(ts.as("alice", "phones/list", map[string]string{"password": "1"}).Data, &rows)
	if len(rows) != 1 || rows[0]["name"] != "2001" || rows[0]["password"] != "alice-line-pw" {
		t.Fatalf("alice's list with passwords: %v", rows)
	}
}

// An administrator of customer 2 probes customer 1's line names through
// every parameter that names a line: an existing foreign line and a line
// that exists nowhere get the same answer, and neither is stored.
func TestLineReferencesNameOnlyReadableLines(t *testing.T) {
	ts := lineOwnerSwitch(t)
	ts.as("admin2", "phones/create", map[string]string{"name": "3001", "password": "tenant-pw-1"})
	refs := []map[string]string{
		{"btype": "phone", "bnumber": "%s"},
		{"dtype": "voicemail", "dnumber": "%s"},
		{"utype": "phone", "unumber": "%s"},
		{"mailbox": "%s"},
		{"copy_password": "%s"},
	}
	key := func(ref map[string]string) string {
		for k, v := range ref {
			if v == "%s" {
				return k
			}
		}
		return ""
	}
	fill := func(ref map[string]string, line string, base map[string]string) map[string]string {
		p := map[string]string{}
		maps.Copy(p, base)
		for k, v := range ref {
			p[k] = strings.ReplaceAll(v, "%s", line)
		}
		return p
	}
	for _, ref := range refs {
		k := key(ref)
		answer := map[string]string{}
		for _, line := range []string{"2002", "nosuch"} {
			for _, fn := range []string{"phones/create", "phones/update"} {
				base := map[string]string{"name": "3002", "password": "tenant-pw-2"}
				if fn == "phones/update" {
					base = map[string]string{"name": "3001"}
				}
				before := ts.phone("3001")
				r := ts.as("admin2", fn, fill(ref, line, base))
				if r.code() != "400" || !hasKey(r, k) {
					t.Errorf("%s %s=%s: %+v, want 400 with key %s", fn, k, line, r.Responses, k)
					continue
				}
				if !sameObject(before, ts.phone("3001")) || ts.count("phones") != 4 {
					t.Fatalf("%s %s=%s: refused but written", fn, k, line)
				}
				for _, resp := range r.Responses {
					if resp.Key == k {
						answer[fn+" "+line] = strings.ReplaceAll(resp.Message, line, "LINE")
					}
				}
			}
		}
		for _, fn := range []string{"phones/create", "phones/update"} {
			if a, b := answer[fn+" 2002"], answer[fn+" nosuch"]; a != b {
				t.Errorf("%s %s tells a foreign line (%q) from a missing one (%q)", fn, k, a, b)
			}
		}
	}
	// A line owner may point its destinations only at its own lines, not
	// at another line of its customer.
	r := ts.as("alice", "phones/update", map[string]string{"name": "2001", "btype": "phone", "bnumber": "2002"})
	if r.code() != "400" || !hasKey(r, "bnumber") {
		t.Errorf("alice's busy destination on 2002: %+v", r.Responses)
	}
	// Its own administrator may.
	ts.mustOK("phones/update", map[string]string{"name": "2001", "btype": "phone", "bnumber": "2002"})
	// An unchanged reference the owner cannot read does not block the
	// owner's other settings.
	if r := ts.as("alice", "phones/update", map[string]string{"name": "2001", "dnd": "1"}); r.code() != "204" {
		t.Errorf("alice's dnd with an operator-set reference: %+v", r.Responses)
	}
}

// Issue 23: a number written with escapes or separators is stored as the
// dial string the switch decides on, so a line's owner cannot route its
// forwarding past a barred route by spelling (forwarding=44.909.123 was
// stored as written and routed by the "44" route); what is no dial string
// and no line is refused naming the parameter, before the renderer ever
// sees it (forwarding=_X. stopped every later render).
func TestNumbersAreStoredAsDialStrings(t *testing.T) {
	ts := lineOwnerSwitch(t)
	for _, tc := range []struct {
		who, function string
		params        map[string]string
		get           func() string
		want          string
	}{
		{"alice", "phones/update", map[string]string{"name": "2001", "forwarding": "44.909.123"},
			func() string { return ts.phone("2001")["forwarding"].(string) }, "44909123"},
		{"alice", "phones/update", map[string]string{"name": "2001", "dtype": "external", "dnumber": "(44) 909-123"},
			func() string { return ts.phone("2001")["dnumber"].(string) }, "44909123"},
		{"alice", "phones/update", map[string]string{"name": "2001", "forwarding": "44%39%30%39123"},
			func() string { return ts.phone("2001")["forwarding"].(string) }, "44909123"},
		{"admin", "phones/update", map[string]string{"name": "2001", "callerid_external": "+44 (20) 7946-0000"},
			func() string { return ts.phone("2001")["callerid_external"].(string) }, "+442079460000"},
	} {
		if r := ts.as2(tc.who, tc.function, tc.params); r.code() != "204" && r.code() != "200" {
			t.Errorf("%s %v: %+v", tc.function, tc.params, r.Responses)
			continue
		}
		if got := tc.get(); got != tc.want {
			t.Errorf("%s %v: stored %q, want %q", tc.function, tc.params, got, tc.want)
		}
	}
	route := ts.mustOK("plans/routes/create", map[string]string{"plan": "1", "called_prefix": "44-909", "allow": "0"}).id(t)
	if got := ts.mustOK("plans/routes/get", map[string]string{"id": strconv.Itoa(route)}).object(t)["called_prefix"]; got != "44909" {
		t.Errorf("called_prefix 44-909 stored as %q", got)
	}

	before := ts.phone("2001")
	for _, tc := range []struct {
		who    string
		params map[string]string
		key    string
	}{
		{"alice", map[string]string{"forwarding": "_X."}, "forwarding"},
		{"alice", map[string]string{"forwarding": "=1+2"}, "forwarding"},
		{"alice", map[string]string{"forwarding": "nobody"}, "forwarding"}, // no such line
		{"alice", map[string]string{"dtype": "external", "dnumber": "_X."}, "dnumber"},
		{"alice", map[string]string{"btype": "external", "bnumber": "44A9"}, "bnumber"},
		{"alice", map[string]string{"utype": "external", "unumber": "4+4"}, "unumber"},
		{"admin", map[string]string{"callerid_external": "44(909"}, ""}, // an unbalanced bracket is still a separator
		{"admin", map[string]string{"callerid_internal": "12ab"}, "callerid_internal"},
	} {
		params := map[string]string{"name": "2001"}
		maps.Copy(params, tc.params)
		r := ts.as2(tc.who, "phones/update", params)
		if tc.key == "" {
			if r.code() != "204" {
				t.Errorf("%v: %+v, want 204", tc.params, r.Responses)
			}
			continue
		}
		if r.code() != "400" || !hasKey(r, tc.key) {
			t.Errorf("%v: %+v, want 400 naming %s", tc.params, r.Responses, tc.key)
		}
	}
	after := ts.phone("2001")
	for _, k := range []string{"forwarding", "dnumber", "bnumber", "unumber", "callerid_internal"} {
		if before[k] != after[k] {
			t.Errorf("a refused update changed %s from %v to %v", k, before[k], after[k])
		}
	}
	// A line named like a number with separators could be reached by one
	// spelling and a carrier by another.
	if r := ts.call("phones/create", map[string]string{"name": "44-909123", "password": "line-secret-1"}); r.code() != "400" || !hasKey(r, "name") {
		t.Errorf("line named 44-909123: %+v, want 400 naming name", r.Responses)
	}
	ts.mustOK("phones/create", map[string]string{"name": "reception.desk", "password": "line-secret-1"})
	if r := ts.call("phones/update", map[string]string{"name": "2001", "forwarding": "reception.desk"}); r.code() != "204" {
		t.Errorf("forwarding to a line by its name: %+v", r.Responses)
	}
}
