package routing

import (
	"slices"
	"testing"
)

// One parser for peer destinations on every path: the API's check, the
// renderer and the SIP core once each had their own rules.
func TestParseDestinations(t *testing.T) {
	tests := []struct {
		in   string
		want []HostPort // nil: refused
	}{
		{"sip.example.net", []HostPort{{"sip.example.net", 0, ""}}},
		{"192.0.2.1:5070, 192.0.2.2", []HostPort{{"192.0.2.1", 5070, ""}, {"192.0.2.2", 0, ""}}},
		{" 192.0.2.9 192.0.2.2", []HostPort{{"192.0.2.9", 0, ""}, {"192.0.2.2", 0, ""}}},
		{"[2001:db8::1]:5080", []HostPort{{"2001:db8::1", 5080, ""}}},
		{"2001:db8::1", []HostPort{{"2001:db8::1", 0, ""}}}, // bare IPv6, no port
		{"", []HostPort{}},
		{"sip_gw.example.com", nil}, // underscore: no host name
		{"-bad.example.com", nil},
		{"bad-.example.com", nil},
		{"a..b", nil},
		{"host:0", nil},
		{"host:65536", nil},
		{"[192.0.2.1]:5060", nil},
		{"2001:db8::1:5060x", nil},
		{"fe80::1%eth0", nil},
		// Transports, as a SIP URI names them.
		{"sips:carrier.example.net", []HostPort{{"carrier.example.net", 0, "tls"}}},
		{"SIPS:192.0.2.1:5071, sips:192.0.2.2", []HostPort{{"192.0.2.1", 5071, "tls"}, {"192.0.2.2", 0, "tls"}}},
		{"192.0.2.1;transport=TCP", []HostPort{{"192.0.2.1", 0, "tcp"}}},
		{"sip:[2001:db8::1]:5080;transport=tls", []HostPort{{"2001:db8::1", 5080, "tls"}}},
		{"sip:192.0.2.1;transport=udp 192.0.2.2", []HostPort{{"192.0.2.1", 0, ""}, {"192.0.2.2", 0, ""}}},
		{"sips:192.0.2.1, 192.0.2.2", nil},    // one transport per destination
		{"sips:192.0.2.1;transport=udp", nil}, // sips: is TLS
		{"192.0.2.1;transport=sctp", nil},     // not a transport the switch has
		{"192.0.2.1;lr", nil},                 // no other parameter
		{"sips:", nil},
	}
	for _, tc := range tests {
		got, err := ParseDestinations(tc.in)
		if tc.want == nil {
			if err == nil {
				t.Errorf("%q accepted: %v", tc.in, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
	if s := (HostPort{"2001:db8::1", 5080, ""}).String(); s != "[2001:db8::1]:5080" {
		t.Errorf("String %q", s)
	}
	if p := (HostPort{"h", 0, ""}).PortOrDefault(); p != DefaultSIPPort {
		t.Errorf("default port %d", p)
	}
	if p := (HostPort{"h", 0, "tls"}).PortOrDefault(); p != DefaultSIPSPort {
		t.Errorf("default TLS port %d", p)
	}
}

// FuzzParseDestinations: whatever an operator types, the parser answers
// without panicking, and what it accepts prints back to itself.
func FuzzParseDestinations(f *testing.F) {
	for _, s := range []string{"sip.example.net:5070", "[2001:db8::1]:5080, 192.0.2.1", "2001:db8::1", "a..b", "[::1", "sips:h:5061", "h;transport=tcp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hps, err := ParseDestinations(s)
		if err != nil {
			return
		}
		for _, hp := range hps {
			again, err := ParseDestinations(hp.Destination())
			if err != nil || len(again) != 1 || again[0] != hp {
				t.Fatalf("%q: %v prints %q, which parses to %v %v", s, hp, hp.Destination(), again, err)
			}
		}
	})
}
