package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipswitch/sipswitch/internal/udpbatch"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// DefaultQueue is how many messages wait to be sent before copies are
// dropped: a few seconds of a busy switch's signalling.
const DefaultQueue = 8192

// maxCaptured bounds the copy of one message (a HEPv3 packet holds at
// most 65,535 bytes with its chunks).
const maxCaptured = 65_000

// DefaultFlush is how often the sender wakes to send what has gathered
// (WithFlush), and sooner when wakeBatch messages wait: waking per message cost the SIP core a goroutine switch
// per message; waking every few milliseconds sends a batch with a
// sendmmsg(2) per sendBatch packets and costs the call path a copy and an
// append to the queue alone. A capture server sees each message at most this
// late (its timestamp is taken when it was read or written), which is
// nothing to a call flow looked at afterwards.
const DefaultFlush = 20 * time.Millisecond

// sendBatch is how many packets one system call sends: sendmmsg(2) over
// UDP, writev(2) over TCP.
const (
	sendBatchUDP = 128
	sendBatchTCP = 512
)

// wakeBatch is how many queued messages wake the sender before its
// tick: a batch of its transport's. Over TCP a batch is 512: at 1,000
// calls a second (17,000 messages) the tick comes first, where waking at
// 128 cost a wake-up and a write(2) per 7 ms (INFERRED: a burst waits
// at most a flush interval as any copy does).
func wakeBatch(network string) int {
	if network == "tcp" {
		return sendBatchTCP
	}
	return sendBatchUDP
}

// Over TCP: how long a connection attempt and a batch's write may take,
// and how long the sender waits before connecting again after a failure
// (doubled up to maxRedial while the server stays away).
const (
	tcpDialTimeout  = time.Second
	tcpWriteTimeout = 2 * time.Second
	minRedial       = time.Second
	maxRedial       = 30 * time.Second
)

// headRoom is the room a hook leaves before its copy of a message, where
// the sender writes the packet's head (the HEP header and every chunk but
// the payload's value: 117 bytes for IPv6 addresses, plus the
// authentication key and the Call-ID), so that the message is copied
// once, from the transport's buffer, and sent from there; the room's
// first bytes carry what the sender needs of the hook's call
// (captured.putMeta), read before the head is written. A head that does
// not fit (a Call-ID or key of a few hundred bytes) is copied with the
// message into a buffer of its own.
const headRoom = 320

// Sender copies SIP messages to a HEPv3 capture server over UDP (a
// datagram a packet) or TCP (packets one after the other on a stream).
type Sender struct {
	network   string       // "udp" or "tcp"
	address   string       // host:port
	udp       *net.UDPConn // connected to the server
	captureID uint32
	authKey   string
	log       *slog.Logger
	now       func() time.Time
	minRedial time.Duration

	flush time.Duration
	// queued is what the hooks have copied and the sender not yet
	// taken: n copies one after the other (records), at most limit of
	// them in limit*recordBytes; the sender takes it all at once,
	// swapping in its last round's, emptied. A lock held for an append,
	// where a channel took a lock per message on each side and the
	// transport goroutines contended with the sender for it.
	mu     sync.Mutex
	queued []byte
	n      int
	limit  int
	wakeAt int // queued copies that wake the sender (wakeBatch)
	kick   chan struct{}
	stop   chan struct{}
	done   chan struct{}

	sent, dropped, failed atomic.Uint64
}

// captured is what a hook says of a message, besides the message: its
// time (Unix nanoseconds), transport and addresses, either as addresses
// (src, dst: the read loop's hooks, which format nothing) or as sipgo's
// strings (srcName, dstName: parsed by the sender, off the call path).
type captured struct {
	at               int64
	src, dst         netip.AddrPort
	srcName, dstName string
	protocol         uint8
}

