package astconf

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

type parser struct {
	ctx  context.Context
	open Opener
	cfg  *Config
	// current is the section an included file starts in (Asterisk's
	// cfg->current): the last one a header made or named.
	current *Section
	byName  map[string][]*Section // lower-case name -> sections in order
	seen    map[string]bool       // files already listed in cfg.Files
	// options counts every option held, copies included, against
	// maxOptions.
	options, maxOptions int
}

// count takes n more options against the limit.
func (p *parser) count(pos Pos, n int) error {
	p.options += n
	if p.options > p.maxOptions {
		return syntaxErr(pos, "the configuration holds more than %d options (inherited copies included)", p.maxOptions)
	}
	return nil
}

// fileState is the state of one file being read.
type fileState struct {
	src   Source
	chain []string // include chain, outermost first, for cycle messages
	cat   *Section // the section option lines go to
	// depth is the block comment nesting; below zero after a stray "--;",
	// when Asterisk ignores the rest of the file.
	depth     int
	depthFrom []int // lines where the open block comments began
}

func (p *parser) warn(pos Pos, format string, a ...any) {
	p.cfg.Warnings = append(p.cfg.Warnings, Warning{Pos: pos, Message: fmt.Sprintf(format, a...)})
}

func syntaxErr(pos Pos, format string, a ...any) error {
	return &Error{Pos: pos, Message: fmt.Sprintf(format, a...), Err: ErrSyntax}
}

// file reads one file; chain lists the files including it.
func (p *parser) file(src Source, chain []string) error {
	for i, k := range chain {
		if k == src.Key {
			names := append(append([]string(nil), chain[i:]...), src.Key)
			return &Error{Pos: Pos{File: src.Name}, Message: "include cycle: " + strings.Join(names, " -> "), Err: ErrSyntax}
		}
	}
	if len(chain) >= MaxIncludeDepth {
		return &Error{Pos: Pos{File: src.Name}, Message: fmt.Sprintf("includes nest deeper than %d files (Asterisk's limit)", MaxIncludeDepth), Err: ErrSyntax}
	}
	if !p.seen[src.Key] {
		p.seen[src.Key] = true
		p.cfg.Files = append(p.cfg.Files, src.Name)
	}
	f := &fileState{src: src, chain: append(append([]string(nil), chain...), src.Key), cat: p.current}
	data := string(src.Data)
	lineno := 0
	for len(data) > 0 {
		lineno++
		if lineno%1024 == 0 {
			if err := p.ctx.Err(); err != nil {
				return err
			}
		}
		line := data
		if i := strings.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = ""
		}
		pos := Pos{File: src.Name, Line: lineno}
		if lineno == 1 {
			line = strings.TrimPrefix(line, "\xef\xbb\xbf")
		}
		if len(line) >= MaxLine {
			p.warn(pos, "line longer than %d bytes skipped (Asterisk skips it)", MaxLine-1)
			continue
		}
		if i := strings.IndexByte(line, 0); i >= 0 {
			p.warn(pos, "NUL byte: the rest of the line is ignored (Asterisk reads lines as C strings)")
			line = line[:i]
		}
		text, process := f.stripComments(p, pos, line)
		if !process {
			continue
		}
		text = strip(text)
		if text == "" {
			continue
		}
		if err := p.line(f, pos, text); err != nil {
			return err
		}
	}
	if f.depth > 0 {
		p.warn(Pos{File: src.Name, Line: f.depthFrom[len(f.depthFrom)-1]}, "block comment ';--' is never closed: the rest of the file is a comment")
	}
	return nil
}

// stripComments removes comments from one raw line and reports whether
// what is left is read at all (it is not when the line lies inside a
// block comment).
func (f *fileState) stripComments(p *parser, pos Pos, raw string) (string, bool) {
	if f.depth < 0 {
		return "", false
	}
	process := f.depth == 0
	live := process  // outside any comment at the scan point
	var kept []byte  // the text read
	seg := 0         // start of the live run not yet in kept
	scan := 0        // where the search for the next ';' starts
	b := []byte(raw) // escapes edit the line in place
	for {
		i := indexByteFrom(b, ';', scan)
		if i < 0 {
			break
		}
		switch {
		case i > scan && b[i-1] == '\\':
			// "\;" is a semicolon: drop the backslash, keep reading
			// after the semicolon.
			b = append(b[:i-1], b[i:]...)
			scan = i
		case i+2 < len(b) && b[i+1] == '-' && b[i+2] == '-' && (i+3 >= len(b) || b[i+3] != '-'):
			if f.depth >= maxNestedComments {
				p.warn(pos, "block comments nest deeper than %d; this ';--' is not counted", maxNestedComments)
				scan = i + 3
				continue
			}
			if live {
				kept = append(kept, b[seg:i]...)
				live = false
			}
			f.depth++
			f.depthFrom = append(f.depthFrom, pos.Line)
			scan = i + 3
		case i >= scan+2 && b[i-1] == '-' && b[i-2] == '-':
			f.depth--
			if len(f.depthFrom) > 0 {
				f.depthFrom = f.depthFrom[:len(f.depthFrom)-1]
			}
			scan = i + 1
			if f.depth < 0 {
				p.warn(pos, "'--;' closes no block comment: Asterisk's comment counter goes below zero and every later line of %s is ignored", pos.File)
				// Asterisk reads this line whole, comment text included.
				return string(b), process
			}
			if f.depth == 0 {
				if !process {
					process = true
					kept = kept[:0]
				}
				live = true
				seg = i + 1
			}
		default:
			if f.depth == 0 {
				if live {
					kept = append(kept, b[seg:i]...)
					live = false
				}
				return string(kept), process
			}
			scan = i + 1
		}
	}
	if live {
		kept = append(kept, b[seg:]...)
	}
	return string(kept), process
}

