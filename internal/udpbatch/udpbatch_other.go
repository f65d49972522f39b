//go:build !linux

package udpbatch

import (
	"errors"
	"net"
	"net/netip"
)

// Portable fallback: one datagram per system call through the zero-alloc
// netip methods of net.UDPConn. Only Linux has recvmmsg/sendmmsg.

type sockaddr struct{}

func makeSockaddr(netip.AddrPort) sockaddr { return sockaddr{} }

func (o *Writer) Len() int { return o.n }

type Reader struct {
	conn *net.UDPConn
	buf  []byte
	n    int
	src  netip.AddrPort
}

func NewReader(conn *net.UDPConn, _, bufSize int) (*Reader, error) {
	return &Reader{conn: conn, buf: make([]byte, bufSize)}, nil
}

func (c *Reader) Read() (int, error) {
	n, src, err := c.conn.ReadFromUDPAddrPort(c.buf)
	if err != nil {
		return 0, err
	}
	c.n, c.src = n, netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	return 1, nil
}

func (c *Reader) Msg(int) ([]byte, netip.AddrPort) { return c.buf[:c.n], c.src }

type Writer struct {
	conn *net.UDPConn
	pkts [][]byte
	dsts []*Dest
	n    int
}

func NewWriter(conn *net.UDPConn, batch int) (*Writer, error) {
	return &Writer{conn: conn, pkts: make([][]byte, batch), dsts: make([]*Dest, batch)}, nil
}

func (o *Writer) Add(b []byte, dst *Dest) { o.pkts[o.n], o.dsts[o.n] = b, dst; o.n++ }

func (o *Writer) Full() bool { return o.n == len(o.pkts) }

func (o *Writer) Flush() (failed int, err error) {
	for i := range o.n {
		var werr error
		if o.dsts[i] == nil {
			_, werr = o.conn.Write(o.pkts[i])
		} else {
			_, werr = o.conn.WriteToUDPAddrPort(o.pkts[i], o.dsts[i].AP)
		}
		if werr != nil {
			failed++
			err = werr
		}
	}
	clear(o.dsts[:o.n])
	clear(o.pkts[:o.n])
	o.n = 0
	return failed, err
}

// EnableTimestamps needs Linux's per-datagram receive times.
func (c *Reader) EnableTimestamps() error { return errors.ErrUnsupported }

// Timestamp is 0: no receive times here.
func (c *Reader) Timestamp(int) int64 { return 0 }
