package media

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
)

// Strict latching, as an attacker tries it: strangers on other loopback
// addresses (127.0.0.2 ...) play hosts that are not the party; a second
// socket on 127.0.0.1 plays another port of the party's own address (its
// NAT's new mapping, or another host behind the same NAT).

var stranger = netip.MustParseAddr("127.0.0.2")

// next reads the next datagram p receives and fails unless it is the RTP
// packet named payload from the relay port from: nothing else may come
// first (expect, by contrast, skips earlier packets).
func (p *party) next(from netip.AddrPort, payload string) {
	p.t.Helper()
	b, src, ok := recvOn(p.t, p.conn, 2*time.Second)
	if !ok {
		p.t.Fatalf("%s: nothing received, want %q", p.addr(), payload)
	}
	if got := payloadOf(b); got != payload || src != from {
		p.t.Fatalf("%s: got %q from %s, want %q from %s", p.addr(), got, src, payload, from)
	}
}

// payloadOf is an RTP packet's payload, or the datagram when it is not
// RTP.
func payloadOf(b []byte) string {
	if len(b) > 12 && b[0]>>6 == 2 {
		return string(b[12:])
	}
	return string(b)
}

// engineStats waits until the engine's totals satisfy ok: a reader adds
// its batch to them after forwarding it, so a packet can arrive before
// the totals of its batch are in.
func engineStats(t *testing.T, e *Engine, ok func(EngineStats) bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); ; {
		es := e.Stats()
		if ok(es) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("engine totals: %+v", es)
		}
		time.Sleep(time.Millisecond)
	}
}

// natSession is a session whose caller is a phone behind NAT: its SDP
// names the private 10.9.8.7:4000, its SIP came from 127.0.0.1.
func natSession(t *testing.T, e *Engine, b *party, extraA ...string) (*Session, netip.AddrPort, netip.AddrPort) {
	t.Helper()
	s, err := e.NewSession(context.Background(), "nat-"+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.SetNAT(SideA, true)
	s.SetSources(SideA, loopback)
	toB, err := s.Offer(SideA, sdpBody(netip.MustParseAddrPort("10.9.8.7:4000"), extraA...))
	if err != nil {
		t.Fatal(err)
	}
	toA, err := s.Answer(SideB, sdpBody(b.addr()))
	if err != nil {
		t.Fatal(err)
	}
	return s, relayAddr(t, toA, 0), relayAddr(t, toB, 0)
}

// The hijack of issue 23: a stranger sends 20 packets to the phone's relay
// port before the phone sends anything. None latches, none reaches the
// callee; the phone's first packet latches, and the callee's media goes to
// the phone only.
func TestRelayStrangerCannotLatchBeforePhone(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		phone, carrier := newParty(t), newParty(t)
		s, relayA, relayB := natSession(t, e, carrier)
		intruder := newPartyOn(t, stranger)
		intruder.ssrc = 0x6666
		for range 20 {
			intruder.send(relayA, 0, "stranger")
		}
		phone.send(relayA, 0, "phone")
		carrier.next(relayB, "phone")
		carrier.send(relayB, 0, "callee")
		phone.next(relayA, "callee")
		for range 20 {
			intruder.send(relayA, 0, "stranger")
		}
		phone.send(relayA, 0, "phone2")
		carrier.next(relayB, "phone2")
		st := s.Stats().Legs[SideA].Streams[0]
		if st.Remote != phone.addr() || !st.Latched || st.Packets != 2 || st.DroppedSource != 40 || st.DroppedLearning != 0 || st.SSRCChanges != 0 {
			t.Fatalf("phone's leg: %+v", st)
		}
		engineStats(t, e, func(es EngineStats) bool {
			return es.DroppedSource == 40 && es.Relatches == 0 && es.DroppedLearning == 0
		})
	})
}

