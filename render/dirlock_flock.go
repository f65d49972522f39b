//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package render

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive flock on the directory itself, so that no
// lock file appears beside the configuration an operator keeps in git. The
// lock is released by unlock, or by the kernel when the process dies, so a
// render killed half-way never leaves the directory locked.
func lockDir(dir string) (unlock func(), err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	for {
		err = syscall.Flock(int(d.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { d.Close() }, nil
}

// canLockDir: leftovers may be removed, since a writer that is still at
// work holds the lock.
const canLockDir = true
