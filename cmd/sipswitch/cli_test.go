package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/config"
	"github.com/sipswitch/sipswitch/storage"
)

// Help that is asked for is output: on standard output, exit 0, for the
// whole CLI and for each command, whether it takes flags or subcommands.
// A mistake still prints the usage on standard error and exits 2.
func TestHelpGoesToStdoutAndExits0(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"},
		{"render", "-h"}, {"serve", "--help"}, {"migrate", "-h"}, {"route", "-h"}, {"version", "-h"},
		{"user", "-h"}, {"user", "add", "-h"}, {"costs", "-h"}, {"costs", "import", "-h"},
		{"calls", "-h"}, {"calls", "export", "-h"},
		{"render", "--out", "x", "-h"},
	} {
		code, stdout, stderr := runCLI(t, args...)
		if code != exitOK || !strings.Contains(strings.ToLower(stdout), "usage") || stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 0 and the usage on stdout alone", args, code, clipText(stdout), clipText(stderr))
		}
	}
	code, stdout, stderr := runCLI(t, "render", "--no-such-flag")
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "-out") {
		t.Errorf("render --no-such-flag: exit %d, stdout %q, stderr %q; want exit 2 and the usage on stderr", code, stdout, clipText(stderr))
	}
	if code, _, stderr := runCLI(t, "render", "-h"); code != exitOK || stderr != "" {
		t.Errorf("render -h: exit %d, stderr %q", code, stderr)
	} else if _, stdout, _ := runCLI(t, "render", "-h"); !strings.Contains(stdout, "-tls-cert") {
		t.Errorf("render -h does not list --tls-cert:\n%s", stdout)
	}
}

func clipText(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// --version is the version command, as DESIGN.md's contract says.
func TestVersionFlag(t *testing.T) {
	for _, arg := range []string{"--version", "-version", "version"} {
		code, stdout, stderr := runCLI(t, arg)
		if code != exitOK || !strings.HasPrefix(stdout, "sipswitch ") || stderr != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", arg, code, stdout, stderr)
		}
	}
}

// migrate --db on a file that does not exist creates a whole store, which
// serve then opens; it used to fail reading the revision of the empty
// file ("no such table: meta") and leave that file behind.
func TestMigrateCreatesANewStore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "new.db")
	code, stdout, stderr := runCLI(t, "migrate", "--db", db)
	if code != exitOK || !strings.Contains(stdout, "applied 0001_init.sql") {
		t.Fatalf("migrate a new file: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, stdout, _ := runCLI(t, "migrate", "--db", db); code != exitOK || stdout != "database is up to date\n" {
		t.Fatalf("second migrate: exit %d, %q", code, stdout)
	}
	store, err := storage.Open(context.Background(), db)
	if err != nil {
		t.Fatalf("the migrated store does not open: %v", err)
	}
	store.Close()
}

// A file migrate creates and cannot migrate is removed, not left for the
// next start to take for a store.
func TestMigrateFailureLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	// A directory where the -wal file must go makes SQLite fail once it
	// writes.
	db := filepath.Join(dir, "new.db")
	if err := os.Mkdir(db+"-wal", 0o700); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "migrate", "--db", db)
	if code != exitFailure {
		t.Fatalf("migrate with its -wal path taken: exit %d (%s), want 1", code, stderr)
	}
	if _, err := os.Stat(db); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a failed migrate left %s behind (%v)", db, err)
	}
}

