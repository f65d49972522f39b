package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// Tests run real UDP on 127.0.0.1. Each test's engine takes its own port
// range so that parallel packages and tests do not meet; a port another
// program holds is skipped by the allocator anyway.

var testPortBase atomic.Int32

// testPorts is the first port of a fresh range of 200, below Linux's
// ephemeral ports (32768-60999) where the test parties' sockets live.
func testPorts() int {
	n := int(testPortBase.Add(1)) - 1
	return 20000 + n*200%12000
}

// bothModels runs a test with a goroutine per socket and with epoll
// workers (where supported).
func bothModels(t *testing.T, f func(t *testing.T, model Option)) {
	t.Run("goroutines", func(t *testing.T) { f(t, WithPollWorkers(0)) })
	if pollSupported {
		t.Run("epoll", func(t *testing.T) { f(t, WithPollWorkers(2)) })
	}
}

func newTestEngine(t testing.TB, opts ...Option) *Engine {
	t.Helper()
	base := testPorts()
	all := append([]Option{
		WithPortRange(base, base+199),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		withCheckInterval(10 * time.Millisecond),
	}, opts...)
	e, err := New(all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// party is a fake phone or carrier: one UDP socket for RTP.
type party struct {
	t    testing.TB
	conn *net.UDPConn
	seq  uint16
	ts   uint32
	ssrc uint32
}

func listenLoopback() (*net.UDPConn, error) {
	return net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
}

// loopback is the address the parties of a test's session signal from;
// strangers sit on other loopback addresses (127.0.0.2 ...), which Linux
// routes to lo like 127.0.0.1.
var loopback = netip.MustParseAddr("127.0.0.1")

func newParty(t testing.TB) *party {
	t.Helper()
	return newPartyOn(t, loopback)
}

// newPartyOn is a party whose socket is on host.
func newPartyOn(t testing.TB, host netip.Addr) *party {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(host, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &party{t: t, conn: c, ssrc: 0x1234, seq: 100, ts: 1000}
}

func (p *party) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// sdpBody is a party's SDP for one audio line at addr (PCMU, PCMA,
// telephone-event) plus extra media attributes.
func sdpBody(addr netip.AddrPort, extra ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n", addr.Addr(), addr.Addr())
	fmt.Fprintf(&b, "m=audio %d RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n", addr.Port())
	for _, x := range extra {
		b.WriteString("a=" + x + "\r\n")
	}
	return []byte(b.String())
}

// relayPort reads the port and address the relay put in an SDP it returned.
func relayAddr(t testing.TB, body []byte, i int) netip.AddrPort {
	t.Helper()
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		t.Fatalf("relay SDP does not parse: %v\n%s", err, body)
	}
	a, _ := parseConnAddr(sd.ConnectionInformation)
	return netip.AddrPortFrom(a, uint16(sd.MediaDescriptions[i].MediaName.Port.Value))
}

// packet builds an RTP packet with pion/rtp; the payload names it.
func (p *party) packet(pt uint8, payload string) []byte {
	p.seq++
	p.ts += 160
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc}, Payload: []byte(payload)}
	b, err := pkt.Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	return b
}

func (p *party) sendFrom(c *net.UDPConn, to netip.AddrPort, b []byte) {
	if _, err := c.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

func (p *party) send(to netip.AddrPort, pt uint8, payload string) {
	p.sendFrom(p.conn, to, p.packet(pt, payload))
}

// recv waits (at most 2 s: a hang guard, not an assertion on timing) for a
// datagram and returns it and its source.
func recvOn(t testing.TB, c *net.UDPConn, wait time.Duration) ([]byte, netip.AddrPort, bool) {
	t.Helper()
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(wait))
	n, src, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, src, false
		}
		t.Fatal(err)
	}
	return buf[:n], netip.AddrPortFrom(src.Addr().Unmap(), src.Port()), true
}