// A copy waiting to be sent is a record of the queue: headRoom bytes,
// then the message. The room starts with what the sender needs of
// captured (put there by capture, read by the sender's encode before it
// writes the packet's head at the room's end, where it is sent from).
// The records lie one after the other in one buffer, which the sender
// swaps whole for its emptied one: a copy writes the lines of its
// record alone, next to the last one's, where a buffer and a queue entry
// of its own each cost the two cores lines passed to each other (the
// copies' cost was mostly that) and a lock for a free list.
//
//	0	time, Unix nanoseconds (int64, little endian)
//	8	the message's length (uint32, little endian)
//	12	protocol
//	13	metaAddrs: source then destination, 19 bytes each (family 4,
//		6 or 0: none; 16 bytes of address; port, big endian)
//		metaNames: source then destination, each a length byte and
//		that many bytes of sipgo's string (at most maxName)
const (
	metaAddrs = 1
	metaNames = 2
	metaBody  = 14
	addrSize  = 19
	maxName   = 120 // an address string is some 50 bytes at most
)

// recordBytes bounds the queue's bytes: limit records of this size on
// average (SIP messages are most often under a kilobyte). maxKept bounds
// the queue's buffer the sender keeps for the next round: a burst's is
// let go.
const (
	recordBytes = headRoom + 2048
	maxKept     = 4 << 20
)

// putMeta writes c into the room at the start of buf.
func (c *captured) putMeta(buf []byte, n int) {
	binary.LittleEndian.PutUint64(buf, uint64(c.at))
	binary.LittleEndian.PutUint32(buf[8:], uint32(n))
	buf[12] = c.protocol
	if c.srcName == "" && c.dstName == "" {
		buf[13] = metaAddrs
		putAddr(buf[metaBody:], c.src)
		putAddr(buf[metaBody+addrSize:], c.dst)
		return
	}
	buf[13] = metaNames
	i := putName(buf, metaBody, c.srcName)
	putName(buf, i, c.dstName)
}

func putAddr(b []byte, ap netip.AddrPort) {
	a := ap.Addr().Unmap()
	switch {
	case a.Is4():
		b[0] = 4
	case a.Is6():
		b[0] = 6
	default:
		b[0] = 0
	}
	*(*[16]byte)(b[1:17]) = a.As16()
	binary.BigEndian.PutUint16(b[17:], ap.Port())
}

func getAddr(b []byte) netip.AddrPort {
	a16 := *(*[16]byte)(b[1:17])
	port := binary.BigEndian.Uint16(b[17:])
	switch b[0] {
	case 4:
		return netip.AddrPortFrom(netip.AddrFrom16(a16).Unmap(), port)
	case 6:
		return netip.AddrPortFrom(netip.AddrFrom16(a16), port)
	}
	return netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
}

// putName writes s at buf[i:] as a length and its bytes (cut at maxName:
// not an address then, read as none) and returns where it ends.
func putName(buf []byte, i int, s string) int {
	n := min(len(s), maxName)
	buf[i] = byte(n)
	return i + 1 + copy(buf[i+1:], s[:n])
}

func getName(buf []byte, i int) (name []byte, next int) {
	n := int(buf[i])
	return buf[i+1 : i+1+n], i + 1 + n
}

// Option configures a Sender.
type Option func(*Sender)

// WithCaptureID sets the capture agent id (capture.id): which switch
// host a message came through, on a server several send to.
func WithCaptureID(id uint32) Option { return func(s *Sender) { s.captureID = id } }

// WithAuthKey sets the key sent in every packet (capture.password), which
// a capture server may require.
func WithAuthKey(key string) Option { return func(s *Sender) { s.authKey = key } }

// WithQueue sets how many messages may wait (default DefaultQueue).
func WithQueue(n int) Option {
	return func(s *Sender) {
		if n > 0 {
			s.limit = n
		}
	}
}

// WithFlush sets how often what has gathered is sent (default
// DefaultFlush): the most a copy waits.
func WithFlush(d time.Duration) Option {
	return func(s *Sender) {
		if d > 0 {
			s.flush = d
		}
	}
}

// WithLogger logs send failures (once a minute at most).
func WithLogger(l *slog.Logger) Option { return func(s *Sender) { s.log = l } }

// Stats are a Sender's counts since it started.
type Stats struct {
	Sent    uint64 // packets sent
	Dropped uint64 // copies dropped with the queue full
	// Failed are packets the network refused (UDP: no capture server
	// listening, say) or that were not sent over TCP: with no connection
	// to the server, or in a batch whose write failed.
	Failed uint64
}

