package astconf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func parse(t *testing.T, files MapOpener) *Config {
	t.Helper()
	cfg, err := Parse(context.Background(), "main.conf", files)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return cfg
}

func parseErr(t *testing.T, files MapOpener) *Error {
	t.Helper()
	_, err := Parse(context.Background(), "main.conf", files)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error, got %v", err)
	}
	return e
}

// opts renders a section's options as "name=value@line" for compact
// comparisons.
func opts(s *Section) string {
	var parts []string
	for _, o := range s.Options {
		parts = append(parts, o.Name+"="+o.Value+"@"+o.Pos.String())
	}
	return strings.Join(parts, " ")
}

func section(t *testing.T, cfg *Config, name string, n int) *Section {
	t.Helper()
	secs := cfg.Find(name)
	if len(secs) <= n {
		t.Fatalf("section [%s] #%d not found; have %d", name, n, len(secs))
	}
	return secs[n]
}

func TestTemplatesInheritInOrderBeforeOwnOptions(t *testing.T) {
	cfg := parse(t, MapOpener{"main.conf": `
[base](!)
type=friend
allow=ulaw
[nat](!)
nat=force_rport,comedia
allow=alaw
[2001](base,nat)
secret=abc123
allow=g722
`})
	s := section(t, cfg, "2001", 0)
	want := "type=friend@main.conf:3 allow=ulaw@main.conf:4 nat=force_rport,comedia@main.conf:6 allow=alaw@main.conf:7 secret=abc123@main.conf:9 allow=g722@main.conf:10"
	if got := opts(s); got != want {
		t.Errorf("options\n got %s\nwant %s", got, want)
	}
	if s.Options[0].Inherited != "base" || s.Options[2].Inherited != "nat" || s.Options[4].Inherited != "" {
		t.Errorf("Inherited = %q %q %q", s.Options[0].Inherited, s.Options[2].Inherited, s.Options[4].Inherited)
	}
	if got := s.All("allow"); len(got) != 3 || got[2].Value != "g722" {
		t.Errorf("All(allow) = %v", got)
	}
	if o, _ := s.Last("ALLOW"); o.Value != "g722" {
		t.Errorf("Last is case-insensitive and takes the last: %v", o)
	}
	if len(cfg.Find("base")) != 0 {
		t.Error("Find must skip templates")
	}
	if !cfg.Sections[0].Template || cfg.Sections[2].Template {
		t.Error("template flags")
	}
}

func TestInheritanceCopiesAtTheHeader(t *testing.T) {
	// A template's later additions do not reach sections that inherited
	// before them; a section (not only a template) may be inherited from,
	// case-insensitively.
	cfg := parse(t, MapOpener{"main.conf": `
[Base]
a=1
[x](base)
[base](+)
b=2
[y](BASE)
`})
	if got := opts(section(t, cfg, "x", 0)); got != "a=1@main.conf:3" {
		t.Errorf("x: %s", got)
	}
	if got := opts(section(t, cfg, "y", 0)); got != "a=1@main.conf:3 b=2@main.conf:6" {
		t.Errorf("y: %s", got)
	}
	base := section(t, cfg, "base", 0)
	if len(base.Additions) != 1 || base.Additions[0].Line != 5 {
		t.Errorf("additions %v", base.Additions)
	}
}

func TestAdditionFilterAndDuplicateSections(t *testing.T) {
	cfg := parse(t, MapOpener{"main.conf": `
[trunk]
type=endpoint
[trunk]
type=aor
[trunk](+type=aor)
contact=sip:192.0.2.1
[trunk](+)
context=from-trunk
`})
	secs := cfg.Find("trunk")
	if len(secs) != 2 {
		t.Fatalf("want 2 sections, got %d", len(secs))
	}
	if got := opts(secs[0]); got != "type=endpoint@main.conf:3 context=from-trunk@main.conf:9" {
		t.Errorf("endpoint: %s", got)
	}
	if got := opts(secs[1]); got != "type=aor@main.conf:5 contact=sip:192.0.2.1@main.conf:7" {
		t.Errorf("aor: %s", got)
	}
}

func TestAppendsObjectsAndEscapes(t *testing.T) {
	cfg := parse(t, MapOpener{"main.conf": "[g]\n" +
		"allow = ulaw\n" +
		"allow += ,alaw   \n" + // appended as written after '=': "ulaw ,alaw"
		"callerid += \"Front\"\n" +
		"register => user:pw@host/100\n" +
		"secret = a\\;b ; the comment\n" +
		"\\[odd=1\n" +
		"path=a;b\n" +
		"  spaced   =   value with  spaces   \n"})
	s := section(t, cfg, "g", 0)
	want := `allow=ulaw ,alaw@main.conf:2 callerid="Front"@main.conf:4 register=user:pw@host/100@main.conf:5 secret=a;b@main.conf:6 [odd=1@main.conf:7 path=a@main.conf:8 spaced=value with  spaces@main.conf:9`
	if got := opts(s); got != want {
		t.Errorf("options\n got %s\nwant %s", got, want)
	}
	if a := s.Options[0].Appends; len(a) != 1 || a[0].Line != 3 {
		t.Errorf("appends %v", a)
	}
	if !s.Options[2].Object || s.Options[1].Object {
		t.Error("=> must set Object, = must not")
	}
}

