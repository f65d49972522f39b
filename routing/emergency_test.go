package routing

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseEmergencyNumbers(t *testing.T) {
	good := map[string][]string{
		"":               nil,
		" ":              nil,
		"112":            {"112"},
		"112, 911 ,999":  {"112", "911", "999"},
		"112,112,+44999": {"112", "+44999"},
	}
	for in, want := range good {
		got, err := ParseEmergencyNumbers(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"112,", ",112", "11 2", "*112", "112#", "abc", "+", "12345678901234567", "1-1-2"} {
		if _, err := ParseEmergencyNumbers(in); !errors.Is(err, ErrEmergencyNumbers) {
			t.Errorf("%q accepted (%v)", in, err)
		}
	}
}

func TestEmergencyCallerID(t *testing.T) {
	for _, tc := range []struct {
		p    Phone
		want string
	}{
		{Phone{Name: "2001"}, ""},
		{Phone{Name: "2001", CallerIDLocation: "441632960001"}, "441632960001"},
		{Phone{Name: "2001", CallerIDLocation: "original_own_number"}, "2001"},
		{Phone{Name: "2001", CallerIDExternal: "441632960999", CallerIDLocation: "original_own_number"}, "441632960999"},
	} {
		if got := EmergencyCallerID(&tc.p); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.p, got, tc.want)
		}
	}
}

// emergencyState has a class of service that bars everything, 112 and
// 999 as emergency numbers and a route for 112 to a SIP carrier that
// charges and takes the location.
func emergencyState(t *testing.T) (*RoutingState, *Phone) {
	t.Helper()
	snap, costs := decideSnapshot()
	snap.Settings.EmergencyNumbers = "112,999"
	snap.Peers = append(snap.Peers, Peer{ID: 7, Name: "ecarrier", Type: PeerSIP, Costs: 1, EmergencyLocation: 1, OutMaximum: -1})
	snap.Routes = append(snap.Routes, Route{ID: 7, Plan: 1, CalledPrefix: "112", Allow: 1, Media: MediaVoiceFax, Peer1: 7})
	snap.Classes = []ClassOfService{{ID: 6, Name: "nothing", Otherwise: COSDeny}}
	costs = append(costs, cost(7, 70, "112", 1.0))
	state, err := NewRoutingState(snap, costs)
	if err != nil {
		t.Fatal(err)
	}
	line := &Phone{ID: 1, Name: "2001", COS: 6, CallMaximum: 0.5, TotalMaximum: 1, CallerIDLocation: "441632960001",
		PresentationExternal: 0, EmergencyCountry: "GB", EmergencyAddress1: "1 High Street"}
	return state, line
}

func TestDecideEmergencyBypassesClassOfService(t *testing.T) {
	state, line := emergencyState(t)
	if _, err := state.Decide(CallRequest{Plan: 1, Called: "1120", Line: line, Now: monday}); !errors.Is(err, ErrCOSBarred) {
		t.Fatalf("1120 is no emergency number: %v", err)
	}
	d, err := state.Decide(CallRequest{Plan: 1, Called: "112", Caller: "2001", Presentation: PresentationWithheld, Line: line, Now: monday})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Emergency || !d.COSBypassed || len(d.Attempts) != 1 || d.Attempts[0].Peer.ID != 7 {
		t.Fatalf("decision %+v", d)
	}
	if d.Attempts[0].CallerID != "441632960001" || d.Caller != "441632960001" || d.Presentation != PresentationAllowed {
		t.Errorf("caller id %q / %q %v, want the location number presented", d.Attempts[0].CallerID, d.Caller, d.Presentation)
	}
	// 999 is an emergency number without a route: the plan decides.
	if d, err := state.Decide(CallRequest{Plan: 1, Called: "999", Line: line, Now: monday}); err != nil || !d.Emergency || d.Attempts[0].Peer.ID != 1 {
		t.Errorf("999: %+v %v", d, err)
	}
}

type busyAdmissions struct{}

func (busyAdmissions) ActivePeerCalls(int) int  { return 0 }
func (busyAdmissions) ActivePhoneCalls(int) int { return 5 }
func (busyAdmissions) Tariff(peer *Peer, called, caller, media string, now time.Time) (Tariff, bool) {
	return Tariff{PerMinute: 1, ConnectFee: 1, Increment: 60}, true
}
func (busyAdmissions) SpendHeld(string, time.Time) float64 { return 10 }

// A line barred by its class, at its totalmaximum and over its spend
// limit: an ordinary call is refused, an emergency call routed, and the
// simulation names each refusal it was spared.
func TestSimulateEmergencyShowsBypasses(t *testing.T) {
	state, line := emergencyState(t)
	if sim := Simulate(state, CallRequest{Plan: 1, Called: "0123", Line: line, Now: monday}, busyAdmissions{}); sim.Outcome != "line_busy" || sim.Emergency {
		t.Fatalf("ordinary call: %+v", sim)
	}
	sim := Simulate(state, CallRequest{Plan: 1, Called: "112", Line: line, Now: monday}, busyAdmissions{})
	if sim.Outcome != "route" || !sim.Emergency || sim.CallerID != "441632960001" {
		t.Fatalf("emergency call: %+v", sim)
	}
	var checks []string
	for _, b := range sim.Bypassed {
		checks = append(checks, b.Check)
	}
	if !slices.Equal(checks, []string{"cos", "totalmaximum", "spend_limit"}) {
		t.Errorf("bypassed %+v", sim.Bypassed)
	}
	if len(sim.Attempts) != 1 || sim.Attempts[0].SIPCore != PathDial || !sim.Attempts[0].Location || sim.Attempts[0].From != "441632960001" {
		t.Errorf("attempts %+v", sim.Attempts)
	}
}

// The setting comes from the API and the switch file: whatever it holds,
// parsing neither panics nor accepts what a carrier could not dial, and
// what it accepts parses again to itself.
func FuzzParseEmergencyNumbers(f *testing.F) {
	for _, s := range []string{"112,911,999", "", " 112 , 112", "+44999", "112,,", "1%31%32", "\x00112", "112#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		nums, err := ParseEmergencyNumbers(s)
		if err != nil {
			return
		}
		if len(nums) > MaxEmergencyNumbers {
			t.Fatalf("%q: %d numbers", s, len(nums))
		}
		for _, n := range nums {
			if !IsDialString(n) || !IsCallerNumber(n) {
				t.Fatalf("%q: accepted %q", s, n)
			}
		}
		again, err := ParseEmergencyNumbers(strings.Join(nums, ","))
		if err != nil || !slices.Equal(again, nums) {
			t.Fatalf("%q: %v does not parse to itself (%v %v)", s, nums, again, err)
		}
	})
}
