package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteFilesOnlyOnChange(t *testing.T) {
	dir := t.TempDir()
	files, err := Render(fixtureSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	changed, err := WriteFiles(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != len(FileNames) {
		t.Fatalf("first write changed %v, want all %d", changed, len(FileNames))
	}
	old := time.Now().Add(-time.Hour)
	for _, n := range FileNames {
		os.Chtimes(filepath.Join(dir, n), old, old)
	}
	changed, err = WriteFiles(dir, files)
	if err != nil || len(changed) != 0 {
		t.Fatalf("unchanged write: changed=%v err=%v", changed, err)
	}
	for _, n := range FileNames {
		st, _ := os.Stat(filepath.Join(dir, n))
		if !st.ModTime().Equal(old.Truncate(time.Second)) && st.ModTime().After(old.Add(time.Minute)) {
			t.Errorf("%s was rewritten although unchanged", n)
		}
	}
	s := fixtureSnapshot()
	s.Peers[0].Username = "acct-z"
	files2, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	changed, err = WriteFiles(dir, files2)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(changed, ",") != "pjsip.conf" {
		t.Errorf("changed = %v, want pjsip.conf (the SIP driver's file)", changed)
	}
	got, _ := os.ReadFile(filepath.Join(dir, FilePJSIP))
	if string(got) != string(files2[FilePJSIP]) {
		t.Error("pjsip.conf content not replaced")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(FileNames) {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestWriteFilesFailureKeepsPreviousFiles(t *testing.T) {
	dir := t.TempDir()
	files, _ := Render(fixtureSnapshot())
	if _, err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	// A directory squatting on the temp-file pattern's target makes the
	// rename of that one file fail.
	if err := os.Remove(filepath.Join(dir, FileSIP)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, FileSIP), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, FileSIP, "x"), []byte("x"), 0o644)
	s := fixtureSnapshot()
	s.Revision = 43
	files2, _ := Render(s)
	if _, err := WriteFiles(dir, files2); err == nil {
		t.Fatal("want an error when sip.conf cannot be replaced")
	}
	// Files written before the failure are complete new versions; the
	// others keep the previous good content.
	for _, n := range []string{FileExtensions, FileIAX, FilePJSIP} {
		b, _ := os.ReadFile(filepath.Join(dir, n))
		if string(b) != string(files2[n]) && string(b) != string(files[n]) {
			t.Errorf("%s is neither the old nor the new version", n)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
	if _, err := WriteFiles(dir, Files{"../escape.conf": []byte("x")}); err == nil {
		t.Error("path traversal accepted")
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	files, _ := Render(fixtureSnapshot())
	diff, drift, err := Check(dir, files)
	if err != nil || !drift || !strings.Contains(diff, "+[transport-udp]") {
		t.Fatalf("empty dir: drift=%v err=%v diff=%.200s", drift, err, diff)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatal("Check wrote files")
	}
	WriteFiles(dir, files)
	diff, drift, err = Check(dir, files)
	if err != nil || drift || diff != "" {
		t.Fatalf("in sync: drift=%v err=%v diff=%q", drift, err, diff)
	}
	s := fixtureSnapshot()
	s.Phones[0].Language = "fr"
	files2, _ := Render(s)
	diff, drift, err = Check(dir, files2)
	if err != nil || !drift {
		t.Fatalf("drift not detected: %v %v", drift, err)
	}
	if !strings.Contains(diff, "-language=en_GB") || !strings.Contains(diff, "+language=fr") || strings.Contains(diff, "extensions.conf") {
		t.Errorf("diff:\n%s", diff)
	}
}

// A render killed between creating its temporary file and the rename
// leaves ".NAME.tmp-*" behind; the next render removes those of the files
// it writes, whether or not their content changes, and leaves everything
// else in the directory alone.
func TestWriteFilesRemovesLeftoversOfInterruptedRenders(t *testing.T) {
	dir := t.TempDir()
	files, err := Render(fixtureSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	stale := []string{".extensions.conf.tmp-2837461", ".sip.conf.tmp-99", ".pjsip.conf.tmp-"}
	kept := []string{".features.conf.tmp-1", "notes.txt", ".extensions.conf.bak"}
	for _, n := range append(append([]string{}, stale...), kept...) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("half a file"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 2 { // the second finds nothing to change
		if _, err := WriteFiles(dir, files); err != nil {
			t.Fatal(err)
		}
		for _, n := range stale {
			if _, err := os.Stat(filepath.Join(dir, n)); !os.IsNotExist(err) {
				t.Errorf("round %d: leftover %s still there (%v)", round, n, err)
			}
		}
		for _, n := range kept {
			if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
				t.Errorf("round %d: %s, not a leftover of ours, was removed: %v", round, n, err)
			}
		}
		if round == 0 {
			os.WriteFile(filepath.Join(dir, stale[0]), []byte("half a file"), 0o644)
		}
	}
	for name, want := range files {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != string(want) {
			t.Errorf("%s differs from the render", name)
		}
	}
}

// Writers of one directory take turns: one's cleanup never removes the
// temporary file another is about to rename.
func TestConcurrentWritersOfOneDirectory(t *testing.T) {
	dir := t.TempDir()
	a, _ := Render(fixtureSnapshot())
	s := fixtureSnapshot()
	s.Revision = 99
	b, _ := Render(s)
	errs := make(chan error, 2)
	for _, files := range []Files{a, b} {
		go func() {
			for range 30 {
				if _, err := WriteFiles(dir, files); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(a) {
		t.Errorf("directory holds %d entries, want the %d files", len(entries), len(a))
	}
}
