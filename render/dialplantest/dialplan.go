// Package dialplantest runs calls through a rendered extensions.conf the
// way Asterisk 20 would, for tests that compare the dialplan's decisions
// with the SIP core's and with route simulation. It models what the
// renderer writes, not all of Asterisk: the applications, functions and
// expression operators render/ uses, extension matching and ordering as
// main/pbx.c does it, Gosub frames with LOCAL variables, and Dial's
// pre-dial subroutine on the outgoing channel. Anything else is an error,
// so a renderer change that leaves the modelled subset fails loudly.
package dialplantest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors.
var (
	// ErrUnsupported is returned for dialplan the model does not know.
	ErrUnsupported = errors.New("dialplantest: not modelled")
	// ErrNoExtension: the dialled number matches no extension of the
	// endpoint's context (Asterisk rejects the call: 404 on res_pjsip).
	ErrNoExtension = errors.New("dialplantest: no such extension")
)

// Dialplan is a parsed extensions.conf.
type Dialplan struct {
	contexts map[string]*dpContext
}

type dpContext struct {
	name     string
	exts     []*extension // in pbx.c's list order
	includes []string
}

type extension struct {
	name     string
	matchCID bool
	cid      string
	prios    []step // priority n is prios[n-1]
}

type step struct {
	label string
	app   string
	data  string
	line  int
}

// Parse reads extensions.conf text as written by render/: [context]
// sections of "exten =>", "same =>" and "include =>" lines.
func Parse(text []byte) (*Dialplan, error) {
	d := &Dialplan{contexts: make(map[string]*dpContext)}
	var cur *dpContext
	var ext *extension
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			name := line[1 : len(line)-1]
			if d.contexts[name] != nil {
				return nil, fmt.Errorf("line %d: context %q twice", n, name)
			}
			cur = &dpContext{name: name}
			d.contexts[name] = cur
			ext = nil
			continue
		}
		key, val, ok := strings.Cut(line, "=>")
		if !ok || cur == nil {
			if cur != nil && cur.name == "general" {
				continue
			}
			return nil, fmt.Errorf("line %d: %w: %q", n, ErrUnsupported, line)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "include":
			cur.includes = append(cur.includes, val)
		case "exten":
			parts := strings.SplitN(val, ",", 3)
			if len(parts) != 3 || parts[1] != "1" {
				return nil, fmt.Errorf("line %d: %w: exten %q (want NAME,1,APP)", n, ErrUnsupported, val)
			}
			ext = &extension{name: parts[0]}
			if i := strings.IndexByte(ext.name, '/'); i >= 0 {
				ext.cid = shrinkPhoneNumber(ext.name[i+1:])
				ext.name = ext.name[:i]
				ext.matchCID = true
			}
			s, err := parseStep("", parts[2], n)
			if err != nil {
				return nil, err
			}
			ext.prios = append(ext.prios, s)
			cur.add(ext)
		case "same":
			if ext == nil {
				return nil, fmt.Errorf("line %d: same without exten", n)
			}
			pri, app, ok := strings.Cut(val, ",")
			if !ok || !strings.HasPrefix(pri, "n") {
				return nil, fmt.Errorf("line %d: %w: same %q", n, ErrUnsupported, val)
			}
			label := ""
			if rest := pri[1:]; rest != "" {
				if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
					return nil, fmt.Errorf("line %d: %w: priority %q", n, ErrUnsupported, pri)
				}
				label = rest[1 : len(rest)-1]
			}
			s, err := parseStep(label, app, n)
			if err != nil {
				return nil, err
			}
			ext.prios = append(ext.prios, s)
		default:
			if cur.name == "general" {
				continue
			}
			return nil, fmt.Errorf("line %d: %w: %q", n, ErrUnsupported, key)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return d, nil
}

func parseStep(label, app string, line int) (step, error) {
	open := strings.IndexByte(app, '(')
	if open < 0 || !strings.HasSuffix(app, ")") {
		return step{}, fmt.Errorf("line %d: %w: application %q", line, ErrUnsupported, app)
	}
	return step{label: label, app: app[:open], data: app[open+1 : len(app)-1], line: line}, nil
}

