package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
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
	if got < 15 || got > 32 {
		t.Errorf("%d of 100 answered, want about the burst of 20 (and a message or two of the trickle)", got)
	}
	st := f.s.Stats()
	if st.FloodBlocks != 1 || st.FloodDropped < 65 {
		t.Errorf("stats: blocks %d dropped %d", st.FloodBlocks, st.FloodDropped)
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
	if got := sendOptions(t, borrowed, sw, 100, 300*time.Millisecond); got > 32 {
		t.Errorf("other port of a peer's address: %d of 100 answered, want the burst only", got)
	}

	// After the block the address is served again.
	eventually(t, "block over", func() bool { return sendOptions(t, flooder, sw, 1, 100*time.Millisecond) == 1 })
}

// testFloodGuard is a guard on a clock the test moves.
func testFloodGuard(limit float64, blockFor time.Duration, clock *time.Time) *floodGuard {
	return &floodGuard{limit: limit, burst: 2 * limit, blockFor: blockFor, trustFor: time.Hour,
		exempt: func(netip.AddrPort, string) bool { return false }, now: func() time.Time { return *clock },
		onBlock: func(netip.Addr) {}, sources: make(map[netip.Addr]*floodSource), trustedSrc: make(map[netip.AddrPort]int64)}
}

// While an address is blocked one message a second per port passes, and
// no more than trickleRate a second for the address: a flooder on one
// port gets one a second, a phone on another port of the same NAT still
// gets its REGISTER through.
func TestFloodTrickle(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	g := testFloodGuard(10, time.Minute, &clock)
	ip := netip.MustParseAddr("192.0.2.7")
	flooder, phone := netip.AddrPortFrom(ip, 40000), netip.AddrPortFrom(ip, 5060)
	passed := 0
	for range 1000 { // 1,000 in one instant: the burst of 20 passes
		if g.allow(flooder, "UDP") {
			passed++
		}
	}
	if passed != 20 {
		t.Fatalf("%d passed, want the burst of 20", passed)
	}
	// 100 ms later: a second's flood from the flooder's port, then the
	// phone's REGISTER. 1,000 messages a second over 10 s.
	flooderPassed, phonePassed := 0, 0
	for step := range 100 {
		clock = clock.Add(100 * time.Millisecond)
		for range 100 {
			if g.allow(flooder, "UDP") {
				flooderPassed++
			}
		}
		if step%10 == 0 && g.allow(phone, "UDP") { // once a second
			phonePassed++
		}
	}
	if flooderPassed < 9 || flooderPassed > 10 {
		t.Errorf("flooder's port: %d of 10,000 passed in 10 s while blocked, want one a second", flooderPassed)
	}
	if phonePassed < 9 {
		t.Errorf("phone on another port of the blocked address: %d of 10 passed, want each (one a second)", phonePassed)
	}
	// Spraying ports: at most trickleRate a second for the address.
	sprayed := 0
	for i := range 1000 {
		clock = clock.Add(time.Millisecond)
		if g.allow(netip.AddrPortFrom(ip, uint16(10000+i)), "UDP") {
			sprayed++
		}
	}
	if sprayed > 2*trickleRate {
		t.Errorf("1,000 ports in 1 s: %d passed, want at most %d (a burst and a second)", sprayed, 2*trickleRate)
	}
	// Once a line authenticates from the phone's port that port is
	// trusted: nothing it sends is limited, while the flooder's port of
	// the same address stays blocked.
	clock = clock.Add(2 * time.Second)
	g.trust(phone, clock)
	for i := range 10_000 {
		if !g.allow(phone, "UDP") {
			t.Fatalf("trusted source: message %d dropped", i)
		}
	}
	flooderPassed = 0
	for range 1000 {
		if g.allow(flooder, "UDP") {
			flooderPassed++
		}
	}
	if flooderPassed > 1 {
		t.Errorf("flooder's port after the phone's proof: %d of 1,000 passed in an instant, want the trickle's one", flooderPassed)
	}
	// Trust lapses after trustFor; the sweep forgets it.
	clock = clock.Add(time.Hour + time.Second)
	g.sweep(clock)
	if len(g.trustedSrc) != 0 {
		t.Errorf("trust kept after it lapsed: %v", g.trustedSrc)
	}
	passed = 0
	for range 1000 {
		if g.allow(phone, "UDP") {
			passed++
		}
	}
	if passed != 20 {
		t.Errorf("after trust lapsed: %d passed, want the burst of 20", passed)
	}
}

