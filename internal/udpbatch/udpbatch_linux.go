//go:build linux

package udpbatch

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Batched datagram I/O with recvmmsg(2)/sendmmsg(2) through the socket's
// syscall.RawConn, so the goroutine still parks in Go's netpoller while a
// socket is idle. Both calls are made with MSG_DONTWAIT, never block, and
// go through RawSyscall6: a P in a (non-raw) system call while every
// other P is busy is retaken by the runtime's sysmon, which then also
// keeps polling every 20 us; measured on the relay, that was a sixth of
// its CPU. golang.org/x/net's ipv4.PacketConn.ReadBatch does the
// same syscall but allocates a *net.UDPAddr and its net.IP for every
// message (internal/socket parseInetAddr); here headers, iovecs and
// address buffers are allocated once per socket and the source address is
// decoded into a netip.AddrPort, so the hot path allocates nothing
// (BenchmarkReadXNet vs BenchmarkRead show both).

const sockaddrLen = unix.SizeofSockaddrInet6 // room for either family

// sockaddr is a destination in the kernel's format.
type sockaddr struct {
	b   [sockaddrLen]byte
	len uint32
}

func makeSockaddr(ap netip.AddrPort) sockaddr {
	var s sockaddr
	addr := ap.Addr()
	if addr.Is4() || addr.Is4In6() {
		binary.NativeEndian.PutUint16(s.b[0:2], unix.AF_INET)
		binary.BigEndian.PutUint16(s.b[2:4], ap.Port())
		a4 := addr.Unmap().As4()
		copy(s.b[4:8], a4[:])
		s.len = unix.SizeofSockaddrInet4
		return s
	}
	binary.NativeEndian.PutUint16(s.b[0:2], unix.AF_INET6)
	binary.BigEndian.PutUint16(s.b[2:4], ap.Port())
	a16 := addr.As16()
	copy(s.b[8:24], a16[:])
	s.len = unix.SizeofSockaddrInet6
	return s
}

func parseSockaddr(b *[sockaddrLen]byte, n uint32) netip.AddrPort {
	switch binary.NativeEndian.Uint16(b[0:2]) {
	case unix.AF_INET:
		if n < unix.SizeofSockaddrInet4 {
			return netip.AddrPort{}
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), binary.BigEndian.Uint16(b[2:4]))
	case unix.AF_INET6:
		if n < unix.SizeofSockaddrInet6 {
			return netip.AddrPort{}
		}
		// IPv4-mapped sources on a dual-stack socket compare equal to
		// the IPv4 addresses signalled in SDP.
		a := netip.AddrFrom16([16]byte(b[8:24])).Unmap()
		return netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[2:4]))
	}
	return netip.AddrPort{}
}

// Reader reads batches of datagrams from one UDP socket. One goroutine
// at a time may use it.
type Reader struct {
	rc syscall.RawConn // nil for a raw socket (NewFDReader)
	fd int

	hdrs   []unix.Mmsghdr
	iovs   []unix.Iovec
	names  [][sockaddrLen]byte
	bufs   [][]byte
	oob    [][]byte // control messages: the kernel's receive times (EnableTimestamps)
	n      int      // datagrams of the last call: their headers need resetting
	err    error
	recvFn func(fd uintptr) bool
}

// NewReader reads conn; Read parks the goroutine in Go's netpoller while
// nothing is waiting. bufSize bounds a datagram.
func NewReader(conn *net.UDPConn, batch, bufSize int) (*Reader, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("udpbatch: raw socket: %w", err)
	}
	c := newReader(batch, bufSize)
	c.rc = rc
	return c, nil
}

// NewFDReader reads a non-blocking socket of ListenFD; Read never blocks
// and returns 0 when nothing is waiting (the caller polls the socket).
func NewFDReader(fd, batch, bufSize int) *Reader {
	c := newReader(batch, bufSize)
	c.fd = fd
	return c
}

func newReader(batch, bufSize int) *Reader {
	c := &Reader{
		hdrs:  make([]unix.Mmsghdr, batch),
		iovs:  make([]unix.Iovec, batch),
		names: make([][sockaddrLen]byte, batch),
		bufs:  make([][]byte, batch),
	}
	for i := range c.bufs {
		c.bufs[i] = make([]byte, bufSize)
		c.iovs[i].Base = &c.bufs[i][0]
		c.iovs[i].SetLen(bufSize)
		c.hdrs[i].Hdr.Name = &c.names[i][0]
		c.hdrs[i].Hdr.Iov = &c.iovs[i]
		c.hdrs[i].Hdr.SetIovlen(1)
	}
	for i := range c.hdrs {
		c.hdrs[i].Hdr.Namelen = sockaddrLen
	}
	c.recvFn = c.recv
	return c
}

