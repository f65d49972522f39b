package routing

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// A peer's destination (and proxy) is a list of host[:port]: where the
// switch sends the peer's calls, and the only sources it takes
// unauthenticated calls from.

// hostRE is a host name of RFC 1123 labels (letters, digits and inner
// hyphens; no underscore, no empty label) or an IPv4 literal.
var hostRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

// DefaultSIPPort is the port of a SIP destination that names none (RFC
// 3261 19.1.2).
const DefaultSIPPort = 5060

// HostPort is one host of a destination; Port 0 names none (5060).
type HostPort struct {
	Host string // a name, an IPv4 or an IPv6 address (without brackets)
	Port int
}

// String is host[:port], an IPv6 address in brackets.
func (h HostPort) String() string {
	host := h.Host
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	if h.Port == 0 {
		return host
	}
	return host + ":" + strconv.Itoa(h.Port)
}

// PortOrDefault is the port calls go to: Port, or 5060.
func (h HostPort) PortOrDefault() int {
	if h.Port == 0 {
		return DefaultSIPPort
	}
	return h.Port
}

// ParseDestinations reads a peer's destination (or proxy): one or more
// hosts separated by commas or white space, tried in order. This is the
// one parser of destinations: the API's check, the renderer and the SIP
// core all use it.
func ParseDestinations(s string) ([]HostPort, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	out := make([]HostPort, 0, len(fields))
	for _, f := range fields {
		hp, err := ParseHostPort(f)
		if err != nil {
			return nil, err
		}
		out = append(out, hp)
	}
	return out, nil
}

// ParseHostPort reads host[:port]: a host name, an IPv4 address, or an
// IPv6 address in brackets ([2001:db8::1]:5070) or bare, then without a
// port (2001:db8::1).
func ParseHostPort(hp string) (HostPort, error) {
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return HostPort{}, fmt.Errorf("%q has no closing ']'", hp)
		}
		host := hp[1:end]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return HostPort{}, fmt.Errorf("%q is not an IPv6 address", host)
		}
		rest := hp[end+1:]
		if rest == "" {
			return HostPort{Host: host}, nil
		}
		if rest[0] != ':' {
			return HostPort{}, fmt.Errorf("%q: unexpected text after ']'", hp)
		}
		port, err := parsePort(rest[1:])
		return HostPort{Host: host, Port: port}, err
	}
	if strings.Count(hp, ":") > 1 {
		if a, err := netip.ParseAddr(hp); err == nil && a.Is6() && a.Zone() == "" {
			return HostPort{Host: hp}, nil
		}
		return HostPort{}, fmt.Errorf("%q is not an IPv6 address (write [address]:port for one with a port)", hp)
	}
	host, port := hp, 0
	if i := strings.LastIndexByte(hp, ':'); i >= 0 {
		var err error
		host = hp[:i]
		if port, err = parsePort(hp[i+1:]); err != nil {
			return HostPort{}, err
		}
	}
	if !hostRE.MatchString(host) || len(host) > 253 {
		return HostPort{}, fmt.Errorf("%q is not a host name or IP address", host)
	}
	return HostPort{Host: host, Port: port}, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q is not between 1 and 65535", s)
	}
	return p, nil
}
