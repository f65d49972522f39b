package media

import (
	"bytes"
	"context"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/sipswitch/sipswitch/routing"
)

// Fuzz targets for everything the relay reads from outside: SDP bodies
// (offers, answers, codec policy, BehindNAT) and datagrams arriving at a
// relay port. Run one with e.g.
//
//	go test ./sip/media -run '^$' -fuzz FuzzOfferAnswer -fuzztime 60s

func sdpSeeds(f *testing.F) {
	a := netip.MustParseAddrPort("10.0.0.1:4000")
	for _, s := range [][]byte{
		sdpBody(a), sdpBody(a, "rtcp-mux"), sdpBody(a, "sendonly"), phoneOffer, codecOffer, faxBody(a),
		[]byte("v=0\r\n"), []byte("v=0\r\nm=image 1 udptl t38\r\n"), []byte(""), []byte("m=audio 0 RTP/AVP 0\r\n"),
		[]byte("v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\na=rtcp:9 IN IP4 1.2.3.4\r\n"),
	} {
		f.Add(s)
	}
}

func FuzzOfferAnswer(f *testing.F) {
	sdpSeeds(f)
	e, err := New(WithPortRange(testPorts(), testPorts()+199), WithAdvertisedAddress(netip.MustParseAddr("203.0.113.5")), withCheckInterval(time.Second))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := e.NewSession(context.Background(), "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, _ = BehindNAT(body, netip.MustParseAddr("10.0.0.1"))
		out, err := s.Offer(SideA, body)
		if err != nil {
			return
		}
		checkRewritten(t, s, SideB, out)
		if out, err = s.Answer(SideB, body); err != nil {
			t.Fatalf("the offer itself must be a valid answer to itself: %v", err)
		}
		checkRewritten(t, s, SideA, out)
	})
}

// checkRewritten: what the relay sends parses, names the advertised
// address and only relay ports of the leg facing that side.
func checkRewritten(t *testing.T, s *Session, to Side, out []byte) {
	t.Helper()
	sd, err := unmarshalSDP(out)
	if err != nil {
		t.Fatalf("relay wrote SDP it cannot read: %v\n%s", err, out)
	}
	if sd.ConnectionInformation == nil || sd.ConnectionInformation.Address.Address != "203.0.113.5" {
		t.Fatalf("c= %v, want the advertised address", sd.ConnectionInformation)
	}
	var ports []int
	for _, st := range s.streams {
		if st != nil {
			ports = append(ports, st.ends[to].pair.port)
		}
	}
	for _, md := range sd.MediaDescriptions {
		if p := md.MediaName.Port.Value; p != 0 && !slices.Contains(ports, p) {
			t.Fatalf("m= port %d is not a relay port %v\n%s", p, ports, out)
		}
		if md.ConnectionInformation != nil {
			t.Fatalf("media-level c= kept\n%s", out)
		}
	}
}

func FuzzCodecPolicy(f *testing.F) {
	sdpSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, p := range []CodecPolicy{{}, {Codecs: routing.ParseCodecs(DefaultCodecs), Preferred: "g729"}, {Codecs: []string{"ulaw"}, DropTelephoneEvent: true}} {
			out, err := ApplyCodecPolicy(body, p)
			if err != nil {
				continue
			}
			sd, err := unmarshalSDP(out)
			if err != nil {
				t.Fatalf("policy output does not parse: %v\n%s", err, out)
			}
			for _, md := range sd.MediaDescriptions {
				if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 || p.Codecs == nil || !isRTPProto(md.MediaName.Protos) {
					continue
				}
				maps := rtpmaps(md)
				for _, f := range md.MediaName.Formats {
					pt, _ := strconv.Atoi(f)
					name := maps[uint8(pt)].name
					if name != codecCN && name != codecTelephoneEvent && !slices.Contains(p.Codecs, name) {
						t.Fatalf("format %s (%s) kept against the policy %v", f, name, p.Codecs)
					}
				}
			}
		}
	})
}

// FuzzRelayPacket sends each input as a datagram from a latched party to
// its relay port, then a marker packet. Whatever reaches the other party
// before the marker must be valid RTP of a negotiated payload type; the
// relay must keep relaying.
func FuzzRelayPacket(f *testing.F) {
	ok := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: 9, SSRC: 1}, Payload: []byte("x")})
	okb, _ := ok.Marshal()
	for _, s := range [][]byte{okb, {0x80}, {0x81, 201, 0, 1, 0, 0, 0, 1}, {0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 9},
		{0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff}, {0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, {0x80, 201, 0, 7}, bytes.Repeat([]byte{0x80}, 1600)} {
		f.Add(s)
	}
	e, err := New(WithPortRange(testPorts(), testPorts()+199), withCheckInterval(time.Second))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	a, b := newFuzzParty(f), newFuzzParty(f)
	s, err := e.NewSession(context.Background(), "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	toB, err := s.Offer(SideA, sdpBody(a.addr()))
	if err != nil {
		f.Fatal(err)
	}
	toA, err := s.Answer(SideB, sdpBody(b.addr()))
	if err != nil {
		f.Fatal(err)
	}
	_, la, _ := parseSDP(toA)
	_, lb, _ := parseSDP(toB)
	relayA, relayB := la[0].rtpAddr(), lb[0].rtpAddr()
	marker := uint32(0)
	f.Fuzz(func(t *testing.T, data []byte) {
		a.t, b.t = t, t
		if _, err := a.conn.WriteToUDPAddrPort(data, relayA); err != nil {
			return // too large for a datagram
		}
		marker++
		m := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(marker), SSRC: a.ssrc}, Payload: []byte("marker" + strconv.Itoa(int(marker)))}
		mb, _ := m.Marshal()
		a.sendFrom(a.conn, relayA, mb)
		for {
			got, src, ok := recvOn(t, b.conn, 2*time.Second)
			if !ok {
				t.Fatal("the relay stopped relaying")
			}
			if src != relayB {
				t.Fatalf("datagram from %s", src)
			}
			if bytes.Equal(got, mb) {
				return
			}
			var p rtp.Packet
			if err := p.Unmarshal(got); err != nil || p.Version != 2 || !slices.Contains([]uint8{0, 8, 101}, p.PayloadType) {
				t.Fatalf("relayed a datagram that is not RTP of a negotiated type: % x", got)
			}
		}
	})
}

