// Package atomicfile replaces a file so that a reader sees its old bytes
// or its new ones, never a part, and no other user can read the new ones
// at any moment: the rendered Asterisk files and the switch file hold
// passwords.
//
// A write goes to a temporary file in the same directory (".NAME.tmp-*",
// so a rename replaces the file within one file system), which
// os.CreateTemp makes 0600; it gets its final group and mode while still
// empty, then the bytes, fsync, and rename over NAME. The directory is
// synced by SyncDir, once after a batch of writes (render writes several
// files and syncs once); Write syncs nothing but the file.
package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Perm is what a written file gets before a byte is in it.
type Perm struct {
	// Mode is its permission bits (0600 for a secret its owner alone
	// reads, 0640 with a group that may read it).
	Mode fs.FileMode
	// GID is its group; -1 keeps the one the system gives.
	GID int
}

// TempPrefix starts the names of the temporary files of the file named
// name: what a writer killed before its rename leaves behind, for a
// caller that cleans up under its own lock.
func TempPrefix(name string) string { return "." + name + ".tmp-" }

// Write replaces path with data. On error path keeps its previous content
// and the temporary file is removed.
func Write(path string, data []byte, perm Perm) (err error) {
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, TempPrefix(name)+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if perm.GID >= 0 {
		if err = tmp.Chown(-1, perm.GID); err != nil {
			return fmt.Errorf("write %s: give it to group %d (the writing user must be a member): %w", path, perm.GID, err)
		}
	}
	if err = tmp.Chmod(perm.Mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: rename: %w", path, err)
	}
	return nil
}

// SyncDir makes the renames in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
