package sip

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/routing"
)

// groupDirectory is a testDirectory with record groups.
type groupDirectory struct {
	*testDirectory
	groups []routing.RecordGroup
}

func (d *groupDirectory) RecordGroup(id int) (*routing.RecordGroup, bool) {
	for i := range d.groups {
		if d.groups[i].ID == id {
			return &d.groups[i], true
		}
	}
	return nil, false
}

func (d *groupDirectory) RecordGroups() []routing.RecordGroup { return d.groups }

// openRecording names a file by the Call-ID with only its safe
// characters, never overwrites another call's file, and refuses a
// directory that would leave the recordings directory (an attacker's
// Call-ID cannot, whatever it holds).
func TestOpenRecordingNames(t *testing.T) {
	root := filepath.Join(t.TempDir(), "rec")
	for _, c := range []struct {
		callID, dir, want string
	}{
		{"abc@10.0.0.1", "sales", "7/sales/abc@10.0.0.1.wav"},
		{"abc@10.0.0.1", "sales", "7/sales/abc@10.0.0.1-2.wav"}, // the same Call-ID again
		{"../../../etc/cron.d/x", "", "7/......etccron.dx.wav"},
		{"/", "", "7/call.wav"},
	} {
		rel, f, err := openRecording(root, 7, c.dir, c.callID)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if rel != c.want {
			t.Errorf("Call-ID %q: %s, want %s", c.callID, rel, c.want)
		}
		info, err := os.Stat(filepath.Join(root, rel))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want a 0600 file", rel, info, err)
		}
	}
	if info, err := os.Stat(filepath.Join(root, "7")); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("directory: %v %v, want 0700", info, err)
	}
	// A group directory the API would refuse is refused here too, and a
	// symbolic link planted in the recordings directory is not followed
	// out of it.
	if _, _, err := openRecording(root, 7, "../x", "a"); err == nil {
		t.Error("directory ../x accepted")
	}
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(root, "8")); err != nil {
		t.Fatal(err)
	}
	if rel, f, err := openRecording(root, 8, "", "a"); err == nil {
		f.Close()
		t.Errorf("a file was created through a symbolic link out of the recordings directory: %s", rel)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside: %v", entries)
	}
}

// SweepRecordings deletes the .wav files of a group's directory older
// than its retention, and nothing else: newer files, other files, files
// of a group that keeps them for ever, and what a symbolic link points
// at.
func TestSweepRecordings(t *testing.T) {
	root := t.TempDir()
	d := &groupDirectory{testDirectory: newTestDirectory(), groups: []routing.RecordGroup{
		{ID: 1, Customer: 2, Calls: routing.RecordAll, Retention: 30, Directory: "sales"},
		{ID: 2, Customer: 2, Calls: routing.RecordAll, Retention: 0, Directory: "keep"},
		{ID: 3, Customer: 3, Calls: routing.RecordAll, Retention: 1, Directory: "none-yet"},
	}}
	s, err := New(d, WithRecordings(root))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	outside := filepath.Join(t.TempDir(), "precious.wav")
	os.WriteFile(outside, []byte("x"), 0o600)
	files := map[string]time.Duration{
		"2/sales/old.wav":      31 * 24 * time.Hour,
		"2/sales/new.wav":      29 * 24 * time.Hour,
		"2/sales/old.txt":      40 * 24 * time.Hour,
		"2/sales/deeper/a.wav": 40 * 24 * time.Hour,
		"2/keep/old.wav":       400 * 24 * time.Hour,
	}
	for name, age := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o700)
		os.WriteFile(p, []byte("RIFF"), 0o600)
		os.Chtimes(p, now.Add(-age), now.Add(-age))
	}
	link := filepath.Join(root, "2/sales/link.wav")
	os.Symlink(outside, link)
	os.Chtimes(outside, now.Add(-400*24*time.Hour), now.Add(-400*24*time.Hour))
	n, err := s.SweepRecordings(now)
	if err != nil || n != 1 {
		t.Fatalf("swept %d (%v), want 1", n, err)
	}
	for name := range files {
		_, err := os.Stat(filepath.Join(root, name))
		if gone := os.IsNotExist(err); gone != (name == "2/sales/old.wav") {
			t.Errorf("%s: gone %v", name, gone)
		}
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("the file a link pointed at: %v", err)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Errorf("the link itself: %v", err)
	}
	if !strings.HasSuffix(routing.RecordingName("x/y"), "xy") {
		t.Fatal(routing.RecordingName("x/y"))
	}
}
