package sip

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
)

// challengeInviteMsg is a line's first INVITE: no credentials, no To tag.
const challengeInviteMsg = "INVITE sip:441234@127.0.0.1:5060 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-7;rport\r\n" +
	"From: \"A\" <sip:1001@127.0.0.1>;tag=abc\r\n" +
	"To: <sip:441234@127.0.0.1>\r\n" +
	"Call-ID: call-7@127.0.0.1\r\n" +
	"CSeq: 1 INVITE\r\n" +
	"User-Agent: test-phone/1.0\r\n" +
	"Contact: <sip:1001@127.0.0.1:5070>\r\n" +
	"Content-Length: 0\r\n\r\n"

// A line's first INVITE on UDP is challenged by the read loop itself: a
// 407 sipgo parses, with the switch's realm and a nonce of its book, the
// same bytes for a retransmission (a phone that matches retransmitted
// answers by content must take it for the same), a new nonce for another
// INVITE, and the 407's ACK dropped there too. What the full path
// decides otherwise goes on to sipgo: credentials, a To tag, a carrier's
// address, a blocked address, a draining switch, other methods.
func TestStatelessChallenge(t *testing.T) {
	snap := &routing.Snapshot{
		Plans:  []routing.Plan{{ID: 1}},
		Peers:  []routing.Peer{{ID: 1, Name: "carrier", Type: routing.PeerSIP, Destination: "127.0.0.3:5080", OutMaximum: -1}},
		Routes: []routing.Route{{ID: 1, Plan: 1, Allow: 1, Media: routing.MediaVoiceFax, Peer1: 1}},
		Phones: []routing.Phone{{ID: 1, Name: "1001", Password: "secret1001", Plan: 1, TotalMaximum: -1, CallMaximum: -1}},
	}
	calls, err := routing.NewCallControl(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := startSwitch(t, calls)
	phone, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	self, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	c := newReadConn(self, s, nil, false)
	from := phone.LocalAddr().(*net.UDPAddr).AddrPort()
	now := time.Now()
	read := func() []byte {
		t.Helper()
		phone.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		n, _, err := phone.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		return buf[:n]
	}

	invite := []byte(challengeInviteMsg)
	if !s.answerRaw(c, invite, from, now) {
		t.Fatal("a line's first INVITE went on to sipgo")
	}
	first := read()
	m, err := sip.ParseMessage(first)
	if err != nil {
		t.Fatalf("sipgo cannot parse the stateless 407: %v\n%s", err, first)
	}
	res := m.(*sip.Response)
	if res.StatusCode != 407 {
		t.Fatalf("status %d", res.StatusCode)
	}
	pa := res.GetHeader("Proxy-Authenticate")
	if pa == nil || !strings.Contains(pa.Value(), `realm="test"`) || !strings.Contains(pa.Value(), `qop="auth"`) {
		t.Fatalf("Proxy-Authenticate %v", pa)
	}
	if res.CallID().Value() != "call-7@127.0.0.1" || res.CSeq().Value() != "1 INVITE" || res.Via().Params.GetOr("branch", "") != "z9hG4bK-7" {
		t.Fatalf("the 407 does not answer the INVITE:\n%s", first)
	}
	if !s.answerRaw(c, invite, from, now.Add(300*time.Millisecond)) {
		t.Fatal("a retransmitted INVITE went on to sipgo")
	}
	if again := read(); !bytes.Equal(again, first) {
		t.Fatalf("a retransmission got another 407:\n%s\nfirst:\n%s", again, first)
	}
	other := bytes.Replace(invite, []byte("call-7@"), []byte("call-8@"), 1)
	if !s.answerRaw(c, other, from, now) {
		t.Fatal("another INVITE went on to sipgo")
	}
	if o, _ := sip.ParseMessage(read()); o.(*sip.Response).GetHeader("Proxy-Authenticate").Value() == pa.Value() {
		t.Fatal("two INVITEs got the same nonce")
	}
	if got := s.Stats().StatelessChallenges; got != 3 {
		t.Fatalf("stateless challenges counted %d, want 3", got)
	}
	tag, _ := res.To().Params.Get("tag")
	ack := strings.Replace(strings.Replace(challengeInviteMsg, "INVITE sip:", "ACK sip:", 1), "To: <sip:441234@127.0.0.1>", "To: <sip:441234@127.0.0.1>;tag="+tag, 1)
	ack = strings.Replace(ack, "CSeq: 1 INVITE", "CSeq: 1 ACK", 1)
	if !s.answerRaw(c, []byte(ack), from, now) {
		t.Error("the ACK of a stateless 407 went on to sipgo")
	}

	carrier := netip.MustParseAddrPort("127.0.0.3:5080")
	for name, tc := range map[string]struct {
		msg  string
		from netip.AddrPort
	}{
		"credentials": {strings.Replace(challengeInviteMsg, "Contact:", "Proxy-Authorization: Digest username=\"1001\"\r\nContact:", 1), from},
		"in-dialog":   {strings.Replace(challengeInviteMsg, "To: <sip:441234@127.0.0.1>", "To: <sip:441234@127.0.0.1>;tag=x", 1), from},
		"carrier":     {challengeInviteMsg, carrier},
		"REGISTER":    {strings.Replace(challengeInviteMsg, "INVITE sip:", "REGISTER sip:", 1), from},
		"other ACK":   {strings.Replace(ack, challengeTagPrefix, "x", 1), from},
	} {
		if s.answerRaw(c, []byte(tc.msg), tc.from, now) {
			t.Errorf("%s: answered in the read loop", name)
		}
	}
	s.draining.Store(true)
	if s.answerRaw(c, invite, from, now) {
		t.Error("draining: challenged in the read loop instead of refused 503")
	}
}

func FuzzStatelessChallenge(f *testing.F) {
	f.Add([]byte(challengeInviteMsg))
	f.Add([]byte("INVITE a b\r\nv:\r\nf: sip:@;\r\nt: <\r\ni:\r\nCSeq:\r\nUser-Agent:\r\n\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		var h rawHeaders
		if !readRawHeaders(msg, &h) {
			return
		}
		rawUserOf(rawAddressURI(msg[h.from.start:h.from.end]))
		rawHeaderValue(msg, h.userAgent)
		containsFold(msg[h.uri.start:h.uri.end], []byte(";line="))
		if out := appendStatelessHead(nil, msg, &h, "SIP/2.0 407 Proxy Authentication Required", challengeTagPrefix); !bytes.HasPrefix(out, []byte("SIP/2.0 407 ")) {
			t.Fatal("not a 407")
		}
	})
}
