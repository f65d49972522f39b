package dialplantest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// subst is pbx_substitute_variables_helper: ${...} and $[...], innermost
// first.
func (ch *channel) subst(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' || i+1 >= len(s) || (s[i+1] != '{' && s[i+1] != '[') {
			b.WriteByte(s[i])
			i++
			continue
		}
		open, close := s[i+1], byte('}')
		if open == '[' {
			close = ']'
		}
		depth, j := 1, i+2
		for ; j < len(s) && depth > 0; j++ {
			switch s[j] {
			case open:
				depth++
			case close:
				depth--
			}
		}
		if depth != 0 {
			return "", fmt.Errorf("unbalanced %q in %q", string(open), s)
		}
		inner, err := ch.subst(s[i+2 : j-1])
		if err != nil {
			return "", err
		}
		var v string
		if open == '[' {
			v, err = evalExpr(inner)
		} else {
			v, err = ch.variable(inner)
		}
		if err != nil {
			return "", err
		}
		b.WriteString(v)
		i = j
	}
	return b.String(), nil
}

// variable resolves NAME, NAME:offset[:length] or FUNC(args)[:offset[:length]].
func (ch *channel) variable(expr string) (string, error) {
	name, slice := expr, ""
	if open := strings.IndexByte(expr, '('); open >= 0 {
		end := strings.LastIndexByte(expr, ')')
		if end < open {
			return "", fmt.Errorf("function %q", expr)
		}
		name, slice = expr[:end+1], expr[end+1:]
	} else if i := strings.IndexByte(expr, ':'); i >= 0 {
		name, slice = expr[:i], expr[i:]
	}
	v, err := ch.value(name)
	if err != nil {
		return "", err
	}
	if slice == "" {
		return v, nil
	}
	if slice[0] != ':' {
		return "", fmt.Errorf("%w: %q", ErrUnsupported, expr)
	}
	return substring(v, slice[1:])
}

// substring is ${var:offset:length} with Asterisk's negative forms.
func substring(v, spec string) (string, error) {
	offS, lenS, hasLen := strings.Cut(spec, ":")
	off, err := strconv.Atoi(offS)
	if err != nil {
		return "", fmt.Errorf("offset %q", offS)
	}
	if off < 0 {
		off = max(len(v)+off, 0)
	}
	if off > len(v) {
		return "", nil
	}
	v = v[off:]
	if !hasLen {
		return v, nil
	}
	n, err := strconv.Atoi(lenS)
	if err != nil {
		return "", fmt.Errorf("length %q", lenS)
	}
	if n < 0 {
		n = max(len(v)+n, 0)
	}
	return v[:min(n, len(v))], nil
}

func (ch *channel) value(name string) (string, error) {
	if open := strings.IndexByte(name, '('); open >= 0 {
		return ch.function(name[:open], name[open+1:len(name)-1])
	}
	switch name {
	case "EXTEN":
		return ch.ext, nil
	case "CONTEXT":
		return ch.ctx, nil
	case "EPOCH":
		return strconv.FormatInt(ch.call.Now.Unix(), 10), nil
	case "SIPCALLID":
		return ch.call.CallID, nil
	}
	return ch.vars[name], nil
}

