package importer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/astconf"
)

// extensions.conf as pbx_config reads it: contexts of extensions, each
// extension a pattern or a literal with numbered steps (priorities), the
// includes and switches a context consults after its own extensions.
// Only what decides where a dialled number goes is modelled; plans.go
// turns it into rate plans and routes.

// dpContext is one context of extensions.conf.
type dpContext struct {
	name     string
	pos      astconf.Pos
	t        *tracker
	extens   []*dpExten
	includes []opt // include => ctx[,timing]
	switches []opt // switch/eswitch/lswitch => ...
}

// dpExten is one extension of a context: every exten/same line of it.
type dpExten struct {
	ctx   *dpContext
	name  string // as written: "_0044.", "1000", "s"
	pos   astconf.Pos
	lines []opt
	// steps by priority; hints (priority "hint") are not steps.
	steps map[int]dpStep
	// bad says why a line of the extension could not be read.
	bad string
}

// dpStep is one priority of an extension: an application and its
// arguments.
type dpStep struct {
	app  string // lower case
	name string // as written
	args string
	o    opt
}

// parseDialplan reads the contexts of extensions.conf. [general] and
// [globals] are not contexts; template sections are read through the
// contexts that inherit them.
func (m *mapper) parseDialplan(cfg *astconf.Config) (map[string]*dpContext, []*dpContext) {
	byName := map[string]*dpContext{}
	var order []*dpContext
	inherited := inheritedNames(cfg)
	for _, s := range cfg.Sections {
		lower := strings.ToLower(s.Name)
		switch {
		case s.Template:
			if !inherited[lower] {
				m.skipSection(m.track(s, "template ["+s.Name+"]"), "template is not used by any context: no effect in Asterisk, nothing to import")
			}
			continue
		case lower == "general":
			m.skipSection(m.track(s, "[general]"), "not imported: dialplan settings are the renderer's own")
			continue
		case lower == "globals":
			m.skipSection(m.track(s, "[globals]"), "not imported: global variables have no sipswitch object (a dial string naming one is not read)")
			continue
		}
		c := byName[lower]
		if c == nil {
			c = &dpContext{name: s.Name, pos: s.Pos}
			byName[lower] = c
			order = append(order, c)
		}
		t := m.track(s, "["+s.Name+"]")
		c.t = t
		var last *dpExten
		for i, o := range s.Options {
			op := opt{Option: o, t: t, idx: i}
			switch strings.ToLower(o.Name) {
			case "exten":
				name, rest, _ := cutTopLevel(o.Value, ',')
				name = strings.TrimSpace(name)
				last = c.exten(name, o.Pos)
				last.add(op, rest)
			case "same":
				if last == nil {
					t.notes[i] = "same => before any exten =>: pbx_config ignores it"
					continue
				}
				last.add(op, o.Value)
			case "include":
				c.includes = append(c.includes, op)
			case "switch", "eswitch", "lswitch":
				c.switches = append(c.switches, op)
			case "ignorepat":
				op.use()
				m.res.Findings = append(m.res.Findings, Finding{Pos: o.Pos, Object: "[" + s.Name + "]", Option: optionText(o), Message: "not imported: dial tone patterns are the phones' own"})
			default:
				t.notes[i] = "not imported: not a dialplan line pbx_config reads (exten, same, include, switch, ignorepat)"
			}
		}
	}
	return byName, order
}

// exten returns the context's extension called name, adding it.
func (c *dpContext) exten(name string, pos astconf.Pos) *dpExten {
	for _, e := range c.extens {
		if e.name == name {
			return e
		}
	}
	e := &dpExten{ctx: c, name: name, pos: pos, steps: map[int]dpStep{}}
	c.extens = append(c.extens, e)
	return e
}