func (c *Reader) recv(fd uintptr) bool {
	r, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&c.hdrs[0])), uintptr(len(c.hdrs)), unix.MSG_DONTWAIT, 0, 0)
	switch errno {
	case 0:
		c.n, c.err = int(r), nil
	case unix.EAGAIN, unix.EINTR:
		return false // park in the netpoller until readable
	default:
		c.n, c.err = 0, errno
	}
	return true
}

// Read returns how many datagrams were read (Msg(i) gives each): a Reader
// of NewReader blocks until there is at least one, one of NewFDReader
// returns 0 when there is none.
func (c *Reader) Read() (int, error) {
	// Only the headers the last call filled need resetting.
	for i := range c.n {
		c.hdrs[i].Hdr.Namelen = sockaddrLen
		c.hdrs[i].Hdr.Flags = 0
		c.hdrs[i].Len = 0
		if c.oob != nil {
			c.hdrs[i].Hdr.SetControllen(len(c.oob[i]))
		}
	}
	c.n = 0
	if c.rc == nil {
		if !c.recv(uintptr(c.fd)) {
			return 0, nil
		}
		return c.n, c.err
	}
	if err := c.rc.Read(c.recvFn); err != nil {
		return 0, err
	}
	return c.n, c.err
}

// Msg is the i-th datagram of the last Read; a datagram larger than
// the buffer comes back empty.
func (c *Reader) Msg(i int) ([]byte, netip.AddrPort) {
	h := &c.hdrs[i]
	n := int(h.Len)
	if h.Hdr.Flags&unix.MSG_TRUNC != 0 {
		n = 0
	}
	return c.bufs[i][:n], parseSockaddr(&c.names[i], h.Hdr.Namelen)
}

// EnableTimestamps has the kernel stamp every datagram with the time it
// was queued on the socket (SO_TIMESTAMPNS, CLOCK_REALTIME), which
// Timestamp returns: a measurement can then tell the time a datagram
// spent on its way from the time its reader took to read it (a batch is
// read at one moment, its datagrams arrived at several). Call it before
// the first Read.
func (c *Reader) EnableTimestamps() error {
	fd := c.fd
	var serr error
	set := func(s uintptr) { serr = unix.SetsockoptInt(int(s), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) }
	if c.rc != nil {
		if err := c.rc.Control(set); err != nil {
			return fmt.Errorf("udpbatch: timestamps: %w", err)
		}
	} else {
		set(uintptr(fd))
	}
	if serr != nil {
		return fmt.Errorf("udpbatch: timestamps: %w", serr)
	}
	c.oob = make([][]byte, len(c.hdrs))
	for i := range c.oob {
		c.oob[i] = make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{}))))
		c.hdrs[i].Hdr.Control = &c.oob[i][0]
		c.hdrs[i].Hdr.SetControllen(len(c.oob[i]))
	}
	return nil
}

// Timestamp is the kernel's receive time of the i-th datagram of the last
// Read in nanoseconds since the Unix epoch, 0 without one (timestamps not
// enabled, or the control message did not fit).
func (c *Reader) Timestamp(i int) int64 {
	if c.oob == nil {
		return 0
	}
	h := &c.hdrs[i]
	if h.Hdr.Flags&unix.MSG_CTRUNC != 0 {
		return 0
	}
	oob := c.oob[i][:h.Hdr.Controllen]
	// One control message is asked for: parse it in place (ParseSocketControlMessage allocates).
	for len(oob) >= unix.SizeofCmsghdr {
		cm := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		if cm.Len < unix.SizeofCmsghdr || int(cm.Len) > len(oob) {
			return 0
		}
		if cm.Level == unix.SOL_SOCKET && cm.Type == unix.SCM_TIMESTAMPNS && int(cm.Len) >= unix.CmsgLen(int(unsafe.Sizeof(unix.Timespec{}))) {
			ts := (*unix.Timespec)(unsafe.Pointer(&oob[unix.CmsgLen(0)]))
			return ts.Nano()
		}
		oob = oob[min(unix.CmsgSpace(int(cm.Len)-unix.CmsgLen(0)), len(oob)):]
	}
	return 0
}

