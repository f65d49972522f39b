package sip

import (
	"bytes"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/internal/udpbatch"
)

// readConn wraps a UDP listener's socket for what the SIP core does in
// sipgo's read loop, which reads it from one goroutine (so last, oob and
// out need no lock):
//
//   - the reads themselves: up to readBatch datagrams a system call
//     (recvmmsg, internal/udpbatch), handed out one at a time, so that a
//     busy switch pays one read, not one per datagram and then one that
//     finds the socket empty, for the datagrams that queued while it
//     worked on the last;
//   - DelayRead, each datagram's time in the read loop (observe);
//   - when each new INVITE arrived (for the overload detector, when
//     shedding is on; on the read loop's own transaction, inviteTx, or
//     for one it leaves to sipgo in reads): the kernel's receive
//     timestamp where there
//     is one (Linux SO_TIMESTAMPNS), so the wait measured includes the
//     time the datagram sat in the socket's buffer behind others, which
//     is where a read loop starved of a core makes requests wait; else
//     the time it was read;
//   - the stateless answers to new INVITEs before sipgo parses them
//     (answerRaw): while the switch sheds load, the refusal of those it
//     sheds (shed, overloadraw.go: at twice its capacity the read loop
//     is the switch's narrowest part, and a refusal that went through
//     the parser would cost it a fifth of a call's parsing), and the
//     digest challenge of those a line sends without credentials
//     (challenge, challengeraw.go);
//   - the in-dialog ACKs and BYEs of calls, parsed here and handed to
//     their handlers without sipgo's transaction layer (readdialog.go).
//
// Every datagram it takes, and every answer it sends, is copied to the
// tracer (WithSIPTracer), as sipgo copies what it reads and writes.
type readConn struct {
	net.PacketConn
	srv *Server
	udp *net.UDPConn // nil: read with ReadFrom, nothing answered here
	// batch reads udp; next and read are the datagram to hand out next
	// and how many its last Read got.
	batch      *udpbatch.Reader
	next, read int
	stamps     bool                            // the kernel stamps datagrams
	out        []byte                          // a stateless answer being built
	observe    func(DelayStage, time.Duration) // nil: not timed
	reads      *inviteReads                    // nil: arrivals not noted
	shed       bool                            // refuse here what the controller sheds
	challenge  bool                            // challenge here
	last       time.Time
	// parser reads the in-dialog requests taken here (takeInDialog);
	// answers holds the buffers their answers are written in (readTx,
	// inviteTx: answerBuffer).
	parser  *sip.Parser
	answers sync.Pool
	// laddr is the listener's address as the string tracer is given it,
	// local as the AddrTracer is; in, inFrom, inAt and inTraced the
	// datagram being read, whence and when it arrived, and whether it
	// was copied yet.
	laddr    string
	local    netip.AddrPort
	in       []byte
	inFrom   netip.AddrPort
	inAt     time.Time
	inTraced bool
}

func newReadConn(conn net.PacketConn, srv *Server, observe func(DelayStage, time.Duration), shedding bool) *readConn {
	c := &readConn{PacketConn: conn, srv: srv, observe: observe}
	if shedding || observe != nil {
		c.reads = &srv.reads
	}
	uc, ok := conn.(*net.UDPConn)
	if !ok {
		return c
	}
	batch, err := udpbatch.NewReader(uc, readBatch, int(sip.TransportBufferReadSize))
	if err != nil {
		return c // no descriptor to read in batches: sipgo's reads alone
	}
	c.udp, c.batch = uc, batch
	c.shed, c.challenge = shedding, true
	c.parser = sip.NewParser()
	c.laddr = uc.LocalAddr().String()
	if a, ok := uc.LocalAddr().(*net.UDPAddr); ok {
		c.local = a.AddrPort()
	}
	c.stamps = c.reads != nil && batch.EnableTimestamps() == nil
	return c
}

// readBatch is how many datagrams one read takes at most: at 2,000 calls
// a second some 30,000 datagrams arrive, and a read loop that was busy
// for a few hundred microseconds finds several waiting. Each has a buffer
// of sipgo's read size (sip.TransportBufferReadSize), as sipgo's one.
const readBatch = 8