func newFuzzParty(f *testing.F) *party {
	c, err := listenLoopback()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { c.Close() })
	return &party{conn: c, ssrc: 0x1234, seq: 100, ts: 1000}
}

func FuzzReceptionReport(f *testing.F) {
	f.Add([]byte{0x81, 201, 0, 7, 0, 0, 0x12, 0x34, 0, 0, 0, 1, 64, 0, 0, 5, 0, 0, 0, 9, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var rr ReceptionReport
		rr.update(b, 8000)
		if rr.FractionLost < 0 || rr.FractionLost >= 1 || rr.Jitter < 0 {
			t.Fatalf("report out of range: %+v", rr)
		}
	})
}

// FuzzLatch drives the latch's state machine (sources.decide) with
// packets from a fixed set of sources: three ports of the party's SIP
// source address, its trusted signalled address, another port of that
// address and three strangers. Each packet is three bytes: the source
// (low 3 bits) and SSRC (next 2 bits) of byte 0; byte 1 picks the
// sequence number: the source's last plus one (0, 1), the same again (2),
// or byte 2 (3). Invariants: the latch only ever holds an allowed source;
// the first allowed packet latches; a stranger is always dropped as such;
// the latch moves only after Probation consecutive in-sequence packets of
// one SSRC from the new source.
func FuzzLatch(f *testing.F) {
	f.Add([]byte{5, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0})
	f.Add([]byte{1, 3, 9, 1, 0, 0, 1, 0, 0, 2, 0, 0, 1, 0, 0, 1, 2, 0, 1, 0, 0, 9, 0, 0, 9, 0, 0, 9, 0, 0, 9, 0, 0})
	f.Add([]byte{3, 3, 255, 3, 0, 0, 3, 0, 0, 3, 0, 0, 3, 0, 0, 11, 0, 0})
	host := netip.MustParseAddr("198.51.100.7")
	sig := netip.MustParseAddrPort("203.0.113.9:4000")
	from := [8]netip.AddrPort{
		netip.AddrPortFrom(host, 1000), netip.AddrPortFrom(host, 2000), netip.AddrPortFrom(host, 3000), sig,
		netip.AddrPortFrom(sig.Addr(), 4002), netip.MustParseAddrPort("192.0.2.1:1000"), netip.MustParseAddrPort("10.9.8.7:4000"), netip.MustParseAddrPort("[2001:db8::1]:1000"),
	}
	allowed := func(ap netip.AddrPort) bool { return ap.Addr() == host || ap == sig }
	pol := sources{hosts: []netip.Addr{host}, rtp: sig}
	type pkt struct {
		src  netip.AddrPort
		ssrc uint32
		seq  uint16
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var l learner
		var latched netip.AddrPort
		var last [8]uint16
		var since []pkt // packets since the latch last moved
		for ; len(data) >= 3; data = data[3:] {
			i := data[0] & 7
			p := pkt{src: from[i], ssrc: uint32(data[0]>>3) & 3}
			switch data[1] & 3 {
			case 0, 1:
				p.seq = last[i] + 1
			case 2:
				p.seq = last[i]
			default:
				p.seq = uint16(data[2])
			}
			last[i] = p.seq
			prev := latched
			v := pol.decide(latched, &l, p.src, p.ssrc, p.seq)
			since = append(since, p)
			switch {
			case v == verdictAccept && (!prev.IsValid() || p.src != prev):
				t.Fatalf("accepted %v while latched to %v", p, prev)
			case (v == verdictSource) != (!allowed(p.src) && p.src != prev):
				t.Fatalf("%v: verdict %d; allowed %v", p, v, allowed(p.src))
			case !prev.IsValid() && allowed(p.src) && v != verdictLatch:
				t.Fatalf("first allowed packet %v did not latch: %d", p, v)
			case v == verdictLearning && (!prev.IsValid() || p.src == prev):
				t.Fatalf("%v on probation while latched to %v", p, prev)
			case v != verdictLatch:
				continue
			}
			if !allowed(p.src) {
				t.Fatalf("latched to %v, which is not allowed", p.src)
			}
			if prev.IsValid() {
				// The new source's own packets since the last move end in
				// Probation distinct ones of one SSRC, each the previous
				// sequence number plus one.
				var run []pkt
				for _, q := range since {
					if q.src == p.src && (len(run) == 0 || q.seq != run[len(run)-1].seq || q.ssrc != run[len(run)-1].ssrc) {
						run = append(run, q)
					}
				}
				if len(run) < Probation {
					t.Fatalf("moved from %v to %v after %d packets of it", prev, p.src, len(run))
				}
				run = run[len(run)-Probation:]
				for k := 1; k < len(run); k++ {
					if run[k].ssrc != run[0].ssrc || run[k].seq != run[k-1].seq+1 {
						t.Fatalf("moved from %v to %v after packets out of sequence: %v", prev, p.src, run)
					}
				}
			}
			latched = p.src
			since = since[:0]
		}
	})
}