// add reads "priority,application(arguments)" of one line.
func (e *dpExten) add(o opt, rest string) {
	e.lines = append(e.lines, o)
	prio, app, ok := cutTopLevel(rest, ',')
	if !ok {
		e.bad = fmt.Sprintf("line %d has no application", o.Pos.Line)
		return
	}
	prio = strings.TrimSpace(prio)
	if strings.EqualFold(prio, "hint") {
		return
	}
	if i := strings.IndexByte(prio, '('); i >= 0 {
		prio = prio[:i] // a label
	}
	n, err := e.priority(prio)
	if err != nil {
		e.bad = fmt.Sprintf("line %d: %v", o.Pos.Line, err)
		return
	}
	name, args := splitApp(strings.TrimSpace(app))
	if _, dup := e.steps[n]; dup {
		// pbx_config refuses a priority given twice.
		return
	}
	e.steps[n] = dpStep{app: strings.ToLower(name), name: name, args: args, o: o}
}

// priority reads 1, n, s (the same) and n+k / s+k.
func (e *dpExten) priority(p string) (int, error) {
	last := 0
	for n := range e.steps {
		last = max(last, n)
	}
	base, off := p, 0
	if i := strings.IndexAny(p, "+-"); i > 0 && (p[0] == 'n' || p[0] == 's') {
		k, err := strconv.Atoi(p[i:])
		if err != nil {
			return 0, fmt.Errorf("priority %q", p)
		}
		base, off = p[:i], k
	}
	switch base {
	case "n":
		return last + 1 + off, nil
	case "s":
		return last + off, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("priority %q", p)
	}
	return n, nil
}

// run returns the steps priority 1 starts: 1, 2, 3... up to the first
// missing priority, which ends the call.
func (e *dpExten) run() []dpStep {
	var out []dpStep
	for n := 1; ; n++ {
		s, ok := e.steps[n]
		if !ok {
			return out
		}
		out = append(out, s)
	}
}

// cutTopLevel cuts s at the first sep outside (), {} and [].
func cutTopLevel(s string, sep byte) (before, after string, found bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '{', '[':
			depth++
		case ')', '}', ']':
			if depth > 0 {
				depth--
			}
		case sep:
			if depth == 0 {
				return s[:i], s[i+1:], true
			}
		}
	}
	return s, "", false
}

// splitArgs splits an application's arguments at top-level commas.
func splitArgs(s string) []string {
	var out []string
	for {
		a, rest, ok := cutTopLevel(s, ',')
		out = append(out, strings.TrimSpace(a))
		if !ok {
			return out
		}
		s = rest
	}
}

// splitApp reads "App(args)" or "App".
func splitApp(s string) (name, args string) {
	i := strings.IndexByte(s, '(')
	if i < 0 {
		return s, ""
	}
	name = strings.TrimSpace(s[:i])
	args = s[i+1:]
	if j := strings.LastIndexByte(args, ')'); j >= 0 {
		args = args[:j]
	}
	return name, args
}

// A pattern is read into elements, as pbx.c's ext_cmp_pattern_pos reads
// it: '-' ignored, X Z N and [sets] classes, '.' and '!' ending it.

// patElem is one position of a pattern.
type patElem struct {
	chars string // the characters it matches ("" for . and !)
	// weight orders patterns as Asterisk does: fewer characters is more
	// specific; '.' then '!' then the end of the pattern come last.
	weight int
}

// errNotDial marks a pattern or extension that no dial string (0-9 * #
// +) can match.
var errNotDial = errors.New("matches no dialled number")

const (
	weightDot  = 0x18000
	weightBang = 0x28000
	weightEnd  = 0x30000
)

