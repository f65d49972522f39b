package importer

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/astconf"
	"github.com/sipswitch/sipswitch/routing"
)

// A line's deny/permit ACL becomes its source, the list of networks it
// may use (routing.ParseSource). Asterisk applies an ACL (main/acl.c,
// ast_apply_ha) rule by rule, each item of a deny= or permit= value (comma
// separated, "!" turning deny into permit and back) a rule, the last rule
// whose network holds the address deciding, and an address no rule holds
// allowed; a rule of one family never holds an address of the other.
// Every named ACL of the line (acl=, a section of acl.conf) must allow the
// address too (ast_apply_acl). The importer computes the exact set of
// addresses that passes, per family, as the fewest CIDR networks:
//
//   - nothing restricted (no rule denies anything): no source;
//   - a family the rules never name, while the other is restricted: left
//     out, narrower than Asterisk, which lets it all in (INFERRED: the
//     ACL's author thought of one family; the finding says so);
//   - nothing allowed, more than routing.MaxSources networks, a mask
//     that is not a prefix, an item Asterisk cannot read, or a named ACL
//     acl.conf does not define: the line is not imported, since without
//     the restriction it would take calls from anywhere.

// aclRule is one item of a deny= or permit= value.
type aclRule struct {
	permit bool
	net    netip.Prefix
}

// parseACLRules reads deny/permit options in the order written.
func parseACLRules(opts []astconf.Option) ([]aclRule, error) {
	var rules []aclRule
	for _, o := range opts {
		permit := strings.HasPrefix(strings.ToLower(o.Name), "p")
		for _, item := range strings.Split(o.Value, ",") {
			item = strings.TrimSpace(item)
			r := aclRule{permit: permit}
			if strings.HasPrefix(item, "!") {
				r.permit = !r.permit
				item = item[1:]
			}
			n, err := aclNetwork(item)
			if err != nil {
				return nil, fmt.Errorf("%s=%s: %w", o.Name, o.Value, err)
			}
			r.net = n
			rules = append(rules, r)
		}
	}
	return rules, nil
}

