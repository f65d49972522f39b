package routing

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseSource(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"", ""},
		{"192.0.2.7", "192.0.2.7"},
		{"192.0.2.7/32", "192.0.2.7"},
		{" 192.0.2.7 , 198.51.100.0/24 ", "192.0.2.7,198.51.100.0/24"},
		{"198.51.100.9/24 2001:db8::/32", "198.51.100.0/24,2001:db8::/32"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.0/120", "192.0.2.0/24"},
		{"0.0.0.0/0", "0.0.0.0/0"},
	} {
		nets, err := ParseSource(tc.in)
		if err != nil {
			t.Errorf("ParseSource(%q): %v", tc.in, err)
			continue
		}
		if got := FormatSource(nets); got != tc.want {
			t.Errorf("ParseSource(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("192.0.2.1,", MaxSources) + "192.0.2.2"
	for _, bad := range []string{"bogus", "10.0.0.0/33", "192.0.2.1:5060", "fe80::1%eth0", "::ffff:1.2.3.4/64", "192.0.2.1/", long} {
		if _, err := ParseSource(bad); !errors.Is(err, ErrSource) {
			t.Errorf("ParseSource(%q) = %v, want ErrSource", bad, err)
		}
	}
}

// TestSourceAllows: the SIP core's check reads the list as ParseSource
// does. A source list of networks (issue 28) lets in the whole network
// and nothing else; an item that is not an address never lets anything
// in.
func TestSourceAllows(t *testing.T) {
	for _, tc := range []struct {
		list, src string
		want      bool
	}{
		{"", "192.0.2.1", true},
		{"192.0.2.1", "192.0.2.1", true},
		{"192.0.2.1", "::ffff:192.0.2.1", true},
		{"192.0.2.1", "192.0.2.2", false},
		{"198.51.100.7, 192.168.10.0/24", "192.168.10.200", true},
		{"198.51.100.7, 192.168.10.0/24", "192.168.11.1", false},
		{"198.51.100.7 10.0.0.0/8", "10.1.2.3", true},
		{"192.168.10.0/24", "2001:db8::1", false},
		{"2001:db8::/32", "2001:db8::1", true},
		{"bogus, 10.0.0.0/33", "10.1.2.3", false},
		{",,", "10.1.2.3", true},
	} {
		if got := SourceAllows(tc.list, netip.MustParseAddr(tc.src)); got != tc.want {
			t.Errorf("SourceAllows(%q, %s) = %v", tc.list, tc.src, got)
		}
	}
}

func TestSourceAllowsAllocatesNothing(t *testing.T) {
	src := netip.MustParseAddr("10.1.2.3")
	if n := testing.AllocsPerRun(100, func() { SourceAllows("198.51.100.7, 192.168.10.0/24, 10.0.0.0/8", src) }); n != 0 {
		t.Errorf("SourceAllows allocates %v times", n)
	}
}

func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"", "192.0.2.1", "198.51.100.0/24, 2001:db8::/32", "::ffff:192.0.2.0/120", "bogus"} {
		f.Add(s, "192.0.2.1")
	}
	f.Fuzz(func(t *testing.T, list, src string) {
		nets, err := ParseSource(list)
		addr, aerr := netip.ParseAddr(src)
		if err != nil || aerr != nil {
			return
		}
		// The canonical form reads back to the same networks, and the
		// SIP core's check agrees with them.
		again, err := ParseSource(FormatSource(nets))
		if err != nil || FormatSource(again) != FormatSource(nets) {
			t.Fatalf("%q: canonical form %q does not read back: %v", list, FormatSource(nets), err)
		}
		in := len(nets) == 0
		for _, p := range nets {
			if p.Contains(addr.Unmap()) {
				in = true
			}
		}
		if got := SourceAllows(list, addr); got != in {
			t.Fatalf("SourceAllows(%q, %s) = %v, networks say %v", list, src, got, in)
		}
	})
}

func TestUserAgentAllows(t *testing.T) {
	tests := []struct {
		list, ua string
		want     bool
	}{
		{"", "anything", true},
		{"Yealink", "Yealink SIP-T46S", true},
		{"yealink, Grandstream", "Grandstream GXP2170", true},
		{"Yealink", "friendly-scanner", false},
		{"Yealink", "", false},
	}
	for _, tc := range tests {
		if got := UserAgentAllows(tc.list, tc.ua); got != tc.want {
			t.Errorf("UserAgentAllows(%q, %q) = %v", tc.list, tc.ua, got)
		}
	}
}
