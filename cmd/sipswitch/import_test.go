package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/engine"
)

const chanSIPDir = "../../importer/testdata/chansip"

func TestImportAsteriskUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"import"},
		{"import", "freeswitch", "--dir", chanSIPDir},
		{"import", "asterisk", "--db", filepath.Join(dir, "x.db")},
		{"import", "asterisk", "--dir", chanSIPDir},
		{"import", "asterisk", "--dir", chanSIPDir, "--db", "a.db", "--yaml", "b.yaml"},
		{"import", "asterisk", "--dir", filepath.Join(dir, "nope"), "--db", filepath.Join(dir, "x.db")},
		{"import", "asterisk", "--dir", chanSIPDir, "--db", filepath.Join(dir, "x.db"), "extra"},
	} {
		if code, _, stderr := runCLI(t, args...); code != exitUsage || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("usage errors created files: %v", entries)
	}
}

func TestImportAsteriskIntoDatabase(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "switch.db")
	t.Setenv("SIPSWITCH_ADMIN_PASSWORD", "admin-password")

	code, stdout, stderr := runCLI(t, "import", "asterisk", "--dir", chanSIPDir, "--db", db, "--dry-run")
	if code != exitOK {
		t.Fatalf("dry run: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "would create line 2001 (sip_phones.conf:3)") ||
		!strings.Contains(stdout, "sip_phones.conf:133: line 2104: password=***: NOT IMPORTED") ||
		!strings.Contains(stdout, "would create 29, unchanged 0,") {
		t.Errorf("dry run output:\n%s", stdout)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Fatalf("the dry run created the database: %v", err)
	}

	code, stdout, stderr = runCLI(t, "import", "asterisk", "--dir", chanSIPDir, "--db", db)
	if code != exitOK || !strings.Contains(stdout, "created 29, unchanged 0,") {
		t.Fatalf("import: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if strings.Contains(stdout, "Line2001pw431") {
		t.Error("a line's password is printed")
	}
	// A second run, and a dry run against the filled database, create
	// nothing.
	for _, extra := range [][]string{nil, {"--dry-run"}} {
		args := append([]string{"import", "asterisk", "--dir", chanSIPDir, "--db", db}, extra...)
		code, stdout, _ = runCLI(t, args...)
		if code != exitOK || !strings.Contains(stdout, "create 0, unchanged 29,") && !strings.Contains(stdout, "created 0, unchanged 29,") || !strings.Contains(stdout, "skipped line 2001 (sip_phones.conf:3): exists, unchanged") {
			t.Errorf("%v: exit %d\n%s", extra, code, stdout)
		}
	}
	// The database renders.
	if code, _, stderr := runCLI(t, "render", "--db", db, "--out", filepath.Join(dir, "out"), "--phone-driver", "sip"); code != exitOK {
		t.Fatalf("render: %s", stderr)
	}
	conf, _ := os.ReadFile(filepath.Join(dir, "out", "sip.conf"))
	if !strings.Contains(string(conf), "register => 8005550100:itsp-pass-1@sip.itsp.example/5000") || !strings.Contains(string(conf), "[carrier-a]") {
		t.Errorf("rendered sip.conf:\n%s", conf)
	}
}

func TestImportAsteriskIntoSwitchFile(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "switch.yaml")
	if code, stdout, stderr := runCLI(t, "import", "asterisk", "--dir", "../../importer/testdata/pjsip", "--yaml", yml); code != exitOK || !strings.Contains(stdout, "created 22,") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	data, err := os.ReadFile(yml)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.LoadSwitchFile(bytes.NewReader(data), yml); err != nil {
		t.Fatalf("the switch file does not load: %v", err)
	}
	if code, _, stderr := runCLI(t, "render", "--from", yml, "--out", filepath.Join(dir, "out")); code != exitOK {
		t.Fatalf("render --from: %s", stderr)
	}
}

func TestImportAsteriskFailureWritesNothing(t *testing.T) {
	conf := t.TempDir()
	os.WriteFile(filepath.Join(conf, "sip.conf"), []byte("[general]\n#include peers.conf\n"), 0o644)
	yml := filepath.Join(t.TempDir(), "switch.yaml")
	code, _, stderr := runCLI(t, "import", "asterisk", "--dir", conf, "--yaml", yml)
	if code != exitFailure || !strings.Contains(stderr, "sip.conf:2: #include peers.conf: no such file") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(yml); !os.IsNotExist(err) {
		t.Error("a failed import wrote the switch file")
	}
}