func (c *readConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		if c.observe != nil && !c.last.IsZero() {
			c.observe(DelayRead, time.Since(c.last))
		}
		if c.udp == nil {
			n, addr, err := c.PacketConn.ReadFrom(b)
			c.last = time.Now()
			if err == nil && c.reads != nil {
				c.reads.noteDatagram(b[:n], c.last)
			}
			return n, addr, err
		}
		if c.next == c.read {
			n, err := c.batch.Read()
			if err != nil {
				return 0, nil, err
			}
			c.next, c.read = 0, n
			c.srv.stats.readLoopReads.Add(1)
			c.srv.stats.readLoopDatagrams.Add(uint64(n))
		}
		i := c.next
		c.next++
		c.last = time.Now()
		msg, from := c.batch.Msg(i)
		if len(msg) == 0 {
			continue // empty, or larger than a buffer: no SIP message
		}
		arrived := c.last
		if c.stamps {
			if ns := c.batch.Timestamp(i); ns != 0 {
				arrived = time.Unix(0, ns)
			}
		}
		c.in, c.inFrom, c.inAt, c.inTraced = msg, from, arrived, false
		if c.srv.takeResponse(c, msg, from) {
			continue // handed to its client transaction (clienttx.go)
		}
		if c.srv.answerRaw(c, msg, from, c.last) {
			c.traceIn()
			continue // answered or dropped here: sipgo never sees it
		}
		if c.srv.takeRequest(c, msg, from, arrived) {
			continue // handled here (it was traced)
		}
		if c.reads != nil {
			// Its wait is found by its branch once sipgo has parsed it.
			c.reads.noteDatagram(msg, arrived)
		}
		// sipgo parses what it reads into strings: the copy in its buffer
		// may be overwritten by the next read.
		return copy(b, msg), net.UDPAddrFromAddrPort(from), nil
	}
}

// traceIn copies the datagram being read to the tracer, once: to an
// AddrTracer with its addresses and arrival as they are (no string made,
// no clock read again).
func (c *readConn) traceIn() {
	if !c.inTraced {
		if t := c.srv.cfg.addrTracer; t != nil {
			t.SIPTraceReadAddr("UDP", c.local, c.inFrom, c.inAt, c.in)
		} else if t := c.srv.cfg.tracer; t != nil {
			t.SIPTraceRead("UDP", c.laddr, c.inFrom.String(), c.in)
		}
	}
	c.inTraced = true
}

// answerBuffer is an empty buffer to write an answer in; give it back
// with releaseAnswer once the answer is sent. 2 KiB: an answer with its
// SDP in one allocation, not five growths.
func (c *readConn) answerBuffer() *bytes.Buffer {
	if b, ok := c.answers.Get().(*bytes.Buffer); ok {
		b.Reset()
		return b
	}
	return bytes.NewBuffer(make([]byte, 0, 2048))
}

func (c *readConn) releaseAnswer(b *bytes.Buffer) { c.answers.Put(b) }

// writeTo sends msg, an answer of the switch, to to and copies it to the
// tracer; any goroutine may call it (the socket is safe for concurrent
// writes).
func (c *readConn) writeTo(msg []byte, to netip.AddrPort) error {
	if _, err := c.udp.WriteToUDPAddrPort(msg, to); err != nil {
		return err
	}
	if t := c.srv.cfg.addrTracer; t != nil {
		t.SIPTraceWriteAddr("UDP", c.local, to, msg)
	} else if t := c.srv.cfg.tracer; t != nil {
		t.SIPTraceWrite("UDP", c.laddr, to.String(), msg)
	}
	return nil
}

// noteDatagram remembers when a datagram holding a new INVITE arrived, by
// its top Via's branch as written (the handler finds it by the branch
// sipgo parsed). Anything else, and an INVITE whose branch it cannot
// find, is left: its wait is not measured.
func (r *inviteReads) noteDatagram(msg []byte, arrived time.Time) {
	if !bytes.HasPrefix(msg, []byte("INVITE ")) {
		return
	}
	b := rawTopBranch(msg)
	if b == nil {
		return
	}
	r.put(hashBranch(b), arrived.UnixNano())
}

// rawTopBranch finds the branch parameter of the first Via header of msg
// (Via or its compact form v, any case), without parsing the message.
func rawTopBranch(msg []byte) []byte {
	for first := true; len(msg) > 0; first = false {
		i := bytes.IndexByte(msg, '\n')
		if i < 0 {
			return nil
		}
		line := bytes.TrimSuffix(msg[:i], []byte("\r"))
		msg = msg[i+1:]
		if first {
			continue // the request line
		}
		if len(line) == 0 {
			return nil // the end of the headers
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name := bytes.TrimRight(line[:colon], " \t")
		if !bytes.EqualFold(name, []byte("via")) && !bytes.EqualFold(name, []byte("v")) {
			continue
		}
		v := line[colon+1:]
		j := bytes.Index(v, []byte(";branch="))
		if j < 0 {
			return nil
		}
		v = v[j+len(";branch="):]
		if k := bytes.IndexAny(v, ";, \t"); k >= 0 {
			v = v[:k]
		}
		if len(v) == 0 {
			return nil
		}
		return v
	}
	return nil
}
