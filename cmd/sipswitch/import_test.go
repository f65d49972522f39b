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

	// Three objects of the directory cannot be imported (an MD5-only
	// secret, no secret, a type=user): every run exits 1 saying so
	// (issue 28: it exited 0), after writing the rest.
	code, stdout, stderr := runCLI(t, "import", "asterisk", "--dir", chanSIPDir, "--db", db, "--dry-run")
	if code != exitFailure || !strings.Contains(stderr, "3 objects would be NOT IMPORTED") {
		t.Fatalf("dry run: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "would create line 2001 (sip_phones.conf:3)") ||
		!strings.Contains(stdout, "sip_phones.conf:125: line 2102: md5secret=***: NOT IMPORTED") ||
		!strings.Contains(stdout, "would create 32, unchanged 0,") {
		t.Errorf("dry run output:\n%s", stdout)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Fatalf("the dry run created the database: %v", err)
	}

	code, stdout, stderr = runCLI(t, "import", "asterisk", "--dir", chanSIPDir, "--db", db)
	if code != exitFailure || !strings.Contains(stdout, "created 32, unchanged 0,") || !strings.Contains(stderr, "3 objects were NOT IMPORTED") {
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
		if code != exitFailure || !strings.Contains(stdout, "create 0, unchanged 32,") && !strings.Contains(stdout, "created 0, unchanged 32,") || !strings.Contains(stdout, "skipped line 2001 (sip_phones.conf:3): exists, unchanged") {
			t.Errorf("%v: exit %d\n%s", extra, code, stdout)
		}
	}
	// The database renders.
	if code, _, stderr := runCLI(t, "render", "--db", db, "--out", filepath.Join(dir, "out"), "--phone-driver", "sip"); code != exitOK {
		t.Fatalf("render: %s", stderr)
	}
	conf, _ := os.ReadFile(filepath.Join(dir, "out", "sip.conf"))
	if !strings.Contains(string(conf), "register => itsp?8005550100:itsp-pass-1@sip.itsp.example/5000") || !strings.Contains(string(conf), "[carrier-a]") {
		t.Errorf("rendered sip.conf:\n%s", conf)
	}
}

func TestImportAsteriskIntoSwitchFile(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "switch.yaml")
	if code, stdout, stderr := runCLI(t, "import", "asterisk", "--dir", "../../importer/testdata/pjsip", "--yaml", yml); code != exitFailure || !strings.Contains(stdout, "created 22,") || !strings.Contains(stderr, "1 objects were NOT IMPORTED") {
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

// TestImportAsteriskExitStatus: 0 when everything was imported, 1 when any
// object is NOT IMPORTED (the rest written), and -h says so.
func TestImportAsteriskExitStatus(t *testing.T) {
	conf := t.TempDir()
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(conf, "sip.conf"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	good := "[2001]\ntype=friend\nhost=dynamic\nsecret=line-2001-pw\n"
	write(good)
	db := filepath.Join(t.TempDir(), "switch.db")
	t.Setenv("SIPSWITCH_ADMIN_PASSWORD", "admin-password")
	if code, stdout, stderr := runCLI(t, "import", "asterisk", "--dir", conf, "--db", db); code != exitOK || !strings.Contains(stdout, "created 1,") || stderr != "" {
		t.Fatalf("all imported: exit %d\n%s\n%s", code, stdout, stderr)
	}
	write(good + "[2002]\ntype=friend\nhost=dynamic\nmd5secret=4f8d2a9b1c7e3d5f6a0b9c8d7e6f5a4b\n[2003]\ntype=friend\nhost=dynamic\nsecret=line-2003-pw\n")
	code, stdout, stderr := runCLI(t, "import", "asterisk", "--dir", conf, "--db", db)
	if code != exitFailure || !strings.Contains(stdout, "line 2002: md5secret=***: NOT IMPORTED") || !strings.Contains(stderr, "1 objects were NOT IMPORTED") {
		t.Fatalf("one refused: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "created 1, unchanged 1,") {
		t.Errorf("the importable line must still be written:\n%s", stdout)
	}
	_, stdout, stderr = runCLI(t, "import", "asterisk", "-h")
	if help := stdout + stderr; !strings.Contains(help, "Exit status: 0 when every object was imported") || !strings.Contains(help, "1\nwhen any object is NOT IMPORTED") {
		t.Errorf("import -h does not say the exit status:\n%s", help)
	}
}