// Another port of the party's own address (its NAT's new mapping) takes
// the latch over only with Probation consecutive in-sequence packets of
// one SSRC; the latched source's own packets in between do not break
// the run, and the latched party goes on being heard until then.
func TestRelayRelatchAfterProbation(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		s, relayA, relayB := setup(t, e, a, b, true)
		a.send(relayA, 0, "a1")
		b.next(relayB, "a1")

		moved := newParty(t) // same host, another port
		moved.ssrc = 0x7777
		// Out of sequence: runs of Probation-1, broken by a gap, a
		// different SSRC, then the same again.
		for range Probation - 1 {
			moved.send(relayA, 0, "probation")
		}
		moved.seq += 10
		for range Probation - 1 {
			moved.send(relayA, 0, "probation")
		}
		moved.ssrc++
		for range Probation - 1 {
			moved.send(relayA, 0, "probation")
		}
		a.send(relayA, 0, "a2")
		b.next(relayB, "a2")
		b.send(relayB, 0, "to-a")
		a.next(relayA, "to-a")
		if st := s.Stats().Legs[SideA].Streams[0]; st.Remote != a.addr() || st.DroppedLearning != 3*(Probation-1) || st.Relatches != 0 {
			t.Fatalf("after broken runs: %+v", st)
		}
		// The run of Probation-1 goes on: one more in-sequence packet
		// completes it and is the first relayed from the new source.
		moved.send(relayA, 0, "moved")
		b.next(relayB, "moved")
		b.send(relayB, 0, "to-moved")
		moved.next(relayA, "to-moved")
		st := s.Stats().Legs[SideA].Streams[0]
		if st.Remote != moved.addr() || st.Relatches != 1 || st.SSRCChanges != 1 || st.SSRC != moved.ssrc || st.Packets != 3 {
			t.Fatalf("after the probation: %+v", st)
		}
		// The old source is now the one on probation.
		a.send(relayA, 0, "old")
		moved.send(relayA, 0, "moved2")
		b.next(relayB, "moved2")
		engineStats(t, e, func(es EngineStats) bool {
			return es.Relatches == 1 && es.DroppedLearning == 3*(Probation-1)+1 && es.DroppedSource == 0
		})
	})
}

// A source never allowed stays dropped whatever it sends: a perfect run
// of in-sequence packets (the probation's) does not move the latch.
func TestRelayStrangerRunNeverRelatches(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		s, relayA, relayB := setup(t, e, a, b, true)
		a.send(relayA, 0, "a1")
		b.next(relayB, "a1")
		intruder := newPartyOn(t, stranger)
		intruder.ssrc = a.ssrc
		intruder.seq = a.seq
		for range 3 * Probation {
			intruder.send(relayA, 0, "stranger")
		}
		a.send(relayA, 0, "a2")
		b.next(relayB, "a2")
		if st := s.Stats().Legs[SideA].Streams[0]; st.DroppedSource != 3*Probation || st.Relatches != 0 || st.Remote != a.addr() {
			t.Fatalf("after a stranger's run: %+v", st)
		}
	})
}

// RTCP on the RTCP port latches from the same allowed sources: a
// stranger's is dropped; another port of the party's host latches it,
// after which only that source is accepted (yet another port of the host
// is on probation: RTCP has no sequence numbers to learn it by, it waits
// for the RTP latch to move).
func TestRelayRTCPStrict(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		bRTCP, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(b.addr().Addr(), b.addr().Port()+1)))
		if err != nil {
			t.Skipf("port next to b taken: %v", err)
		}
		defer bRTCP.Close()
		s, relayA, relayB := setup(t, e, a, b, true)
		rtcpA := netip.AddrPortFrom(relayA.Addr(), relayA.Port()+1)
		intruder := newPartyOn(t, stranger)
		intruder.sendFrom(intruder.conn, rtcpA, receiverReport(0xdead))
		a.send(relayA, 0, "a1")
		b.next(relayB, "a1")
		aRTCP := newParty(t) // a's RTCP leaves from another port of its host
		aRTCP.sendFrom(aRTCP.conn, rtcpA, receiverReport(0x1234))
		other := newParty(t)
		other.sendFrom(other.conn, rtcpA, receiverReport(0xbeef))
		aRTCP.sendFrom(aRTCP.conn, rtcpA, receiverReport(0x1235))
		for _, want := range []uint32{0x1234, 0x1235} {
			got, _, ok := recvOn(t, bRTCP, 2*time.Second)
			if !ok || !bytes.Equal(got, receiverReport(want)) {
				t.Fatalf("b's RTCP socket got %x (%v), want a's report %x", got, ok, want)
			}
		}
		// b's RTCP goes to a's latched RTCP source.
		if _, err := bRTCP.WriteToUDPAddrPort(receiverReport(0x2222), netip.AddrPortFrom(relayB.Addr(), relayB.Port()+1)); err != nil {
			t.Fatal(err)
		}
		if got, _, ok := recvOn(t, aRTCP.conn, 2*time.Second); !ok || !bytes.Equal(got, receiverReport(0x2222)) {
			t.Fatalf("b's RTCP did not reach a's RTCP source: %v", ok)
		}
		st := s.Stats().Legs[SideA].Streams[0]
		if st.DroppedSource != 1 || st.DroppedLearning != 1 || st.RTCPPackets != 2 {
			t.Fatalf("a's leg: dropped_source %d dropped_learning %d rtcp %d, want 1, 1, 2", st.DroppedSource, st.DroppedLearning, st.RTCPPackets)
		}
	})
}

