//go:build unix

package importer_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sipswitch/sipswitch/importer"
)

// The switch file holds the lines' passwords: a new one is its owner's
// alone whatever the umask, and an existing one others could read is
// written back without their bits (it was 0640 new, and kept 0644).
func TestSwitchFileIsPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	ctx := context.Background()
	dir := t.TempDir()
	fresh := filepath.Join(dir, "new.yaml")
	if _, err := importer.Import(ctx, importer.Options{Dir: "testdata/chansip"}, importer.ToSwitchFile(fresh), false); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open.yaml")
	if err := os.WriteFile(open, []byte(existingSwitchFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := importer.Import(ctx, importer.Options{Dir: "testdata/chansip"}, importer.ToSwitchFile(open), false); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fresh, open} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", filepath.Base(path), st.Mode().Perm())
		}
		if b, _ := os.ReadFile(path); !strings.Contains(string(b), "Line2001pw431") {
			t.Errorf("%s lacks the imported line's password: not the file this test is about", filepath.Base(path))
		}
	}
}