// add inserts e where ast_add_extension2_lockopt would.
func (c *dpContext) add(e *extension) {
	pos := len(c.exts)
	for i, cur := range c.exts {
		res := extCmp(cur.name, e.name)
		if res == 0 {
			switch {
			case !cur.matchCID && !e.matchCID:
				res = 0
			case e.matchCID && !cur.matchCID:
				res = 1
			case cur.matchCID && !e.matchCID:
				res = -1
			default:
				res = extCmp(cur.cid, e.cid)
			}
		}
		if res >= 0 {
			pos = i
			break
		}
	}
	c.exts = append(c.exts, nil)
	copy(c.exts[pos+1:], c.exts[pos:])
	c.exts[pos] = e
}

// find is pbx_find_extension: the context's own extensions in list
// order, then its includes in order.
func (d *Dialplan) find(context, number, callerID string, seen map[string]bool) *extension {
	c := d.contexts[context]
	if c == nil || seen[context] {
		return nil
	}
	seen[context] = true
	for _, e := range c.exts {
		if !extensionMatch(e.name, number) {
			continue
		}
		if e.matchCID && !matchCID(e.cid, callerID) {
			continue
		}
		return e
	}
	for _, inc := range c.includes {
		if e := d.find(inc, number, callerID, seen); e != nil {
			return e
		}
	}
	return nil
}

// Find returns the first application of the extension Asterisk runs for
// number and caller id in context ("" when none matches), e.g.
// "Gosub(route-3,s,1(${EXTEN},voice))".
func (d *Dialplan) Find(context, number, callerID string) string {
	e := d.find(context, number, callerID, map[string]bool{})
	if e == nil {
		return ""
	}
	return e.prios[0].app + "(" + e.prios[0].data + ")"
}

// Contexts returns the names of the parsed contexts.
func (d *Dialplan) Contexts() []string {
	out := make([]string, 0, len(d.contexts))
	for name := range d.contexts {
		out = append(out, name)
	}
	return out
}

// priorityOf resolves a Goto/Gosub priority: a number or a label.
func (e *extension) priorityOf(p string) (int, error) {
	if n, err := strconv.Atoi(p); err == nil {
		if n < 1 || n > len(e.prios) {
			return 0, fmt.Errorf("priority %d of %q does not exist", n, e.name)
		}
		return n, nil
	}
	for i, s := range e.prios {
		if s.label == p {
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("label %q not in extension %q", p, e.name)
}

// Endpoint is what a call from a res_pjsip endpoint starts with: its
// context, callerid and set_var channel variables.
type Endpoint struct {
	Context   string
	CallerNum string // "" when the endpoint sets none (the From user is used)
	Vars      map[string]string
}

// PJSIPEndpoint reads endpoint name's context, callerid and set_var from
// a rendered pjsip.conf.
func PJSIPEndpoint(pjsipConf []byte, name string) (Endpoint, error) {
	var ep Endpoint
	section, isEndpoint, found := "", false, false
	var opts [][2]string
	flush := func() {
		if section == name && isEndpoint {
			found = true
			for _, o := range opts {
				switch o[0] {
				case "context":
					ep.Context = o[1]
				case "callerid":
					v := o[1]
					if i := strings.IndexByte(v, '<'); i >= 0 && strings.HasSuffix(v, ">") {
						v = v[i+1 : len(v)-1]
					}
					ep.CallerNum = v
				case "set_var":
					k, v, _ := strings.Cut(o[1], "=")
					if ep.Vars == nil {
						ep.Vars = map[string]string{}
					}
					ep.Vars[k] = v
				}
			}
		}
		opts, isEndpoint = nil, false
	}
	for _, line := range strings.Split(string(pjsipConf), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			flush()
			section = strings.TrimSuffix(strings.TrimPrefix(line, "["), "]")
			if i := strings.IndexByte(section, ']'); i >= 0 {
				section = section[:i]
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if k == "type" && v == "endpoint" {
			isEndpoint = true
		}
		opts = append(opts, [2]string{k, v})
	}
	flush()
	if !found {
		return ep, fmt.Errorf("pjsip.conf has no endpoint %q", name)
	}
	return ep, nil
}
