package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// ErrInsecureFile is returned by Open for a SQLite file that users other
// than its owner may read or write and that this process cannot make
// private (it belongs to another user).
var ErrInsecureFile = errors.New("storage: database file open to other users")

// privateMode is the mode of the SQLite file and of the -wal and -shm
// files SQLite makes beside it: the store holds SIP passwords in clear
// text (the SIP core needs them to check digests), so only the service
// user may read it.
const privateMode fs.FileMode = 0o600

// sqliteCompanions are the files SQLite keeps beside the database file;
// they hold pages of the database, passwords included.
var sqliteCompanions = []string{"", "-wal", "-shm", "-journal"}

// securePrivateFiles is run before SQLite opens path. A missing database
// file is created empty with privateMode, whatever the umask: SQLite
// treats an empty file as a new database and gives the -wal and -shm
// files it creates the database file's mode. An existing file (or
// companion) that group or others may use is made private when this
// process owns it, with a WARN naming the mode it had; one that belongs
// to another user is refused (ErrInsecureFile), as sshd's StrictModes
// refuses keys others can read.
//
// INFERRED: tightening rather than refusing outright, because an
// operator upgrading sipswitch has a 0644 database that earlier versions
// made; refusing to start over it would leave a switch down for a fix
// the daemon can make itself.
func securePrivateFiles(path string, log *slog.Logger) error {
	if path == ":memory:" {
		return nil
	}
	if err := createPrivate(path); err != nil {
		return err
	}
	for _, suffix := range sqliteCompanions {
		if err := tightenMode(path+suffix, log); err != nil {
			return err
		}
	}
	return nil
}

// createPrivate creates path empty with privateMode unless it exists.
func createPrivate(path string) error {
	if _, err := os.Stat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return nil // SQLite reports what is wrong with a path it cannot use
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, privateMode)
	if errors.Is(err, fs.ErrExist) {
		return nil // another process made it first: tightenMode checks it
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	return f.Close()
}

// tightenMode makes an existing regular file private (see
// securePrivateFiles).
func tightenMode(path string, log *slog.Logger) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	mode := st.Mode().Perm()
	if !st.Mode().IsRegular() || mode&0o077 == 0 {
		return nil
	}
	owner, known := fileOwner(st)
	if !known {
		return nil // no POSIX owner and modes on this system
	}
	if me := os.Geteuid(); owner != me {
		return fmt.Errorf("%w: %s has mode %04o and belongs to uid %d, not to this process (uid %d): chmod 600 it, or run sipswitch as its owner",
			ErrInsecureFile, path, mode, owner, me)
	}
	if err := os.Chmod(path, mode&^0o077); err != nil {
		return fmt.Errorf("%w: %s has mode %04o: %w", ErrInsecureFile, path, mode, err)
	}
	log.Warn("storage: database file was open to other users; made it private",
		"file", path, "old_mode", fmt.Sprintf("%04o", mode), "new_mode", fmt.Sprintf("%04o", mode&^0o077))
	return nil
}
