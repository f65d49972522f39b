package media

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/stun/v3"
)

// webrtcOffer is a browser's offer with the given ICE and DTLS attributes.
func webrtcOffer(ufrag, pwd, fp, setup, mid string) []byte {
	return []byte("v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE " + mid + "\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\n" +
		"a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:" + pwd + "\r\na=fingerprint:" + fp + "\r\na=setup:" + setup + "\r\na=mid:" + mid + "\r\n" +
		"a=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n")
}

const fuzzFingerprint = "sha-256 0F:74:31:25:CB:A2:13:EC:28:6F:6D:2C:61:FF:5D:C2:BC:B9:DB:3D:98:14:8D:1A:BB:EA:33:0C:A4:60:A8:8E"

// FuzzWebRTCSDP feeds a browser's offer with arbitrary ICE and DTLS
// attribute values through the relay. Either the offer is refused, or:
// the SIP party's offer carries none of WebRTC's attributes, and the
// answer to the browser names the relay's credentials and fingerprint,
// never the party's, and parses.
func FuzzWebRTCSDP(f *testing.F) {
	f.Add("brws", "browserpassword0123456789", fuzzFingerprint, "actpass", "0")
	f.Add("a", "b", "sha-1 00:11", "passive", "audio")
	f.Add("x y", "p\tq", "SHA-256 "+strings.Repeat("AB:", 31)+"AB", "active", "")
	f.Add("", "", "md5 00", "holdconn", "0 1")
	e, err := New(WithPortRange(testPorts(), testPorts()+199), withCheckInterval(time.Second))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	carrier := sdpBody(netip.MustParseAddrPort("127.0.0.2:4000"))
	f.Fuzz(func(t *testing.T, ufrag, pwd, fp, setup, mid string) {
		for _, s := range []string{ufrag, pwd, fp, setup, mid} {
			if strings.ContainsAny(s, "\r\n") {
				return // another line, not another value
			}
		}
		s, err := e.NewSession(context.Background(), "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		toCarrier, err := s.Offer(SideA, webrtcOffer(ufrag, pwd, fp, setup, mid))
		if err != nil {
			return
		}
		for _, bad := range []string{"ice-", "fingerprint", "setup:", "UDP/TLS", "candidate"} {
			if bytes.Contains(toCarrier, []byte(bad)) {
				t.Fatalf("the SIP party's offer carries %q:\n%s", bad, toCarrier)
			}
		}
		toBrowser, err := s.Answer(SideB, carrier)
		if err != nil {
			t.Fatalf("answer: %v", err)
		}
		var sd sdp.SessionDescription
		if err := sd.Unmarshal(toBrowser); err != nil {
			t.Fatalf("the browser's answer does not parse: %v\n%s", err, toBrowser)
		}
		cert, _ := e.dtlsCertificate()
		w := parseWebRTC(&sd, sd.MediaDescriptions[0])
		if !bytes.Contains(toBrowser, []byte("a=fingerprint:"+cert.fingerprint)) || w.setup != "passive" || len(w.pwd) < 22 || w.ufrag == ufrag {
			t.Fatalf("the browser's answer:\n%s", toBrowser)
		}
	})
}

// FuzzWebRTCDatagram sends each input, as the browser, to the relay's
// port of a WebRTC leg whose ICE has nominated the browser but whose DTLS
// never keyed: STUN, DTLS and (S)RTP alike (RFC 7983's first octets).
// Nothing may reach the SIP party (the relay cannot decrypt, and must not
// pass what it cannot read), and a valid connectivity check is answered
// after every input (the end still works).
func FuzzWebRTCDatagram(f *testing.F) {
	for _, s := range [][]byte{{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42}, {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1},
		{0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 'x'}, {0x81, 200, 0, 1}, {64}, {255}, {}} {
		f.Add(s)
	}
	e, err := New(WithPortRange(testPorts(), testPorts()+199), withCheckInterval(time.Second))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	br, carrier := newFuzzParty(f), newFuzzParty(f)
	s, err := e.NewSession(context.Background(), "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	if _, err := s.Offer(SideA, webrtcOffer("brws", "browserpassword0123456789", fuzzFingerprint, "actpass", "0")); err != nil {
		f.Fatal(err)
	}
	toBrowser, err := s.Answer(SideB, sdpBody(carrier.addr()))
	if err != nil {
		f.Fatal(err)
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(toBrowser); err != nil {
		f.Fatal(err)
	}
	ice := parseWebRTC(&sd, sd.MediaDescriptions[0])
	relay := relayAddrF(f, toBrowser)
	check := func(t *testing.T) {
		m := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.NewUsername(ice.ufrag+":brws"))
		m.Add(stun.AttrUseCandidate, nil)
		if err := stun.NewShortTermIntegrity(ice.pwd).AddTo(m); err != nil {
			t.Fatal(err)
		}
		if err := stun.Fingerprint.AddTo(m); err != nil {
			t.Fatal(err)
		}
		if _, err := br.conn.WriteToUDPAddrPort(m.Raw, relay); err != nil {
			t.Fatal(err)
		}
		for {
			got, _, ok := recvOn(t, br.conn, 2*time.Second)
			if !ok {
				t.Fatal("the relay stopped answering connectivity checks")
			}
			res := &stun.Message{Raw: got}
			if res.Decode() == nil && res.TransactionID == m.TransactionID {
				if res.Type != stun.BindingSuccess {
					t.Fatalf("check answered %v", res.Type)
				}
				return
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br.t, carrier.t = t, t
		check(t)
		if _, err := br.conn.WriteToUDPAddrPort(data, relay); err != nil {
			return // too large for a datagram
		}
		check(t)
		// The check's answer left after the input was handled (one
		// socket, one reader, in order): anything relayed from it is
		// already in the SIP party's socket.
		if got, src, ok := recvOn(t, carrier.conn, time.Millisecond); ok {
			t.Fatalf("the SIP party got % x from %s", got, src)
		}
	})
}

func relayAddrF(f *testing.F, body []byte) netip.AddrPort {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		f.Fatal(err)
	}
	a, _ := parseConnAddr(sd.ConnectionInformation)
	return netip.AddrPortFrom(a, uint16(sd.MediaDescriptions[0].MediaName.Port.Value))
}
