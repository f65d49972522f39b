package sip

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/routing"
)

// sendOptions sends n OPTIONS datagrams from conn to the switch and counts
// the answers that arrive within wait after the last one.
func sendOptions(t *testing.T, conn net.PacketConn, sw net.Addr, n int, wait time.Duration) int {
	t.Helper()
	local := conn.LocalAddr().String()
	for i := range n {
		msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-flood-%d-%d\r\n"+
			"From: <sip:probe@%s>;tag=f%d\r\nTo: <sip:%s>\r\nCall-ID: flood-%d-%d@test\r\nCSeq: 1 OPTIONS\r\n"+
			"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", sw, local, time.Now().UnixNano(), i, local, i, sw, time.Now().UnixNano(), i)
		if _, err := conn.WriteTo([]byte(msg), sw); err != nil {
			t.Fatal(err)
		}
	}
	answers := 0
	buf := make([]byte, 4096)
	for {
		conn.SetReadDeadline(time.Now().Add(wait))
		if _, _, err := conn.ReadFrom(buf); err != nil {
			return answers
		}
		answers++
	}
}

func TestFloodLimit(t *testing.T) {
	f, _ := newFixture(t, WithFloodLimit(10, 500*time.Millisecond))
	sw := f.s.Addrs()[0]

	flooder, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer flooder.Close()
	// A burst of 100 from one address: the first ~20 (the burst) pass, the
	// rest are dropped unparsed and the address is blocked.
	got := sendOptions(t, flooder, sw, 100, 300*time.Millisecond)
	if got < 15 || got > 30 {
		t.Errorf("%d of 100 answered, want about the burst of 20", got)
	}
	st := f.s.Stats()
	if st.FloodBlocks != 1 || st.FloodDropped < 70 {
		t.Errorf("stats: blocks %d dropped %d", st.FloodBlocks, st.FloodDropped)
	}
	// While blocked even a single message is dropped.
	if got := sendOptions(t, flooder, sw, 1, 100*time.Millisecond); got != 0 {
		t.Errorf("blocked address got %d answers", got)
	}

	// A peer's exact source is never limited.
	carrier, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer carrier.Close()
	f.dir.addPeer(&routing.Peer{ID: 99, Name: "flooding-carrier", Type: routing.PeerSIP, Destination: carrier.LocalAddr().String()})
	if got := sendOptions(t, carrier, sw, 100, 300*time.Millisecond); got != 100 {
		t.Errorf("peer source: %d of 100 answered", got)
	}
	// Another port on a peer's address is not the peer: it is limited.
	borrowed, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer borrowed.Close()
	if got := sendOptions(t, borrowed, sw, 100, 300*time.Millisecond); got > 30 {
		t.Errorf("other port of a peer's address: %d of 100 answered, want the burst only", got)
	}

	// After the block the address is served again.
	eventually(t, "block over", func() bool { return sendOptions(t, flooder, sw, 1, 100*time.Millisecond) == 1 })
}

// BenchmarkFloodGuardAllow is the flood limit's cost per datagram, paid on
// the read loop before parsing: 1,000 phones' addresses, none over.
func BenchmarkFloodGuardAllow(b *testing.B) {
	clock := time.Now()
	g := &floodGuard{limit: 1e9, burst: 2e9, blockFor: time.Minute,
		exempt: func(netip.AddrPort, string) bool { return false }, now: func() time.Time { return clock },
		onBlock: func(netip.Addr) {}, sources: make(map[netip.Addr]*floodSource)}
	addrs := make([]netip.AddrPort, 1000)
	for i := range addrs {
		addrs[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 5060)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if !g.allow(addrs[i%len(addrs)], "UDP") {
			b.Fatal("dropped")
		}
		i++
	}
}

// Over TCP the switch cannot drop part of a stream: a flooding connection
// is closed.
func TestFloodLimitClosesTCP(t *testing.T) {
	dir := newTestDirectory()
	s, _ := startSwitch(t, dir, WithListen("tcp://127.0.0.1:0"), WithFloodLimit(5, time.Minute))
	var tcpAddr net.Addr
	for _, a := range s.Addrs() {
		if a.Network() == "tcp" {
			tcpAddr = a
		}
	}
	conn, err := net.Dial("tcp", tcpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	for i := range 50 {
		msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK-tcpflood-%d\r\n"+
			"From: <sip:probe@%s>;tag=t%d\r\nTo: <sip:%s>\r\nCall-ID: tcpflood-%d@test\r\nCSeq: 1 OPTIONS\r\n"+
			"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", tcpAddr, local, i, local, i, tcpAddr, i)
		if _, err := conn.Write([]byte(msg)); err != nil {
			break // closed by the switch already
		}
		time.Sleep(time.Millisecond) // separate reads, as a flood's packets would be
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64<<10)
	for {
		if _, err := conn.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("flooding TCP connection still open after 5 s")
			}
			break // EOF or reset: closed
		}
	}
	if st := s.Stats(); st.FloodBlocks != 1 {
		t.Errorf("flood blocks %d, want 1", st.FloodBlocks)
	}
}