// New makes a Sender to address and starts it; Close stops it. The
// address is host:port or udp://host:port for UDP, tcp://host:port for
// TCP (heplify-server's HEPTCPAddr, say): over TCP a batch is one write
// of all its packets, where UDP takes a datagram each, which costs the
// sending host's kernel several times more a message. The TCP connection
// is made by the sender's goroutine, again after it fails; while there
// is none, packets count as failed.
func New(address string, opts ...Option) (*Sender, error) {
	s := &Sender{network: "udp", address: address, log: slog.New(slog.DiscardHandler), now: time.Now, flush: DefaultFlush,
		minRedial: minRedial, limit: DefaultQueue, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if rest, ok := strings.CutPrefix(address, "tcp://"); ok {
		s.network, s.address = "tcp", rest
	} else if rest, ok := strings.CutPrefix(address, "udp://"); ok {
		s.address = rest
	}
	if _, _, err := net.SplitHostPort(s.address); err != nil {
		return nil, fmt.Errorf("capture: %s: %w", address, err)
	}
	if s.network == "udp" {
		to, err := net.ResolveUDPAddr("udp", s.address)
		if err != nil {
			return nil, fmt.Errorf("capture: %s: %w", address, err)
		}
		// Connected: the kernel keeps the route, and a refusal from the
		// server's host shows as an error on the next send.
		if s.udp, err = net.DialUDP("udp", nil, to); err != nil {
			return nil, fmt.Errorf("capture: socket for %s: %w", address, err)
		}
	}
	s.wakeAt = wakeBatch(s.network)
	for _, o := range opts {
		o(s)
	}
	go s.run()
	return s, nil
}

// Capture queues a copy of msg, which went from src to dst over
// transport (sipgo's names: UDP, TCP, TLS, WS, WSS). It never blocks.
func (s *Sender) Capture(transport, src, dst string, msg []byte) {
	s.capture(captured{at: s.now().UnixNano(), protocol: protocolOf(transport), srcName: src, dstName: dst}, msg)
}

// SIPTraceReadAddr is the read loop's hook for a datagram read (the
// address-typed tracer of sip.WithSIPTracer): from raddr on laddr,
// arrived at at. Neither address is formatted nor parsed, and the time is
// the one the read loop took.
func (s *Sender) SIPTraceReadAddr(transport string, laddr, raddr netip.AddrPort, at time.Time, msg []byte) {
	s.capture(captured{at: at.UnixNano(), protocol: protocolOf(transport), src: raddr, dst: laddr}, msg)
}

// SIPTraceWriteAddr is the read loop's hook for a message written, from
// laddr to raddr.
func (s *Sender) SIPTraceWriteAddr(transport string, laddr, raddr netip.AddrPort, msg []byte) {
	s.capture(captured{at: s.now().UnixNano(), protocol: protocolOf(transport), src: laddr, dst: raddr}, msg)
}

// protocolOf is the HEP IP protocol of a transport: UDP, or TCP under
// everything else (TLS, WebSocket).
func protocolOf(transport string) uint8 {
	if transport == "UDP" || transport == "udp" {
		return ProtocolUDP
	}
	return ProtocolTCP
}

// capture queues c with a copy of msg: a record appended to the queue
// under its lock (the copy and the few bytes of c, tens of nanoseconds;
// taking the lock twice, to copy outside it, cost more than the
// transports ever waited for each other's copies).
func (s *Sender) capture(c captured, msg []byte) {
	if len(msg) > maxCaptured {
		msg = msg[:maxCaptured]
	}
	s.mu.Lock()
	at, n := len(s.queued), s.n
	end := at + headRoom + len(msg)
	if n >= s.limit || end > s.limit*recordBytes {
		s.mu.Unlock()
		s.dropped.Add(1)
		return
	}
	if end > cap(s.queued) {
		// Grown to a busy round's records once, then kept.
		s.queued = slices.Grow(s.queued, max(end-at, cap(s.queued)))
	}
	s.queued = s.queued[:end]
	rec := s.queued[at:end]
	c.putMeta(rec, len(msg))
	copy(rec[headRoom:], msg)
	s.n++
	s.mu.Unlock()
	// A batch's worth waits: the sender need not wait for its tick (and
	// the copies are still in the CPU's cache).
	if n+1 == s.wakeAt {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// take swaps the queued records for spare (emptied), and returns them.
func (s *Sender) take(spare []byte) []byte {
	s.mu.Lock()
	got := s.queued
	s.queued, s.n = spare[:0], 0
	s.mu.Unlock()
	return got
}

// SIPTraceRead is sipgo's tracer hook for a message read.
func (s *Sender) SIPTraceRead(transport, laddr, raddr string, msg []byte) {
	s.Capture(transport, raddr, laddr, msg)
}

// SIPTraceWrite is sipgo's tracer hook for a message written.
func (s *Sender) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	s.Capture(transport, laddr, raddr, msg)
}

// Stats reports the counts.
func (s *Sender) Stats() Stats {
	return Stats{Sent: s.sent.Load(), Dropped: s.dropped.Load(), Failed: s.failed.Load()}
}

// Close sends what is queued and stops.
func (s *Sender) Close() error {
	close(s.stop)
	<-s.done
	if s.udp != nil {
		return s.udp.Close()
	}
	return nil
}

// batchWriter sends a batch of packets over the sender's transport.
type batchWriter interface {
	// add queues pkt, valid until the next send; it reports a full batch.
	add(pkt []byte) (full bool)
	// send sends what was added and returns how many packets were not.
	send() (failed int, err error)
	close()
}

func (s *Sender) run() {
	defer close(s.done)
	var w batchWriter
	batch := sendBatchUDP
	if s.network == "tcp" {
		w, batch = &tcpWriter{s: s}, sendBatchTCP
	} else {
		uw, err := udpbatch.NewWriter(s.udp, sendBatchUDP)
		if err != nil {
			s.log.Error("capture: no batch writer; capture is off", "error", err)
			return
		}
		w = udpWriter{uw}
	}
	defer w.close()
	pending := 0 // packets added to w, not yet sent
	spill := make([][]byte, batch)
	var head []byte
	var lastLog time.Time
	flush := func() {
		n := pending
		if n == 0 {
			return
		}
		failed, err := w.send()
		pending = 0
		s.sent.Add(uint64(n - failed))
		if failed > 0 {
			s.failed.Add(uint64(failed))
			if now := time.Now(); now.Sub(lastLog) > time.Minute {
				lastLog = now
				s.log.Warn("capture: HEP packets were not sent", "to", s.network+"://"+s.address, "failed", failed, "error", err)
			}
		}
	}
	addrs := addrCache{}
	var taken []byte
	drain := func() {
		// What was queued meanwhile is taken on the next round: the
		// transport goroutines append while this one encodes. A round's
		// packets are sent before its records go back to them.
		for {
			taken = s.take(taken)
			if len(taken) == 0 {
				return
			}
			for rec := taken; len(rec) >= headRoom; {
				n := headRoom + int(binary.LittleEndian.Uint32(rec[8:]))
				pkt, err := s.encode(rec[:n], &addrs, &head, &spill[pending])
				rec = rec[n:]
				if err != nil {
					s.failed.Add(1)
					continue
				}
				pending++
				if w.add(pkt) {
					flush()
				}
			}
			flush()
			if cap(taken) > maxKept {
				taken = nil // a burst's: not kept
			}
		}
	}
	tick := time.NewTicker(s.flush)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			drain()
		case <-s.kick:
			drain()
		case <-s.stop:
			drain()
			return
		}
	}
}

