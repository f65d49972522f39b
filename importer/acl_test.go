package importer

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/astconf"
	"github.com/sipswitch/sipswitch/routing"
)

func aclOpts(lines ...string) []astconf.Option {
	var out []astconf.Option
	for i, l := range lines {
		name, value, _ := strings.Cut(l, "=")
		out = append(out, astconf.Option{Name: name, Value: value, Pos: astconf.Pos{File: "sip.conf", Line: i + 1}})
	}
	return out
}

// TestLineSource: what Asterisk's ACLs come to as a line's source.
func TestLineSource(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rules            []string
		source, narrowed string
		refused          string
	}{
		{rules: []string{"deny=0.0.0.0/0.0.0.0", "permit=198.51.100.25/255.255.255.255"}, source: "198.51.100.25", narrowed: "IPv6"},
		// The office phone: a network, refused before.
		{rules: []string{"deny=0.0.0.0/0", "permit=192.168.10.0/24"}, source: "192.168.10.0/24", narrowed: "IPv6"},
		// What the renderer writes: both families denied, so nothing is
		// narrowed.
		{rules: []string{"deny=0.0.0.0/0.0.0.0", "deny=::/0", "permit=192.168.10.0/255.255.255.0", "permit=2001:db8::/48"}, source: "192.168.10.0/24,2001:db8::/48"},
		// A comma list and "!": the sample's "permit=209.16.236.0/24,
		// !209.16.236.12/32" takes one address out again.
		{rules: []string{"deny=0.0.0.0/0.0.0.0", "deny=::/0", "permit=209.16.236.0/30, !209.16.236.2/32"}, source: "209.16.236.0/31,209.16.236.3"},
		// The last matching rule wins: a later deny of a host inside a
		// permitted network.
		{rules: []string{"deny=0.0.0.0/0", "deny=::/0", "permit=10.0.0.0/24", "deny=10.0.0.1"}, source: "10.0.0.0,10.0.0.2/31,10.0.0.4/30,10.0.0.8/29,10.0.0.16/28,10.0.0.32/27,10.0.0.64/26,10.0.0.128/25"},
		// One host out of a /8 is 24 networks: more than a source holds.
		{rules: []string{"deny=0.0.0.0/0", "deny=::/0", "permit=10.0.0.0/8", "deny=10.0.0.1"}, refused: "24 separate networks"},
		{rules: []string{"deny=0.0.0.0/0", "deny=::/0", "permit=10.0.0.0/8", "deny=10.0.0.0/9"}, source: "10.128.0.0/9"},
		// Permits only, or a deny that a later permit undoes: nothing is
		// restricted.
		{rules: []string{"permit=192.0.2.1"}},
		{rules: []string{"deny=192.0.2.0/24", "permit=192.0.2.0/24"}},
		// A deny alone leaves the rest of its family open, and the other
		// family untouched.
		{rules: []string{"deny=192.0.2.0/25"}, source: "0.0.0.0/1,128.0.0.0/2,192.0.0.0/23,192.0.2.128/25,192.0.3.0/24,192.0.4.0/22,192.0.8.0/21,192.0.16.0/20,192.0.32.0/19,192.0.64.0/18,192.0.128.0/17,192.1.0.0/16,192.2.0.0/15,192.4.0.0/14,192.8.0.0/13,192.16.0.0/12", refused: "networks"},
		{rules: []string{"deny=0.0.0.0/0", "deny=::/0"}, refused: "allows no address"},
		{rules: []string{"deny=0.0.0.0/0", "permit=10.0.0.0/255.0.255.0"}, refused: "not contiguous"},
		{rules: []string{"deny=0.0.0.0/0", "permit=sip.example.com"}, refused: "not an IP address"},
		{rules: []string{"deny=0.0.0.0/0", "permit=10.0.0.0/40"}, refused: "prefix length"},
		{rules: []string{"deny=::ffff:0.0.0.0/96", "permit=::ffff:192.0.2.0/120"}, source: "192.0.2.0/24", narrowed: "IPv6"},
	} {
		res := lineSource(aclOpts(tc.rules...), nil)
		if tc.refused != "" {
			if !strings.Contains(res.refused, tc.refused) {
				t.Errorf("%v: %+v, want refused %q", tc.rules, res, tc.refused)
			}
			continue
		}
		if res.source != tc.source || res.narrowed != tc.narrowed || res.refused != "" {
			t.Errorf("%v: %+v, want source %q narrowed %q", tc.rules, res, tc.source, tc.narrowed)
		}
	}
	// A named ACL narrows the line's own ACL further: both must allow.
	named, err := parseACLRules(aclOpts("deny=0.0.0.0/0", "deny=::/0", "permit=192.168.0.0/16"))
	if err != nil {
		t.Fatal(err)
	}
	res := lineSource(aclOpts("deny=0.0.0.0/0", "deny=::/0", "permit=192.168.10.0/24", "permit=10.0.0.0/8"), [][]aclRule{named})
	if res.source != "192.168.10.0/24" {
		t.Errorf("with a named ACL: %+v", res)
	}
}

// TestLineSourceAgreesWithAsterisk: for random ACLs, the source computed
// allows exactly the addresses Asterisk's rule-by-rule evaluation allows
// (ast_apply_ha: the last rule of the address's family whose network holds
// it decides; none: allowed), on addresses drawn near the rules'
// networks, except a family the import narrows away, which it allows
// none of.
func TestLineSourceAgreesWithAsterisk(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(28, 1))
	bases := []string{"10.0.0.0", "10.0.1.0", "192.0.2.0", "2001:db8::", "2001:db8:0:1::"}
	checked := 0
	for round := 0; round < 3000; round++ {
		var lines []string
		for n := 1 + rng.IntN(6); n > 0; n-- {
			base := netip.MustParseAddr(bases[rng.IntN(len(bases))])
			bits := base.BitLen() - rng.IntN(10)
			if rng.IntN(8) == 0 {
				bits = 0
			}
			a := base.AsSlice()
			a[len(a)-1] = byte(rng.IntN(256))
			addr, _ := netip.AddrFromSlice(a)
			sense := "deny"
			if rng.IntN(2) == 0 {
				sense = "permit"
			}
			lines = append(lines, fmt.Sprintf("%s=%s/%d", sense, addr, bits))
		}
		rules, err := parseACLRules(aclOpts(lines...))
		if err != nil {
			t.Fatal(err)
		}
		res := lineSource(aclOpts(lines...), nil)
		if res.refused != "" {
			continue
		}
		nets, err := routing.ParseSource(res.source)
		if err != nil {
			t.Fatalf("%v: source %q: %v", lines, res.source, err)
		}
		for i := 0; i < 200; i++ {
			base := netip.MustParseAddr(bases[rng.IntN(len(bases))])
			a := base.AsSlice()
			a[len(a)-1] = byte(rng.IntN(256))
			a[len(a)-2] ^= byte(rng.IntN(2))
			addr, _ := netip.AddrFromSlice(a)
			want := true
			for _, r := range rules {
				if r.net.Addr().Is4() == addr.Is4() && r.net.Contains(addr) {
					want = r.permit
				}
			}
			if res.narrowed == "IPv6" && addr.Is6() || res.narrowed == "IPv4" && addr.Is4() {
				want = false
			}
			got := len(nets) == 0 || routing.SourceAllows(res.source, addr)
			if got != want {
				t.Fatalf("%v: source %q (narrowed %q) says %v for %s, Asterisk %v", lines, res.source, res.narrowed, got, addr, want)
			}
			checked++
		}
	}
	if checked < 100000 {
		t.Errorf("only %d addresses checked", checked)
	}
}