// End to end: a phone behind a NAT whose address floods (another port)
// still registers through the trickle, then calls unhindered while the
// flooder stays blocked.
func TestPhoneBehindFloodingNATRegisters(t *testing.T) {
	if testing.Short() {
		t.Skip("floods the switch")
	}
	f, ctx := newFixture(t)
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	sw := f.s.Addrs()[0]
	flooder, err := net.ListenPacket("udp", "127.0.0.7:0")
	if err != nil {
		t.Fatal(err)
	}
	defer flooder.Close()
	// Blocked first: twice the burst in an instant.
	sendOptions(t, flooder, sw, 4*DefaultFloodLimit, 100*time.Millisecond)
	if f.s.Stats().FloodBlocks != 1 {
		t.Fatalf("flooder not blocked: %+v", f.s.Stats())
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // keeps flooding, 1,000 a second, bounded
		defer close(done)
		for i := range 30_000 {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-nat-%d\r\n"+
				"From: <sip:probe@x>;tag=n\r\nTo: <sip:%s>\r\nCall-ID: nat@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", sw, flooder.LocalAddr(), i, sw)
			flooder.WriteTo([]byte(msg), sw)
		}
	}()
	defer func() { close(stop); <-done }()
	phone := siptest.NewAgent(t, "natphone", "127.0.0.7")
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	res, _, err := phone.Register(rctx, sw, "1001", "secret1001", 600)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("phone behind the flooding address did not register: %v %v", res, err)
	}
	// Its port is trusted now: a call goes through without waiting on the
	// trickle.
	cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
	defer ccancel()
	d, err := phone.Call(cctx, sw, "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call from the registered phone: %v", err)
	}
	if err := d.Bye(cctx); err != nil {
		t.Fatalf("bye: %v", err)
	}
	st := f.s.Stats()
	t.Logf("flood blocks %d, dropped %d, trickled %d", st.FloodBlocks, st.FloodDropped, st.FloodTrickled)
	if st.FloodTrickled == 0 {
		t.Error("nothing passed by the trickle")
	}
}

// Issue 23 item 6: one address sending OPTIONS as fast as it can, while a
// phone places calls. With the default configuration (the flood limit on)
// every call completes; on a switch without it the flood's parses,
// transactions and answers starved the calls (1 of 5 completed in the
// attack). The phone's address, 127.0.0.1, authenticates with its first
// call and is never limited; the flooder is blocked and costs a map
// lookup per datagram.
func TestFloodOfOptionsLeavesCallsCompleting(t *testing.T) {
	if testing.Short() {
		t.Skip("floods the switch")
	}
	// The default flood limit; the carrier's answer may take longer than
	// the fixture's 400 ms under the race detector on a busy machine, which
	// is not what this test is about.
	f, ctx := newFixture(t, WithPeerTimeout(5*time.Second))
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	sw := f.s.Addrs()[0]
	flooder, err := net.ListenPacket("udp", "127.0.0.5:0")
	if err != nil {
		t.Fatal(err)
	}
	defer flooder.Close()
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		local := flooder.LocalAddr().String()
		head := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-of-", sw, local)
		tail := fmt.Sprintf("\r\nFrom: <sip:probe@%s>;tag=of\r\nTo: <sip:%s>\r\nCall-ID: of@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", local, sw)
		buf := make([]byte, 0, 512)
		sent := 0
		for ; sent < 2_000_000; sent++ { // bounded: about 20 s flat out
			select {
			case <-stop:
				done <- sent
				return
			default:
			}
			buf = append(strconv.AppendInt(append(buf[:0], head...), int64(sent), 10), tail...)
			flooder.WriteTo(buf, sw)
		}
		done <- sent
	}()
	const calls = 5
	completed := 0
	for i := range calls {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		d, err := f.phone.Call(cctx, sw, "441234", "1001", "secret1001", callerSDP)
		if err == nil {
			err = d.Bye(cctx)
		}
		cancel()
		if err != nil {
			t.Errorf("call %d under the flood: %v", i+1, err)
			continue
		}
		completed++
	}
	close(stop)
	sent := <-done
	st := f.s.Stats()
	t.Logf("%d of %d calls completed while one address sent %d OPTIONS; flood blocks %d, dropped %d, trickled %d",
		completed, calls, sent, st.FloodBlocks, st.FloodDropped, st.FloodTrickled)
	if st.FloodBlocks == 0 {
		t.Error("the flooder was never blocked")
	}
}

// BenchmarkFloodGuardAllow is the flood limit's cost per datagram, paid on
// the read loop before parsing: 1,000 phones' addresses, none over.
func BenchmarkFloodGuardAllow(b *testing.B) {
	clock := time.Now()
	g := &floodGuard{limit: 1e9, burst: 2e9, blockFor: time.Minute,
		exempt: func(netip.AddrPort, string) bool { return false }, now: func() time.Time { return clock },
		onBlock: func(netip.Addr) {}, sources: make(map[netip.Addr]*floodSource), trustedSrc: make(map[netip.AddrPort]int64)}
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