// udpWriter sends a datagram a packet, a batch with sendmmsg(2).
type udpWriter struct{ w *udpbatch.Writer }

func (u udpWriter) add(pkt []byte) bool {
	u.w.Add(pkt, nil)
	return u.w.Full()
}
func (u udpWriter) send() (int, error) { return u.w.Flush() }
func (u udpWriter) close()             {}

// tcpWriter sends a batch's packets on the stream with one writev(2),
// connecting first when it has no connection and the wait after the last
// failure is over. A write that fails or takes longer than
// tcpWriteTimeout (a server that does not read) may have left part of a
// packet on the stream: the connection is closed and the batch counted
// as failed.
type tcpWriter struct {
	s      *Sender
	conn   net.Conn
	pkts   net.Buffers
	vec    net.Buffers
	retry  time.Time
	redial time.Duration
}

func (t *tcpWriter) add(pkt []byte) bool {
	t.pkts = append(t.pkts, pkt)
	return len(t.pkts) == sendBatchTCP
}

func (t *tcpWriter) send() (int, error) {
	n := len(t.pkts)
	defer func() { clear(t.pkts); t.pkts = t.pkts[:0] }()
	if t.conn == nil {
		if time.Now().Before(t.retry) {
			return n, errors.New("no connection")
		}
		c, err := net.DialTimeout("tcp", t.s.address, tcpDialTimeout)
		if err != nil {
			t.failed()
			return n, err
		}
		t.conn, t.redial = c, 0
	}
	_ = t.conn.SetWriteDeadline(time.Now().Add(tcpWriteTimeout))
	// WriteTo consumes the slice it is given: v, a copy of the headers.
	t.vec = append(t.vec[:0], t.pkts...)
	v := t.vec
	_, err := v.WriteTo(t.conn)
	clear(t.vec)
	if err != nil {
		t.conn.Close()
		t.conn = nil
		t.failed()
		return n, err
	}
	return 0, nil
}

