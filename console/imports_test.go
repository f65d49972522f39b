package console

import (
	"os/exec"
	"strings"
	"testing"
)

// The console shows and changes only what the API's functions do: it
// reaches neither the SIP core nor the store but through api and engine
// (the same role checks), and nothing outside the standard library and
// this module (no vendored front-end framework, no CDN at run time).
func TestConsoleImportsOnlyAPIAndEngine(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/sipswitch/sipswitch/sip") {
			t.Errorf("console depends on %s: the live state comes through engine.LiveState", p)
		}
	}
	direct, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(direct)) {
		if strings.Contains(p, ".") && p != "github.com/sipswitch/sipswitch/api" && p != "github.com/sipswitch/sipswitch/engine" {
			t.Errorf("console imports %s: only api and engine of this module, and the standard library", p)
		}
	}
}
