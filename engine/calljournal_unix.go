//go:build unix

package engine

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes f's exclusive lock without waiting: held until f closes
// (or the process dies, however it dies).
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrJournalLocked
	}
	return err
}

// syncDir makes the names in dir durable (a new segment's).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