// parsePattern reads an extension name: a literal ("1000"), or "_..." a
// pattern. Literal and pattern characters other than 0-9 * # + can match
// no number the switch routes.
func parsePattern(name string) ([]patElem, bool, error) {
	if !strings.HasPrefix(name, "_") {
		var out []patElem
		for i := 0; i < len(name); i++ {
			c := name[i]
			if c == '-' {
				continue
			}
			if !isDialChar(c) {
				return nil, false, errNotDial
			}
			out = append(out, patElem{chars: string(c), weight: 0x0100 | int(c)})
		}
		if len(out) == 0 {
			return nil, false, errNotDial
		}
		return out, true, nil
	}
	var out []patElem
	p := name[1:]
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '-':
			continue
		case 'x', 'X':
			out = append(out, patElem{chars: "0123456789", weight: 0x0A00 | '0'})
		case 'z', 'Z':
			out = append(out, patElem{chars: "123456789", weight: 0x0900 | '1'})
		case 'n', 'N':
			out = append(out, patElem{chars: "23456789", weight: 0x0800 | '2'})
		case '.', '!':
			if i != len(p)-1 {
				return nil, false, fmt.Errorf("%q: characters after %c", name, c)
			}
			w := weightDot
			if c == '!' {
				w = weightBang
			}
			out = append(out, patElem{weight: w})
		case '[':
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				return nil, false, fmt.Errorf("%q: [ without ]", name)
			}
			set := expandSet(p[i+1 : i+end])
			i += end
			var chars []byte
			minc := byte(0xff)
			for _, ch := range []byte(set) {
				if isDialChar(ch) {
					chars = append(chars, ch)
				}
				minc = min(minc, ch)
			}
			if len(chars) == 0 {
				return nil, false, errNotDial
			}
			out = append(out, patElem{chars: string(chars), weight: len(set)<<8 | int(minc)})
		default:
			if !isDialChar(c) {
				return nil, false, errNotDial
			}
			out = append(out, patElem{chars: string(c), weight: 0x0100 | int(c)})
		}
	}
	return out, false, nil
}

// expandSet lists the characters of a [set] ("1-3" is 123), each once.
func expandSet(s string) string {
	seen := [256]bool{}
	var out []byte
	for i := 0; i < len(s); i++ {
		lo, hi := s[i], s[i]
		if i+2 < len(s) && s[i+1] == '-' {
			hi = s[i+2]
			i += 2
		}
		for c := int(lo); c <= int(hi); c++ {
			if !seen[c] {
				seen[c] = true
				out = append(out, byte(c))
			}
		}
	}
	return string(out)
}

func isDialChar(c byte) bool {
	return c >= '0' && c <= '9' || c == '*' || c == '#' || c == '+'
}

// moreSpecific compares two patterns as Asterisk orders a context's
// extensions: <0 when a is tried first, >0 when b is, 0 when Asterisk's
// order between them rests on details not modelled (equal weights).
func moreSpecific(a, b []patElem) int {
	for i := 0; ; i++ {
		wa, wb := weightEnd, weightEnd
		if i < len(a) {
			wa = a[i].weight
		}
		if i < len(b) {
			wb = b[i].weight
		}
		switch {
		case wa < wb:
			return -1
		case wa > wb:
			return 1
		case wa == weightEnd:
			return 0
		case a[i].chars != b[i].chars:
			return 0
		}
	}
}

// maxPrefixes bounds the literal prefixes one pattern expands to.
const maxPrefixes = 16

// prefixes expands the classes of a pattern's head into literal
// prefixes: for an open pattern ("_0[12]X.") every position before its
// '.' or '!' (exact: the pattern matches those prefixes followed by
// anything); else, or beyond maxPrefixes, the longest head that stays
// within the bound (a cover: every number the pattern matches starts with
// one of them).
func prefixes(pat []patElem) (out []string, exact bool) {
	out = []string{""}
	for i, e := range pat {
		if e.chars == "" {
			return out, i == len(pat)-1
		}
		if len(out)*len(e.chars) > maxPrefixes {
			return out, false
		}
		next := make([]string, 0, len(out)*len(e.chars))
		for _, p := range out {
			for j := 0; j < len(e.chars); j++ {
				next = append(next, p+e.chars[j:j+1])
			}
		}
		out = next
	}
	return out, false
}
