package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestSenderSendsEveryMessageAsHEP(t *testing.T) {
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := New(ln.LocalAddr().String(), WithCaptureID(42), WithAuthKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	invite := "INVITE sip:100@192.0.2.9 SIP/2.0\r\nCall-ID: call-1@phone\r\n\r\n"
	s.SIPTraceRead("UDP", "192.0.2.9:5060", "198.51.100.7:5062", []byte(invite))
	s.SIPTraceWrite("TCP", "[2001:db8::9]:5060", "[2001:db8::7]:40000", []byte("SIP/2.0 100 Trying\r\ni: call-1@phone\r\n\r\n"))
	want := []struct {
		src, dst string
		proto    uint8
		prefix   string
	}{
		{"198.51.100.7:5062", "192.0.2.9:5060", ProtocolUDP, "INVITE"},
		{"[2001:db8::9]:5060", "[2001:db8::7]:40000", ProtocolTCP, "SIP/2.0 100"},
	}
	buf := make([]byte, 65536)
	for _, w := range want {
		p := readPacket(t, ln, buf)
		if p.Src != netip.MustParseAddrPort(w.src) || p.Dst != netip.MustParseAddrPort(w.dst) || p.Protocol != w.proto ||
			p.CaptureID != 42 || p.AuthKey != "k" || p.CorrelationID != "call-1@phone" || !strings.HasPrefix(string(p.Payload), w.prefix) ||
			time.Since(p.Time) > time.Minute {
			t.Errorf("packet %+v, want %+v", p, w)
		}
	}
	s.Close() // the counts are final once the sender has stopped
	if st := s.Stats(); st.Sent != 2 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

// The queue holds limit messages and as many times recordBytes: a burst
// of large messages is dropped before it takes more memory than that,
// and a small one still fits.
func TestCaptureQueueBoundedInBytes(t *testing.T) {
	s := &Sender{limit: 2, kick: make(chan struct{}, 1), now: time.Now}
	big := []byte("OPTIONS sip:x SIP/2.0\r\nX: " + strings.Repeat("x", recordBytes) + "\r\n\r\n")
	s.Capture("UDP", "192.0.2.1:1", "192.0.2.2:2", big)
	s.Capture("UDP", "192.0.2.1:1", "192.0.2.2:2", big)
	s.Capture("UDP", "192.0.2.1:1", "192.0.2.2:2", []byte("OPTIONS sip:x SIP/2.0\r\n\r\n"))
	if st := s.Stats(); st.Dropped != 1 || s.n != 2 || len(s.queued) > s.limit*recordBytes {
		t.Errorf("dropped %d, queued %d in %d bytes; want the second large one dropped, the small one queued within %d",
			st.Dropped, s.n, len(s.queued), s.limit*recordBytes)
	}
}

// The read loop's hooks (sip.AddrTracer) give addresses and a read's
// arrival as they are: the packets carry them, source and destination the
// right way round, an IPv4-mapped address as IPv4, the read stamped with
// the time it was given (to the microsecond) and the write with the
// sender's clock.
func TestSenderAddrHooks(t *testing.T) {
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := New(ln.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	written := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	s.now = func() time.Time { return written }
	arrived := time.Date(2026, 3, 4, 5, 6, 7, 891_234_567, time.UTC)
	s.SIPTraceReadAddr("UDP", netip.MustParseAddrPort("[::ffff:192.0.2.9]:5060"), netip.MustParseAddrPort("[::ffff:198.51.100.7]:5062"),
		arrived, []byte("INVITE sip:100@192.0.2.9 SIP/2.0\r\nCall-ID: call-1@phone\r\n\r\n"))
	s.SIPTraceWriteAddr("TLS", netip.MustParseAddrPort("[2001:db8::9]:5061"), netip.MustParseAddrPort("[2001:db8::7]:40000"),
		[]byte("SIP/2.0 100 Trying\r\ni: call-1@phone\r\n\r\n"))
	want := []struct {
		src, dst string
		proto    uint8
		at       time.Time
		prefix   string
	}{
		{"198.51.100.7:5062", "192.0.2.9:5060", ProtocolUDP, arrived.Truncate(time.Microsecond), "INVITE"},
		{"[2001:db8::9]:5061", "[2001:db8::7]:40000", ProtocolTCP, written, "SIP/2.0 100"},
	}
	buf := make([]byte, 65536)
	for _, w := range want {
		p := readPacket(t, ln, buf)
		if p.Src != netip.MustParseAddrPort(w.src) || p.Dst != netip.MustParseAddrPort(w.dst) || p.Protocol != w.proto ||
			!p.Time.Equal(w.at) || p.CorrelationID != "call-1@phone" || !strings.HasPrefix(string(p.Payload), w.prefix) {
			t.Errorf("packet %+v, want %+v", p, w)
		}
	}
}

// A queue that is full drops the copy and returns at once: capture never
// holds up the SIP transport.
func TestCaptureNeverBlocks(t *testing.T) {
	s := &Sender{limit: 1, kick: make(chan struct{}, 1), now: time.Now}
	done := make(chan struct{})
	go func() {
		for range 100 {
			s.Capture("UDP", "192.0.2.1:1", "192.0.2.2:2", []byte("OPTIONS sip:x SIP/2.0\r\n\r\n"))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Capture blocked with nobody sending")
	}
	if st := s.Stats(); st.Dropped != 99 {
		t.Errorf("dropped %d of 100 with a queue of 1, want 99", st.Dropped)
	}
}

// The call path's cost of capture: a copy appended to the queue's buffer
// under its lock.
func BenchmarkCapture(b *testing.B) {
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := ln.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	s, err := New(ln.LocalAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	msg := []byte(strings.Repeat("INVITE sip:100@192.0.2.9 SIP/2.0\r\nCall-ID: call-1@phone\r\n", 12) + "\r\n")
	b.ReportAllocs()
	for b.Loop() {
		s.SIPTraceRead("UDP", "192.0.2.9:5060", "198.51.100.7:5062", msg)
	}
	// Unpaced, the loop outruns the sender: some copies are dropped
	// (which costs less than queuing one).
	b.ReportMetric(float64(s.Stats().Dropped)/float64(b.N), "dropped/op")
}

// The SRTP master keys in an SDES offer (a=crypto inline:) do not leave in
// the copy: masked with '*', the message otherwise as it was.
func TestCaptureMasksSDESKeys(t *testing.T) {
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := New(ln.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const key = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
	msg := "INVITE sip:100@192.0.2.9 SIP/2.0\r\nCall-ID: k@phone\r\nContent-Length: 97\r\n\r\nv=0\r\nm=audio 4000 RTP/SAVP 0\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^20\r\n"
	orig := []byte(msg)
	s.SIPTraceRead("TLS", "192.0.2.9:5061", "198.51.100.7:40000", orig)
	buf := make([]byte, 65536)
	p := readPacket(t, ln, buf)
	want := strings.Replace(msg, key, strings.Repeat("*", len(key)), 1)
	if string(p.Payload) != want {
		t.Fatalf("captured:\n%s\nwant:\n%s", p.Payload, want)
	}
	if string(orig) != msg {
		t.Fatal("the transport's own message was changed")
	}
}

// A packet whose head does not fit the room before the copy (a Call-ID
// of 400 bytes) is sent whole all the same, beside ordinary ones.
func TestSenderLongHead(t *testing.T) {
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := New(ln.LocalAddr().String(), WithAuthKey("secret"), WithFlush(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	long := strings.Repeat("c", 400) + "@phone"
	for _, id := range []string{"short@phone", long, "short-again@phone"} {
		s.SIPTraceWrite("UDP", "[2001:db8::9]:5060", "[2001:db8::7]:5062", []byte("BYE sip:x SIP/2.0\r\nCall-ID: "+id+"\r\n\r\n"))
	}
	buf := make([]byte, 65536)
	for _, id := range []string{"short@phone", long, "short-again@phone"} {
		p := readPacket(t, ln, buf)
		if p.CorrelationID != id || string(p.Payload) != "BYE sip:x SIP/2.0\r\nCall-ID: "+id+"\r\n\r\n" || p.AuthKey != "secret" ||
			p.Src != netip.MustParseAddrPort("[2001:db8::9]:5060") {
			t.Fatalf("packet %+v, want Call-ID %.20s…", p, id)
		}
	}
}

// The sender's work for one message, the system call excepted: the keys
// masked, the Call-ID found, the head written before the copy.
func BenchmarkEncode(b *testing.B) {
	s := &Sender{captureID: 7}
	msg := []byte(benchInvite)
	data := make([]byte, headRoom+len(msg))
	var head, spill []byte
	addrs := addrCache{}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		c := captured{at: time.Now().UnixNano(), protocol: ProtocolUDP, srcName: "127.0.0.1:5061", dstName: "127.0.0.1:15060"}
		c.putMeta(data, len(msg))
		copy(data[headRoom:], msg)
		if _, err := s.encode(data, &addrs, &head, &spill); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncode with the addresses as the read loop's hooks give them:
// no lookup by string.
func BenchmarkEncodeAddr(b *testing.B) {
	s := &Sender{captureID: 7}
	msg := []byte(benchInvite)
	data := make([]byte, headRoom+len(msg))
	var head, spill []byte
	addrs := addrCache{}
	src, dst := netip.MustParseAddrPort("127.0.0.1:5061"), netip.MustParseAddrPort("127.0.0.1:15060")
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		c := captured{at: time.Now().UnixNano(), protocol: ProtocolUDP, src: src, dst: dst}
		c.putMeta(data, len(msg))
		copy(data[headRoom:], msg)
		if _, err := s.encode(data, &addrs, &head, &spill); err != nil {
			b.Fatal(err)
		}
	}
}

const benchInvite = "INVITE sip:15000123456@127.0.0.1:15060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0\r\n" +
	"From: <sip:2000001@127.0.0.1>;tag=1\r\nTo: <sip:15000123456@127.0.0.1>\r\nCall-ID: 1-12345@127.0.0.1\r\nCSeq: 2 INVITE\r\n" +
	"Contact: <sip:2000001@127.0.0.1:5061>\r\nMax-Forwards: 70\r\nAuthorization: Digest username=\"2000001\", realm=\"sipswitch\", " +
	"nonce=\"abcdef0123456789\", uri=\"sip:15000123456@127.0.0.1:15060\", response=\"0123456789abcdef0123456789abcdef\", algorithm=MD5\r\n" +
	"Content-Type: application/sdp\r\nContent-Length: 130\r\n\r\nv=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n" +
	"c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

// readHEP reads one HEPv3 packet from a stream.
func readHEP(t *testing.T, c net.Conn) Packet {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, 6)
	if _, err := io.ReadFull(c, hdr); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, binary.BigEndian.Uint16(hdr[4:]))
	copy(b, hdr)
	if _, err := io.ReadFull(c, b[6:]); err != nil {
		t.Fatal(err)
	}
	var p Packet
	if err := p.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	return p
}

// Over TCP the packets follow each other on one connection; when the
// server goes away the sender counts what it could not send and connects
// again.
func TestSenderTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	fastRedial := func(s *Sender) { s.minRedial = 10 * time.Millisecond }
	s, err := New("tcp://"+ln.Addr().String(), WithCaptureID(9), WithFlush(time.Millisecond), fastRedial)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msg := func(id string) []byte { return []byte("OPTIONS sip:x SIP/2.0\r\nCall-ID: " + id + "\r\n\r\n") }
	for _, id := range []string{"a", "b", "c"} {
		s.SIPTraceRead("UDP", "192.0.2.9:5060", "198.51.100.7:5062", msg(id))
	}
	var c1 net.Conn
	select {
	case c1 = <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("no connection")
	}
	for _, id := range []string{"a", "b", "c"} {
		if p := readHEP(t, c1); p.CorrelationID != id || p.CaptureID != 9 || string(p.Payload) != string(msg(id)) {
			t.Fatalf("packet %+v, want Call-ID %s", p, id)
		}
	}
	// The server drops the connection: the sender's writes fail, it
	// connects again, and what it captures then arrives.
	c1.Close()
	deadline := time.After(10 * time.Second)
	var c2 net.Conn
	for c2 == nil {
		s.SIPTraceRead("UDP", "192.0.2.9:5060", "198.51.100.7:5062", msg("again"))
		select {
		case c2 = <-accepted:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatal("the sender did not connect again")
		}
	}
	defer c2.Close()
	if p := readHEP(t, c2); p.CorrelationID != "again" {
		t.Fatalf("after reconnecting: %+v", p)
	}
	if st := s.Stats(); st.Failed == 0 || st.Sent < 4 {
		t.Errorf("stats %+v: want the packets written to the dead connection failed", st)
	}
}

// With no server listening, TCP packets fail and are counted; capturing
// never waits for the connection.
func TestSenderTCPNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := New("tcp://"+addr, WithFlush(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		s.SIPTraceWrite("UDP", "192.0.2.9:5060", "198.51.100.7:5062", []byte("OPTIONS sip:x SIP/2.0\r\n\r\n"))
	}
	s.Close()
	if st := s.Stats(); st.Failed != 100 || st.Sent != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v, want 100 failed", st)
	}
}

// A batch's worth of messages is sent without waiting for the flush
// interval (here an hour).
func TestSenderSendsFullBatchAtOnce(t *testing.T) {
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ln.(*net.UDPConn).SetReadBuffer(1 << 20)
	s, err := New(ln.LocalAddr().String(), WithFlush(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range wakeBatch("udp") {
		s.SIPTraceRead("UDP", "192.0.2.9:5060", "198.51.100.7:5062", []byte("OPTIONS sip:x SIP/2.0\r\n\r\n"))
	}
	buf := make([]byte, 65536)
	for i := range wakeBatch("udp") {
		ln.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := ln.ReadFrom(buf); err != nil {
			t.Fatalf("packet %d of %d: %v", i+1, wakeBatch("udp"), err)
		}
	}
}

// Copies captured from several goroutines while the sender is taking
// and sending the queue all arrive, each goroutine's in its order: the
// queue is taken whole and swapped, never losing what was appended
// meanwhile.
func TestSenderConcurrentCaptureKeepsEvery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := New("tcp://"+ln.Addr().String(), WithFlush(time.Millisecond), WithQueue(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 5000
	done := make(chan struct{})
	for w := range writers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				s.SIPTraceWrite("UDP", "192.0.2.9:5060", "198.51.100.7:5062", []byte(fmt.Sprintf("OPTIONS sip:x SIP/2.0\r\nCall-ID: %d-%d\r\n\r\n", w, i)))
			}
		}()
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	next := make([]int, writers)
	for range writers * each {
		p := readHEP(t, c)
		var w, i int
		if _, err := fmt.Sscanf(p.CorrelationID, "%d-%d", &w, &i); err != nil || w >= writers {
			t.Fatalf("packet %+v", p)
		}
		if i != next[w] {
			t.Fatalf("writer %d: copy %d arrived where %d was due", w, i, next[w])
		}
		next[w]++
	}
	for range writers {
		<-done
	}
	s.Close()
	if st := s.Stats(); st.Sent != writers*each || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("stats %+v, want %d sent", st, writers*each)
	}
}

// Over TCP a TCP batch's worth (512) is sent without waiting for the
// flush interval (here an hour) either.
func TestSenderTCPSendsFullBatchAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := New("tcp://"+ln.Addr().String(), WithFlush(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := wakeBatch("tcp")
	for i := range n {
		s.SIPTraceRead("UDP", "192.0.2.9:5060", "198.51.100.7:5062", fmt.Appendf(nil, "OPTIONS sip:x SIP/2.0\r\nCall-ID: %d\r\n\r\n", i))
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range n {
		if p := readHEP(t, c); p.CorrelationID != fmt.Sprint(i) {
			t.Fatalf("packet %d of %d: %+v", i+1, n, p)
		}
	}
}

// readPacket reads and decodes the next HEP packet ln gets (within 5 s)
// into buf.
func readPacket(t *testing.T, ln net.PacketConn, buf []byte) Packet {
	t.Helper()
	ln.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := ln.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	if err := p.Unmarshal(buf[:n]); err != nil {
		t.Fatal(err)
	}
	return p
}
