package media

import (
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

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
		b.Run("epoll", func(b *testing.B) { benchForward(b, WithPollWorkers(2), benchPlain) })
	}
	b.Run("goroutines", func(b *testing.B) { benchForward(b, WithPollWorkers(0), benchPlain) })
}

// BenchmarkForwardRecorded is BenchmarkForward with the session recorded
// (record.go) into a file on disk: what recording adds to the relay's
// path (the copy into the recording's buffer), and still 0 allocations.
func BenchmarkForwardRecorded(b *testing.B) {
	if pollSupported {
		b.Run("epoll", func(b *testing.B) { benchForward(b, WithPollWorkers(2), benchRecorded) })
	}
	b.Run("goroutines", func(b *testing.B) { benchForward(b, WithPollWorkers(0), benchRecorded) })
}

// BenchmarkForwardSRTP is BenchmarkForward with the sending party on SRTP
// (AES_CM_128_HMAC_SHA1_80, the SDES default): the relay authenticates and
// decrypts every packet for a plain receiver ("decrypt"), or also
// encrypts it again under the receiver's own keys ("reencrypt"). The
// sender's packets are encrypted before the clock starts; ns/packet
// less BenchmarkForward's is what SRTP costs the relay.
func BenchmarkForwardSRTP(b *testing.B) {
	model := WithPollWorkers(0)
	if pollSupported {
		model = WithPollWorkers(2)
	}
	b.Run("decrypt", func(b *testing.B) { benchForward(b, model, benchSRTPToPlain) })
	b.Run("reencrypt", func(b *testing.B) { benchForward(b, model, benchSRTPToSRTP) })
}

type benchCrypto int

const (
	benchPlain benchCrypto = iota
	benchSRTPToPlain
	benchSRTPToSRTP
	benchRecorded // plain, the session recorded
)

func benchForward(b *testing.B, model Option, crypto benchCrypto) {
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
	var sender *srtp.Context
	if crypto == benchSRTPToPlain || crypto == benchSRTPToSRTP {
		ka := newKeys(b, srtp.ProtectionProfileAes128CmHmacSha1_80)
		if err := s.SetSRTP(SideA, 0, &ka); err != nil {
			b.Fatal(err)
		}
		if sender, err = srtp.CreateContext(ka.RemoteKey, ka.RemoteSalt, ka.Profile); err != nil {
			b.Fatal(err)
		}
	}
	if crypto == benchSRTPToSRTP {
		kb := newKeys(b, srtp.ProtectionProfileAes128CmHmacSha1_80)
		if err := s.SetSRTP(SideB, 0, &kb); err != nil {
			b.Fatal(err)
		}
	}
	var rec *Recording
	if crypto == benchRecorded {
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
	hdr := rtp.Header{Version: 2, PayloadType: 0, SSRC: 7}
	seq := uint16(0)
	// Every packet of the run is made before the clock starts (SRTP ones
	// cannot be sent twice: the relay's replay window refuses them).
	pkts := make([][]byte, window*(b.N+1))
	for i := range pkts {
		seq++
		hdr.SequenceNumber, hdr.Timestamp = seq, uint32(seq)*160
		p := make([]byte, 172, 172+srtpOverhead)
		if _, err := hdr.MarshalTo(p); err != nil {
			b.Fatal(err)
		}
		if sender != nil {
			if p, err = sender.EncryptRTP(p, p, nil); err != nil {
				b.Fatal(err)
			}
		}
		pkts[i] = p
	}
	next := 0
	round := func() {
		for range window {
			w.Add(pkts[next], &dst)
			next++
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
	if st.Lost != 0 || st.DroppedSource != 0 || st.DroppedAuth != 0 {
		b.Fatalf("lost %d dropped %d, %d unauthenticated", st.Lost, st.DroppedSource, st.DroppedAuth)
	}
	if rec != nil {
		rs := rec.Close()
		b.ReportMetric(float64(rs.Dropped)/float64(b.N*window+window), "rec-dropped/packet")
	}
}

// BenchmarkSRTPTransform is the relay's SRTP work on one 172-byte G.711
// packet without the sockets, as handle does it in the read buffer:
// authenticate and decrypt ("decrypt": an SRTP party to a plain one),
// then encrypt under the other leg's keys ("reencrypt": SRTP to SRTP).
func BenchmarkSRTPTransform(b *testing.B) {
	for _, profile := range []srtp.ProtectionProfile{srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAeadAes128Gcm} {
		for _, reencrypt := range []bool{false, true} {
			name := profile.String() + "/decrypt"
			if reencrypt {
				name = profile.String() + "/reencrypt"
			}
			b.Run(name, func(b *testing.B) { benchTransform(b, profile, reencrypt) })
		}
	}
}

func benchTransform(b *testing.B, profile srtp.ProtectionProfile, reencrypt bool) {
	ka, kb := newKeys(b, profile), newKeys(b, profile)
	in, err := newSRTPTransform(&ka, nil)
	if err != nil {
		b.Fatal(err)
	}
	out, err := newSRTPTransform(&kb, nil)
	if err != nil {
		b.Fatal(err)
	}
	sender, err := srtp.CreateContext(ka.RemoteKey, ka.RemoteSalt, profile)
	if err != nil {
		b.Fatal(err)
	}
	hdr := rtp.Header{Version: 2, SSRC: 7}
	pkts := make([][]byte, b.N)
	for i := range pkts {
		hdr.SequenceNumber, hdr.Timestamp = uint16(i), uint32(i)*160
		p := make([]byte, 172, 172+srtpOverhead)
		if _, err := hdr.MarshalTo(p); err != nil {
			b.Fatal(err)
		}
		if pkts[i], err = sender.EncryptRTP(p, p, nil); err != nil {
			b.Fatal(err)
		}
	}
	var h rtp.Header
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p, err := in.in.DecryptRTP(pkts[i], pkts[i], &h)
		if err != nil {
			b.Fatal(err)
		}
		if !reencrypt {
			continue
		}
		if _, err := out.out.EncryptRTP(p, p, &h); err != nil {
			b.Fatal(err)
		}
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