func TestBlockComments(t *testing.T) {
	cfg := parse(t, MapOpener{"main.conf": `[s]
a=1 ;-- start
b=2
;-- nested --;
c=3 --; d=4
e=5 ;-- inline --; f=6
;--- not a block
g=7
`})
	// d=4 follows the block's end on line 5, so it is read; "c=3 " lay
	// inside the block. The inline block on line 6 is cut out.
	want := "a=1@main.conf:2 d=4@main.conf:5 e=5  f=6@main.conf:6 g=7@main.conf:8"
	if got := opts(section(t, cfg, "s", 0)); got != want {
		t.Errorf("options\n got %s\nwant %s", got, want)
	}
}

func TestUnterminatedAndStrayComments(t *testing.T) {
	cfg := parse(t, MapOpener{"main.conf": "[s]\na=1\n;-- never closed\nb=2\n"})
	if got := opts(section(t, cfg, "s", 0)); got != "a=1@main.conf:2" {
		t.Errorf("got %s", got)
	}
	if len(cfg.Warnings) != 1 || cfg.Warnings[0].Pos.Line != 3 || !strings.Contains(cfg.Warnings[0].Message, "never closed") {
		t.Errorf("warnings %v", cfg.Warnings)
	}

	cfg = parse(t, MapOpener{"main.conf": "[s]\na=x--; tail\nb=2\n[t]\nc=3\n"})
	if got := opts(section(t, cfg, "s", 0)); got != "a=x--; tail@main.conf:2" {
		t.Errorf("got %s", got)
	}
	if len(cfg.Find("t")) != 0 {
		t.Error("after a stray '--;' Asterisk ignores the rest of the file")
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].Message, "closes no block comment") {
		t.Errorf("warnings %v", cfg.Warnings)
	}
}

func TestIncludesContinueSections(t *testing.T) {
	cfg := parse(t, MapOpener{
		"main.conf": `[general]
a=1
#include "peers.conf"
b=2
#include <tail.conf>
`,
		"peers.conf": `inherited=yes
[p1]
host=192.0.2.1
`,
		"tail.conf": `c=3`,
	})
	g := section(t, cfg, "general", 0)
	// peers.conf starts in [general]; main.conf goes on in [general] after
	// the include; tail.conf starts in the section peers.conf ended in.
	if got := opts(g); got != "a=1@main.conf:2 inherited=yes@peers.conf:1 b=2@main.conf:4" {
		t.Errorf("general: %s", got)
	}
	if got := opts(section(t, cfg, "p1", 0)); got != "host=192.0.2.1@peers.conf:3 c=3@tail.conf:1" {
		t.Errorf("p1: %s", got)
	}
	if strings.Join(cfg.Files, ",") != "main.conf,peers.conf,tail.conf" {
		t.Errorf("files %v", cfg.Files)
	}
}

