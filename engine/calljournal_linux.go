package engine

import (
	"os"
	"syscall"
)

// datasync is fdatasync(2): the data written and the size, not the
// times. Through the file's raw connection, so that a file closed
// meanwhile fails instead of syncing a descriptor reused by another.
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Fdatasync(int(fd)) }); err != nil {
		return err
	}
	return serr
}
