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
		for _, p := range []CodecPolicy{{}, {Codecs: ParseCodecs(DefaultCodecs), Preferred: "g729"}, {Codecs: []string{"ulaw"}, DTMFMode: "info"}} {
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
