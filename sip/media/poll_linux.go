//go:build linux

package media

import (
	"fmt"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/sipswitch/sipswitch/sip/media/internal/udpbatch"
)

// The epoll model (WithPollWorkers): a few worker goroutines, each blocked
// in epoll_wait(2) on its own epoll set, read every socket that is ready
// with one recvmmsg and forward with sendmmsg. The sockets are raw
// non-blocking descriptors outside Go's netpoller, so a packet costs no
// goroutine wake-up, no park and no second (EAGAIN) recvmmsg; level
// triggering lets a busy socket wait for the next epoll_wait instead of
// starving the others.

const pollSupported = true

type poller struct {
	workers []*pollWorker
}

type pollWorker struct {
	e      *Engine
	epfd   int
	wakefd int // eventfd: stops the worker
	done   chan struct{}

	mu      sync.RWMutex // held for reading while a batch of events is handled
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
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("media: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, fmt.Errorf("media: epoll: %w", err)
	}
	return &pollWorker{e: e, epfd: epfd, wakefd: wakefd, done: make(chan struct{}), readers: make(map[int32]*reader)}, nil
}

func (w *pollWorker) run() {
	defer close(w.done)
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(w.epfd, events, -1)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			w.e.log.Error("media epoll_wait failed: worker stops", "error", err)
			return
		}
		w.mu.RLock()
		for i := range n {
			fd := events[i].Fd
			if fd == int32(w.wakefd) {
				w.mu.RUnlock()
				return
			}
			if r := w.readers[fd]; r != nil {
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
// (a batch in progress has finished).
func (w *pollWorker) remove(fd int) {
	_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	w.mu.Lock()
	delete(w.readers, int32(fd))
	w.mu.Unlock()
}

func (p *poller) close() {
	for _, w := range p.workers {
		var one [8]byte
		one[0] = 1 // eventfd counter += 1 (native endian; any non-zero value wakes)
		one[7] = 1
		_, _ = unix.Write(w.wakefd, one[:])
		<-w.done
		unix.Close(w.epfd)
		unix.Close(w.wakefd)
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