func (p *party) expect(from netip.AddrPort, payload string) {
	p.t.Helper()
	for {
		b, src, ok := recvOn(p.t, p.conn, 2*time.Second)
		if !ok {
			p.t.Fatalf("%s: nothing received, want %q", p.addr(), payload)
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(b); err != nil {
			p.t.Fatalf("received a non-RTP datagram: %v", err)
		}
		if string(pkt.Payload) != payload {
			continue // an earlier packet of the test
		}
		if src != from {
			p.t.Fatalf("got %q from %s, want it from the relay port %s", payload, src, from)
		}
		return
	}
}

func (p *party) expectNothing(wait time.Duration) {
	p.t.Helper()
	if b, src, ok := recvOn(p.t, p.conn, wait); ok {
		p.t.Fatalf("%s received %d bytes from %s, want nothing", p.addr(), len(b), src)
	}
}

// setup is a session with parties a and b that negotiated through it; it
// returns the relay addresses a and b send to. With natA, a is a phone
// behind NAT whose SIP came from 127.0.0.1: its media latches from any
// port there, and its signalled address (a loopback one, not globally
// routable) latches nothing by itself.
func setup(t *testing.T, e *Engine, a, b *party, natA bool) (*Session, netip.AddrPort, netip.AddrPort) {
	t.Helper()
	s, err := e.NewSession(context.Background(), "call-"+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if natA {
		s.SetNAT(SideA, true)
		s.SetSources(SideA, loopback)
	}
	toB, err := s.Offer(SideA, sdpBody(a.addr()))
	if err != nil {
		t.Fatal(err)
	}
	toA, err := s.Answer(SideB, sdpBody(b.addr()))
	if err != nil {
		t.Fatal(err)
	}
	return s, relayAddr(t, toA, 0), relayAddr(t, toB, 0)
}

func TestRelayBothWays(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		s, relayA, relayB := setup(t, e, a, b, false)
		if relayA == relayB || relayA.Port()%2 != 0 || relayB.Port()%2 != 0 {
			t.Fatalf("relay ports %s %s: want two different even ports", relayA, relayB)
		}
		for i := range 5 {
			a.send(relayA, 0, fmt.Sprintf("a%d", i))
			b.expect(relayB, fmt.Sprintf("a%d", i))
			b.send(relayB, 8, fmt.Sprintf("b%d", i))
			a.expect(relayA, fmt.Sprintf("b%d", i))
		}
		st := s.Stats()
		sa, sb := st.Legs[SideA].Streams[0], st.Legs[SideB].Streams[0]
		if sa.Packets != 5 || sb.Packets != 5 {
			t.Fatalf("packets a=%d b=%d, want 5 each", sa.Packets, sb.Packets)
		}
		if !sa.Latched || sa.Remote != a.addr() || !sb.Latched || sb.Remote != b.addr() {
			t.Fatalf("latching: a %v %s, b %v %s", sa.Latched, sa.Remote, sb.Latched, sb.Remote)
		}
		if sa.Codec != "ulaw" || sb.Codec != "alaw" || sa.Lost != 0 || sa.MOS < 4 {
			t.Fatalf("stats a: %+v b: %+v", sa, sb)
		}
		if got := e.Stats().Forwarded; got != 10 {
			t.Fatalf("forwarded %d, want 10", got)
		}
	})
}

func TestRelayNATLatching(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		_, relayA, relayB := setup(t, e, a, b, true)
		// a signalled a.addr() but its NAT sends from another address.
		nat := newParty(t)
		nat.ssrc = a.ssrc
		nat.send(relayA, 0, "from-nat")
		b.expect(relayB, "from-nat")
		// b's answer goes to where a's packets came from, not to the signalled address.
		b.send(relayB, 0, "to-nat")
		nat.expect(relayA, "to-nat")
		a.expectNothing(100 * time.Millisecond)
	})
}

func TestRelayNoNATDropsOtherSources(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		s, relayA, relayB := setup(t, e, a, b, false)
		other := newParty(t)
		other.send(relayA, 0, "spoof-before-latch")
		b.expectNothing(100 * time.Millisecond)
		a.send(relayA, 0, "real")
		b.expect(relayB, "real")
		// after latching a third source is still dropped and counted
		other.send(relayA, 0, "spoof-after-latch")
		a.send(relayA, 0, "real2")
		b.expect(relayB, "real2")
		st := s.Stats().Legs[SideA].Streams[0]
		if st.DroppedSource != 2 || st.Packets != 2 {
			t.Fatalf("dropped_source %d packets %d, want 2 and 2", st.DroppedSource, st.Packets)
		}
		// and b's media never went to the spoofer
		b.send(relayB, 0, "back")
		a.expect(relayA, "back")
		other.expectNothing(50 * time.Millisecond)
	})
}

func TestRelayThirdSourceDroppedBehindNAT(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		s, relayA, relayB := setup(t, e, a, b, true)
		nat := newParty(t)
		nat.send(relayA, 0, "first")
		b.expect(relayB, "first")
		third := newPartyOn(t, netip.MustParseAddr("127.0.0.2"))
		third.send(relayA, 0, "hijack")
		nat.send(relayA, 0, "second")
		b.expect(relayB, "second")
		b.send(relayB, 0, "reply")
		nat.expect(relayA, "reply")
		third.expectNothing(50 * time.Millisecond)
		if st := s.Stats().Legs[SideA].Streams[0]; st.DroppedSource != 1 {
			t.Fatalf("dropped_source %d, want 1", st.DroppedSource)
		}
	})
}