func indexByteFrom(b []byte, c byte, from int) int {
	if from >= len(b) {
		return -1
	}
	i := strings.IndexByte(string(b[from:]), c)
	if i < 0 {
		return -1
	}
	return from + i
}

// isBlank is Asterisk's notion of white space: any byte below 33.
func isBlank(c byte) bool { return c < 33 }

func strip(s string) string {
	i, j := 0, len(s)
	for i < j && isBlank(s[i]) {
		i++
	}
	for j > i && isBlank(s[j-1]) {
		j--
	}
	return s[i:j]
}

func (p *parser) line(f *fileState, pos Pos, text string) error {
	switch text[0] {
	case '[':
		return p.header(f, pos, text)
	case '#':
		return p.directive(f, pos, text)
	default:
		return p.option(f, pos, text)
	}
}

func (p *parser) header(f *fileState, pos Pos, text string) error {
	end := strings.IndexByte(text, ']')
	if end < 0 {
		return syntaxErr(pos, "section header has no closing ']'")
	}
	name := text[1:end]
	if len(name) > MaxNameLen {
		p.warn(pos, "section name longer than %d bytes is cut to %q", MaxNameLen, name[:MaxNameLen])
		name = name[:MaxNameLen]
	}
	newcat := &Section{Name: name, Pos: pos}
	cat := newcat
	rest := text[end+1:]
	if strings.HasPrefix(rest, "(") {
		closeAt := strings.IndexByte(rest, ')')
		if closeAt < 0 {
			return syntaxErr(pos, "section [%s]: option list has no closing ')'", name)
		}
		for _, item := range strings.Split(rest[1:closeAt], ",") {
			switch {
			case item == "!":
				cat.Template = true
			case item == "":
				p.warn(pos, "section [%s]: empty item in the option list ignored", name)
			case item[0] == '+':
				target, err := p.find(name, item[1:])
				if err != nil {
					return syntaxErr(pos, "section [%s](%s): %v", name, item, err)
				}
				if target == nil {
					return syntaxErr(pos, "section [%s](+): there is no section %q to add to", name, name)
				}
				if newcat != nil {
					if len(target.Options)+len(newcat.Options) > MaxSectionOptions {
						return syntaxErr(pos, "section [%s] would hold more than %d options", name, MaxSectionOptions)
					}
					target.Template = target.Template || newcat.Template
					target.Options = append(target.Options, newcat.Options...)
					target.Inherits = append(target.Inherits, newcat.Inherits...)
					newcat = nil
				}
				target.Additions = append(target.Additions, pos)
				cat = target
				p.current = target
			default:
				base, err := p.find(item, "TEMPLATES=include")
				if err != nil {
					return syntaxErr(pos, "section [%s](%s): %v", name, item, err)
				}
				if base == nil {
					msg := fmt.Sprintf("section [%s] inherits from %q, which is not defined above it", name, item)
					if strings.TrimSpace(item) != item {
						msg += " (Asterisk does not trim spaces in the list)"
					}
					return syntaxErr(pos, "%s", msg)
				}
				if len(cat.Options)+len(base.Options) > MaxSectionOptions {
					return syntaxErr(pos, "section [%s] would hold more than %d options through its templates", name, MaxSectionOptions)
				}
				if err := p.count(pos, len(base.Options)); err != nil {
					return err
				}
				for _, o := range base.Options {
					if o.Inherited == "" {
						o.Inherited = base.Name
					}
					o.Appends = append([]Pos(nil), o.Appends...)
					cat.Options = append(cat.Options, o)
				}
				cat.Inherits = append(cat.Inherits, item)
			}
		}
	}
	if newcat != nil {
		p.cfg.Sections = append(p.cfg.Sections, newcat)
		key := strings.ToLower(newcat.Name)
		p.byName[key] = append(p.byName[key], newcat)
		p.current = newcat
	}
	f.cat = cat
	return nil
}

