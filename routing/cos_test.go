package routing

import (
	"errors"
	"testing"
	"time"
)

func cosState(t *testing.T, defaultCOS int) *RoutingState {
	t.Helper()
	snap, costs := decideSnapshot()
	snap.Settings.DefaultCOS = defaultCOS
	// Group 7 is active on weekdays only.
	snap.TimeGroups = []TimeGroup{{ID: 7, Periods: []TimePeriod{{Days: "12345", EndHour: 23, EndMinute: 59}}}}
	snap.Classes = []ClassOfService{
		{ID: 5, Name: "no premium, no international at weekends", Otherwise: COSAllow, Rules: []COSRule{
			{ID: 10, Position: 2, Prefix: "00", Allow: 1, TimeGroup: 7}, // international on weekdays...
			{ID: 11, Position: 3, Prefix: "00", Allow: 0},               // ...and not otherwise
			{ID: 12, Position: 1, Prefix: "0909", Allow: 0},             // premium never, first
			{ID: 13, Position: 1, Prefix: "09", Allow: 1},               // same position: lower id first
		}},
		{ID: 6, Name: "local only", Otherwise: COSDeny, Rules: []COSRule{{ID: 20, Prefix: "01", Allow: 1}}},
	}
	state, err := NewRoutingState(snap, costs)
	if err != nil {
		t.Fatal(err)
	}
	return state
}

func TestClassOfService(t *testing.T) {
	monday := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	sunday := monday.AddDate(0, 0, 6)
	state := cosState(t, 6)
	tests := []struct {
		name     string
		cos      int
		called   string
		now      time.Time
		wantRule int // 0: no rule decided
		allowed  bool
	}{
		{"premium barred before the broader allow", 5, "09091234", monday, 12, false},
		{"09 allowed", 5, "0912", monday, 13, true},
		{"international on a weekday", 5, "0044123", monday, 10, true},
		{"international at the weekend", 5, "0044123", sunday, 11, false},
		{"no rule: otherwise allow", 5, "0123", monday, 0, true},
		{"local only allows local", 6, "0123", monday, 20, true},
		{"local only: otherwise deny", 6, "0044123", monday, 0, false},
		{"cos 0 is default_cos (local only)", COSDefault, "0044123", monday, 0, false},
		{"cos 1 allows all", COSAllowAll, "0909", monday, 0, true},
		{"unknown class bars", 99, "0123", monday, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rule, ok := state.cos.check(tc.cos, tc.called, tc.now)
			gotRule := 0
			if rule != nil {
				gotRule = rule.ID
			}
			if ok != tc.allowed || gotRule != tc.wantRule {
				t.Fatalf("allowed %v by rule %d, want %v by rule %d", ok, gotRule, tc.allowed, tc.wantRule)
			}
		})
	}
	if _, ok := cosState(t, COSDefault).cos.check(COSDefault, "0909", monday); !ok {
		t.Error("cos 0 without a default_cos bars a call")
	}
}

// The class of service decides before any route: a barred number is
// refused even where a route would carry it, and a call without a line is
// not checked.
func TestDecideAppliesTheLinesClassFirst(t *testing.T) {
	state := cosState(t, COSDefault)
	line := &Phone{Name: "2001", COS: 6}
	d, err := state.Decide(CallRequest{Plan: 1, Called: "4412", Line: line})
	if !errors.Is(err, ErrCOSBarred) || !errors.Is(err, ErrCallBarred) || d.Route != nil || len(d.Attempts) != 0 {
		t.Fatalf("decision %+v, %v: want ErrCOSBarred before any route", d, err)
	}
	if _, err := state.Decide(CallRequest{Plan: 1, Called: "4412"}); err != nil {
		t.Fatalf("without a line: %v", err)
	}
	sim := Simulate(state, CallRequest{Plan: 1, Called: "4412", Line: line}, nil)
	if sim.Outcome != "cos_barred" || sim.COS != 6 || sim.Line != "2001" || sim.COSRule != nil {
		t.Fatalf("simulation %+v", sim)
	}
	line.COS = COSAllowAll
	if sim := Simulate(state, CallRequest{Plan: 1, Called: "4412", Line: line}, nil); sim.Outcome != "route" {
		t.Fatalf("allow-all line: %+v", sim)
	}
}

func TestCompileCOSRefusesBadClasses(t *testing.T) {
	for _, c := range []ClassOfService{
		{ID: 5, Otherwise: "maybe"},
		{ID: 5, Otherwise: COSAllow, Rules: []COSRule{{ID: 1, Prefix: "0x9"}}},
	} {
		if _, err := compileCOS([]ClassOfService{c}, 0, nil); err == nil {
			t.Errorf("class %+v compiled", c)
		}
	}
}

// Simulation says what each path does with a peer: the SIP core skips
// the types it cannot dial, Asterisk dials them.
func TestSimulationShowsEachPath(t *testing.T) {
	snap, costs := decideSnapshot()
	snap.Peers = append(snap.Peers, Peer{ID: 9, Name: "iax-gw", Type: PeerIAX})
	snap.Peers[3].Type = PeerSIP // backup
	snap.Routes = append(snap.Routes, Route{ID: 9, Plan: 1, CalledPrefix: "39", Allow: 1, Media: MediaVoiceFax, Peer1: 9, Peer2: 4})
	state, err := NewRoutingState(snap, costs)
	if err != nil {
		t.Fatal(err)
	}
	sim := Simulate(state, CallRequest{Plan: 1, Called: "3912"}, nil)
	if len(sim.Attempts) != 2 || sim.Attempts[0].SIPCore != PathSkip || sim.Attempts[0].Asterisk != PathDial || sim.Attempts[1].SIPCore != PathDial {
		t.Fatalf("attempts: %+v", sim.Attempts)
	}
}
