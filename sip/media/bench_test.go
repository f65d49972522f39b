package media

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
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

// BenchmarkRelayCost is what one stream costs the relay in plain RTP and
// with SRTP, side by side in one run: SDES keys (AES_CM_128_HMAC_SHA1_80,
// the SDES default) and DTLS-SRTP's (AEAD_AES_128_GCM, what a browser
// negotiates; the keys are installed directly, as the handshake would:
// its cost, once per call, is BenchmarkWebRTCSetup's). "sdes-decrypt" is
// an SRTP party's stream to a plain one, "sdes-encrypt" a plain party's
// to an SRTP one, "sdes-reencrypt" SRTP on both legs under their own keys
// (likewise "dtls-"). "direct" is the same traffic from party to party
// without the relay: the benchmark's own sending and receiving.
//
// The cases take turns, a block of windows each per iteration, so that a
// busy machine's drift falls on all of them alike. Per case it reports
// <case>-ns/pkt (wall clock, end to end) and <case>-cpu-ns/pkt (the
// process's user+system CPU by getrusage around the case's blocks: the
// relay's and the benchmark's system calls and the kernel's loopback
// delivery); a case's cpu-ns/pkt less direct's is the relay's CPU per
// packet, and at 50 packets/s a stream 1,000 streams cost that times
// 50,000 per second. allocs/op counts the whole process and must be 0.
// The senders' SRTP encryption is done between the measured blocks.
//
//	go test ./sip/media -run '^$' -bench RelayCost -benchmem -benchtime 200x -count 3
func BenchmarkRelayCost(b *testing.B) {
	const block = 16 // windows per case per iteration
	model := WithPollWorkers(0)
	if pollSupported {
		model = WithPollWorkers(2)
	}
	sdes, dtls := srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAeadAes128Gcm
	cases := []struct {
		name string
		mode benchMode
	}{
		{"direct", benchMode{direct: true}},
		{"plain", benchPlain},
		{"sdes-decrypt", benchMode{in: sdes}},
		{"sdes-encrypt", benchMode{out: sdes}},
		{"sdes-reencrypt", benchMode{in: sdes, out: sdes}},
		{"dtls-decrypt", benchMode{in: dtls}},
		{"dtls-encrypt", benchMode{out: dtls}},
	}
	e := newBenchEngine(b, model)
	rigs := make([]*benchRig, len(cases))
	for i, c := range cases {
		rigs[i] = newBenchRig(b, e, c.mode, block)
		rigs[i].prepare(b, 1)
		rigs[i].round(b, 0) // latch
	}
	wall, cpu := make([]int64, len(cases)), make([]int64, len(cases))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for i, r := range rigs {
			r.prepare(b, block)
			t0, c0 := time.Now(), processCPU()
			for j := range block {
				r.round(b, j)
			}
			cpu[i] += processCPU() - c0
			wall[i] += int64(time.Since(t0))
		}
	}
	b.StopTimer()
	packets := float64(b.N * block * benchWindow)
	for i, c := range cases {
		b.ReportMetric(float64(wall[i])/packets, c.name+"-ns/pkt")
		b.ReportMetric(float64(cpu[i])/packets, c.name+"-cpu-ns/pkt")
		rigs[i].check(b)
	}
}

// benchMode is what a benchRig relays: the SRTP profile of the sending
// party (in) and of the receiving one (out), 0 for plain RTP.
type benchMode struct {
	in, out  srtp.ProtectionProfile
	recorded bool // the session recorded
	direct   bool // no relay: party to party
}

var (
	benchPlain       = benchMode{}
	benchSRTPToPlain = benchMode{in: srtp.ProtectionProfileAes128CmHmacSha1_80}
	benchSRTPToSRTP  = benchMode{in: srtp.ProtectionProfileAes128CmHmacSha1_80, out: srtp.ProtectionProfileAes128CmHmacSha1_80}
	benchRecorded    = benchMode{recorded: true}
)

// benchWindow is how many packets go in one sendmmsg and are read back
// before the next.
const benchWindow = 8

// benchRig is one latched session of a benchmark: party A sends windows
// of G.711 packets to the relay (or straight to B), party B reads them.
type benchRig struct {
	s      *Session // nil: direct
	rec    *Recording
	w      *udpbatch.Writer
	r      *udpbatch.Reader
	bb     *net.UDPConn
	dst    udpbatch.Dest
	sender *srtp.Context
	hdr    rtp.Header
	pkts   [][]byte
}

