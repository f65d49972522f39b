package media

import (
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/sipswitch/sipswitch/internal/udpbatch"
)

// BenchmarkForward is the cost of relaying one G.711 RTP packet through a
// latched session on 127.0.0.1, measured end to end: windows of 8 packets
// are sent (one sendmmsg) to the relay and read back (recvmmsg) at the
// other party. ns/op is per packet and includes the sender's and
// receiver's system calls; allocs/op counts every allocation of the
// process, the relay's reader goroutines included, and must be 0.
func BenchmarkForward(b *testing.B) {
	if pollSupported {
		b.Run("epoll", func(b *testing.B) { benchForward(b, WithPollWorkers(2), false) })
	}
	b.Run("goroutines", func(b *testing.B) { benchForward(b, WithPollWorkers(0), false) })
}

// BenchmarkForwardRecorded is BenchmarkForward with the session recorded
// (record.go) into a file on disk: what recording adds to the relay's
// path (the copy into the recording's buffer), and still 0 allocations.
func BenchmarkForwardRecorded(b *testing.B) {
	if pollSupported {
		b.Run("epoll", func(b *testing.B) { benchForward(b, WithPollWorkers(2), true) })
	}
	b.Run("goroutines", func(b *testing.B) { benchForward(b, WithPollWorkers(0), true) })
}

func benchForward(b *testing.B, model Option, record bool) {
	const window = 8
	e := newBenchEngine(b, model)
	a, bb := newBenchParty(b), newBenchParty(b)
	s, err := e.NewSession(b.Context(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	toB, err := s.Offer(SideA, sdpBody(addrOf(a)))
	if err != nil {
		b.Fatal(err)
	}
	toA, err := s.Answer(SideB, sdpBody(addrOf(bb)))
	if err != nil {
		b.Fatal(err)
	}
	relayA := benchRelayAddr(b, toA)
	_ = toB
	var rec *Recording
	if record {
		f, err := os.CreateTemp(b.TempDir(), "rec-*.wav")
		if err != nil {
			b.Fatal(err)
		}
		if rec, err = s.Record(f); err != nil {
			b.Fatal(err)
		}
	}
	w, _ := udpbatch.NewWriter(a, window)
	r, _ := udpbatch.NewReader(bb, window, 1500)
	dst := udpbatch.NewDest(relayA)
	pkts := make([][]byte, window)
	hdr := rtp.Header{Version: 2, PayloadType: 0, SSRC: 7}
	for i := range pkts {
		pkts[i] = make([]byte, 172)
	}
	seq := uint16(0)
	round := func() {
		for i := range pkts {
			seq++
			hdr.SequenceNumber, hdr.Timestamp = seq, uint32(seq)*160
			if _, err := hdr.MarshalTo(pkts[i]); err != nil {
				b.Fatal(err)
			}
			w.Add(pkts[i], &dst)
		}
		if _, err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		bb.SetReadDeadline(time.Now().Add(2 * time.Second))
		for got := 0; got < window; {
			n, err := r.Read()
			if err != nil {
				b.Fatalf("relay lost packets: %v", err)
			}
			got += n
		}
	}
	round() // latch
	bb.SetReadDeadline(time.Time{})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		round()
	}
	b.StopTimer()
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*window)
	b.ReportMetric(ns, "ns/packet")
	st := s.Stats().Legs[SideA].Streams[0]
	if st.Lost != 0 || st.DroppedSource != 0 {
		b.Fatalf("lost %d dropped %d", st.Lost, st.DroppedSource)
	}
	if rec != nil {
		rs := rec.Close()
		b.ReportMetric(float64(rs.Dropped)/float64(b.N*window+window), "rec-dropped/packet")
	}
}

func newBenchEngine(b *testing.B, model Option) *Engine {
	base := testPorts()
	e, err := New(WithPortRange(base, base+199), model)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

func newBenchParty(b *testing.B) *net.UDPConn {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

func benchRelayAddr(b *testing.B, body []byte) netip.AddrPort {
	_, lines, err := parseSDP(body)
	if err != nil {
		b.Fatal(err)
	}
	return lines[0].rtpAddr()
}

// BenchmarkLatchDecide is the latch's own cost per packet (latch.go),
// without the sockets: the latched party's packet (every packet of a
// call), a stranger's (a flood of them), and another allowed source's
// on probation.
func BenchmarkLatchDecide(b *testing.B) {
	host := netip.MustParseAddr("198.51.100.7")
	src := sources{hosts: []netip.Addr{host}, rtp: netip.MustParseAddrPort("203.0.113.9:4000")}
	latched := netip.AddrPortFrom(host, 1000)
	for _, bc := range []struct {
		name string
		from netip.AddrPort
		want verdict
	}{
		{"latched", latched, verdictAccept},
		{"stranger", netip.MustParseAddrPort("192.0.2.66:1000"), verdictSource},
		{"probation", netip.AddrPortFrom(host, 2000), verdictLearning},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var l learner
			b.ReportAllocs()
			for i := range b.N {
				// A new SSRC every Probation-1 packets keeps a source on
				// probation from completing its run.
				if v := src.decide(latched, &l, bc.from, uint32(i/(Probation-1)), uint16(i)); v != bc.want {
					b.Fatalf("verdict %d, want %d", v, bc.want)
				}
			}
		})
	}
}
