package astconf

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes as a configuration file that may include
// itself, a second file and a missing one. The parser must never panic,
// must end (cycles and depth are bounded), and what it returns must hold
// the invariants its callers rely on.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"[general]\nregister => u:p@host/1\n[p](!)\ntype=friend\n[a](p)\nsecret=x\\;y\n",
		"[a]\nallow=ulaw\nallow+=,alaw\n[a](+)\nb=1\n[c](a,!)\n",
		";-- block\n;-- nested --;\n--;\n[x]\ny=1 --; z=2\n",
		"#include other.conf\n#tryinclude missing.conf\n#include main.conf\n",
		"[t](+type=aor&TEMPLATES=include)\n[u](+\n[v](\xff)\n\\=x\n\\\n",
		"\xef\xbb\xbf[s]\n=\n==\n=>\na=>b\n#exec x\n#\n[s](!,s,+)\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		files := MapOpener{
			"main.conf":   string(data),
			"other.conf":  "[other]\na=1\n#include other2.conf\n",
			"other2.conf": "b=2\n",
		}
		// A low option budget keeps every run fast: a few headers that
		// inherit a large template would otherwise copy millions.
		cfg, err := Parse(context.Background(), "main.conf", files, WithMaxOptions(20000))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is not an *Error: %v", err)
			}
			if e.Pos.File == "" {
				t.Fatalf("error without a file: %v", e)
			}
			return
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, s := range cfg.Sections {
			if len(s.Name) > MaxNameLen {
				t.Fatalf("section name of %d bytes", len(s.Name))
			}
			checkPos(t, s.Pos, lines)
			for _, o := range s.Options {
				checkPos(t, o.Pos, lines)
				if o.Name == "" {
					t.Fatalf("option without a name at %v", o.Pos)
				}
				if strip(o.Name) != o.Name || strip(o.Value) != o.Value {
					t.Fatalf("option not stripped: %q=%q", o.Name, o.Value)
				}
				if strings.Contains(o.Value, "\n") {
					t.Fatalf("value spans lines: %q", o.Value)
				}
			}
		}
		for _, w := range cfg.Warnings {
			checkPos(t, w.Pos, lines)
		}
	})
}

func checkPos(t *testing.T, p Pos, mainLines int) {
	t.Helper()
	switch p.File {
	case "main.conf":
		if p.Line < 1 || p.Line > mainLines {
			t.Fatalf("position %v outside the file's %d lines", p, mainLines)
		}
	case "other.conf", "other2.conf":
		if p.Line < 1 || p.Line > 3 {
			t.Fatalf("position %v", p)
		}
	default:
		t.Fatalf("position in unknown file %v", p)
	}
}
