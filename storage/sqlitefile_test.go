//go:build unix

package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// withUmask022 runs the test under the umask most hosts have, so a file
// created with the default 0666 would be readable by every local user.
func withUmask022(t *testing.T) {
	t.Helper()
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
}

// writeOne makes SQLite write through the WAL, so that -wal and -shm exist.
func writeOne(t *testing.T, db *DB) {
	t.Helper()
	if _, err := db.Write(context.Background(), func(tx *Tx) error {
		_, err := tx.Insert(context.Background(), "customers", Record{"name": "c"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func fileModes(t *testing.T, path string) map[string]os.FileMode {
	t.Helper()
	modes := map[string]os.FileMode{}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		st, err := os.Stat(path + suffix)
		if err != nil {
			t.Fatalf("%s: %v", path+suffix, err)
		}
		modes[filepath.Base(path+suffix)] = st.Mode().Perm()
	}
	return modes
}

// A store holds SIP passwords in clear: a new SQLite file, and the -wal
// and -shm files SQLite makes beside it, must be readable by their owner
// alone, whatever the umask (as an attacker with a shell on the host
// would otherwise read them: they were 0644 under umask 022).
func TestNewSQLiteFilesArePrivate(t *testing.T) {
	withUmask022(t)
	path := filepath.Join(t.TempDir(), "sipswitch.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	writeOne(t, db)
	for name, mode := range fileModes(t, path) {
		if mode != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", name, mode)
		}
	}
}

// An existing store others can read (as earlier versions made it) is
// made private when this process owns it, with a WARN naming the old
// mode, and opens.
func TestExistingOpenSQLiteFileIsMadePrivate(t *testing.T) {
	withUmask022(t)
	path := filepath.Join(t.TempDir(), "sipswitch.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	writeOne(t, db)
	// Copy the -wal and -shm aside before Close folds them away, to put
	// back what a crashed daemon leaves.
	keep := map[string][]byte{}
	for _, suffix := range []string{"-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		keep[suffix] = b
	}
	db.Close()
	for suffix, b := range keep {
		if err := os.WriteFile(path+suffix, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Chmod(path+suffix, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	db, err = Open(context.Background(), path, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	writeOne(t, db)
	for name, mode := range fileModes(t, path) {
		if mode != 0o600 {
			t.Errorf("%s has mode %04o after open, want 0600", name, mode)
		}
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		want := fmt.Sprintf("file=%s old_mode=0644 new_mode=0600", path+suffix)
		if !strings.Contains(logs.String(), want) || !strings.Contains(logs.String(), "level=WARN") {
			t.Errorf("no WARN %q in the log:\n%s", want, logs.String())
		}
	}
}

// A store others can read that belongs to another user is refused: this
// process cannot make it private, and should not use it as it is.
func TestOpenSQLiteFileOfAnotherUserIsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	path := filepath.Join(t.TempDir(), "sipswitch.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path)
	if !errors.Is(err, ErrInsecureFile) || !strings.Contains(err.Error(), "mode 0644") || !strings.Contains(err.Error(), "uid 65534") {
		t.Fatalf("Open = %v, want ErrInsecureFile naming the mode and the owner", err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("another user's file was changed to %04o", st.Mode().Perm())
	}
	// Private, it opens (root may read it).
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("private file of another user: %v", err)
	}
	db.Close()
}
