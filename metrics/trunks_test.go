package metrics

import (
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/sip"
)

// The state of each trunk shows in the scrape: registration for those
// that register, reachability for those qualified, nothing else.
func TestTrunkStatesShowInTheScrape(t *testing.T) {
	m := New()
	states := []sip.TrunkState{
		{Endpoint: "provider", Registers: true, Registered: true},
		{Endpoint: "backup", Registers: true, Failures: 3, LastStatus: 403},
		{Endpoint: "pbx", Qualified: true, Reachable: false},
	}
	if err := m.RegisterTrunks(func() []sip.TrunkState { return states }); err != nil {
		t.Fatal(err)
	}
	got := scrape(t, m)
	for _, want := range []string{
		`sipswitch_sip_endpoint_registered{endpoint="provider"} 1`,
		`sipswitch_sip_endpoint_registered{endpoint="backup"} 0`,
		`sipswitch_sip_endpoint_registration_failures{endpoint="backup"} 3`,
		`sipswitch_sip_endpoint_reachable{endpoint="pbx"} 0`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if strings.Contains(got, `sipswitch_sip_endpoint_registered{endpoint="pbx"}`) || strings.Contains(got, `sipswitch_sip_endpoint_reachable{endpoint="provider"}`) {
		t.Errorf("a gauge for what the trunk does not do:\n%s", got)
	}
}
