//go:build unix

package render

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// withUmask022 runs the test under the umask most hosts have: what
// WriteFiles does not restrict itself is then readable by every user.
func withUmask022(t *testing.T) {
	t.Helper()
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
}

func statOf(t *testing.T, path string) (os.FileMode, int) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	gid, _ := fileGroup(st)
	return st.Mode().Perm(), gid
}

// otherGroup is a group the test may give files to without privileges:
// a supplementary group of the process when it has one (root may use
// any: nogroup), else its primary group.
func otherGroup(t *testing.T) (name string, gid int) {
	t.Helper()
	gid = os.Getgid()
	if os.Geteuid() == 0 {
		gid = 65534
	} else if groups, err := os.Getgroups(); err == nil {
		for _, g := range groups {
			if g != os.Getgid() {
				gid = g
				break
			}
		}
	}
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		return g.Name, gid // by name, as render.group is usually given
	}
	return strconv.Itoa(gid), gid
}

// The rendered files hold the passwords Asterisk sends to carriers: any
// local user could read them when they were forced to 0644. Without a
// group they are the owner's alone, and a directory WriteFiles makes is
// too.
func TestWrittenFilesArePrivate(t *testing.T) {
	withUmask022(t)
	files, err := Render(fixtureSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "asterisk", "sipswitch")
	if _, err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	if mode, _ := statOf(t, dir); mode != 0o700 {
		t.Errorf("new directory has mode %04o, want 0700", mode)
	}
	for _, name := range FileNames {
		if mode, _ := statOf(t, filepath.Join(dir, name)); mode != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", name, mode)
		}
	}
}

// With render.group, the group (Asterisk's) may read the files and enter
// a directory WriteFiles makes; nobody else may.
func TestWrittenFilesBelongToTheGroup(t *testing.T) {
	withUmask022(t)
	group, gid := otherGroup(t)
	files, err := Render(fixtureSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "sipswitch")
	if _, err := WriteFiles(dir, files, WithGroup(group)); err != nil {
		t.Fatal(err)
	}
	if mode, g := statOf(t, dir); mode != 0o750 || g != gid {
		t.Errorf("new directory: mode %04o group %d, want 0750 group %d", mode, g, gid)
	}
	for _, name := range FileNames {
		if mode, g := statOf(t, filepath.Join(dir, name)); mode != 0o640 || g != gid {
			t.Errorf("%s: mode %04o group %d, want 0640 group %d", name, mode, g, gid)
		}
	}
}

// Files an earlier version left 0644 are made private on the next write
// even when their bytes do not change (iax.conf and extensions.conf hold
// no digest), without counting as changed: no reload for a mode.
func TestUnchangedFilesOpenToOthersAreReplaced(t *testing.T) {
	withUmask022(t)
	files, err := Render(fixtureSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	changed, err := WriteFiles(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 0 {
		t.Errorf("changed = %v, want none: only modes differed", changed)
	}
	for name, want := range files {
		path := filepath.Join(dir, name)
		if mode, _ := statOf(t, path); mode != 0o600 {
			t.Errorf("%s still has mode %04o, want 0600", name, mode)
		}
		if got, _ := os.ReadFile(path); string(got) != string(want) {
			t.Errorf("%s content changed", name)
		}
	}
}

// A group the system does not know is an error naming it, and nothing is
// written, not even the directory.
func TestWriteFilesRefusesAnUnknownGroup(t *testing.T) {
	files, err := Render(fixtureSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "sipswitch")
	_, err = WriteFiles(dir, files, WithGroup("no-such-group-sipswitch"))
	if !errors.Is(err, ErrNoSuchGroup) || !containsAll(err.Error(), "no-such-group-sipswitch") {
		t.Fatalf("err = %v, want ErrNoSuchGroup naming the group", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory created despite the error: %v", err)
	}
}

// A group the writing user is not a member of cannot be given files: the
// error says so, and no temporary file is left.
func TestWriteFilesToAGroupNotOursFails(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may give files to any group")
	}
	member := map[int]bool{os.Getgid(): true}
	if groups, err := os.Getgroups(); err == nil {
		for _, g := range groups {
			member[g] = true
		}
	}
	gid := 0 // root's group; no test user is a member of it
	if member[gid] {
		t.Skip("the test user is a member of group 0")
	}
	files, err := Render(fixtureSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := WriteFiles(dir, files, WithGroup("0")); err == nil || !containsAll(err.Error(), "group 0", "member") {
		t.Fatalf("err = %v, want an error about group 0 membership", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
