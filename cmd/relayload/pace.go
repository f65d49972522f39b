//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pacer wakes a sender every interval: a timerfd (CLOCK_MONOTONIC, the
// kernel's high-resolution timers) read through Go's netpoller. A
// time.Sleep shorter than a millisecond is not what it says: a Go thread
// that waits for its next timer in the netpoller waits in epoll_wait,
// whose timeout is in whole milliseconds, so "200 us slots" paced by
// time.Sleep went out as bursts of five slots every 1.1-1.3 ms. The
// timerfd makes the netpoller's descriptor readable at the due time
// instead, without a blocking system call or a spinning thread.
type pacer struct {
	f      *os.File
	rc     syscall.RawConn
	buf    [8]byte
	n      uint64
	err    error
	readFn func(fd uintptr) bool
}

func newPacer(interval time.Duration) (*pacer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	ts := unix.NsecToTimespec(int64(interval))
	if err := unix.TimerfdSettime(fd, 0, &unix.ItimerSpec{Interval: ts, Value: ts}, nil); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "pacer")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	p := &pacer{f: f, rc: rc}
	p.readFn = p.read
	return p, nil
}

func (p *pacer) read(fd uintptr) bool {
	_, err := unix.Read(int(fd), p.buf[:])
	if errors.Is(err, unix.EAGAIN) {
		return false // park until the timer fires
	}
	p.err = err
	if err == nil {
		p.n = uint64(p.buf[0]) | uint64(p.buf[1])<<8 | uint64(p.buf[2])<<16 | uint64(p.buf[3])<<24 |
			uint64(p.buf[4])<<32 | uint64(p.buf[5])<<40 | uint64(p.buf[6])<<48 | uint64(p.buf[7])<<56
	}
	return true
}

// wait blocks until the next expiration and returns how many intervals
// passed since the last wait (more than 1: the sender was late).
func (p *pacer) wait() (uint64, error) {
	if err := p.rc.Read(p.readFn); err != nil {
		return 0, err
	}
	return p.n, p.err
}

func (p *pacer) close() { p.f.Close() }
