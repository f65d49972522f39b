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

// hostRE is a hostname or IPv4 literal; IPv6 literals are bracketed.
var hostRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$`)

// DefaultSIPPort is the port of a SIP destination that names none (RFC
// 3261 19.1.2).
const DefaultSIPPort = 5060

// SplitHostList splits a destination list: hosts separated by commas or
// white space.
func SplitHostList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// SplitHostPort splits "host[:port]" and "[v6][:port]"; port is 0 when
// absent.
func SplitHostPort(hp string) (host string, port int, err error) {
	host = hp
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", 0, fmt.Errorf("%q has no closing ']'", hp)
		}
		host = hp[1:end]
		if _, err := netip.ParseAddr(host); err != nil {
			return "", 0, fmt.Errorf("%q is not an IPv6 address", host)
		}
		rest := hp[end+1:]
		if rest == "" {
			return host, 0, nil
		}
		if rest[0] != ':' {
			return "", 0, fmt.Errorf("%q: unexpected text after ']'", hp)
		}
		port, err = parsePort(rest[1:])
		return host, port, err
	}
	if i := strings.LastIndexByte(hp, ':'); i >= 0 {
		host = hp[:i]
		if port, err = parsePort(hp[i+1:]); err != nil {
			return "", 0, err
		}
	}
	if !hostRE.MatchString(host) || len(host) > 253 {
		return "", 0, fmt.Errorf("%q is not a host name or IP address", host)
	}
	return host, port, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q is not between 1 and 65535", s)
	}
	return p, nil
}
