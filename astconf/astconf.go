// Package astconf reads Asterisk configuration files (sip.conf, pjsip.conf,
// pjsip_wizard.conf, ...) the way Asterisk's own parser (main/config.c)
// reads them, and keeps for every option the file and line it was written
// on, so that a tool reporting on a configuration can point at the line.
//
// gopkg.in/ini.v1 cannot express the dialect: it has no templates, no
// "[name](+)" additions, no "+=" appends, no #include (let alone #include
// of a glob), and an included file that continues the including file's
// current section is beyond an INI model. The parser here is written from
// the dialect's rules:
//
//   - A line is a section header "[name]" (optionally followed by
//     "(options)"), a directive "#include"/"#tryinclude"/"#exec", or an
//     option "name = value". "name => value" is the same option (flagged
//     Object, as Asterisk flags it); "name += value" appends value's text
//     to the last option of that name in the section (or sets it when
//     there is none). Names and values are stripped of leading and
//     trailing bytes below 33 (space, tabs, CR...).
//   - ";" starts a comment to the end of the line; "\;" is a literal
//     semicolon (the backslash is removed); ";--" ... "--;" is a block
//     comment that may span lines and nest (up to 128 deep); ";---" is a
//     plain comment. A line that starts with "\" escapes its first
//     character (so an option name may start with '[' or '#').
//   - "[name](!)" declares a template; "[name](a,b)" inherits the options
//     of the categories or templates a then b, copied when the header is
//     read and placed before the section's own options; "[name](+)" adds
//     to the first non-template section of that name ("(+type=aor)"
//     filters by an option, as a regular expression). The list items are
//     not trimmed, as Asterisk does not trim them. The name is everything
//     between "[" and the first "]", cut to 79 bytes. Sections of the same
//     name may repeat (pjsip relies on it); names compare
//     case-insensitively.
//   - "#include file" and "#tryinclude file" read another file (a glob
//     pattern reads every match, sorted) at that point: its options before
//     its first header continue the including file's current section, and
//     after the include the including file goes on in the section it was
//     in. A missing #include target is an error, as it makes Asterisk
//     refuse the file; a missing #tryinclude target is skipped. Includes
//     chain at most 10 files deep (Asterisk's MAX_INCLUDE_LEVEL); a cycle is an
//     error naming the chain.
//   - "#exec program" is never run: it is reported as a warning and what it
//     would print is not read.
//   - A value line before any header, a header without "]" or an
//     unterminated "(" list, inheriting from a section that does not
//     exist, "(+)" on a section that does not exist, and an escape of a
//     blank are errors (Asterisk refuses the whole file); a line without
//     "=", an option without a name, an unknown directive, a line longer
//     than 8191 bytes (skipped) and an unterminated block comment are
//     warnings (Asterisk logs and goes on).
//
// INFERRED (decisions where Asterisk's behaviour is a defect or depends on
// the host): include paths are resolved in the configuration directory
// given to Load; an absolute path under /etc/asterisk is taken as the same
// file in that directory (the directory is usually a copy of it); any other
// path that leaves the directory is not read and is reported. A stray
// "--;" outside a block comment makes Asterisk's counter go below zero,
// after which it ignores every later line of the file; the parser does the
// same and says so in a warning. An empty item in a "(...)" list is
// ignored with a warning (Asterisk would inherit from the first section of
// any name). A NUL byte ends its line, as it ends a C string.
package astconf

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Pos is where something was written: a file (relative to the
// configuration directory) and a 1-based line.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Option is one "name = value" of a section, after inheritance and "+="
// appends.
type Option struct {
	Name  string
	Value string
	// Pos is where the option was written; for an inherited option that is
	// in the template.
	Pos Pos
	// Appends are the "+=" lines that added to the value, in order.
	Appends []Pos
	// Object is set for "name => value".
	Object bool
	// Inherited names the template or section the option was copied from;
	// "" for an option written in the section itself.
	Inherited string
}

// Section is one category of a configuration file.
type Section struct {
	Name string
	Pos  Pos
	// Template is set for "[name](!)": Asterisk's modules never see it.
	Template bool
	// Inherits lists the templates and sections named in the header, in
	// order.
	Inherits []string
	// Additions are the "[name](+)" headers that added to this section.
	Additions []Pos
	Options   []Option
}

// Last returns the last option called name (compared case-insensitively):
// the value a module that reads one value takes.
func (s *Section) Last(name string) (Option, bool) {
	for i := len(s.Options) - 1; i >= 0; i-- {
		if strings.EqualFold(s.Options[i].Name, name) {
			return s.Options[i], true
		}
	}
	return Option{}, false
}

// All returns every option called name, in order.
func (s *Section) All(name string) []Option {
	var out []Option
	for _, o := range s.Options {
		if strings.EqualFold(o.Name, name) {
			out = append(out, o)
		}
	}
	return out
}

// Warning is something Asterisk would log and go on from.
type Warning struct {
	Pos     Pos
	Message string
}

func (w Warning) String() string { return w.Pos.String() + ": " + w.Message }

// Config is a configuration file with everything it includes.
type Config struct {
	// Sections are every section in the order Asterisk keeps them,
	// templates included.
	Sections []*Section
	Warnings []Warning
	// Files are the files read, in the order they were first read.
	Files []string
}

// Find returns the non-template sections called name (case-insensitive),
// in order.
func (c *Config) Find(name string) []*Section {
	var out []*Section
	for _, s := range c.Sections {
		if !s.Template && strings.EqualFold(s.Name, name) {
			out = append(out, s)
		}
	}
	return out
}

// Errors of Load and Parse.
var (
	// ErrSyntax marks a file Asterisk would refuse to load.
	ErrSyntax = errors.New("invalid Asterisk configuration")
	// ErrNotFound marks a file (or #include target) that does not exist.
	ErrNotFound = errors.New("configuration file not found")
	// ErrOutside marks an include that names a file outside the
	// configuration directory.
	ErrOutside = errors.New("outside the configuration directory")
)

// Error is a problem that makes Asterisk refuse the file, with where it is.
type Error struct {
	Pos     Pos
	Message string
	Err     error // ErrSyntax, ErrNotFound or an I/O error
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Source is one file an Opener returns.
type Source struct {
	// Name is the file's name as reported in positions.
	Name string
	// Key identifies the file for cycle detection (its clean path).
	Key  string
	Data []byte
}

// Opener returns the files an include names (several for a glob). A name
// that matches nothing is reported with an error wrapping ErrNotFound; one
// that leaves the configuration directory with ErrOutside.
type Opener interface {
	Open(ctx context.Context, name string) ([]Source, error)
}

// Limits of the reader.
const (
	// MaxIncludeDepth is how many files an include chain may hold, the
	// top file counting (Asterisk's MAX_INCLUDE_LEVEL).
	MaxIncludeDepth = 10
	// MaxLine is the longest line Asterisk reads; longer ones are skipped.
	MaxLine = 8191
	// MaxNameLen is the longest section name; longer ones are cut.
	MaxNameLen = 79
	// MaxSectionOptions bounds one section's options: templates copy
	// options, so a chain of sections each inheriting its predecessor
	// twice would otherwise double them at every header.
	MaxSectionOptions = 10000
	// MaxOptions bounds the options of a whole configuration, inherited
	// copies included (a 10,000-line sip.conf of templated phones holds
	// some 300,000): every header that inherits copies its templates'
	// options, so a file can ask for more copies than its size suggests.
	MaxOptions = 2000000
	// maxNestedComments is the deepest block comment nesting counted.
	maxNestedComments = 128
)

// ParseOption adjusts Parse.
type ParseOption func(*parser)

// WithMaxOptions lowers (or raises) MaxOptions.
func WithMaxOptions(n int) ParseOption { return func(p *parser) { p.maxOptions = n } }

// Load reads the file name of the configuration directory dir with its
// includes.
func Load(ctx context.Context, dir, name string, opts ...ParseOption) (*Config, error) {
	return Parse(ctx, name, DirOpener{Dir: dir}, opts...)
}

// Parse reads the file name through open, following its includes.
func Parse(ctx context.Context, name string, open Opener, opts ...ParseOption) (*Config, error) {
	p := &parser{ctx: ctx, open: open, cfg: &Config{}, byName: map[string][]*Section{}, seen: map[string]bool{}, maxOptions: MaxOptions}
	for _, o := range opts {
		o(p)
	}
	srcs, err := open.Open(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	for _, src := range srcs {
		if err := p.file(src, nil); err != nil {
			return nil, err
		}
	}
	return p.cfg, nil
}
