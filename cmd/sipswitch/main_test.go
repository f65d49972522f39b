package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/engine"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

const switchFile = `
plans: [{id: 1, name: Retail}]
routes: [{plan: 1, called_prefix: "44", peer1: 1}]
peers: [{id: 1, name: carrier-a, type: sip, destination: 192.0.2.10, outmaximum: 10}]
phones: [{name: "2001", password: secret99, plan: 1}]
`

func TestRenderCheckExitCodes(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "switch.yaml")
	out := filepath.Join(dir, "out")
	os.WriteFile(yml, []byte(switchFile), 0o644)

	if code, _, stderr := runCLI(t, "render", "--from", yml, "--out", out, "--check"); code != exitFailure {
		t.Fatalf("check against an empty dir: exit %d (%s), want 1", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "sip.conf")); err == nil {
		t.Fatal("--check wrote files")
	}
	if code, _, stderr := runCLI(t, "render", "--from", yml, "--out", out); code != exitOK {
		t.Fatalf("render: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"sip.conf", "pjsip.conf", "iax.conf", "extensions.conf"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Fatalf("%s not written: %v", f, err)
		}
	}
	if code, stdout, _ := runCLI(t, "render", "--from", yml, "--out", out, "--check"); code != exitOK || stdout != "" {
		t.Fatalf("check with no drift: exit %d, output %q", code, stdout)
	}
	os.WriteFile(yml, []byte(strings.Replace(switchFile, "outmaximum: 10", "outmaximum: 12", 1)), 0o644)
	code, stdout, _ := runCLI(t, "render", "--from", yml, "--out", out, "--check")
	// res_pjsip (the default driver) holds a peer's outmaximum in the
	// dialplan.
	if code != exitFailure || !strings.Contains(stdout, ">= 10]?full)") || !strings.Contains(stdout, ">= 12]?full)") {
		t.Fatalf("check with drift: exit %d, diff:\n%s", code, stdout)
	}
}

func TestRenderFromDatabaseMatchesAPIObjects(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	t.Setenv("SIPSWITCH_ADMIN_PASSWORD", "admin-password")
	store, svc, err := openService(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := svc.Authenticate(ctx, "admin", "admin-password")
	if err != nil {
		t.Fatal(err)
	}
	kinds := svc.Kinds()
	if _, err := svc.Create(ctx, a, kinds["peers"], map[string]string{"name": "carrier-z", "type": "pjsip", "destination": "192.0.2.99"}, false); err != nil {
		t.Fatal(err)
	}
	store.Close()
	out := filepath.Join(dir, "out")
	if code, _, stderr := runCLI(t, "render", "--db", db, "--out", out); code != exitOK {
		t.Fatalf("render --db: exit %d: %s", code, stderr)
	}
	pj, _ := os.ReadFile(filepath.Join(out, "pjsip.conf"))
	if !strings.Contains(string(pj), "[carrier-z]") || !strings.Contains(string(pj), "contact=sip:192.0.2.99") {
		t.Fatalf("pjsip.conf lacks the peer:\n%s", pj)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"render", "--out", "x"},
		{"render", "--db", "a", "--from", "b", "--out", "x"},
		{"serve", "--no-such-flag"},
		{"user", "add", "--db", "x.db"},
	} {
		if code, _, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, out, _ := runCLI(t, "version"); code != exitOK || !strings.HasPrefix(out, "sipswitch ") || !strings.Contains(out, "go1") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestRenderBadSwitchFileExit1WithLine(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "bad.yaml")
	os.WriteFile(yml, []byte("peers:\n  - {id: 1, name: x, type: sip}\n"), 0o644)
	code, _, stderr := runCLI(t, "render", "--from", yml, "--out", filepath.Join(dir, "out"))
	if code != exitFailure || !strings.Contains(stderr, `bad.yaml:2: peers[0] (name "x"): destination is required`) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestRouteAndCostsImportCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	t.Setenv("SIPSWITCH_ADMIN_PASSWORD", "admin-password")
	store, svc, err := openService(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := engineSystem()
	kinds := svc.Kinds()
	for _, c := range []struct {
		kind string
		vals map[string]string
	}{
		{"plans", map[string]string{"name": "p"}},
		{"peers", map[string]string{"name": "cheap", "type": "sip", "destination": "192.0.2.1", "costs": "1"}},
		{"peers", map[string]string{"name": "dear", "type": "sip", "destination": "192.0.2.2", "costs": "1"}},
		{"plans/routes", map[string]string{"plan": "1", "called_prefix": "44", "peer1": "-1"}},
	} {
		if _, err := svc.Create(ctx, a, kinds[c.kind], c.vals, false); err != nil {
			t.Fatal(c.kind, err)
		}
	}
	store.Close()
	deck := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	if code, out, stderr := runCLI(t, "costs", "import", "--db", db, "--peer", "1", deck("a.csv", "called_prefix,cost\n44,0.02\n")); code != exitOK || !strings.Contains(out, "imported 1") {
		t.Fatalf("import: %d %q %q", code, out, stderr)
	}
	if code, _, _ := runCLI(t, "costs", "import", "--db", db, "--peer", "2", deck("b.csv", "called_prefix,cost\n44,0.01\n")); code != exitOK {
		t.Fatal("import b")
	}
	if code, _, stderr := runCLI(t, "costs", "import", "--db", db, "--peer", "2", deck("c.csv", "called_prefix,kost\n44,1\n")); code != exitFailure || !strings.Contains(stderr, "kost") {
		t.Fatalf("bad column: %d %q", code, stderr)
	}
	code, out, _ := runCLI(t, "route", "--db", db, "--plan", "1", "--called", "441234")
	if code != exitOK || !strings.Contains(out, "1. peer 2 dear") || !strings.Contains(out, "2. peer 1 cheap") {
		t.Fatalf("least-cost order (dear's deck is cheaper now): %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "route", "--db", db, "--plan", "1", "--called", "331234"); code != exitOK || !strings.Contains(out, "no route") {
		t.Fatalf("no route: %d %s", code, out)
	}
}

func engineSystem() *engine.Actor { return engine.SystemActor() }

// --media-relay carries the SIP core's media policy into the files; a
// value it does not know is a usage error naming the flag, and nothing is
// written.
func TestRenderMediaRelayFlag(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "switch.yaml")
	os.WriteFile(yml, []byte(switchFile), 0o644)
	bad := filepath.Join(dir, "bad")
	if code, _, stderr := runCLI(t, "render", "--from", yml, "--out", bad, "--media-relay", "sometimes"); code != exitUsage || !strings.Contains(stderr, "--media-relay") {
		t.Fatalf("--media-relay sometimes: exit %d, %q; want a usage error naming the flag", code, stderr)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Fatal("a refused render created its output directory")
	}
	for relay, want := range map[string]string{"always": "direct_media=no", "auto": "disable_direct_media_on_nat=yes"} {
		out := filepath.Join(dir, relay)
		if code, _, stderr := runCLI(t, "render", "--from", yml, "--out", out, "--media-relay", relay, "--media-timeout", "30s"); code != exitOK {
			t.Fatalf("render --media-relay %s: exit %d: %s", relay, code, stderr)
		}
		b, _ := os.ReadFile(filepath.Join(out, "pjsip.conf"))
		if !strings.Contains(string(b), want) || !strings.Contains(string(b), "rtp_timeout=30") {
			t.Errorf("--media-relay %s: pjsip.conf lacks %s or rtp_timeout=30", relay, want)
		}
	}
}
