package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/routing"
)

const goodSwitchFile = `
settings: {default_peer: 1, default_plan: 1, default_cos: 5, emergency_numbers: "112, 999"}
customers: [{id: 2, name: Acme, parent: 1}]
timegroups:
  - id: 1
    name: office hours
    periods:
      - {days: "12345", starthour: 9, endhour: 17, endminute: 0, timezone: Europe/London}
plans: [{id: 1, name: Retail, cos_timegroup: 1}]
routes:
  - {plan: 1, called_prefix: "44", peer1: 1, peer2: 2}
  - {id: 10, plan: 1, called_prefix: "44909", allow: 0}
peers:
  - {id: 1, name: carrier-a, type: sip, destination: 192.0.2.10, outmaximum: 10}
  - {id: 2, name: carrier-b, type: pjsip, destination: "192.0.2.11:5070"}
phones:
  - {name: "2001", password: secret99, plan: 1, customer: 2, recordgroup: 3, music: 4}
  - {name: "2002", copy_password: "2001", customer: 2, cos: 1}
recordgroups: [{id: 3, name: acme calls, customer: 2, calls: inbound, retention: 90, directory: acme}]
classes:
  - id: 5
    name: no premium
    otherwise: allow
    rules:
      - {position: 2, prefix: "09", allow: 0}
      - {position: 1, prefix: "0900", allow: 1, timegroup: 1}
`

func TestLoadSwitchFile(t *testing.T) {
	snap, err := LoadSwitchFile(strings.NewReader(goodSwitchFile), "switch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Peers) != 2 || snap.Peers[0].OutMaximum != 10 || snap.Peers[1].DTMFMode != "rfc2833" {
		t.Fatalf("peers: %+v", snap.Peers)
	}
	if len(snap.Routes) != 2 || snap.Routes[0].ID != 1 || snap.Routes[1].ID != 10 || snap.Routes[0].Media != routing.MediaVoiceFax {
		t.Fatalf("routes: %+v", snap.Routes)
	}
	if snap.Phones[1].Password != "secret99" || snap.Phones[0].RingTime != 15 || snap.Phones[0].Customer != 2 {
		t.Fatalf("phones: %+v", snap.Phones)
	}
	if len(snap.TimeGroups) != 1 || len(snap.TimeGroups[0].Periods) != 1 || snap.TimeGroups[0].Periods[0].EndHour != 17 {
		t.Fatalf("time groups: %+v", snap.TimeGroups)
	}
	if snap.Settings.DefaultPeer != 1 || snap.Settings.DefaultPlan != 1 || snap.Settings.DefaultCOS != 5 || snap.Settings.EmergencyNumbers != "112,999" {
		t.Fatalf("settings: %+v", snap.Settings)
	}
	if len(snap.RecordGroups) != 1 || snap.RecordGroups[0].Calls != routing.RecordInbound || snap.RecordGroups[0].Directory != "acme" ||
		snap.Phones[0].RecordGroup != 3 || snap.Phones[0].Music != 4 {
		t.Fatalf("record groups: %+v, line %+v", snap.RecordGroups, snap.Phones[0])
	}
	// The built-in class 1 and the file's class 5 with its two rules.
	if len(snap.Classes) != 2 || snap.Classes[1].ID != 5 || len(snap.Classes[1].Rules) != 2 || snap.Classes[1].Rules[1].TimeGroup != 1 || snap.Phones[1].COS != 1 {
		t.Fatalf("classes: %+v", snap.Classes)
	}
}

func TestSwitchFileErrorsCarryAPIKeysAndLines(t *testing.T) {
	cases := []struct {
		name, file string
		line       int
		key, msg   string
	}{
		{"spec rule", "peers:\n  - id: 1\n    name: x\n    type: sip\n    destination: h\n    fail_percent: 101\n", 6, "fail_percent", "fail_percent must be between 0 and 100"},
		{"unknown class", "phones:\n  - {name: \"2001\", password: secret99, cos: 7}\n", 2, "cos", "class of service 7 does not exist"},
		{"class rule", "classes:\n  - id: 3\n    name: x\n    rules:\n      - {prefix: \"0a\"}\n", 5, "prefix", "prefix must be"},
		{"built-in class", "classes:\n  - {id: 1, name: mine}\n", 2, "id", "built in"},
		{"conditional", "peers:\n  - {id: 1, name: x, type: sip}\n", 2, "destination", "destination is required when type is iax, sip or pjsip"},
		{"unknown parameter", "plans:\n  - id: 1\n    name: p\n    colour: red\n", 4, "colour", `unknown parameter "colour"`},
		{"dangling reference", "plans: [{id: 1, name: p}]\nroutes:\n  - plan: 1\n    called_prefix: '1'\n    peer1: 7\n", 5, "peer1", "peer 7 does not exist"},
		{"section name clash", "peers: [{id: 1, name: dup, type: dahdi}]\nphones:\n  - {name: DUP, password: secret99}\n", 3, "name", "name is already used by a peer (peers, lines and SIP endpoints share Asterisk section names); peers[0] of this file has it"},
		{"duplicate route", "plans: [{id: 1, name: p}]\nroutes:\n  - {plan: 1, called_prefix: '1'}\n  - {plan: 1, called_prefix: '1'}\n", 4, "called_prefix", "already exists"},
		{"missing id", "plans: [{name: p}]\n", 1, "id", "id is required"},
		{"emergency numbers", "settings:\n  emergency_numbers: '112,9x9'\n", 2, "emergency_numbers", "emergency_numbers must be numbers"},
		{"emergency country", "phones:\n  - {name: \"2001\", password: secret99, emergency_country: UK}\n", 2, "emergency_country", "ISO 3166-1 alpha-2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadSwitchFile(strings.NewReader(c.file), "f.yaml")
			var errs SwitchFileErrors
			if !errors.As(err, &errs) || !errors.Is(err, ErrSwitchFile) {
				t.Fatalf("err = %v", err)
			}
			for _, e := range errs {
				if e.Key == c.key && e.Line == c.line && strings.Contains(e.Message, c.msg) {
					return
				}
			}
			t.Fatalf("want %s at line %d (%q), got %v", c.key, c.line, c.msg, err)
		})
	}
}

