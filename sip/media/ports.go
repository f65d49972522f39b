package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
)

// Port pairs (RFC 3550 11, RFC 3551 7): RTP on an even port, RTCP on the
// next (odd) port. Every relayed stream of a leg holds one pair for its
// lifetime, even when rtcp-mux leaves the odd port unused: an offer that
// proposes rtcp-mux may be answered without it (RFC 5761 5.1.1), and the
// fallback must already be bound.

var (
	// ErrNoPorts is returned when every pair of the port range is in use
	// or could not be bound.
	ErrNoPorts = errors.New("media: no free RTP port pair in the range")
	// ErrPortRange is returned for a port range that holds no even/odd pair.
	ErrPortRange = errors.New("media: invalid port range")
)

// portPair is one bound even/odd pair.
type portPair struct {
	rtp, rtcp udpSock
	port      int // the even (RTP) port
}

// udpSock is a relay socket: a *net.UDPConn read by its own goroutine, or
// (epoll model) a raw descriptor read by a poll worker.
type udpSock struct {
	conn *net.UDPConn
	fd   int
}

func (s udpSock) close() {
	if s.conn != nil {
		s.conn.Close()
		return
	}
	closeFD(s.fd)
}

// PortAllocator hands out even/odd UDP port pairs of a range, picked at
// random so that a call's relay ports do not tell the next call's (as
// rtpengine and rtpproxy pick them). The free pairs are a queue, oldest
// released first; a pair is drawn at random from its older half, and a
// released pair goes to the back. So a pair is not handed out again
// before about half of the free pairs have been, and late packets of an
// ended call do not reach the next one. The draw is math/rand/v2's
// generator (ChaCha8, seeded by the runtime from the system's entropy):
// O(1), no allocation, no lock of its own.
//
// It is safe for concurrent use.
type PortAllocator struct {
	min, max int
	bind     func(port int) (udpSock, error)

	mu    sync.Mutex
	free  []int // even ports, a ring: head at free[head], oldest first
	head  int
	count int
	inUse map[int]bool
}

// NewPortAllocator manages the even ports of [minPort, maxPort] (each with
// its odd successor, which must also be in the range) on addr.
func NewPortAllocator(addr netip.Addr, minPort, maxPort int) (*PortAllocator, error) {
	return newPortAllocator(minPort, maxPort, bindConn(addr))
}

// bindConn binds sockets for the goroutine model.
func bindConn(addr netip.Addr) func(port int) (udpSock, error) {
	return func(port int) (udpSock, error) {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(port))))
		return udpSock{conn: c, fd: -1}, err
	}
}

func newPortAllocator(minPort, maxPort int, bind func(port int) (udpSock, error)) (*PortAllocator, error) {
	if minPort%2 == 1 {
		minPort++
	}
	if minPort <= 0 || maxPort > 65535 || minPort+1 > maxPort {
		return nil, fmt.Errorf("%w: %d-%d", ErrPortRange, minPort, maxPort)
	}
	a := &PortAllocator{min: minPort, max: maxPort, bind: bind, inUse: make(map[int]bool)}
	for p := minPort; p+1 <= maxPort; p += 2 {
		a.free = append(a.free, p)
	}
	a.count = len(a.free)
	return a, nil
}

// Pairs is the number of pairs in the range.
func (a *PortAllocator) Pairs() int { return len(a.free) }

// InUse is the number of pairs handed out and not yet released.
func (a *PortAllocator) InUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.inUse)
}

// take pops a free even port, drawn at random from the older half of the
// queue. failed is how many pairs this allocation could not bind: they
// went to the back, so the draw is kept to the entries before them.
func (a *PortAllocator) take(failed int) (int, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.count == 0 {
		return 0, false
	}
	window := max(min((a.count+1)/2, a.count-failed), 1)
	if i := (a.head + rand.IntN(window)) % len(a.free); i != a.head {
		a.free[a.head], a.free[i] = a.free[i], a.free[a.head]
	}
	p := a.free[a.head]
	a.head = (a.head + 1) % len(a.free)
	a.count--
	a.inUse[p] = true
	return p, true
}

// put returns an even port to the back of the queue.
func (a *PortAllocator) put(p int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.inUse[p] {
		return
	}
	delete(a.inUse, p)
	a.free[(a.head+a.count)%len(a.free)] = p
	a.count++
}

// allocate binds a random free pair (take). A pair whose even or odd port
// cannot be bound (another program holds it) goes back to the end of the
// queue and another untried pair is drawn; after as many failures as
// there are pairs, ErrNoPorts.
func (a *PortAllocator) allocate() (*portPair, error) {
	var lastErr error
	for failed := range len(a.free) {
		p, ok := a.take(failed)
		if !ok {
			break
		}
		rtp, err := a.bind(p)
		if err != nil {
			lastErr = err
			a.put(p)
			continue
		}
		rtcp, err := a.bind(p + 1)
		if err != nil {
			lastErr = err
			rtp.close()
			a.put(p)
			continue
		}
		return &portPair{rtp: rtp, rtcp: rtcp, port: p}, nil
	}
	if lastErr != nil {
		return nil, fmt.Errorf("%w (%d-%d; last bind error: %v)", ErrNoPorts, a.min, a.max, lastErr)
	}
	return nil, fmt.Errorf("%w (%d-%d, %d pairs in use)", ErrNoPorts, a.min, a.max, a.InUse())
}

// release closes the pair's sockets and returns its ports.
func (a *PortAllocator) release(pp *portPair) {
	pp.rtp.close()
	pp.rtcp.close()
	a.put(pp.port)
}