func TestIncludeErrors(t *testing.T) {
	e := parseErr(t, MapOpener{"main.conf": "[s]\n#include missing.conf\n"})
	if e.Pos.Line != 2 || !errors.Is(e, ErrNotFound) {
		t.Errorf("missing include: %v", e)
	}
	cfg := parse(t, MapOpener{"main.conf": "[s]\n#tryinclude missing.conf\na=1\n"})
	if got := opts(section(t, cfg, "s", 0)); got != "a=1@main.conf:3" || len(cfg.Warnings) != 1 {
		t.Errorf("tryinclude: %s %v", got, cfg.Warnings)
	}
	e = parseErr(t, MapOpener{"main.conf": "[s]\n#include a.conf\n", "a.conf": "#include b.conf\n", "b.conf": "#include a.conf\n"})
	if !strings.Contains(e.Message, "include cycle: a.conf -> b.conf -> a.conf") {
		t.Errorf("cycle: %v", e)
	}
	deep := MapOpener{"main.conf": "#include f1\n"}
	for i := 1; i <= MaxIncludeDepth+1; i++ {
		deep["f"+itoa(i)] = "#include f" + itoa(i+1) + "\n"
	}
	deep["f"+itoa(MaxIncludeDepth+2)] = "[end]\n"
	e = parseErr(t, deep)
	if !strings.Contains(e.Message, "nest deeper") {
		t.Errorf("depth: %v", e)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestDirectivesRefusedOrUnknown(t *testing.T) {
	cfg := parse(t, MapOpener{"main.conf": "[s]\n#exec /usr/local/bin/make-peers\n#frobnicate x\n#include\na=1\n"})
	if len(cfg.Warnings) != 3 {
		t.Fatalf("warnings %v", cfg.Warnings)
	}
	if !strings.Contains(cfg.Warnings[0].Message, "not run") || cfg.Warnings[0].Pos.Line != 2 {
		t.Errorf("exec: %v", cfg.Warnings[0])
	}
	if !strings.Contains(cfg.Warnings[1].Message, "unknown directive") {
		t.Errorf("unknown: %v", cfg.Warnings[1])
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"a=1\n", "before any [section]"},
		{"[s\n", "no closing ']'"},
		{"[s](!\n", "no closing ')'"},
		{"[s](nope)\n", `inherits from "nope"`},
		{"[t](!)\n[s](!, t)\n", "does not trim spaces"},
		{"[s](+)\n", "no section \"s\" to add to"},
		{"[t](!)\n[t](+)\n", "no section \"t\" to add to"},
		{"[s]\n\\ x=1\n", "escapes a blank"},
	} {
		e := parseErr(t, MapOpener{"main.conf": tc.text})
		if !strings.Contains(e.Message, tc.want) || !errors.Is(e, ErrSyntax) {
			t.Errorf("%q: got %v, want %q", tc.text, e, tc.want)
		}
	}
}

func TestWarningsAndLimits(t *testing.T) {
	long := strings.Repeat("x", MaxLine+5)
	name := strings.Repeat("n", 100)
	cfg := parse(t, MapOpener{"main.conf": "\xef\xbb\xbf[s]\njunk line\n=novalue\n" + long + "\n[" + name + "]\na=1\x00b\n"})
	if len(cfg.Find("s")) != 1 {
		t.Error("BOM must be skipped")
	}
	s := section(t, cfg, name[:MaxNameLen], 0)
	if got := opts(s); got != "a=1@main.conf:6" {
		t.Errorf("got %s", got)
	}
	var msgs []string
	for _, w := range cfg.Warnings {
		msgs = append(msgs, w.String())
	}
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{"main.conf:2: no '='", "main.conf:3: option without a name", "main.conf:4: line longer", "main.conf:5: section name longer", "main.conf:6: NUL byte"} {
		if !strings.Contains(joined, want) {
			t.Errorf("missing warning %q in\n%s", want, joined)
		}
	}
}

func TestDirOpener(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sip.conf", "[general]\n#include sip_peers_*.conf\n#include /etc/asterisk/extra/x.conf\n#include /etc/passwd\n#tryinclude ../outside.conf\n")
	write("sip_peers_b.conf", "[b]\nhost=192.0.2.2\n")
	write("sip_peers_a.conf", "[a]\nhost=192.0.2.1\n")
	write("extra/x.conf", "[x]\nhost=192.0.2.3\n")
	cfg, err := Load(context.Background(), dir, "sip.conf")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range cfg.Sections {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "general,a,b,x" {
		t.Errorf("sections %s", got)
	}
	if got := strings.Join(cfg.Files, ","); got != "sip.conf,sip_peers_a.conf,sip_peers_b.conf,extra/x.conf" {
		t.Errorf("files %s", got)
	}
	if len(cfg.Warnings) != 2 || !strings.Contains(cfg.Warnings[0].Message, "outside") || !strings.Contains(cfg.Warnings[1].Message, "outside") {
		t.Errorf("warnings %v", cfg.Warnings)
	}
	if _, err := Load(context.Background(), dir, "nope.conf"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing top file: %v", err)
	}
	write("loop.conf", "#include loop.conf\n")
	if _, err := Load(context.Background(), dir, "loop.conf"); !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("self include: %v", err)
	}
}

func TestContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Parse(ctx, "main.conf", MapOpener{"main.conf": strings.Repeat("[s]\n", 3000)}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
}

func TestOptionBudget(t *testing.T) {
	text := "[t](!)\n" + strings.Repeat("a=1\n", 100) + strings.Repeat("[s](t)\n", 50)
	if _, err := Parse(context.Background(), "main.conf", MapOpener{"main.conf": text}, WithMaxOptions(6000)); err != nil {
		t.Fatalf("within budget: %v", err)
	}
	_, err := Parse(context.Background(), "main.conf", MapOpener{"main.conf": text}, WithMaxOptions(4000))
	var e *Error
	if !errors.As(err, &e) || e.Pos.Line != 141 || !strings.Contains(e.Message, "more than 4000 options") {
		t.Errorf("over budget: %v", err)
	}
}
