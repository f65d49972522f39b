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
	if len(changed) != 4 {
		t.Fatalf("first write changed %v, want all 4", changed)
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
	if strings.Join(changed, ",") != "pjsip.conf,sip.conf" {
		t.Errorf("changed = %v, want pjsip.conf,sip.conf", changed)
	}
	got, _ := os.ReadFile(filepath.Join(dir, FilePJSIP))
	if string(got) != string(files2[FilePJSIP]) {
		t.Error("pjsip.conf content not replaced")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
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