// render --check finds no drift when the store moved on without changing
// what is rendered: only the revision in the files' first line differs.
func TestRenderCheckIgnoresTheRevisionLine(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	t.Setenv("SIPSWITCH_ADMIN_PASSWORD", "admin-password")
	store, svc, err := openService(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := svc.Create(ctx, engineSystem(), svc.Kinds()["peers"], map[string]string{"name": "carrier-z", "type": "pjsip", "destination": "192.0.2.99"}, false); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if code, _, stderr := runCLI(t, "render", "--db", db, "--out", out); code != exitOK {
		t.Fatalf("render: exit %d: %s", code, stderr)
	}
	// A new API user: the revision moves, the files do not.
	if err := svc.AddUser(ctx, "ops", "ops-password", "system", 1); err != nil {
		t.Fatal(err)
	}
	store.Close()
	code, stdout, stderr := runCLI(t, "render", "--db", db, "--out", out, "--check")
	if code != exitOK || stdout != "" {
		t.Fatalf("check after a write that renders to nothing: exit %d (%s), diff:\n%s", code, stderr, stdout)
	}
	if !strings.Contains(mustRead(t, filepath.Join(out, "pjsip.conf")), "revision 2.") {
		t.Fatal("the test's premise: the files carry the revision they were rendered from (2)")
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A listen address that cannot be used stops serve before it creates the
// store (and prints a first admin password that would then belong to
// nothing): a port out of range is a usage error (2), a port taken a
// runtime failure (1); neither leaves a database file.
func TestServeBadListenAddressStopsBeforeTheStore(t *testing.T) {
	takenTCP, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer takenTCP.Close()
	takenUDP, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer takenUDP.Close()
	freeHTTP := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	freeSIP := fmt.Sprintf("udp://127.0.0.1:%d", freePort(t, "udp"))
	for _, c := range []struct {
		name, http, sip string
		code            int
		says            string
	}{
		{"http port out of range", "127.0.0.1:99999", freeSIP, exitUsage, "http"},
		{"http port a name", "127.0.0.1:web", freeSIP, exitUsage, "http"},
		{"sip port out of range", freeHTTP, "udp://127.0.0.1:70000", exitUsage, "sip"},
		{"http port taken", takenTCP.Addr().String(), freeSIP, exitFailure, "address already in use"},
		{"sip port taken", freeHTTP, "udp://" + takenUDP.LocalAddr().String(), exitFailure, "address already in use"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "s.db")
			code, _, stderr := runCLI(t, "serve", "--db", db, "--http", c.http, "--sip", c.sip)
			if code != c.code || !strings.Contains(stderr, c.says) {
				t.Fatalf("exit %d, stderr %q; want exit %d naming %q", code, stderr, c.code, c.says)
			}
			if _, err := os.Stat(db); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the store was created before the listen address was found unusable (%v)", err)
			}
		})
	}
}

// JSON logs give durations as text with their unit, as the text format
// and the configuration file do, not as a count of nanoseconds.
func TestJSONLogDurationsAreText(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(config.LogConfig{Level: "info", Format: "json"}, &buf, new(slog.LevelVar))
	log.Info("rendered", "took", 1500*time.Millisecond, slog.Group("render", "debounce", 20*time.Millisecond))
	got := buf.String()
	if !strings.Contains(got, `"took":"1.5s"`) || !strings.Contains(got, `"debounce":"20ms"`) {
		t.Fatalf("JSON log line: %s", got)
	}
}

// The example switch file in dist/ renders, and checks clean against what
// it rendered.
func TestExampleSwitchFileRenders(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	const example = "../../dist/switch.example.yaml"
	if code, _, stderr := runCLI(t, "render", "--from", example, "--out", out); code != exitOK {
		t.Fatalf("render --from %s: exit %d:\n%s", example, code, stderr)
	}
	if code, stdout, _ := runCLI(t, "render", "--from", example, "--out", out, "--check"); code != exitOK {
		t.Fatalf("check: exit %d:\n%s", code, stdout)
	}
	pj := mustRead(t, filepath.Join(out, "pjsip.conf"))
	for _, want := range []string{"[carrier-b]", "[2001]", "[acme-pbx]"} {
		if !strings.Contains(pj, want) {
			t.Errorf("pjsip.conf lacks %s", want)
		}
	}
}

// The units start on a host without Asterisk: a directory of
// ReadWritePaths= that sipswitch does not create itself is optional
// ("-"), since systemd refuses to start a unit naming one that is absent.
func TestSystemdUnitsStartWithoutTheRenderDirectory(t *testing.T) {
	for _, path := range []string{"../../dist/sipswitch.service", "../../dist/cluster/sipswitch-cluster.service"} {
		unit := mustRead(t, path)
		found := false
		for line := range strings.SplitSeq(unit, "\n") {
			v, ok := strings.CutPrefix(line, "ReadWritePaths=")
			if !ok {
				continue
			}
			found = true
			for _, p := range strings.Fields(v) {
				// The state directory is the unit's own (StateDirectory=).
				if p != "/var/lib/sipswitch" && !strings.HasPrefix(p, "-") {
					t.Errorf("%s: ReadWritePaths=%s stops the unit where it does not exist; write -%s", path, p, p)
				}
			}
		}
		if !found {
			t.Errorf("%s has no ReadWritePaths=", path)
		}
	}
}
