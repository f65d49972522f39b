package capture

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
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

// flushEvery is how often the sender wakes to send what has gathered:
// waking per message cost the SIP core a goroutine switch per message;
// waking every few milliseconds sends a batch with one sendmmsg(2) and
// costs the call path a channel send alone. A capture server sees each
// message at most this late (its timestamp is taken when it was read or
// written).
const flushEvery = 5 * time.Millisecond

// sendBatch is how many packets one system call sends.
const sendBatch = 64

// Sender copies SIP messages to a HEPv3 capture server over UDP.
type Sender struct {
	conn      *net.UDPConn
	dest      udpbatch.Dest
	captureID uint32
	authKey   string
	log       *slog.Logger
	now       func() time.Time

	queue chan captured
	bufs  sync.Pool
	stop  chan struct{}
	done  chan struct{}

	sent, dropped, failed atomic.Uint64
}

type captured struct {
	at       time.Time
	protocol uint8
	src, dst string
	data     *[]byte
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
			s.queue = make(chan captured, n)
		}
	}
}

// WithLogger logs send failures (once a minute at most).
func WithLogger(l *slog.Logger) Option { return func(s *Sender) { s.log = l } }

// Stats are a Sender's counts since it started.
type Stats struct {
	Sent    uint64 // packets sent
	Dropped uint64 // copies dropped with the queue full
	Failed  uint64 // packets the network refused (no capture server listening, say)
}

// New makes a Sender to address (host:port, UDP) and starts it; Close
// stops it.
func New(address string, opts ...Option) (*Sender, error) {
	to, err := net.ResolveUDPAddr("udp", address)
	if err != nil {
		return nil, fmt.Errorf("capture: %s: %w", address, err)
	}
	dest := udpbatch.NewDest(to.AddrPort())
	network := "udp6"
	if dest.AP.Addr().Is4() {
		network = "udp4"
	}
	conn, err := net.ListenUDP(network, nil)
	if err != nil {
		return nil, fmt.Errorf("capture: socket for %s: %w", address, err)
	}
	s := &Sender{conn: conn, dest: dest, log: slog.New(slog.DiscardHandler), now: time.Now, stop: make(chan struct{}), done: make(chan struct{})}
	s.bufs.New = func() any { b := make([]byte, 0, 2048); return &b }
	for _, o := range opts {
		o(s)
	}
	if s.queue == nil {
		s.queue = make(chan captured, DefaultQueue)
	}
	go s.run()
	return s, nil
}

// Capture queues a copy of msg, which went from src to dst over
// transport (sipgo's names: UDP, TCP, TLS, WS, WSS). It never blocks.
func (s *Sender) Capture(transport, src, dst string, msg []byte) {
	if len(msg) > maxCaptured {
		msg = msg[:maxCaptured]
	}
	buf := s.bufs.Get().(*[]byte)
	*buf = append((*buf)[:0], msg...)
	protocol := uint8(ProtocolTCP)
	if transport == "UDP" || transport == "udp" {
		protocol = ProtocolUDP
	}
	select {
	case s.queue <- captured{at: s.now(), protocol: protocol, src: src, dst: dst, data: buf}:
	default:
		s.bufs.Put(buf)
		s.dropped.Add(1)
	}
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
	return s.conn.Close()
}

func (s *Sender) run() {
	defer close(s.done)
	w, err := udpbatch.NewWriter(s.conn, sendBatch)
	if err != nil {
		s.log.Error("capture: no batch writer; capture is off", "error", err)
		return
	}
	outs := make([][]byte, sendBatch)
	var lastLog time.Time
	flush := func() {
		if w.Len() == 0 {
			return
		}
		n := w.Len()
		failed, err := w.Flush()
		s.sent.Add(uint64(n - failed))
		if failed > 0 {
			s.failed.Add(uint64(failed))
			if now := time.Now(); now.Sub(lastLog) > time.Minute {
				lastLog = now
				s.log.Warn("capture: HEP packets were not sent", "to", s.dest.AP.String(), "failed", failed, "error", err)
			}
		}
	}
	add := func(c captured) {
		// SDES keys never leave in a copy (sipmsg.MaskSDESKeys).
		sipmsg.MaskSDESKeys(*c.data)
		p := Packet{Protocol: c.protocol, Time: c.at, ProtoType: ProtoTypeSIP, CaptureID: s.captureID, AuthKey: s.authKey,
			Src: parseAddrPort(c.src), Dst: parseAddrPort(c.dst), Payload: *c.data, CorrelationID: CallID(*c.data)}
		i := w.Len()
		out, err := p.AppendMarshal(outs[i][:0])
		s.bufs.Put(c.data)
		if err != nil {
			s.failed.Add(1)
			return
		}
		outs[i] = out
		w.Add(out, &s.dest)
		if w.Full() {
			flush()
		}
	}
	drain := func() {
		for {
			select {
			case c := <-s.queue:
				add(c)
			default:
				flush()
				return
			}
		}
	}
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			drain()
		case <-s.stop:
			drain()
			return
		}
	}
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
func CallID(msg []byte) string {
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return "" // end of the headers
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if bytes.EqualFold(name, []byte("Call-ID")) || bytes.EqualFold(name, []byte("i")) {
			return string(bytes.TrimSpace(value))
		}
	}
	return ""
}