// Writer collects datagrams to send on one socket and sends them with one
// system call. One goroutine at a time may use a Writer; several Writers
// may send on the same socket.
type Writer struct {
	rc     syscall.RawConn // nil for a raw socket (NewFDWriter)
	fd     int
	hdrs   []unix.Mmsghdr
	iovs   []unix.Iovec
	dsts   []*Dest // keeps destinations alive while the kernel reads them
	n      int
	off    int
	sent   int
	err    error
	sendFn func(fd uintptr) bool
}

// NewWriter sends on conn; Flush waits in Go's netpoller while the
// socket's buffer is full.
func NewWriter(conn *net.UDPConn, batch int) (*Writer, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("udpbatch: raw socket: %w", err)
	}
	o := newWriter(batch)
	o.rc = rc
	return o, nil
}

// NewFDWriter sends on a non-blocking socket of ListenFD; Flush never
// blocks: what does not fit the socket's buffer counts as failed.
func NewFDWriter(fd, batch int) *Writer {
	o := newWriter(batch)
	o.fd = fd
	return o
}

func newWriter(batch int) *Writer {
	o := &Writer{hdrs: make([]unix.Mmsghdr, batch), iovs: make([]unix.Iovec, batch), dsts: make([]*Dest, batch)}
	for i := range o.hdrs {
		o.hdrs[i].Hdr.Iov = &o.iovs[i]
		o.hdrs[i].Hdr.SetIovlen(1)
	}
	o.sendFn = o.send
	return o
}

// Add queues b for dst (nil: the address the socket is connected to); b
// must stay unchanged until Flush.
func (o *Writer) Add(b []byte, dst *Dest) {
	h := &o.hdrs[o.n]
	if dst == nil {
		h.Hdr.Name, h.Hdr.Namelen = nil, 0
	} else {
		h.Hdr.Name = &dst.sa.b[0]
		h.Hdr.Namelen = dst.sa.len
	}
	o.iovs[o.n].Base = &b[0]
	o.iovs[o.n].SetLen(len(b))
	o.dsts[o.n] = dst
	o.n++
}

// Full reports whether the batch is full (Flush before the next Add).
func (o *Writer) Full() bool { return o.n == len(o.hdrs) }

func (o *Writer) send(fd uintptr) bool {
	r, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&o.hdrs[o.off])), uintptr(o.n-o.off), unix.MSG_DONTWAIT, 0, 0)
	switch errno {
	case 0:
		o.sent, o.err = int(r), nil
	case unix.EAGAIN, unix.EINTR:
		return false // socket buffer full: wait until writable
	default:
		o.sent, o.err = 0, errno
	}
	return true
}

// Flush sends what was added and returns how many datagrams could not be
// sent. A datagram the kernel refuses (no route, wrong address family) is
// skipped and the rest of the batch still goes.
func (o *Writer) Flush() (failed int, err error) {
	for o.off = 0; o.off < o.n; {
		if o.rc == nil {
			if !o.send(uintptr(o.fd)) {
				failed += o.n - o.off
				err = unix.EAGAIN
				break
			}
		} else if werr := o.rc.Write(o.sendFn); werr != nil {
			failed += o.n - o.off
			err = werr
			break
		}
		if o.err != nil {
			failed++
			err = o.err
			o.off++
			continue
		}
		o.off += o.sent
	}
	clear(o.dsts[:o.n])
	o.n = 0
	return failed, err
}

// Len is the number of datagrams queued.
func (o *Writer) Len() int { return o.n }

// ListenFD binds a non-blocking UDP socket outside Go's netpoller (for a
// caller that polls its sockets itself with epoll) and returns its
// descriptor; CloseFD closes it.
func ListenFD(ap netip.AddrPort) (int, error) {
	addr := ap.Addr().Unmap()
	family := unix.AF_INET
	var sa unix.Sockaddr = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: addr.As4()}
	if addr.Is6() {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: addr.As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return -1, fmt.Errorf("udpbatch: socket: %w", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(ap), Err: err}
	}
	return fd, nil
}

// CloseFD closes a socket of ListenFD.
func CloseFD(fd int) error { return unix.Close(fd) }

// LocalAddr is the address a socket of ListenFD is bound to.
func LocalAddr(fd int) (netip.AddrPort, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, err
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), nil
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port)), nil
	}
	return netip.AddrPort{}, fmt.Errorf("udpbatch: address family %T", sa)
}
