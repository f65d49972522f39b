package routing

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// A line's source (phones/create "source") restricts where it may register
// and call from. The seed page says "Only allow from this IP address";
// sipswitch takes a list (INFERRED, issue 28: an Asterisk line's
// deny/permit ACL is a list of networks, and importing one address of it
// would either shut the phone out or widen its ACL): IP addresses and
// CIDR networks separated by commas (or blanks), at most MaxSources of
// them. An address is one host (/32, /128); an IPv4-mapped IPv6 address
// is its IPv4 address. "" allows every source.
//
// ParseSource is the one reading of the list: the API and the switch-file
// loader validate and canonicalise with it (engine), the renderer writes
// its deny/permit lines from it, and the SIP core applies it with
// SourceAllows, which reads items the same way.

// MaxSources bounds a source list: an ACL longer than this is a firewall's
// job, and the SIP core checks the list on every request.
const MaxSources = 16

// ErrSource marks a source list ParseSource refuses.
var ErrSource = errors.New("invalid source")

// ParseSource reads a source list into its networks, in order, each
// masked (192.0.2.7/24 is 192.0.2.0/24); nil for "".
func ParseSource(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for rest := list; ; {
		var item string
		item, rest = nextSourceItem(rest)
		if item == "" {
			break
		}
		p, ok := parseSourceItem(item)
		if !ok {
			return nil, fmt.Errorf("%w: %q is neither an IP address nor a CIDR network", ErrSource, clipNumber(item))
		}
		if len(out) == MaxSources {
			return nil, fmt.Errorf("%w: more than %d addresses or networks", ErrSource, MaxSources)
		}
		out = append(out, p)
	}
	return out, nil
}

// FormatSource writes networks as a source list: hosts as plain addresses,
// networks as CIDR, separated by commas.
func FormatSource(nets []netip.Prefix) string {
	var b strings.Builder
	for i, p := range nets {
		if i > 0 {
			b.WriteByte(',')
		}
		if p.IsSingleIP() {
			b.WriteString(p.Addr().String())
		} else {
			b.WriteString(p.String())
		}
	}
	return b.String()
}

// SourceAllows says whether src may use a line whose source is list: list
// is "" or names a network holding src. It reads the items as ParseSource
// does, without allocating (the SIP core calls it for every request of a
// restricted line); an item that is no address or network (which the API
// never stores) allows nothing.
func SourceAllows(list string, src netip.Addr) bool {
	src = src.Unmap()
	open := true
	for rest := list; ; {
		var item string
		item, rest = nextSourceItem(rest)
		if item == "" {
			return open
		}
		open = false
		if p, ok := parseSourceItem(item); ok && p.Contains(src) {
			return true
		}
	}
}

// nextSourceItem splits the first item off a list separated by commas or
// blanks.
func nextSourceItem(list string) (item, rest string) {
	list = strings.TrimLeft(list, ", \t")
	i := strings.IndexAny(list, ", \t")
	if i < 0 {
		return list, ""
	}
	return list[:i], list[i:]
}

// parseSourceItem reads one address or network, masked and unmapped.
func parseSourceItem(item string) (netip.Prefix, bool) {
	if strings.IndexByte(item, '/') >= 0 {
		p, err := netip.ParsePrefix(item)
		if err != nil || p.Addr().Zone() != "" {
			return netip.Prefix{}, false
		}
		a, bits := p.Addr(), p.Bits()
		if a.Is4In6() {
			if bits < 96 {
				return netip.Prefix{}, false
			}
			a, bits = a.Unmap(), bits-96
		}
		return netip.PrefixFrom(a, bits).Masked(), true
	}
	a, err := netip.ParseAddr(item)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// UserAgentAllows applies a line's allowed_ua: a comma separated list of
// User-Agent fragments; ua must contain one of them (case-insensitive).
// An empty list allows any User-Agent. The SIP core applies it to every
// request of the line and routes/simulate to the user_agent it is given.
func UserAgentAllows(list, ua string) bool {
	if strings.TrimSpace(list) == "" {
		return true
	}
	ua = strings.ToLower(ua)
	for list != "" {
		var item string
		item, list, _ = strings.Cut(list, ",")
		item = strings.TrimSpace(item)
		if item != "" && strings.Contains(ua, strings.ToLower(item)) {
			return true
		}
	}
	return false
}