// Multiplexed RTCP (RFC 5761) is taken from the latched RTP source only:
// a stranger's is dropped, and so is another port of the party's host.
func TestRelayMuxedRTCPStrict(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		phone, b := newParty(t), newParty(t)
		bRTCP, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(b.addr().Addr(), b.addr().Port()+1)))
		if err != nil {
			t.Skipf("port next to b taken: %v", err)
		}
		defer bRTCP.Close()
		s, relayA, relayB := natSession(t, e, b, "rtcp-mux")
		intruder := newPartyOn(t, stranger)
		intruder.sendFrom(intruder.conn, relayA, receiverReport(0xdead))
		phone.send(relayA, 0, "p1")
		b.next(relayB, "p1")
		other := newParty(t)
		other.sendFrom(other.conn, relayA, receiverReport(0xbeef))
		phone.sendFrom(phone.conn, relayA, receiverReport(0x1234))
		got, _, ok := recvOn(t, bRTCP, 2*time.Second)
		if !ok || !bytes.Equal(got, receiverReport(0x1234)) {
			t.Fatalf("b's RTCP socket got %x (%v), want the phone's report", got, ok)
		}
		st := s.Stats().Legs[SideA].Streams[0]
		if st.DroppedSource != 1 || st.DroppedLearning != 1 || st.RTCPPackets != 1 || st.Remote != phone.addr() {
			t.Fatalf("phone's leg: %+v", st)
		}
	})
}

// receiverReport is an RTCP RR from ssrc with one report block.
func receiverReport(ssrc uint32) []byte {
	return []byte{0x81, 201, 0, 7, byte(ssrc >> 24), byte(ssrc >> 16), byte(ssrc >> 8), byte(ssrc), 0, 0, 0, 1, 64, 0, 0, 5, 0, 0, 0, 9, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0}
}

// T.38: UDPTL latches from the same sources; its own sequence number (the
// first two octets of T.38's UDPTLPacket) is what a new source's
// probation counts, and a repeated packet (the same sequence number)
// neither advances nor breaks the run.
func TestRelayUDPTLStrict(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		s, relayA, relayB := setup(t, e, a, b, true)
		if _, err := s.Offer(SideB, faxBody(b.addr())); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Answer(SideA, faxBody(netip.MustParseAddrPort("10.9.8.7:4000"))); err != nil {
			t.Fatal(err)
		}
		udptl := func(seq uint16, tag string) []byte { return append([]byte{byte(seq >> 8), byte(seq)}, tag...) }
		intruder := newPartyOn(t, stranger)
		intruder.sendFrom(intruder.conn, relayA, udptl(1, "stranger"))
		a.sendFrom(a.conn, relayA, udptl(1, "a1"))
		b.next(relayB, string(udptl(1, "a1")))
		moved := newParty(t)
		for _, seq := range []uint16{7, 8, 8, 9} { // a duplicate among Probation-1 in sequence
			moved.sendFrom(moved.conn, relayA, udptl(seq, "probation"))
		}
		a.sendFrom(a.conn, relayA, udptl(2, "a2"))
		b.next(relayB, string(udptl(2, "a2")))
		moved.sendFrom(moved.conn, relayA, udptl(10, "moved"))
		b.next(relayB, string(udptl(10, "moved")))
		st := s.Stats().Legs[SideA].Streams[0]
		if st.Media != "image" || st.Remote != moved.addr() || st.Relatches != 1 || st.DroppedSource != 1 || st.DroppedLearning != 4 || st.Packets != 3 {
			t.Fatalf("a's fax stream: %+v", st)
		}
	})
}

