package media

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

func crlf(s string) []byte {
	s = strings.TrimLeft(s, "\n")
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

// A phone behind NAT offering audio with rtcp-mux, T.38 and a stream it
// declines, with ICE attributes and a media-level c= line.
var phoneOffer = crlf(`
v=0
o=phone 1000 2000 IN IP4 192.168.1.20
s=call
c=IN IP4 192.168.1.20
t=0 0
a=ice-lite
m=audio 5004 RTP/AVP 8 0 101
c=IN IP4 192.168.1.21
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=rtcp:5005
a=rtcp-mux
a=candidate:1 1 UDP 2130706431 192.168.1.21 5004 typ host
a=sendrecv
m=image 5006 udptl t38
a=T38FaxVersion:0
a=T38FaxUdpEC:t38UDPRedundancy
m=video 0 RTP/AVP 96
a=rtpmap:96 H264/90000
m=message 5008 TCP/MSRP *
a=path:msrp://192.168.1.20:5008/abc;tcp
`)

func newSDPSession(t *testing.T, opts ...Option) *Session {
	t.Helper()
	e := newTestEngine(t, opts...)
	s, err := e.NewSession(context.Background(), "sdp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustParse(t *testing.T, b []byte) *sdp.SessionDescription {
	t.Helper()
	sd, err := unmarshalSDP(b)
	if err != nil {
		t.Fatalf("relay wrote SDP that does not parse: %v\n%s", err, b)
	}
	return sd
}

func TestOfferRewrite(t *testing.T) {
	adv := netip.MustParseAddr("203.0.113.5")
	s := newSDPSession(t, WithAdvertisedAddress(adv))
	out, err := s.Offer(SideA, phoneOffer)
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, leak := range []string{"192.168.1.2", "candidate", "ice-"} {
		if strings.Contains(text, leak) {
			t.Fatalf("offer to B still has %q:\n%s", leak, out)
		}
	}
	sd := mustParse(t, out)
	if sd.ConnectionInformation == nil || sd.ConnectionInformation.Address.Address != "203.0.113.5" {
		t.Fatalf("session c= %v, want the advertised address", sd.ConnectionInformation)
	}
	if sd.Origin.UnicastAddress != "203.0.113.5" || sd.Origin.Username != "phone" {
		t.Fatalf("origin %+v: want the advertised address, username kept", sd.Origin)
	}
	if len(sd.MediaDescriptions) != 4 {
		t.Fatalf("%d m= lines, want 4", len(sd.MediaDescriptions))
	}
	audio, image, video, msrp := sd.MediaDescriptions[0], sd.MediaDescriptions[1], sd.MediaDescriptions[2], sd.MediaDescriptions[3]
	st := s.Stats()
	aPort := st.Legs[SideB].Streams[0].Local.Port()
	if audio.MediaName.Port.Value != int(aPort) || aPort%2 != 0 || audio.ConnectionInformation != nil {
		t.Fatalf("audio m= port %d c=%v, want B's relay port %d and no media c=", audio.MediaName.Port.Value, audio.ConnectionInformation, aPort)
	}
	if v, _ := audio.Attribute("rtcp"); v != strconv.Itoa(int(aPort)+1) {
		t.Fatalf("a=rtcp:%s, want %d", v, aPort+1)
	}
	if _, ok := audio.Attribute("rtcp-mux"); !ok {
		t.Fatal("offered rtcp-mux was dropped")
	}
	if _, ok := audio.Attribute("sendrecv"); !ok {
		t.Fatal("direction attribute dropped")
	}
	if strings.Join(audio.MediaName.Formats, " ") != "8 0 101" {
		t.Fatalf("formats %v changed", audio.MediaName.Formats)
	}
	if v, _ := audio.Attribute("ptime"); v != "20" {
		t.Fatal("ptime dropped")
	}
	// T.38 is relayed like audio: a port pair, the relay's port.
	if image.MediaName.Port.Value == 0 || image.MediaName.Port.Value == 5006 || image.MediaName.Port.Value%2 != 0 {
		t.Fatalf("image port %d, want a relay port", image.MediaName.Port.Value)
	}
	if _, ok := image.Attribute("rtcp"); ok {
		t.Fatal("a=rtcp on a UDPTL stream")
	}
	if v, _ := image.Attribute("T38FaxUdpEC"); v != "t38UDPRedundancy" {
		t.Fatal("T.38 attributes lost")
	}
	if video.MediaName.Port.Value != 0 {
		t.Fatalf("declined video has port %d, want 0", video.MediaName.Port.Value)
	}
	// MSRP over TCP is not relayed: declined.
	if msrp.MediaName.Port.Value != 0 {
		t.Fatalf("msrp port %d, want 0 (not relayed)", msrp.MediaName.Port.Value)
	}
	if len(st.Legs[SideA].Streams) != 2 {
		t.Fatalf("%d streams relayed, want audio and image", len(st.Legs[SideA].Streams))
	}
	if st.Legs[SideA].Streams[0].Remote != netip.MustParseAddrPort("192.168.1.21:5004") {
		t.Fatalf("A's signalled address %s: want the media-level c= and port", st.Legs[SideA].Streams[0].Remote)
	}
}

func TestAnswerRewriteAndMux(t *testing.T) {
	s := newSDPSession(t)
	if _, err := s.Answer(SideB, phoneOffer); !errors.Is(err, ErrNoOffer) {
		t.Fatalf("answer before offer: %v, want ErrNoOffer", err)
	}
	if _, err := s.Offer(SideA, phoneOffer); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Answer(SideA, phoneOffer); !errors.Is(err, ErrNoOffer) {
		t.Fatalf("answer from the offerer's side: %v, want ErrNoOffer", err)
	}
	// The carrier answers audio without rtcp-mux and declines T.38.
	answer := crlf(`
v=0
o=carrier 1 1 IN IP4 198.51.100.7
s=-
c=IN IP4 198.51.100.7
t=0 0
m=audio 40000 RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
m=image 0 udptl t38
m=video 0 RTP/AVP 96
m=message 0 TCP/MSRP *
`)
	out, err := s.Answer(SideB, answer)
	if err != nil {
		t.Fatal(err)
	}
	sd := mustParse(t, out)
	audio := sd.MediaDescriptions[0]
	aPort := s.Stats().Legs[SideA].Streams[0].Local.Port()
	if audio.MediaName.Port.Value != int(aPort) {
		t.Fatalf("answer to A: port %d, want A's relay port %d", audio.MediaName.Port.Value, aPort)
	}
	// A offered rtcp-mux: the relay accepts it towards A (without a=rtcp),
	// although B declined it.
	if _, ok := audio.Attribute("rtcp-mux"); !ok {
		t.Fatalf("answer to A lacks rtcp-mux:\n%s", out)
	}
	if _, ok := audio.Attribute("rtcp"); ok {
		t.Fatalf("answer with rtcp-mux names an RTCP port:\n%s", out)
	}
	if sd.MediaDescriptions[1].MediaName.Port.Value != 0 {
		t.Fatal("T.38 declined by B must be declined towards A")
	}
	ends := s.streams[0].ends
	if !ends[SideA].cfg.Load().mux || ends[SideB].cfg.Load().mux {
		t.Fatal("mux must be on towards A, off towards B")
	}
	if ends[SideB].sigRTCP != netip.MustParseAddrPort("198.51.100.7:40001") {
		t.Fatalf("B's RTCP address %s, want RTP port + 1", ends[SideB].sigRTCP)
	}
	// Expected payload types are what either side signalled.
	cfg := ends[SideA].cfg.Load()
	for _, pt := range []uint8{8, 0, 101} {
		if !cfg.pts.has(pt) {
			t.Fatalf("payload type %d not expected", pt)
		}
	}
	if cfg.pts.has(96) || cfg.pts.has(18) {
		t.Fatal("payload types of no offer are expected")
	}
	// Mismatched m= line count
	if _, err := s.Answer(SideB, sdpBody(netip.MustParseAddrPort("198.51.100.7:40000"))); !errors.Is(err, ErrSDPMismatch) {
		t.Fatalf("short answer: %v, want ErrSDPMismatch", err)
	}
}

func TestOriginVersion(t *testing.T) {
	s := newSDPSession(t)
	a := netip.MustParseAddrPort("10.0.0.1:4000")
	first, err := s.Offer(SideA, sdpBody(a))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.Offer(SideA, sdpBody(a))
	hold, _ := s.Offer(SideA, sdpBody(a, "sendonly"))
	v := func(b []byte) uint64 { return mustParse(t, b).Origin.SessionVersion }
	id := func(b []byte) uint64 { return mustParse(t, b).Origin.SessionID }
	if v(again) != v(first) {
		t.Fatalf("unchanged SDP changed version %d -> %d", v(first), v(again))
	}
	if v(hold) != v(first)+1 {
		t.Fatalf("changed SDP has version %d, want %d", v(hold), v(first)+1)
	}
	if id(hold) != id(first) || id(first) == 1 {
		t.Fatal("the relay's session id must be its own and stable")
	}
}

func TestHoldDetection(t *testing.T) {
	a := netip.MustParseAddrPort("10.0.0.1:4000")
	b := netip.MustParseAddrPort("10.0.0.2:6000")
	tests := []struct {
		name  string
		offer []byte
		ans   []byte
		hold  bool
	}{
		{"sendrecv", sdpBody(a), sdpBody(b), false},
		{"sendonly/recvonly", sdpBody(a, "sendonly"), sdpBody(b, "recvonly"), true},
		{"inactive", sdpBody(a, "inactive"), sdpBody(b, "inactive"), true},
		{"c=0.0.0.0 (RFC 2543)", []byte(strings.Replace(string(sdpBody(a)), "c=IN IP4 10.0.0.1", "c=IN IP4 0.0.0.0", 1)), sdpBody(b), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSDPSession(t)
			if _, err := s.Offer(SideA, tt.offer); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Answer(SideB, tt.ans); err != nil {
				t.Fatal(err)
			}
			if s.OnHold() != tt.hold {
				t.Fatalf("on hold %v, want %v", s.OnHold(), tt.hold)
			}
		})
	}
}

func TestReinviteMovesAddressAndUnlatches(t *testing.T) {
	s := newSDPSession(t)
	a := netip.MustParseAddrPort("10.0.0.1:4000")
	s.Offer(SideA, sdpBody(a))
	s.Answer(SideB, sdpBody(netip.MustParseAddrPort("10.0.0.2:6000")))
	s.SetSources(SideA, netip.MustParseAddr("10.9.9.9"))
	end := s.streams[0].ends[SideA]
	end.dstRTP.Store(newEndpoint(netip.MustParseAddrPort("10.9.9.9:1234"), true)) // as if latched
	// The same address again (a session refresh) keeps the latch.
	s.Offer(SideA, sdpBody(a))
	if d := end.dstRTP.Load(); !d.latched {
		t.Fatal("refresh with the same SDP dropped the latch")
	}
	// A new address (transfer, new device) is learnt again.
	s.Offer(SideA, sdpBody(netip.MustParseAddrPort("10.0.0.3:4002")))
	if d := end.dstRTP.Load(); d.latched || d.ap != netip.MustParseAddrPort("10.0.0.3:4002") {
		t.Fatalf("after a new address: %+v", d)
	}
}

func TestBadSDP(t *testing.T) {
	s := newSDPSession(t)
	for _, body := range []string{"", "hello", "v=0\r\nm=audio x RTP/AVP 0\r\n"} {
		if _, err := s.Offer(SideA, []byte(body)); !errors.Is(err, ErrBadSDP) {
			t.Errorf("%q: %v, want ErrBadSDP", body, err)
		}
	}
	if _, err := BehindNAT([]byte("junk"), netip.MustParseAddr("1.2.3.4")); !errors.Is(err, ErrBadSDP) {
		t.Errorf("BehindNAT: %v", err)
	}
}

func TestBehindNAT(t *testing.T) {
	body := sdpBody(netip.MustParseAddrPort("192.168.1.20:4000"))
	if nat, err := BehindNAT(body, netip.MustParseAddr("203.0.113.9")); err != nil || !nat {
		t.Fatalf("private SDP from a public source: %v %v, want behind NAT", nat, err)
	}
	if nat, _ := BehindNAT(body, netip.MustParseAddr("192.168.1.20")); nat {
		t.Fatal("SDP address equal to the source: not behind NAT")
	}
	if nat, _ := BehindNAT(body, netip.MustParseAddr("::ffff:192.168.1.20")); nat {
		t.Fatal("an IPv4-mapped source must compare equal")
	}
}

func TestMode(t *testing.T) {
	for in, want := range map[string]Mode{"": ModeAuto, "auto": ModeAuto, "Always": ModeAlways, "never": ModeNever} {
		if m, err := ParseMode(in); err != nil || m != want {
			t.Errorf("ParseMode(%q) = %q, %v", in, m, err)
		}
	}
	if _, err := ParseMode("sometimes"); !errors.Is(err, ErrBadOption) {
		t.Fatal("bad mode accepted")
	}
	if !ModeAuto.Relay(true, false) || ModeAuto.Relay(false, false) || !ModeAlways.Relay(false, false) || ModeNever.Relay(true, true) {
		t.Fatal("Mode.Relay")
	}
}