func (ch *channel) function(name, args string) (string, error) {
	switch name {
	case "CONNECTEDLINE":
		// Modelled on an outgoing channel (a pre-dial subroutine): the
		// identity it sends, copied by Dial from the caller's caller id.
		if !ch.outgoing {
			return "", fmt.Errorf("%w: CONNECTEDLINE(%s) on the caller's channel", ErrUnsupported, args)
		}
		switch args {
		case "num":
			return ch.callerNum, nil
		case "num-pres", "pres":
			if ch.withheld {
				return "prohib_not_screened", nil
			}
			return "allowed_not_screened", nil
		}
	case "CALLERID":
		if ch.outgoing {
			// The outgoing channel's caller id is the called party's,
			// not what the peer is sent.
			return "", fmt.Errorf("%w: CALLERID(%s) on an outgoing channel does not read what the peer is sent", ErrUnsupported, args)
		}
		switch args {
		case "num":
			return ch.callerNum, nil
		case "num-pres", "pres":
			if ch.withheld {
				return "prohib_not_screened", nil
			}
			return "allowed_not_screened", nil
		}
	case "PJSIP_DIAL_CONTACTS":
		// The endpoint's contacts as a dial string; none: "".
		if ch.unregistered(args) {
			return "", nil
		}
		return "PJSIP/" + args + "/sip:" + args + "@192.0.2.1:5060", nil
	case "DEVICE_STATE":
		tech, name, _ := strings.Cut(args, "/")
		if tech != "SIP" && tech != "PJSIP" {
			return "", fmt.Errorf("%w: DEVICE_STATE(%s)", ErrUnsupported, args)
		}
		if ch.unregistered(name) {
			return "UNAVAILABLE", nil
		}
		return "NOT_INUSE", nil
	case "LEN":
		return strconv.Itoa(len(args)), nil
	case "CHANNEL":
		if args != "pjsip,call-id" || ch.outgoing {
			return "", fmt.Errorf("%w: CHANNEL(%s)", ErrUnsupported, args)
		}
		return ch.call.CallID, nil
	case "PJSIP_HEADER", "SIP_HEADER":
		// The first header of that name of the request that made the
		// caller's channel; none: "".
		hdr := args
		if name == "PJSIP_HEADER" {
			action, rest, _ := strings.Cut(args, ",")
			if action != "read" || strings.Contains(rest, ",") {
				return "", fmt.Errorf("%w: PJSIP_HEADER(%s)", ErrUnsupported, args)
			}
			hdr = rest
		}
		if ch.outgoing {
			return "", fmt.Errorf("%w: %s(%s) on an outgoing channel", ErrUnsupported, name, args)
		}
		for k, v := range ch.call.Headers {
			if strings.EqualFold(k, hdr) {
				return v, nil
			}
		}
		return "", nil
	case "TOLOWER":
		// ASCII only, as C's tolower in Asterisk's C locale.
		b := []byte(args)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b), nil
	case "STRREPLACE":
		// STRREPLACE(varname,find[,replace[,max]]): the variable is read
		// by name, so its value is never parsed as arguments.
		p := strings.Split(args, ",")
		if len(p) < 2 || len(p) > 3 || p[0] == "" || p[1] == "" {
			return "", fmt.Errorf("%w: STRREPLACE(%s)", ErrUnsupported, args)
		}
		repl := ""
		if len(p) == 3 {
			repl = p[2]
		}
		v, err := ch.value(p[0])
		if err != nil {
			return "", err
		}
		return strings.ReplaceAll(v, p[1], repl), nil
	case "FILTER":
		allowed, str, ok := splitFirstArg(args)
		if !ok {
			return "", fmt.Errorf("FILTER(%s)", args)
		}
		return filter(allowed, str), nil
	case "RAND":
		lo, hi, _ := strings.Cut(args, ",")
		a, err1 := strconv.Atoi(lo)
		z, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a > z {
			return "", fmt.Errorf("RAND(%s)", args)
		}
		if ch.call.Rand != nil {
			return strconv.Itoa(ch.call.Rand(a, z)), nil
		}
		return strconv.Itoa(z), nil // the highest draw: no percentage below 100 hits
	case "IF":
		cond, branches, _ := strings.Cut(args, "?")
		t, f, _ := strings.Cut(branches, ":")
		if truth(cond) {
			return t, nil
		}
		return f, nil
	case "GROUP_COUNT":
		return strconv.Itoa(ch.call.Groups[args]), nil
	case "LOCAL":
		return ch.vars[args], nil
	case "DIALPLAN_EXISTS":
		p := strings.Split(args, ",")
		if len(p) != 3 {
			return "", fmt.Errorf("DIALPLAN_EXISTS(%s)", args)
		}
		e := ch.dp.find(p[0], p[1], ch.callerNum, map[string]bool{})
		if e == nil {
			return "0", nil
		}
		if _, err := e.priorityOf(p[2]); err != nil {
			return "0", nil
		}
		return "1", nil
	case "IFTIME":
		spec, branches, _ := strings.Cut(args, "?")
		t, f, _ := strings.Cut(branches, ":")
		ok, err := ch.ifTime(spec)
		if err != nil {
			return "", err
		}
		if ok {
			return t, nil
		}
		return f, nil
	case "STRFTIME":
		p := strings.Split(args, ",")
		if len(p) != 3 || p[2] != "%Y%m%d" {
			return "", fmt.Errorf("%w: STRFTIME(%s)", ErrUnsupported, args)
		}
		sec, err := strconv.ParseInt(p[0], 10, 64)
		if err != nil {
			return "", fmt.Errorf("STRFTIME epoch %q", p[0])
		}
		loc, err := time.LoadLocation(p[1])
		if err != nil {
			return "", err
		}
		return time.Unix(sec, 0).In(loc).Format("20060102"), nil
	}
	return "", fmt.Errorf("%w: function %s(%s)", ErrUnsupported, name, args)
}