// New sources drop a latch they no longer allow (the callee leg after a
// fork other than the one that sent early media answered): its media is
// learnt again, from the new sources only.
func TestSetSourcesDropsDisallowedLatch(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		s, relayA, relayB := setup(t, e, a, b, true)
		a.send(relayA, 0, "a1")
		b.next(relayB, "a1")
		s.SetSources(SideA, loopback) // the same: kept
		if st := s.Stats().Legs[SideA].Streams[0]; !st.Latched || st.Remote != a.addr() {
			t.Fatalf("the same sources dropped the latch: %+v", st)
		}
		s.SetSources(SideA, stranger)
		if st := s.Stats().Legs[SideA]; st.Streams[0].Latched || len(st.Sources) != 1 || st.Sources[0] != stranger {
			t.Fatalf("after new sources: %+v", st)
		}
		a.send(relayA, 0, "a2")
		forked := newPartyOn(t, stranger)
		forked.send(relayA, 0, "forked")
		b.next(relayB, "forked")
		if st := s.Stats().Legs[SideA].Streams[0]; st.Remote != forked.addr() || st.DroppedSource != 1 || st.Packets != 2 {
			t.Fatalf("after new sources: %+v", st)
		}
	})
}

// Which signalled address may latch: any of a party not behind NAT, only
// a globally routable one behind NAT.
func TestSignalledAddressTrust(t *testing.T) {
	for _, tt := range []struct {
		sdp   string
		nat   bool
		trust bool
	}{
		{"203.0.113.9:4000", false, true},
		{"203.0.113.9:4000", true, true},
		{"10.9.8.7:4000", false, true},
		{"10.9.8.7:4000", true, false},
		{"192.168.1.20:4000", true, false},
		{"172.16.0.1:4000", true, false},
		{"100.64.1.1:4000", true, false}, // RFC 6598 carrier-grade NAT
		{"127.0.0.1:4000", true, false},
		{"169.254.1.1:4000", true, false},
		{"[fd00::1]:4000", true, false},
		{"[2001:db8::1]:4000", true, true},
	} {
		t.Run(fmt.Sprint(tt.sdp, " nat=", tt.nat), func(t *testing.T) {
			s := newSDPSession(t)
			s.SetNAT(SideA, tt.nat)
			ap := netip.MustParseAddrPort(tt.sdp)
			if _, err := s.Offer(SideA, sdpBodyAny(ap)); err != nil {
				t.Fatal(err)
			}
			src := s.streams[0].ends[SideA].cfg.Load().src
			if got := src.rtp == ap; got != tt.trust {
				t.Fatalf("signalled %s trusted: %v, want %v (sources %+v)", ap, got, tt.trust, src)
			}
			if src.allowsRTP(netip.AddrPortFrom(ap.Addr(), ap.Port()+2)) {
				t.Fatal("another port of the signalled address allowed")
			}
		})
	}
}

// sdpBodyAny is sdpBody for an IPv4 or IPv6 address.
func sdpBodyAny(ap netip.AddrPort) []byte {
	if ap.Addr().Is4() {
		return sdpBody(ap)
	}
	return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP6 %s\r\ns=-\r\nc=IN IP6 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\n", ap.Addr(), ap.Addr(), ap.Port()))
}