// aclNetwork reads address[/mask] as Asterisk does: no mask is one host, a
// mask is a prefix length or a dotted (or IPv6) netmask, host bits are
// cleared, an IPv4-mapped address is its IPv4 address.
func aclNetwork(item string) (netip.Prefix, error) {
	addrText, maskText, hasMask := strings.Cut(item, "/")
	a, err := netip.ParseAddr(addrText)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address", addrText)
	}
	mapped := a.Is4In6()
	a = a.Unmap()
	bits := a.BitLen()
	if hasMask {
		if strings.ContainsAny(maskText, ".:") {
			m, err := netip.ParseAddr(maskText)
			if err != nil {
				return netip.Prefix{}, fmt.Errorf("%q is not a netmask", maskText)
			}
			m = m.Unmap()
			if m.Is4() != a.Is4() {
				return netip.Prefix{}, fmt.Errorf("address and netmask %q are of different families", maskText)
			}
			if bits, err = maskBits(m); err != nil {
				return netip.Prefix{}, err
			}
		} else {
			n, err := strconv.Atoi(maskText)
			if mapped {
				n -= 96
			}
			if err != nil || n < 0 || n > a.BitLen() {
				return netip.Prefix{}, fmt.Errorf("%q is not a prefix length", maskText)
			}
			bits = n
		}
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

// maskBits is the prefix length of a netmask; a mask whose ones are not
// contiguous (Asterisk takes it) names no network a source can hold.
func maskBits(m netip.Addr) (int, error) {
	b := m.AsSlice()
	n := 0
	for n < len(b)*8 && b[n/8]&(0x80>>(n%8)) != 0 {
		n++
	}
	for i := n; i < len(b)*8; i++ {
		if b[i/8]&(0x80>>(i%8)) != 0 {
			return 0, fmt.Errorf("netmask %s is not contiguous: no network of addresses has it", m)
		}
	}
	return n, nil
}

// netSet is a set of addresses of one family as disjoint CIDR networks.
type netSet []netip.Prefix

// fullSet is every address of a family.
func fullSet(v4 bool) netSet {
	if v4 {
		return netSet{netip.MustParsePrefix("0.0.0.0/0")}
	}
	return netSet{netip.MustParsePrefix("::/0")}
}

func within(inner, outer netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

// add is s ∪ p.
func (s netSet) add(p netip.Prefix) netSet {
	var out netSet
	for _, q := range s {
		if within(p, q) {
			return s
		}
		if !within(q, p) {
			out = append(out, q)
		}
	}
	return append(out, p).merged()
}

// remove is s \ p.
func (s netSet) remove(p netip.Prefix) netSet {
	var out netSet
	for _, q := range s {
		switch {
		case within(q, p):
		case within(p, q):
			// q without p: the sibling of each of p's ancestors
			// below q.
			for b := q.Bits() + 1; b <= p.Bits(); b++ {
				anc := netip.PrefixFrom(p.Addr(), b).Masked()
				out = append(out, netip.PrefixFrom(flipBit(anc.Addr(), b-1), b))
			}
		default:
			out = append(out, q)
		}
	}
	return out.merged()
}

// intersect is s ∩ t.
func (s netSet) intersect(t netSet) netSet {
	var out netSet
	for _, a := range s {
		for _, b := range t {
			switch {
			case within(a, b):
				out = append(out, a)
			case within(b, a):
				out = append(out, b)
			}
		}
	}
	return out.merged()
}

// merged sorts the set and joins sibling networks, which makes it the
// fewest networks that hold exactly its addresses.
func (s netSet) merged() netSet {
	for {
		slices.SortFunc(s, func(a, b netip.Prefix) int {
			if c := a.Addr().Compare(b.Addr()); c != 0 {
				return c
			}
			return a.Bits() - b.Bits()
		})
		joined := false
		var out netSet
		for i := 0; i < len(s); i++ {
			if i+1 < len(s) && s[i].Bits() == s[i+1].Bits() && s[i].Bits() > 0 {
				parent := netip.PrefixFrom(s[i].Addr(), s[i].Bits()-1).Masked()
				if parent.Addr() == s[i].Addr() && within(s[i+1], parent) {
					out = append(out, parent)
					i++
					joined = true
					continue
				}
			}
			out = append(out, s[i])
		}
		s = out
		if !joined {
			return s
		}
	}
}

func flipBit(a netip.Addr, bit int) netip.Addr {
	b := a.AsSlice()
	b[bit/8] ^= 0x80 >> (bit % 8)
	out, _ := netip.AddrFromSlice(b)
	return out
}

func (s netSet) full() bool { return len(s) == 1 && s[0].Bits() == 0 }

// aclAllowed applies rules to every address of both families: what
// passes, and which families the rules name.
func aclAllowed(rules []aclRule) (v4, v6 netSet, named4, named6 bool) {
	v4, v6 = fullSet(true), fullSet(false)
	for _, r := range rules {
		set := &v6
		if r.net.Addr().Is4() {
			set, named4 = &v4, true
		} else {
			named6 = true
		}
		if r.permit {
			*set = set.add(r.net)
		} else {
			*set = set.remove(r.net)
		}
	}
	return v4, v6, named4, named6
}

// errNoACL marks an acl= name acl.conf does not define.
var errNoACL = errors.New("not defined in acl.conf")

// namedACLs are acl.conf's ACLs (nil cfg: there is no acl.conf).
type namedACLs struct {
	cfg *astconf.Config
	err error
}

// loadNamedACLs reads acl.conf when the directory has one.
func loadNamedACLs(ctx context.Context, dir string) namedACLs {
	if _, err := os.Stat(filepath.Join(dir, "acl.conf")); err != nil {
		return namedACLs{}
	}
	cfg, err := astconf.Load(ctx, dir, "acl.conf")
	return namedACLs{cfg: cfg, err: err}
}

// rules returns the rules of the named ACL.
func (c namedACLs) rules(name string) ([]aclRule, error) {
	switch {
	case c.err != nil:
		return nil, fmt.Errorf("acl.conf: %w", c.err)
	case c.cfg == nil:
		return nil, fmt.Errorf("%q: there is no acl.conf", name)
	}
	secs := c.cfg.Find(name)
	if len(secs) == 0 {
		return nil, fmt.Errorf("%q: %w", name, errNoACL)
	}
	var opts []astconf.Option
	for _, o := range secs[0].Options {
		if strings.EqualFold(o.Name, "deny") || strings.EqualFold(o.Name, "permit") {
			opts = append(opts, o)
		}
	}
	return parseACLRules(opts)
}

// aclResult is what a line's ACL comes to.
type aclResult struct {
	// source is the line's source; "" when the ACL restricts nothing.
	source string
	// narrowed names a family the rules left open and the import shuts.
	narrowed string
	// refused says why the ACL cannot be held; the line is not imported.
	refused string
}

// lineSource computes a line's source from its deny/permit options (in
// the order written) and the rules of its named ACLs.
func lineSource(base []astconf.Option, named [][]aclRule) aclResult {
	rules, err := parseACLRules(base)
	if err != nil {
		return aclResult{refused: fmt.Sprintf("%v; Asterisk does not read it, and the line is not imported without its restriction", err)}
	}
	v4, v6, n4, n6 := aclAllowed(rules)
	for _, nr := range named {
		a4, a6, m4, m6 := aclAllowed(nr)
		v4, v6 = v4.intersect(a4), v6.intersect(a6)
		n4, n6 = n4 || m4, n6 || m6
	}
	var res aclResult
	switch {
	case v4.full() && v6.full():
		return res // nothing restricted
	case !n6 && v6.full() && !v4.full():
		v6, res.narrowed = nil, "IPv6"
	case !n4 && v4.full() && !v6.full():
		v4, res.narrowed = nil, "IPv4"
	}
	nets := append(append([]netip.Prefix(nil), v4...), v6...)
	switch {
	case len(nets) == 0:
		res.refused = "the ACL allows no address: the line could never be used"
	case len(nets) > routing.MaxSources:
		res.refused = fmt.Sprintf("the ACL allows %d separate networks; a line's source holds at most %d, and importing the line without its restriction would open it to every address", len(nets), routing.MaxSources)
	default:
		res.source = routing.FormatSource(nets)
	}
	return res
}