// failed waits longer before the next attempt, up to maxRedial.
func (t *tcpWriter) failed() {
	t.redial = min(max(2*t.redial, t.s.minRedial), maxRedial)
	t.retry = time.Now().Add(t.redial)
}

func (t *tcpWriter) close() {
	if t.conn != nil {
		t.conn.Close()
	}
}

// encode makes buf's packet in place: the SDES keys masked, the head
// written into the room before the message (scratch holds it first), or
// head and message into spill when the head does not fit. The packet is
// valid until buf or spill is reused.
func (s *Sender) encode(buf []byte, addrs *addrCache, scratch, spill *[]byte) ([]byte, error) {
	msg := buf[headRoom:]
	// SDES keys never leave in a copy (sipmsg.MaskSDESKeys).
	sipmsg.MaskSDESKeys(msg)
	p := Packet{Protocol: buf[12], Time: time.Unix(0, int64(binary.LittleEndian.Uint64(buf))), ProtoType: ProtoTypeSIP,
		CaptureID: s.captureID, AuthKey: s.authKey}
	if buf[13] == metaAddrs {
		p.Src, p.Dst = getAddr(buf[metaBody:]), getAddr(buf[metaBody+addrSize:])
	} else {
		src, i := getName(buf, metaBody)
		dst, _ := getName(buf, i)
		p.Src, p.Dst = addrs.get(src), addrs.get(dst)
	}
	head, err := p.appendHead((*scratch)[:0], len(msg), callID(msg))
	*scratch = head
	if err != nil {
		return nil, err
	}
	if at := headRoom - len(head); at >= 0 {
		copy(buf[at:], head)
		return buf[at:], nil
	}
	*spill = append(append((*spill)[:0], head...), msg...)
	return *spill, nil
}

// addrCache is the sender's parsed addresses by their strings: a switch
// talks to a few addresses (its listeners, its peers, its lines' phones),
// each in every message of a call, and a map lookup costs a third of a
// parse. It is forgotten once it holds maxAddrs (a switch with more
// phones parses as before, a miss at a time). The sender's goroutine
// alone uses it.
type addrCache map[string]netip.AddrPort

const maxAddrs = 4096

func (a *addrCache) get(b []byte) netip.AddrPort {
	if ap, ok := (*a)[string(b)]; ok {
		return ap
	}
	if len(*a) >= maxAddrs {
		clear(*a)
	}
	s := string(b)
	ap := parseAddrPort(s)
	(*a)[s] = ap
	return ap
}

// parseAddrPort reads sipgo's address strings; an unparseable one (a
// host name) is the unspecified address of IPv4.
func parseAddrPort(s string) netip.AddrPort {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
}

// CallID is the Call-ID of a SIP message (RFC 3261 20.8, compact form
// "i"), "" when it has none in its headers.
func CallID(msg []byte) string { return string(callID(msg)) }

// callID is CallID as a slice of msg (nil: none).
func callID(msg []byte) []byte {
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return nil // end of the headers
		}
		// Most lines start with a letter that starts neither name.
		if c := line[0] | 0x20; c >= 'a' && c <= 'z' && c != 'c' && c != 'i' {
			continue
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if bytes.EqualFold(name, []byte("Call-ID")) || bytes.EqualFold(name, []byte("i")) {
			if value = bytes.TrimSpace(value); len(value) > 0 {
				return value
			}
			return nil
		}
	}
	return nil
}
