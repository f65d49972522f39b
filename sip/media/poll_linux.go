//go:build linux

package media

import (
	"fmt"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sipswitch/sipswitch/internal/udpbatch"
)

// The epoll model (WithPollWorkers): a few worker goroutines each own an
// epoll set holding a share of the sockets, and read every socket that is
// ready with one recvmmsg, forwarding with sendmmsg. The sockets are raw
// non-blocking descriptors outside Go's netpoller, so a packet costs no
// goroutine wake-up, no park and no second (EAGAIN) recvmmsg. Level
// triggering lets a busy socket wait for the next round instead of
// starving the others.
//
// A worker does not block in epoll_wait(2): the epoll descriptor itself
// is registered with Go's netpoller (an epoll set is readable while any
// of its sockets is), epoll_wait is called with a zero timeout, and the
// goroutine parks in the netpoller when nothing is ready. A worker blocked
// in the system call made the runtime's sysmon retake its P every time
// and poll every 20 us: measured, that cost a fifth of a core at 200
// calls.

const pollSupported = true

type poller struct {
	workers []*pollWorker
}

type pollWorker struct {
	e      *Engine
	epfd   int
	file   *os.File // epfd in Go's netpoller
	rc     syscall.RawConn
	done   chan struct{}
	events []unix.EpollEvent
	n      int
	err    error
	waitFn func(fd uintptr) bool

	mu      sync.RWMutex // held for reading while a round of events is handled
	readers map[int32]*reader
}

func newPoller(e *Engine, n int) (*poller, error) {
	p := &poller{}
	for range n {
		w, err := newPollWorker(e)
		if err != nil {
			p.close()
			return nil, err
		}
		p.workers = append(p.workers, w)
		go w.run()
	}
	return p, nil
}

func newPollWorker(e *Engine) (*pollWorker, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("media: epoll: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("media: epoll: %w", err)
	}
	file := os.NewFile(uintptr(epfd), "media-epoll")
	rc, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("media: epoll: %w", err)
	}
	w := &pollWorker{e: e, epfd: epfd, file: file, rc: rc, done: make(chan struct{}),
		events: make([]unix.EpollEvent, 256), readers: make(map[int32]*reader)}
	w.waitFn = w.wait
	return w, nil
}

// wait collects ready sockets without blocking; false parks the worker
// in the netpoller until the epoll set is readable.
// epoll_pwait(2) with a zero timeout never blocks: a raw system call (see
// udpbatch on sysmon).
func (w *pollWorker) wait(fd uintptr) bool {
	r, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, fd, uintptr(unsafe.Pointer(&w.events[0])), uintptr(len(w.events)), 0, 0, 0)
	switch {
	case errno == unix.EINTR:
		return false
	case errno != 0:
		w.n, w.err = 0, errno
		return true
	case r == 0:
		return false
	}
	w.n, w.err = int(r), nil
	return true
}

func (w *pollWorker) run() {
	defer close(w.done)
	for {
		if err := w.rc.Read(w.waitFn); err != nil {
			return // closed
		}
		if w.err != nil {
			w.e.log.Error("media epoll_wait failed: worker stops", "error", w.err)
			return
		}
		w.mu.RLock()
		for i := range w.n {
			if r := w.readers[w.events[i].Fd]; r != nil {
				r.poll()
			}
		}
		w.mu.RUnlock()
	}
}

func (w *pollWorker) add(fd int, r *reader) error {
	w.mu.Lock()
	w.readers[int32(fd)] = r
	w.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		w.remove(fd)
		return fmt.Errorf("media: epoll add: %w", err)
	}
	return nil
}

// remove stops polling fd; when it returns, the worker is not handling it
// (a round in progress has finished).
func (w *pollWorker) remove(fd int) {
	_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	w.mu.Lock()
	delete(w.readers, int32(fd))
	w.mu.Unlock()
}

// close stops the workers: closing the epoll file wakes a parked worker
// with an error.
func (p *poller) close() {
	for _, w := range p.workers {
		w.file.Close()
		<-w.done
	}
}

// bindFD binds sockets for the epoll model.
func bindFD(addr netip.Addr) func(port int) (udpSock, error) {
	return func(port int) (udpSock, error) {
		fd, err := udpbatch.ListenFD(netip.AddrPortFrom(addr, uint16(port)))
		return udpSock{fd: fd}, err
	}
}

func closeFD(fd int) {
	if fd >= 0 {
		_ = udpbatch.CloseFD(fd)
	}
}

func fdReader(fd, batch, bufSize int) *udpbatch.Reader {
	return udpbatch.NewFDReader(fd, batch, bufSize)
}
func fdWriter(fd, batch int) *udpbatch.Writer { return udpbatch.NewFDWriter(fd, batch) }
