package sipmsg

import (
	"net/netip"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestHeaderIgnoresCase(t *testing.T) {
	req := sip.NewRequest(sip.INVITE, sip.Uri{User: "1001", Host: "192.0.2.1"})
	req.AppendHeader(sip.NewHeader("user-agent", "phone/1"))
	if got := HeaderValue(req, "User-Agent"); got != "phone/1" {
		t.Fatalf("HeaderValue = %q", got)
	}
	if Header(req, "Require") != nil || HeaderValue(req, "Require") != "" {
		t.Fatal("an absent header was found")
	}
}

func TestHeadersAllByNameInOrder(t *testing.T) {
	req := sip.NewRequest(sip.INVITE, sip.Uri{User: "1001", Host: "192.0.2.1"})
	req.AppendHeader(sip.NewHeader("Route", "<sip:a;lr>"))
	req.AppendHeader(sip.NewHeader("Via", "SIP/2.0/UDP 192.0.2.2"))
	req.AppendHeader(sip.NewHeader("route", "<sip:b;lr>"))
	hs := Headers(req, "Route")
	if len(hs) != 2 || hs[0].Value() != "<sip:a;lr>" || hs[1].Value() != "<sip:b;lr>" {
		t.Fatalf("Headers(Route) = %v, want both, in order", hs)
	}
	if hs := Headers(req, "Record-Route"); hs != nil {
		t.Fatalf("Headers(Record-Route) = %v, want none", hs)
	}
}

func TestListHas(t *testing.T) {
	for _, c := range []struct {
		v, tok string
		want   bool
	}{
		{"timer", "timer", true},
		{"100rel, Timer", "timer", true},
		{"timers", "timer", false},
		{"", "timer", false},
	} {
		if got := ListHas(c.v, c.tok); got != c.want {
			t.Errorf("ListHas(%q, %q) = %v", c.v, c.tok, got)
		}
	}
}

func TestHostIsNot(t *testing.T) {
	v4 := netip.MustParseAddr("192.0.2.1")
	v6 := netip.MustParseAddr("2001:db8::1")
	for _, c := range []struct {
		host string
		addr netip.Addr
		want bool
	}{
		{"192.0.2.1", v4, false},
		{"10.0.0.1", v4, true},
		{"phone.example", v4, true},
		{"[2001:db8::1]", v6, false},
		{"::ffff:192.0.2.1", v4, false},
	} {
		if got := HostIsNot(c.host, c.addr); got != c.want {
			t.Errorf("HostIsNot(%q, %v) = %v", c.host, c.addr, got)
		}
	}
	if JoinHostPort("2001:db8::1", 5060) != "[2001:db8::1]:5060" || JoinHostPort("192.0.2.1", 5060) != "192.0.2.1:5060" {
		t.Fatal("JoinHostPort")
	}
}
