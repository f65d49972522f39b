package main

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// underUmask022 runs the test, and the daemons it starts, under the umask
// most hosts have, where a file made without care is readable by all.
func underUmask022(t *testing.T) {
	t.Helper()
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
}

// ownGroup is a group the test may give files to unprivileged: the
// process's own.
func ownGroup(t *testing.T) (name string, gid int) {
	t.Helper()
	gid = os.Getgid()
	g, err := user.LookupGroupId(strconv.Itoa(gid))
	if err != nil {
		return strconv.Itoa(gid), gid
	}
	return g.Name, gid
}

func modeAndGroup(t *testing.T, path string) (os.FileMode, int) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm(), int(st.Sys().(*syscall.Stat_t).Gid)
}

// A local user of the switch host reads neither the store nor the
// rendered files: `serve` on a fresh database makes it and its -wal and
// -shm 0600, renders into a new directory 0750 with files 0640 given to
// render.group, and the line's password is in no rendered file.
func TestServeKeepsSecretsFromOtherUsers(t *testing.T) {
	underUmask022(t)
	group, gid := ownGroup(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	renderDir := filepath.Join(dir, "asterisk", "sipswitch")
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, "database: %s\nrender:\n  dir: %s\n  group: %s\n  debounce: 20ms\n", db, renderDir, group), 0o600)
	d := startDaemon(t, "--config", cfg)
	const password = "Line-pw-4711"
	if r := d.get("/api/json/phones/create/?" + adminAuth + ";name=2001;password=" + password); !strings.Contains(r, `"code":"204"`) {
		t.Fatalf("phones/create: %s", r)
	}
	pjsip := filepath.Join(renderDir, "pjsip.conf")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(pjsip)
		if strings.Contains(string(b), "[2001]") {
			if strings.Contains(string(b), password) || !strings.Contains(string(b), "md5_cred=") {
				t.Errorf("pjsip.conf holds the line's password, or no digest:\n%s", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the line was not rendered; log:\n%s", d.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if mode, _ := modeAndGroup(t, db+suffix); mode != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", filepath.Base(db+suffix), mode)
		}
	}
	if mode, g := modeAndGroup(t, renderDir); mode != 0o750 || g != gid {
		t.Errorf("render dir: mode %04o group %d, want 0750 group %d", mode, g, gid)
	}
	for _, name := range []string{"sip.conf", "pjsip.conf", "iax.conf", "extensions.conf"} {
		if mode, g := modeAndGroup(t, filepath.Join(renderDir, name)); mode != 0o640 || g != gid {
			t.Errorf("%s: mode %04o group %d, want 0640 group %d", name, mode, g, gid)
		}
	}
	if err := d.stop(syscall.SIGTERM, 20*time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
}

// A database an earlier version left 0644 is made private at start, and
// the daemon says so at WARN naming the mode it had.
func TestServeMakesAnOpenDatabasePrivate(t *testing.T) {
	underUmask022(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	t.Setenv("SIPSWITCH_ADMIN_PASSWORD", adminPassword)
	store, _, err := openService(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "--db", db)
	if mode, _ := modeAndGroup(t, db); mode != 0o600 {
		t.Errorf("database has mode %04o after start, want 0600", mode)
	}
	if !strings.Contains(d.log(), "made it private") || !strings.Contains(d.log(), "0644") {
		t.Errorf("no WARN naming the old mode; log:\n%s", d.log())
	}
}

// `sipswitch render` writes what `serve` writes: 0600 files in a 0700
// directory, or 0640/0750 given to --group; a group the host lacks or a
// realm that cannot be one is a usage error naming the flag, and nothing
// is written.
func TestRenderCommandFileModes(t *testing.T) {
	underUmask022(t)
	dir := t.TempDir()
	yml := filepath.Join(dir, "switch.yaml")
	os.WriteFile(yml, []byte(switchFile), 0o600)
	private := filepath.Join(dir, "private")
	if code, _, stderr := runCLI(t, "render", "--from", yml, "--out", private); code != exitOK {
		t.Fatalf("render: exit %d: %s", code, stderr)
	}
	if mode, _ := modeAndGroup(t, private); mode != 0o700 {
		t.Errorf("--out dir has mode %04o, want 0700", mode)
	}
	for _, name := range []string{"sip.conf", "pjsip.conf", "iax.conf", "extensions.conf"} {
		if mode, _ := modeAndGroup(t, filepath.Join(private, name)); mode != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", name, mode)
		}
	}
	b, _ := os.ReadFile(filepath.Join(private, "pjsip.conf"))
	if strings.Contains(string(b), "secret99") {
		t.Error("pjsip.conf holds the line's password")
	}

	group, gid := ownGroup(t)
	shared := filepath.Join(dir, "shared")
	if code, _, stderr := runCLI(t, "render", "--from", yml, "--out", shared, "--group", group, "--realm", "pbx.example.net"); code != exitOK {
		t.Fatalf("render --group: exit %d: %s", code, stderr)
	}
	if mode, g := modeAndGroup(t, filepath.Join(shared, "pjsip.conf")); mode != 0o640 || g != gid {
		t.Errorf("pjsip.conf: mode %04o group %d, want 0640 group %d", mode, g, gid)
	}
	if b, _ := os.ReadFile(filepath.Join(shared, "pjsip.conf")); !strings.Contains(string(b), "default_realm=pbx.example.net") {
		t.Error("--realm not rendered")
	}

	for _, args := range [][]string{{"--group", "no-such-group-sipswitch"}, {"--realm", "two words"}} {
		out := filepath.Join(dir, "refused")
		code, _, stderr := runCLI(t, append([]string{"render", "--from", yml, "--out", out}, args...)...)
		if code != exitUsage || !strings.Contains(stderr, args[0]) {
			t.Errorf("%v: exit %d, %q; want a usage error naming the flag", args, code, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: output directory created", args)
		}
	}
}