// newBenchRig sets up a session on e relaying mode, with room for
// windows windows of packets at a time.
func newBenchRig(b *testing.B, e *Engine, mode benchMode, windows int) *benchRig {
	a, bb := newBenchParty(b), newBenchParty(b)
	rig := &benchRig{bb: bb, hdr: rtp.Header{Version: 2, PayloadType: 0, SSRC: 7}, dst: udpbatch.NewDest(addrOf(bb))}
	if !mode.direct {
		s, err := e.NewSession(b.Context(), "bench-"+strconv.Itoa(int(a.LocalAddr().(*net.UDPAddr).Port)))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		rig.s = s
		if _, err := s.Offer(SideA, sdpBody(addrOf(a))); err != nil {
			b.Fatal(err)
		}
		toA, err := s.Answer(SideB, sdpBody(addrOf(bb)))
		if err != nil {
			b.Fatal(err)
		}
		rig.dst = udpbatch.NewDest(benchRelayAddr(b, toA))
		if mode.in != 0 {
			ka := newKeys(b, mode.in)
			if err := s.SetSRTP(SideA, 0, &ka); err != nil {
				b.Fatal(err)
			}
			if rig.sender, err = srtp.CreateContext(ka.RemoteKey, ka.RemoteSalt, ka.Profile); err != nil {
				b.Fatal(err)
			}
		}
		if mode.out != 0 {
			kb := newKeys(b, mode.out)
			if err := s.SetSRTP(SideB, 0, &kb); err != nil {
				b.Fatal(err)
			}
		}
		if mode.recorded {
			f, err := os.CreateTemp(b.TempDir(), "rec-*.wav")
			if err != nil {
				b.Fatal(err)
			}
			if rig.rec, err = s.Record(f); err != nil {
				b.Fatal(err)
			}
		}
	}
	rig.w, _ = udpbatch.NewWriter(a, benchWindow)
	rig.r, _ = udpbatch.NewReader(bb, benchWindow, 1500)
	rig.pkts = make([][]byte, windows*benchWindow)
	for i := range rig.pkts {
		rig.pkts[i] = make([]byte, 172, 172+srtpOverhead)
	}
	return rig
}

// prepare makes the next windows windows of packets, SRTP ones encrypted
// (each sequence number once: the relay's replay window refuses repeats).
func (rig *benchRig) prepare(b *testing.B, windows int) {
	for i := range windows * benchWindow {
		rig.hdr.SequenceNumber++
		rig.hdr.Timestamp += 160
		p := rig.pkts[i][:172]
		if _, err := rig.hdr.MarshalTo(p); err != nil {
			b.Fatal(err)
		}
		if rig.sender != nil {
			var err error
			if p, err = rig.sender.EncryptRTP(p, p, &rig.hdr); err != nil {
				b.Fatal(err)
			}
		}
		rig.pkts[i] = p
	}
}

// round sends the i-th prepared window and reads it back at B.
func (rig *benchRig) round(b *testing.B, i int) {
	for _, p := range rig.pkts[i*benchWindow : (i+1)*benchWindow] {
		rig.w.Add(p, &rig.dst)
	}
	if _, err := rig.w.Flush(); err != nil {
		b.Fatal(err)
	}
	rig.bb.SetReadDeadline(time.Now().Add(2 * time.Second))
	for got := 0; got < benchWindow; {
		n, err := rig.r.Read()
		if err != nil {
			b.Fatalf("relay lost packets: %v", err)
		}
		got += n
	}
}

// check fails the benchmark when the relay lost or refused a packet.
func (rig *benchRig) check(b *testing.B) {
	if rig.s == nil {
		return
	}
	st := rig.s.Stats().Legs[SideA].Streams[0]
	if st.Lost != 0 || st.DroppedSource != 0 || st.DroppedAuth != 0 {
		b.Fatalf("lost %d dropped %d, %d unauthenticated", st.Lost, st.DroppedSource, st.DroppedAuth)
	}
}

func benchForward(b *testing.B, model Option, mode benchMode) {
	e := newBenchEngine(b, model)
	rig := newBenchRig(b, e, mode, b.N+1)
	// Every packet of the run is made before the clock starts.
	rig.prepare(b, b.N+1)
	rig.round(b, 0) // latch
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		rig.round(b, i+1)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchWindow), "ns/packet")
	rig.check(b)
	if rig.rec != nil {
		rs := rig.rec.Close()
		b.ReportMetric(float64(rs.Dropped)/float64(b.N*benchWindow+benchWindow), "rec-dropped/packet")
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

// processCPU is the process's user+system CPU time so far, in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
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
