package importer

import (
	"fmt"
	"strconv"
	"strings"
)

// yes is Asterisk's ast_true: yes, true, y, t, 1 and on.
func yes(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "true", "y", "t", "1", "on":
		return true
	}
	return false
}

// no is Asterisk's ast_false.
func no(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "no", "false", "n", "f", "0", "off":
		return true
	}
	return false
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// codecStep is one allow= or disallow= item.
type codecStep struct {
	allow bool
	name  string // lower case; "all" for every codec
	ms    int    // packetization from "codec:ms", 0 when absent
	o     opt
}

// codecSteps splits allow/disallow options (items separated by ',' or
// '|', "!codec" inverting) in order.
func codecSteps(opts []opt) []codecStep {
	var out []codecStep
	for _, o := range opts {
		allow := strings.EqualFold(o.Name, "allow")
		for _, item := range strings.FieldsFunc(o.Value, func(r rune) bool { return r == ',' || r == '|' }) {
			item = strings.ToLower(strings.TrimSpace(item))
			if item == "" {
				continue
			}
			a := allow
			if strings.HasPrefix(item, "!") {
				a = !a
				item = item[1:]
			}
			ms := 0
			if name, p, ok := strings.Cut(item, ":"); ok {
				item = name
				ms, _ = strconv.Atoi(p)
			}
			out = append(out, codecStep{allow: a, name: item, ms: ms, o: o})
		}
	}
	return out
}

// codecResult is the effective codec list of allow/disallow steps, in
// preference order. all is set when the list is "every codec" (allow=all,
// or no restriction at all); names are then the codecs preferred before
// the rest.
type codecResult struct {
	all   bool
	names []string
	ms    map[string]int
}

// effectiveCodecs applies allow/disallow steps the way Asterisk's
// format_cap does: disallow=all empties the list, allow=all fills it,
// allow=x appends x (moving nothing that is already there), disallow=x
// removes x. all says whether the list starts full (chan_sip's global
// codecs, taken as every codec) or empty (a res_pjsip endpoint).
func effectiveCodecs(steps []codecStep, all bool) codecResult {
	r := codecResult{all: all, ms: map[string]int{}}
	for _, s := range steps {
		switch {
		case s.name == "all" && s.allow:
			// Every codec, after those already named: allow=g722 then
			// allow=all prefers g722 (a line's codec, as sipswitch
			// renders it).
			r.all = true
		case s.name == "all":
			r.all, r.names = false, nil
		case s.allow:
			if !contains(r.names, s.name) {
				r.names = append(r.names, s.name)
			}
			if s.ms > 0 {
				r.ms[s.name] = s.ms
			}
		default:
			if r.all {
				// Removing one codec from "all" leaves a list the
				// switch cannot name without knowing every codec;
				// keep "all" (the caller warns).
				continue
			}
			r.names = remove(r.names, s.name)
		}
	}
	return r
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func remove(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// callerID splits "Name" <number>, Name <number>, <number> or a bare
// number or name.
func callerID(s string) (name, number string) {
	s = strings.TrimSpace(s)
	if lt := strings.LastIndexByte(s, '<'); lt >= 0 && strings.HasSuffix(s, ">") {
		number = strings.TrimSpace(s[lt+1 : len(s)-1])
		name = strings.TrimSpace(s[:lt])
	} else if isNumber(s) {
		return "", s
	} else {
		name = s
	}
	if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
		name = name[1 : len(name)-1]
	}
	return strings.TrimSpace(name), number
}

func isNumber(s string) bool {
	if s == "" || s == "+" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && !(i == 0 && s[i] == '+') {
			return false
		}
	}
	return true
}

// sipURI reads sip:[user@]host[:port][;params] (or sips:), returning the
// user and host[:port] parts.
func sipURI(s string) (user, hostport string, err error) {
	rest := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(strings.ToLower(rest), "sip:"):
		rest = rest[4:]
	case strings.HasPrefix(strings.ToLower(rest), "sips:"):
		return "", "", fmt.Errorf("%q is a sips: URI (TLS), which peers do not use", s)
	default:
		return "", "", fmt.Errorf("%q is not a sip: URI", s)
	}
	if i := strings.IndexAny(rest, ";?>"); i >= 0 {
		rest = rest[:i]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		user, rest = rest[:at], rest[at+1:]
	}
	if rest == "" {
		return "", "", fmt.Errorf("%q names no host", s)
	}
	return user, rest, nil
}

// uriParams returns the ;params of a SIP URI, lower case.
func uriParams(s string) []string {
	s = strings.TrimSuffix(strings.TrimSpace(s), ">")
	i := strings.IndexByte(s, ';')
	if i < 0 {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s[i+1:], ";") {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// hostOnly returns the host of host[:port] ([v6]:port too).
func hostOnly(hp string) string {
	if strings.HasPrefix(hp, "[") {
		if i := strings.IndexByte(hp, ']'); i > 0 {
			return hp[1:i]
		}
	}
	if i := strings.LastIndexByte(hp, ':'); i >= 0 && strings.Count(hp, ":") == 1 {
		return hp[:i]
	}
	return hp
}

// stripScheme removes a transport prefix (udp://, sip:) from a proxy.
func stripScheme(s string) string {
	s = strings.TrimSpace(s)
	for _, p := range []string{"udp://", "tcp://", "tls://", "sip:"} {
		if strings.HasPrefix(strings.ToLower(s), p) {
			s = s[len(p):]
		}
	}
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	return s
}