func TestRelaySSRCChange(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		s, relayA, relayB := setup(t, e, a, b, true)
		a.send(relayA, 0, "one")
		b.expect(relayB, "one")
		// A new SSRC from another address does not move the latch.
		other := newPartyOn(t, netip.MustParseAddr("127.0.0.2"))
		other.ssrc = 0x9999
		other.send(relayA, 0, "hijack")
		// A new SSRC from the latched address is a new source (a transfer,
		// a restarted phone): counted, forwarded, sequence restarted.
		a.ssrc, a.seq = 0x5678, 60000
		a.send(relayA, 0, "two")
		b.expect(relayB, "two")
		st := s.Stats().Legs[SideA].Streams[0]
		if st.SSRCChanges != 1 || st.SSRC != 0x5678 || st.DroppedSource != 1 || st.Lost != 0 || st.Remote != a.addr() {
			t.Fatalf("after SSRC change: %+v", st)
		}
	})
}

func TestRelayDropsUnexpectedPayloadType(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		s, relayA, relayB := setup(t, e, a, b, false)
		a.send(relayA, 18, "g729-not-offered")
		a.sendFrom(a.conn, relayA, []byte("not rtp at all"))
		a.send(relayA, 101, "dtmf")
		b.expect(relayB, "dtmf")
		st := s.Stats().Legs[SideA].Streams[0]
		if st.DroppedInvalid != 2 || st.Packets != 1 {
			t.Fatalf("dropped_invalid %d packets %d, want 2 and 1", st.DroppedInvalid, st.Packets)
		}
	})
}

func TestRelayTimeout(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model, WithTimeout(600*time.Millisecond), WithHoldTimeout(time.Hour))
		a, b := newParty(t), newParty(t)
		s, relayA, relayB := setup(t, e, a, b, false)
		s.Answered()
		// a keeps talking (every 20 ms, far inside the 600 ms timeout even
		// on a loaded machine), b is silent: b's leg times out.
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			tk := time.NewTicker(20 * time.Millisecond)
			defer tk.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tk.C:
					a.send(relayA, 0, "talk")
				}
			}
		}()
		defer func() { close(stop); <-done }()
		_ = relayB
		select {
		case ev := <-s.TimedOut():
			if ev.Side != SideB || ev.Hold || !errors.Is(ev.Err(), ErrMediaTimeout) || ev.Err().Error() != "media timeout" {
				t.Fatalf("timeout event %+v", ev)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no media timeout")
		}
		if e.Stats().Timeouts != 1 {
			t.Fatal("engine did not count the timeout")
		}
	})
}

func TestRelayNoTimeoutBeforeAnswer(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model, WithTimeout(30*time.Millisecond))
		a, b := newParty(t), newParty(t)
		s, _, _ := setup(t, e, a, b, false)
		select {
		case ev := <-s.TimedOut():
			t.Fatalf("timeout while ringing: %+v", ev)
		case <-time.After(200 * time.Millisecond):
		}
		s.Answered()
		select {
		case <-s.TimedOut():
		case <-time.After(5 * time.Second):
			t.Fatal("no timeout after answer")
		}
	})
}

func TestRelayHoldUsesHoldTimeout(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model, WithTimeout(50*time.Millisecond), WithHoldTimeout(400*time.Millisecond))
		a, b := newParty(t), newParty(t)
		s, _, _ := setup(t, e, a, b, false)
		s.Answered()
		// a puts b on hold: re-INVITE with sendonly, b answers recvonly.
		toB, err := s.Offer(SideA, sdpBody(a.addr(), "sendonly"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(toB, []byte("a=sendonly")) {
			t.Fatalf("direction not preserved:\n%s", toB)
		}
		if _, err := s.Answer(SideB, sdpBody(b.addr(), "recvonly")); err != nil {
			t.Fatal(err)
		}
		if !s.OnHold() {
			t.Fatal("not on hold after sendonly/recvonly")
		}
		start := time.Now()
		select {
		case ev := <-s.TimedOut():
			if !ev.Hold {
				t.Fatalf("event %+v: want a hold timeout", ev)
			}
			// The normal timeout (50 ms) must not have been the one applied.
			if time.Since(start) < 300*time.Millisecond {
				t.Fatalf("hold timeout after %v, want >= the 400 ms hold timeout", time.Since(start))
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no hold timeout")
		}
	})
}

