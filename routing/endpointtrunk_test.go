package routing

import (
	"context"
	"net/netip"
	"testing"
)

// Which sip_endpoints are trunks, what they hold, and which sources are
// theirs: over UDP their address and port (any port when insecure), over
// TCP and TLS their address on that transport; a name a line has stays
// the line's.
func TestEndpointTrunks(t *testing.T) {
	snap := &Snapshot{
		Phones: []Phone{{ID: 1, Name: "taken", Password: "x"}},
		SIPEndpoints: []SIPEndpoint{
			{ID: 1, Name: "line", Host: "dynamic", Secret: "s"},                                               // a line
			{ID: 2, Name: "none", Host: "dynamic"},                                                            // neither
			{ID: 3, Name: "pbx", Host: "192.0.2.7:5070", DefaultUser: "u", Secret: "in", RemoteSecret: "out"}, // challenged
			{ID: 4, Name: "gw", Host: "192.0.2.8", Insecure: 1, Secret: "s", OutboundProxy: "192.0.2.99"},
			{ID: 5, Name: "tls", Host: "192.0.2.9", Transport: "TLS,UDP", Port: 5071},
			{ID: 6, Name: "itsp", Host: "192.0.2.7", Registration: "out", DefaultUser: "acct", Secret: "s", Extension: "100", QualifyFreq: 0, Qualify: 1},
			{ID: 7, Name: "TAKEN", Host: "192.0.2.10"},
		},
	}
	c, err := NewCallControl(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Trunk("line"); ok {
		t.Error("a registering endpoint is a trunk")
	}
	if _, ok := c.Trunk("none"); ok {
		t.Error("an endpoint with no host is a trunk")
	}
	if _, ok := c.Trunk("taken"); ok {
		t.Error("an endpoint named as a line is a trunk")
	}
	pbx, ok := c.Trunk("PBX")
	if !ok || pbx.Host.PortOrDefault() != 5070 || pbx.AuthUser != "u" || pbx.InSecret != "in" || pbx.OutSecret != "out" || pbx.Line == nil || pbx.RequestUser != "u" {
		t.Fatalf("pbx: %+v", pbx)
	}
	gw, _ := c.Trunk("gw")
	if gw.InSecret != "" || gw.Line != nil || gw.OutSecret != "s" || gw.Proxy == nil || gw.Proxy.Host != "192.0.2.99" || gw.AuthUser != "gw" {
		t.Errorf("gw (insecure): %+v", gw)
	}
	itsp, _ := c.Trunk("itsp")
	if !itsp.RegisterOut || itsp.ContactUser != "100" || itsp.QualifyFreq != 60 || !itsp.Qualify {
		t.Errorf("itsp: %+v", itsp)
	}
	ap := func(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
	for _, tc := range []struct {
		src, transport string
		anyPort        bool
		want           string
	}{
		{"192.0.2.7:5070", "UDP", false, "pbx"},
		{"192.0.2.7:5060", "UDP", false, "itsp"}, // same address, its own port
		{"192.0.2.7:5071", "UDP", false, ""},
		{"192.0.2.7:5071", "UDP", true, "pbx"}, // peer_match address: the first trunk there
		{"192.0.2.7:5070", "TCP", false, ""},
		{"192.0.2.8:40000", "UDP", false, "gw"}, // insecure: any port
		{"192.0.2.9:40000", "TLS", false, "tls"},
		{"192.0.2.9:5071", "UDP", false, ""}, // its transport is TLS
		{"[::ffff:192.0.2.7]:5070", "UDP", false, "pbx"},
		{"192.0.2.66:5060", "UDP", true, ""},
	} {
		tr, ok := c.TrunkBySource(ap(tc.src), tc.transport, tc.anyPort)
		got := ""
		if ok {
			got = tr.Name
		}
		if got != tc.want {
			t.Errorf("source %s over %s (any port %v): trunk %q, want %q", tc.src, tc.transport, tc.anyPort, got, tc.want)
		}
	}
	if n := len(c.Trunks()); n != 4 {
		t.Errorf("%d trunks, want 4 (pbx, gw, tls, itsp)", n)
	}
}
