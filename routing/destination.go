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
// 3261 19.1.2); DefaultSIPSPort the port of one over TLS.
const (
	DefaultSIPPort  = 5060
	DefaultSIPSPort = 5061
)

// HostPort is one host of a destination; Port 0 names none (5060, or 5061
// over TLS).
type HostPort struct {
	Host string // a name, an IPv4 or an IPv6 address (without brackets)
	Port int
	// Transport is "" (UDP), "udp", "tcp" or "tls", from a destination
	// written sips:host (TLS) or host;transport=tcp (ParseDestinations).
	Transport string
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

// Destination writes h as a destination names it: sips:host[:port] over
// TLS, host[:port];transport=tcp over TCP, host[:port] over UDP.
func (h HostPort) Destination() string {
	switch h.Transport {
	case "tls":
		return "sips:" + h.String()
	case "":
		return h.String()
	}
	return h.String() + ";transport=" + h.Transport
}

// PortOrDefault is the port calls go to: Port, or 5060 (5061 over TLS).
func (h HostPort) PortOrDefault() int {
	switch {
	case h.Port != 0:
		return h.Port
	case h.Transport == "tls":
		return DefaultSIPSPort
	}
	return DefaultSIPPort
}

// ParseDestinations reads a peer's destination (or proxy): one or more
// hosts separated by commas or white space, tried in order. This is the
// one parser of destinations: the API's check, the renderer and the SIP
// core all use it.
//
// A host may name its transport as a SIP URI does: sips:host[:port] is
// TLS (RFC 3261 19.1, RFC 5630), host[:port];transport=tcp|tls|udp names
// it outright; sip:host[:port] is the bare host. Every host of one
// destination uses the same transport: an Asterisk endpoint has one
// (the rendered pjsip.conf and sip.conf could not say otherwise), so a
// mixed list is refused rather than rendered differently from how the
// SIP core sends.
func ParseDestinations(s string) ([]HostPort, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	out := make([]HostPort, 0, len(fields))
	for _, f := range fields {
		hp, err := parseDestination(f)
		if err != nil {
			return nil, err
		}
		if len(out) > 0 && transportOf(out[0]) != transportOf(hp) {
			return nil, fmt.Errorf("%q: transport %s differs from the first host's %s (one transport per destination)", f, transportOf(hp), transportOf(out[0]))
		}
		out = append(out, hp)
	}
	return out, nil
}

func transportOf(h HostPort) string {
	if h.Transport == "" {
		return "udp"
	}
	return h.Transport
}

// parseDestination reads one host of a destination: [sip:|sips:]host[:port][;transport=t].
func parseDestination(f string) (HostPort, error) {
	transport := ""
	lower := strings.ToLower(f)
	switch {
	case strings.HasPrefix(lower, "sips:"):
		transport, f = "tls", f[len("sips:"):]
	case strings.HasPrefix(lower, "sip:"):
		f = f[len("sip:"):]
	}
	if i := strings.IndexByte(f, ';'); i >= 0 {
		param := strings.ToLower(f[i+1:])
		f = f[:i]
		t, ok := strings.CutPrefix(param, "transport=")
		if !ok || (t != "udp" && t != "tcp" && t != "tls") {
			return HostPort{}, fmt.Errorf("%q: the only parameter is transport=udp, tcp or tls", param)
		}
		if transport == "tls" && t != "tls" {
			// RFC 5630 3.2: sips: means TLS on every hop.
			return HostPort{}, fmt.Errorf("sips:%s;transport=%s: sips: needs TLS", f, t)
		}
		transport = t
	}
	hp, err := ParseHostPort(f)
	if err != nil {
		return HostPort{}, err
	}
	if transport == "udp" {
		transport = ""
	}
	hp.Transport = transport
	return hp, nil
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
