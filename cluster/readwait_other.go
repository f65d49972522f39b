//go:build !linux

package cluster

import (
	"syscall"
	"time"
)

// readWait waits for nothing off Linux: the read waits in the runtime's
// poller (unpeeked.Read).
type readWait struct{}

func (w *readWait) init() {}

func (w *readWait) await(syscall.RawConn, time.Duration) {}