func TestRelayRTCP(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		// b's RTCP socket at b's port + 1 is what the relay sends RTCP to.
		bRTCP, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(b.addr().Addr(), b.addr().Port()+1)))
		if err != nil {
			t.Skipf("port next to b taken: %v", err)
		}
		defer bRTCP.Close()
		s, err := e.NewSession(context.Background(), "rtcp")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		// a offers rtcp-mux, b answers without it.
		toB, err := s.Offer(SideA, sdpBody(a.addr(), "rtcp-mux"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(toB, []byte("a=rtcp-mux")) || !bytes.Contains(toB, []byte("a=rtcp:")) {
			t.Fatalf("offer to b must keep rtcp-mux and name the RTCP port:\n%s", toB)
		}
		toA, err := s.Answer(SideB, sdpBody(b.addr()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(toA, []byte("a=rtcp-mux")) {
			t.Fatalf("answer to a must accept its rtcp-mux:\n%s", toA)
		}
		relayA, relayB := relayAddr(t, toA, 0), relayAddr(t, toB, 0)
		// An RR from a, muxed on its RTP port, reaches b's RTCP port from the
		// relay's RTCP port.
		rr := []byte{0x81, 201, 0, 7, 0, 0, 0x12, 0x34, 0, 0, 0, 1, 64, 0, 0, 5, 0, 0, 0, 9, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0}
		a.sendFrom(a.conn, relayA, rr)
		got, src, ok := recvOn(t, bRTCP, 2*time.Second)
		if !ok || !bytes.Equal(got, rr) || src.Port() != relayB.Port()+1 {
			t.Fatalf("RTCP to b: ok=%v from %s (want port %d)", ok, src, relayB.Port()+1)
		}
		// b's RTCP (to the relay's RTCP port) reaches a muxed on its RTP port.
		if _, err := bRTCP.WriteToUDPAddrPort(rr, netip.AddrPortFrom(relayB.Addr(), relayB.Port()+1)); err != nil {
			t.Fatal(err)
		}
		got, src, ok = recvOn(t, a.conn, 2*time.Second)
		if !ok || !bytes.Equal(got, rr) || src != relayA {
			t.Fatalf("RTCP to a: ok=%v from %s (want %s)", ok, src, relayA)
		}
		st := s.Stats()
		ra := st.Legs[SideA].Streams[0]
		if ra.RTCPPackets != 1 || ra.Reported.Reports != 1 || ra.Reported.FractionLost != 0.25 || ra.Reported.TotalLost != 5 {
			t.Fatalf("RTCP stats of a: %+v", ra)
		}
		if st.Legs[SideB].Streams[0].RTCPPackets != 1 {
			t.Fatalf("RTCP stats of b: %+v", st.Legs[SideB].Streams[0])
		}
	})
}

func TestSessionCloseReleasesPorts(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		s, relayA, _ := setup(t, e, a, b, false)
		if got := e.Stats().PortPairsInUse; got != 2 {
			t.Fatalf("pairs in use %d, want 2", got)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got := e.Stats().PortPairsInUse; got != 0 {
			t.Fatalf("pairs in use after close %d, want 0", got)
		}
		if err := s.Close(); !errors.Is(err, ErrClosed) {
			t.Fatalf("second close: %v", err)
		}
		if _, err := s.Offer(SideA, sdpBody(a.addr())); !errors.Is(err, ErrClosed) {
			t.Fatalf("offer after close: %v", err)
		}
		// the port is free again: we can bind it ourselves
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(relayA))
		if err != nil {
			t.Fatalf("relay port still bound after Close: %v", err)
		}
		c.Close()
		if e.Stats().Sessions != 0 {
			t.Fatal("engine still lists the session")
		}
	})
}

// faxBody is a party's T.38 re-INVITE SDP: the audio line becomes image.
func faxBody(addr netip.AddrPort) []byte {
	return []byte(fmt.Sprintf("v=0\r\no=- 1 2 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=image %d udptl t38\r\na=T38FaxVersion:0\r\na=T38FaxUdpEC:t38UDPRedundancy\r\n",
		addr.Addr(), addr.Addr(), addr.Port()))
}