// find returns the first section called name that passes filter, in
// Asterisk's terms: "" takes non-templates only; "TEMPLATES=include" takes
// templates too, "TEMPLATES=restrict" only templates; any other
// "option=value" item (items joined by '&') must match one of the
// section's options by regular expression.
func (p *parser) find(name, filter string) (*Section, error) {
	type expr struct{ name, value *regexp.Regexp }
	var exprs []expr
	templates := "exclude"
	broken := false
	if filter != "" {
		for _, item := range strings.Split(filter, "&") {
			k, v, ok := strings.Cut(item, "=")
			if !ok {
				broken = true // Asterisk: an item without '=' matches nothing
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if k == "TEMPLATES" {
				switch strings.ToLower(v) {
				case "include", "restrict":
					templates = strings.ToLower(v)
				}
				continue
			}
			kr, err := regexp.Compile(k)
			if err != nil {
				return nil, fmt.Errorf("filter %q: %w", k, err)
			}
			vr, err := regexp.Compile(v)
			if err != nil {
				return nil, fmt.Errorf("filter %q: %w", v, err)
			}
			exprs = append(exprs, expr{kr, vr})
		}
	}
	if broken {
		return nil, nil
	}
	for _, s := range p.byName[strings.ToLower(name)] {
		switch {
		case templates == "exclude" && s.Template:
			continue
		case templates == "restrict" && !s.Template:
			continue
		}
		all := true
		for _, e := range exprs {
			found := false
			for _, o := range s.Options {
				if e.name.MatchString(o.Name) && e.value.MatchString(o.Value) {
					found = true
					break
				}
			}
			if !found {
				all = false
				break
			}
		}
		if all {
			return s, nil
		}
	}
	return nil, nil
}

func (p *parser) directive(f *fileState, pos Pos, text string) error {
	body := text[1:]
	n := 0
	for n < len(body) && body[n] > 32 {
		n++
	}
	name, arg := body[:n], strip(body[n:])
	var try bool
	switch strings.ToLower(name) {
	case "include":
	case "tryinclude":
		try = true
	case "exec":
		if arg == "" {
			p.warn(pos, "#exec needs a program")
		} else {
			p.warn(pos, "#exec %s not run: the importer does not execute programs, so what it would print is not read", arg)
		}
		return nil
	default:
		p.warn(pos, "unknown directive '#%s' ignored", name)
		return nil
	}
	if arg == "" {
		p.warn(pos, "#%s needs a file name", name)
		return nil
	}
	if len(arg) > 1 && (arg[0] == '"' && arg[len(arg)-1] == '"' || arg[0] == '<' && arg[len(arg)-1] == '>') {
		arg = arg[1 : len(arg)-1]
	}
	srcs, err := p.open.Open(p.ctx, arg)
	switch {
	case err == nil:
	case errors.Is(err, ErrOutside):
		p.warn(pos, "#%s %s not read: %v; copy the file into the directory and include it by a relative name", name, arg, err)
		return nil
	case errors.Is(err, ErrNotFound) && try:
		p.warn(pos, "#tryinclude %s: no such file (skipped, as Asterisk does)", arg)
		return nil
	case errors.Is(err, ErrNotFound):
		return &Error{Pos: pos, Message: fmt.Sprintf("#include %s: no such file (Asterisk refuses to load %s)", arg, pos.File), Err: ErrNotFound}
	default:
		return &Error{Pos: pos, Message: fmt.Sprintf("#%s %s: %v", name, arg, err), Err: err}
	}
	for _, src := range srcs {
		if err := p.file(src, f.chain); err != nil {
			return err
		}
	}
	// The including file goes on in its own section, whatever the
	// included one ended in.
	return nil
}

func (p *parser) option(f *fileState, pos Pos, text string) error {
	if f.cat == nil {
		return syntaxErr(pos, "option line before any [section] header")
	}
	escaped := text[0] == '\\'
	if escaped {
		text = text[1:]
		if text == "" || isBlank(text[0]) {
			return syntaxErr(pos, "'\\' escapes a blank")
		}
	}
	from := 0
	if escaped {
		from = 1
	}
	eq := strings.IndexByte(text[from:], '=')
	if eq < 0 {
		p.warn(pos, "no '=' in the line %q: ignored", clip(text))
		return nil
	}
	eq += from
	if eq > from && text[eq-1] == '+' {
		name := strip(text[:eq-1])
		add := text[eq+1:]
		for i := len(f.cat.Options) - 1; i >= 0; i-- {
			o := &f.cat.Options[i]
			if o.Name == name {
				o.Value = strings.TrimLeftFunc(strings.TrimRightFunc(o.Value+add, blankRune), blankRune)
				o.Appends = append(o.Appends, pos)
				return nil
			}
		}
		return p.set(f, pos, name, strip(add), false)
	}
	name := strip(text[:eq])
	value := text[eq+1:]
	object := false
	if strings.HasPrefix(value, ">") {
		object = true
		value = value[1:]
	}
	return p.set(f, pos, name, strip(value), object)
}

func blankRune(r rune) bool { return r < 33 }

func (p *parser) set(f *fileState, pos Pos, name, value string, object bool) error {
	if name == "" {
		p.warn(pos, "option without a name ignored")
		return nil
	}
	if len(f.cat.Options) >= MaxSectionOptions {
		return syntaxErr(pos, "section [%s] holds more than %d options", f.cat.Name, MaxSectionOptions)
	}
	if err := p.count(pos, 1); err != nil {
		return err
	}
	f.cat.Options = append(f.cat.Options, Option{Name: name, Value: value, Pos: pos, Object: object})
	return nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