func (ch *channel) unregistered(line string) bool {
	return ch.call.Unregistered != nil && ch.call.Unregistered(line)
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// ifTime is ast_build_timing + ast_check_timing for "times,days,mdays,
// months[,zone]": a times range includes its end minute and may wrap past
// midnight; days are names joined by & or a range a-b.
func (ch *channel) ifTime(spec string) (bool, error) {
	p := strings.Split(spec, ",")
	if len(p) < 4 || len(p) > 5 || p[2] != "*" || p[3] != "*" {
		return false, fmt.Errorf("%w: time spec %q", ErrUnsupported, spec)
	}
	now := ch.call.Now
	if len(p) == 5 && p[4] != "" {
		loc, err := time.LoadLocation(p[4])
		if err != nil {
			return false, err
		}
		now = now.In(loc)
	} else {
		return false, fmt.Errorf("time spec %q without a zone would use the host's", spec)
	}
	if p[0] != "*" {
		from, to, ok := strings.Cut(p[0], "-")
		if !ok {
			return false, fmt.Errorf("times %q", p[0])
		}
		a, err1 := clockMinute(from)
		z, err2 := clockMinute(to)
		if err1 != nil || err2 != nil {
			return false, fmt.Errorf("times %q", p[0])
		}
		m := now.Hour()*60 + now.Minute()
		in := a <= m && m <= z
		if a > z {
			in = m >= a || m <= z
		}
		if !in {
			return false, nil
		}
	}
	if p[1] != "*" {
		wd := now.Weekday()
		match := false
		for _, part := range strings.Split(p[1], "&") {
			from, to, isRange := strings.Cut(part, "-")
			a, ok1 := weekdays[from]
			if !ok1 {
				return false, fmt.Errorf("weekday %q", from)
			}
			if !isRange {
				match = match || wd == a
				continue
			}
			z, ok2 := weekdays[to]
			if !ok2 {
				return false, fmt.Errorf("weekday %q", to)
			}
			for d := a; ; d = (d + 1) % 7 {
				if d == wd {
					match = true
				}
				if d == z {
					break
				}
			}
		}
		if !match {
			return false, nil
		}
	}
	return true, nil
}

func clockMinute(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok {
		return 0, fmt.Errorf("clock %q", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("clock %q", s)
	}
	return hh*60 + mm, nil
}

// splitFirstArg splits a function's arguments at the first ',' outside
// parentheses, as ast_app_separate_args does for a function of two
// arguments: the second is the rest, commas and all.
func splitFirstArg(args string) (first, rest string, ok bool) {
	depth := 0
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				return args[:i], args[i+1:], true
			}
		}
	}
	return "", "", false
}

// filter is FILTER(allowed,string): allowed lists characters and ranges
// a-b (func_strings.c; a '-' with nothing after it is itself).
func filter(allowed, s string) string {
	var set [256]bool
	for i := 0; i < len(allowed); i++ {
		c1 := allowed[i]
		if i+1 < len(allowed) && allowed[i+1] == '-' {
			c2 := c1
			if i+2 < len(allowed) {
				c2 = allowed[i+2]
			}
			for c := int(c1); c <= int(c2); c++ {
				set[c] = true
			}
			i += 2
			continue
		}
		set[c1] = true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if set[s[i]] {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
