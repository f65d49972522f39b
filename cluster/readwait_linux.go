//go:build linux

package cluster

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// readWait is one ppoll(2) for a connection's file descriptor to be
// readable, up to a timeout (unpeeked.Read); fn is its function for
// RawConn.Control, made once, so a wait allocates nothing.
type readWait struct {
	fds     [1]unix.PollFd
	timeout unix.Timespec
	fn      func(fd uintptr)
}

func (w *readWait) init() {
	w.fn = func(fd uintptr) {
		w.fds[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
		// Readable, timed out or interrupted: the read that follows
		// tells which.
		_, _ = unix.Ppoll(w.fds[:], &w.timeout, nil)
	}
}

// await blocks the thread until raw's connection is readable or d has
// passed.
func (w *readWait) await(raw syscall.RawConn, d time.Duration) {
	w.timeout = unix.NsecToTimespec(int64(d))
	// An error is the connection's (closed): the read reports it.
	_ = raw.Control(w.fn)
}