func TestRelayT38(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		s, relayA, relayB := setup(t, e, a, b, false)
		// b switches the call to T.38: same m= line, same relay ports.
		toA, err := s.Offer(SideB, faxBody(b.addr()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(toA, []byte("m=image "+strconv.Itoa(int(relayA.Port()))+" udptl t38")) {
			t.Fatalf("T.38 offer to a:\n%s", toA)
		}
		if _, err := s.Answer(SideA, faxBody(a.addr())); err != nil {
			t.Fatal(err)
		}
		// UDPTL is not RTP: relayed as datagrams, latched, counted.
		udptl := []byte{0x00, 0x01, 0x02, 0x03, 't', '3', '8'}
		a.sendFrom(a.conn, relayA, udptl)
		got, src, ok := recvOn(t, b.conn, 2*time.Second)
		if !ok || !bytes.Equal(got, udptl) || src != relayB {
			t.Fatalf("UDPTL to b: ok=%v from %s", ok, src)
		}
		b.sendFrom(b.conn, relayB, udptl)
		got, src, ok = recvOn(t, a.conn, 2*time.Second)
		if !ok || !bytes.Equal(got, udptl) || src != relayA {
			t.Fatalf("UDPTL to a: ok=%v from %s", ok, src)
		}
		st := s.Stats().Legs[SideA].Streams[0]
		if st.Media != "image" || st.Packets != 1 || st.MOS != 0 {
			t.Fatalf("stats of a's fax stream: %+v", st)
		}
		if s.OnHold() {
			t.Fatal("a fax stream is not hold")
		}
	})
}

func TestRelayFailoverResetsCallee(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, first, second := newParty(t), newParty(t), newParty(t)
		s, relayA, relayB := setup(t, e, a, first, false) // first peer sent 183 with SDP
		first.send(relayB, 0, "early-media")
		a.expect(relayA, "early-media")
		// first fails; the call goes to the next peer
		s.ResetLeg(SideB)
		a.send(relayA, 0, "lost-between-attempts")
		first.expectNothing(50 * time.Millisecond)
		if _, err := s.Offer(SideA, sdpBody(a.addr())); err != nil {
			t.Fatal(err)
		}
		toA, err := s.Answer(SideB, sdpBody(second.addr()))
		if err != nil {
			t.Fatal(err)
		}
		if relayAddr(t, toA, 0) != relayA {
			t.Fatal("the caller's relay port changed on failover")
		}
		a.send(relayA, 0, "to-second")
		second.expect(relayB, "to-second")
		// the first peer can no longer inject media
		first.send(relayB, 0, "late")
		second.send(relayB, 0, "answer")
		a.expect(relayA, "answer")
		st := s.Stats().Legs[SideB].Streams[0]
		if st.Remote != second.addr() || st.Packets != 1 || st.DroppedSource != 1 {
			t.Fatalf("callee leg after failover: %+v", st)
		}
	})
}

// Many sessions on two shared party sockets (as the load generator does),
// closed concurrently while packets are still arriving: every packet of
// the first round arrives once, and every port pair comes back.
func TestRelayManySessionsConcurrentClose(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		const n = 40
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		sessions := make([]*Session, n)
		relayA := make([]netip.AddrPort, n)
		for i := range n {
			s, err := e.NewSession(context.Background(), fmt.Sprint("s", i))
			if err != nil {
				t.Fatal(err)
			}
			toB, err := s.Offer(SideA, sdpBody(a.addr()))
			if err != nil {
				t.Fatal(err)
			}
			toA, err := s.Answer(SideB, sdpBody(b.addr()))
			if err != nil {
				t.Fatal(err)
			}
			sessions[i], relayA[i] = s, relayAddr(t, toA, 0)
			_ = toB
		}
		for i := range n {
			a.send(relayA[i], 0, fmt.Sprint("p", i))
		}
		seen := map[string]bool{}
		for len(seen) < n {
			got, _, ok := recvOn(t, b.conn, 2*time.Second)
			if !ok {
				t.Fatalf("%d of %d packets arrived", len(seen), n)
			}
			var p rtp.Packet
			if err := p.Unmarshal(got); err != nil || seen[string(p.Payload)] {
				t.Fatalf("bad or duplicate packet %q (%v)", p.Payload, err)
			}
			seen[string(p.Payload)] = true
		}
		stop := make(chan struct{})
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				a.conn.WriteToUDPAddrPort(a.packet(0, "late"), relayA[k%n])
			}
		}()
		done := make(chan struct{})
		for _, s := range sessions {
			go func() { s.Close(); done <- struct{}{} }()
		}
		for range sessions {
			<-done
		}
		close(stop)
		<-sent
		if st := e.Stats(); st.PortPairsInUse != 0 || st.Sessions != 0 {
			t.Fatalf("after closing every session: %d pairs in use, %d sessions", st.PortPairsInUse, st.Sessions)
		}
	})
}
