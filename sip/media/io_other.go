//go:build !linux

package media

import (
	"net"
	"net/netip"
)

// Portable fallback: one datagram per system call through the zero-alloc
// netip methods of net.UDPConn. Only Linux has recvmmsg/sendmmsg.

type sockaddr struct{}

func makeSockaddr(netip.AddrPort) sockaddr { return sockaddr{} }

type batchConn struct {
	conn *net.UDPConn
	buf  []byte
	n    int
	src  netip.AddrPort
}

func newBatchConn(conn *net.UDPConn, _, bufSize int) (*batchConn, error) {
	return &batchConn{conn: conn, buf: make([]byte, bufSize)}, nil
}

func (c *batchConn) readBatch() (int, error) {
	n, src, err := c.conn.ReadFromUDPAddrPort(c.buf)
	if err != nil {
		return 0, err
	}
	c.n, c.src = n, netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	return 1, nil
}

func (c *batchConn) msg(int) ([]byte, netip.AddrPort) { return c.buf[:c.n], c.src }

type outBatch struct {
	conn *net.UDPConn
	pkts [][]byte
	dsts []*endpoint
	n    int
}

func newOutBatch(conn *net.UDPConn, batch int) (*outBatch, error) {
	return &outBatch{conn: conn, pkts: make([][]byte, batch), dsts: make([]*endpoint, batch)}, nil
}

func (o *outBatch) add(b []byte, dst *endpoint) { o.pkts[o.n], o.dsts[o.n] = b, dst; o.n++ }

func (o *outBatch) full() bool { return o.n == len(o.pkts) }

func (o *outBatch) flush() (failed int, err error) {
	for i := range o.n {
		if _, werr := o.conn.WriteToUDPAddrPort(o.pkts[i], o.dsts[i].ap); werr != nil {
			failed++
			err = werr
		}
	}
	clear(o.dsts[:o.n])
	clear(o.pkts[:o.n])
	o.n = 0
	return failed, err
}