// The state machine alone, packet by packet.
func TestSourcesDecide(t *testing.T) {
	host := netip.MustParseAddr("198.51.100.7")
	sig := netip.MustParseAddrPort("203.0.113.9:4000")
	src := sources{hosts: []netip.Addr{host}, rtp: sig}
	p1, p2 := netip.AddrPortFrom(host, 1000), netip.AddrPortFrom(host, 2000)
	bad := netip.MustParseAddrPort("192.0.2.66:1000")
	type pkt struct {
		from netip.AddrPort
		ssrc uint32
		seq  uint16
		want verdict
	}
	for _, tt := range []struct {
		name    string
		latched netip.AddrPort
		pkts    []pkt
	}{
		{"stranger first, then the party", netip.AddrPort{}, []pkt{{bad, 1, 1, verdictSource}, {bad, 1, 2, verdictSource}, {p1, 2, 9, verdictLatch}}},
		{"signalled address latches", netip.AddrPort{}, []pkt{{sig, 1, 1, verdictLatch}}},
		{"another port of the signalled host does not", netip.AddrPort{}, []pkt{{netip.AddrPortFrom(sig.Addr(), 4002), 1, 1, verdictSource}}},
		{"latched source accepted, any SSRC", p1, []pkt{{p1, 1, 1, verdictAccept}, {p1, 2, 77, verdictAccept}}},
		{"probation completed", p1, []pkt{{p2, 5, 10, verdictLearning}, {p2, 5, 11, verdictLearning}, {p2, 5, 12, verdictLearning}, {p2, 5, 13, verdictLatch}}},
		{"latched source does not break the run", p1, []pkt{{p2, 5, 10, verdictLearning}, {p1, 1, 1, verdictAccept}, {p2, 5, 11, verdictLearning}, {p2, 5, 12, verdictLearning}, {p2, 5, 13, verdictLatch}}},
		{"gap restarts the run", p1, []pkt{{p2, 5, 10, verdictLearning}, {p2, 5, 11, verdictLearning}, {p2, 5, 13, verdictLearning}, {p2, 5, 14, verdictLearning}, {p2, 5, 15, verdictLearning}, {p2, 5, 16, verdictLatch}}},
		{"SSRC change restarts the run", p1, []pkt{{p2, 5, 10, verdictLearning}, {p2, 5, 11, verdictLearning}, {p2, 6, 12, verdictLearning}, {p2, 6, 13, verdictLearning}, {p2, 6, 14, verdictLearning}, {p2, 6, 15, verdictLatch}}},
		{"duplicate neither advances nor breaks", p1, []pkt{{p2, 5, 10, verdictLearning}, {p2, 5, 10, verdictLearning}, {p2, 5, 11, verdictLearning}, {p2, 5, 12, verdictLearning}, {p2, 5, 13, verdictLatch}}},
		{"sequence wraps", p1, []pkt{{p2, 5, 65534, verdictLearning}, {p2, 5, 65535, verdictLearning}, {p2, 5, 0, verdictLearning}, {p2, 5, 1, verdictLatch}}},
		{"two candidates interleaved: neither", p1, []pkt{{p2, 5, 10, verdictLearning}, {sig, 6, 20, verdictLearning}, {p2, 5, 11, verdictLearning}, {sig, 6, 21, verdictLearning}, {p2, 5, 12, verdictLearning}, {sig, 6, 22, verdictLearning}, {p2, 5, 13, verdictLearning}}},
		{"stranger in sequence never", p1, []pkt{{bad, 5, 10, verdictSource}, {bad, 5, 11, verdictSource}, {bad, 5, 12, verdictSource}, {bad, 5, 13, verdictSource}, {bad, 5, 14, verdictSource}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var l learner
			latched := tt.latched
			for i, p := range tt.pkts {
				got := src.decide(latched, &l, p.from, p.ssrc, p.seq)
				if got != p.want {
					t.Fatalf("packet %d from %s ssrc %d seq %d: verdict %d, want %d", i, p.from, p.ssrc, p.seq, got, p.want)
				}
				if got == verdictLatch {
					latched = p.from
				}
			}
		})
	}
}