// The loader and the API share specs, so they agree on every message.
func TestSwitchFileMessagesMatchSpec(t *testing.T) {
	_, errs := PhoneSpec.Validate(Values{"name": "a b", "password": "secret99"}, nil)
	_, err := LoadSwitchFile(strings.NewReader("phones: [{name: 'a b', password: secret99}]"), "f.yaml")
	if len(errs) != 1 || !strings.Contains(err.Error(), errs[0].Message) {
		t.Fatalf("spec says %v, loader says %v", errs, err)
	}
}

func FuzzLoadSwitchFile(f *testing.F) {
	f.Add(goodSwitchFile)
	f.Add("peers: [{id: 1}]")
	f.Add("routes: 5")
	f.Add("[1, 2]")
	f.Add("phones:\n  - name: &a x\n    password: *a\n")
	f.Fuzz(func(t *testing.T, file string) {
		snap, err := LoadSwitchFile(strings.NewReader(file), "fuzz.yaml")
		if err == nil && snap == nil {
			t.Fatal("nil snapshot without error")
		}
	})
}

// The file's order is not the API's: a customer before its parent, a
// customer's plan defined further down, lines copying a later line's
// password and referring to each other in a circle all load, as an API
// client creating them in a working order (and updating the circle) would.
func TestSwitchFileOrderFree(t *testing.T) {
	file := `
customers: [{id: 3, name: Child, parent: 2, plan: 1}, {id: 2, name: Parent, parent: 1}]
plans: [{id: 1, name: Retail, customer: 2}]
phones:
  - {name: "2001", copy_password: "2002", customer: 3, forwarding: "2002"}
  - {name: "2002", password: secret99, customer: 3, btype: phone, bnumber: "2001", mailbox: "2001"}
`
	snap, err := LoadSwitchFile(strings.NewReader(file), "order.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Customers) != 3 || snap.Customers[2].ID != 3 || snap.Customers[2].Plan != 1 {
		t.Fatalf("customers: %+v", snap.Customers)
	}
	p1, p2 := snap.Phones[0], snap.Phones[1]
	if p1.Name != "2001" || p1.Password != "secret99" || p1.Forwarding != "2002" || p2.BNumber != "2001" || p2.Mailbox != "2001" {
		t.Fatalf("phones: %+v", snap.Phones)
	}
}

// One mistake is one error: routes and lines referring to a plan that
// failed its own checks do not each report that it does not exist.
func TestSwitchFileErrorNotRepeatedByReferences(t *testing.T) {
	file := "plans: [{id: 1, name: \"bad\\nname\"}]\nroutes:\n  - {plan: 1, called_prefix: '1'}\n  - {plan: 1, called_prefix: '2'}\nphones: [{name: \"2001\", password: secret99, plan: 1}]\n"
	_, err := LoadSwitchFile(strings.NewReader(file), "f.yaml")
	var errs SwitchFileErrors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Object != "plans[0]" || errs[0].Key != "name" {
		t.Fatalf("want the plan's error alone, got %v", err)
	}
}

// Settings go through settings/update: an object that does not exist is
// refused at the setting's line.
func TestSwitchFileSettingsChecked(t *testing.T) {
	_, err := LoadSwitchFile(strings.NewReader("peers: [{id: 1, name: a, type: dahdi}]\nsettings:\n  default_peer: 2\n"), "f.yaml")
	var errs SwitchFileErrors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Line != 3 || errs[0].Key != "default_peer" || !strings.Contains(errs[0].Message, "does not exist") {
		t.Fatalf("got %v", err)
	}
}
