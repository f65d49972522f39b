package sip

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/certs"
	"github.com/sipswitch/sipswitch/internal/testcert"
	"github.com/sipswitch/sipswitch/sip/media"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// wsAddr finds the fixture switch's ws (secure false) or wss listener.
func wsAddr(t *testing.T, s *Server, secure bool) WSAddr {
	t.Helper()
	for _, a := range s.Addrs() {
		if w, ok := a.(WSAddr); ok && w.Secure == secure {
			return w
		}
	}
	t.Fatalf("listeners %v", s.Addrs())
	return WSAddr{}
}

// browserSDP is a WebRTC offer as a browser writes it (JSEP placeholders,
// ICE, DTLS fingerprint, rtcp-mux).
const browserSDP = "v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:brws\r\na=ice-pwd:browserpassword0123456789\r\n" +
	"a=fingerprint:sha-256 0F:74:31:25:CB:A2:13:EC:28:6F:6D:2C:61:FF:5D:C2:BC:B9:DB:3D:98:14:8D:1A:BB:EA:33:0C:A4:60:A8:8E\r\n" +
	"a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n" +
	"a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n"

// A browser-like phone (RFC 7118: Contact host under .invalid, no
// listener) registers over WSS and over WS, is called over the connection
// it registered on with a WebRTC offer (relayed although media.relay is
// never: only the relay can bridge it), and its BYE ends the call; its
// own WebRTC call reaches a UDP phone as RTP/AVP and is answered with the
// relay's ICE-lite candidate and fingerprint.
func TestWebSocketPhoneRegistersAndIsCalled(t *testing.T) {
	for _, network := range []string{"wss", "ws"} {
		t.Run(network, func(t *testing.T) {
			f := newTLSFixture(t, nil, WithListen("ws://127.0.0.1:0", "wss://127.0.0.1:0"), WithMediaRelay(newRelay(t), media.ModeNever))
			addr := wsAddr(t, f.s, network == "wss")
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			browser := siptest.NewAgentTLS(t, "browser", "127.0.0.1", f.phoneTLS(), nil)
			browser.Network = network
			browser.Contact.Address.Host, browser.Contact.Address.Port = "df7jal23ls0d.invalid", 0
			browser.Contact.Address.UriParams.Add("transport", network)
			browser.Handle(siptest.AnswerWith(carrierSDP))
			res, _, err := browser.Register(ctx, addr, "1002", "secret1002", 300)
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("register over %s: %v %v", network, res, err)
			}
			if r := f.s.Registrations(); len(r) != 1 || !strings.EqualFold(r[0].Transport, network) {
				t.Fatalf("registration %+v", r)
			}
			udpPhone := siptest.NewAgent(t, "udpphone", "127.0.0.1")
			d, err := udpPhone.Call(ctx, f.udp, "1002", "1001", "secret1001", callerSDP)
			if err != nil {
				t.Fatalf("call to the %s phone: %v", network, err)
			}
			inv := browser.Last.Load()
			if inv == nil || !strings.EqualFold(inv.Transport(), network) || inv.Recipient.Host != "df7jal23ls0d.invalid" {
				t.Fatalf("browser's INVITE %v", inv)
			}
			if c := inv.Contact(); c == nil || c.Address.Port != addr.Port || c.Address.UriParams.GetOr("transport", "") != network {
				t.Errorf("switch's Contact to the %s phone %v, want its listener", network, c)
			}
			for _, want := range []string{"UDP/TLS/RTP/SAVPF", "a=ice-lite", "a=fingerprint:sha-256 ", "a=setup:actpass", "typ host", "a=rtcp-mux"} {
				if !strings.Contains(string(inv.Body()), want) {
					t.Errorf("offer to the browser lacks %q:\n%s", want, inv.Body())
				}
			}
			if err := d.Bye(ctx); err != nil {
				t.Fatal(err)
			}
			eventually(t, "BYE to the browser", func() bool { return browser.Byes.Load() == 1 })

			udpPhone.Handle(siptest.AnswerWith(carrierSDP))
			if _, _, err := udpPhone.Register(ctx, f.udp, "1001", "secret1001", 300); err != nil {
				t.Fatal(err)
			}
			d, err = browser.Call(ctx, addr, "1001", "1002", "secret1002", browserSDP)
			if err != nil {
				t.Fatalf("the browser's call: %v", err)
			}
			toPhone := string(udpPhone.Last.Load().Body())
			if !strings.Contains(toPhone, "RTP/AVP 111 0") || strings.Contains(toPhone, "fingerprint") || strings.Contains(toPhone, "candidate") {
				t.Errorf("offer to the UDP phone:\n%s", toPhone)
			}
			answer := string(d.InviteResponse.Body())
			for _, want := range []string{"UDP/TLS/RTP/SAVPF", "a=ice-lite", "a=setup:passive", "a=mid:0", "typ host"} {
				if !strings.Contains(answer, want) {
					t.Errorf("answer to the browser lacks %q:\n%s", want, answer)
				}
			}
			if err := d.Bye(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// upgrade sends a WebSocket upgrade request with the given Origin and
// subprotocol over c and returns the HTTP status.
func upgrade(t *testing.T, c net.Conn, host, origin, protocol string) int {
	t.Helper()
	req := "GET / HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	if protocol != "" {
		req += "Sec-WebSocket-Protocol: " + protocol + "\r\n"
	}
	if origin != "" {
		req += "Origin: " + origin + "\r\n"
	}
	if _, err := c.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("upgrade response: %v", err)
	}
	return res.StatusCode
}

// A page of another site cannot use a visitor's browser to reach the
// switch: its Origin is refused before SIP; the listener's own origin and
// the listed ones are allowed, as are clients without Origin; a client
// that does not ask for the sip subprotocol is refused.
func TestWebSocketOriginChecked(t *testing.T) {
	cases := []struct {
		name, origin, protocol string
		origins                []string
		want                   int
	}{
		{"foreign origin", "http://evil.example", "sip", nil, 403},
		{"own origin", "http://%s", "sip", nil, 101},
		{"own host, other port", "http://127.0.0.1:1", "sip", nil, 403},
		{"own origin, https scheme on ws", "https://%s", "sip", nil, 403},
		{"listed origin", "http://phone.example:8443", "sip", []string{"HTTP://phone.example:8443/"}, 101},
		{"not listed", "http://evil.example", "sip", []string{"http://phone.example:8443"}, 403},
		{"any", "http://evil.example", "sip", []string{"*"}, 101},
		{"no origin (not a browser)", "", "sip", nil, 101},
		{"no sip subprotocol", "", "chat", nil, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []Option
			if tc.origins != nil {
				opts = append(opts, WithWebSocketOrigins(tc.origins...))
			}
			s, _ := startSwitch(t, newTestDirectory(), append(opts, WithListen("ws://127.0.0.1:0"))...)
			ws := wsAddr(t, s, false)
			c, err := net.Dial("tcp", ws.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			origin := tc.origin
			if strings.Contains(origin, "%s") {
				origin = fmt.Sprintf(origin, ws.String())
			}
			if got := upgrade(t, c, ws.String(), origin, tc.protocol); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
			refused := uint64(0)
			if tc.want != 101 {
				refused = 1
			}
			eventually(t, "refusal counted", func() bool { return s.Stats().WebSocketRefused == refused })
		})
	}
}

// A connection that opens a wss listener and sends nothing (a scanner, a
// slow-loris) does not stop others from connecting: sipgo upgrades in its
// accept loop, so without wsListener's per-connection preparation the
// registration below waits for the silent one's handshake timeout (set
// here beyond the test's deadline).
func TestWebSocketSilentConnectionBlocksNoOne(t *testing.T) {
	f := newTLSFixture(t, nil, WithListen("wss://127.0.0.1:0"), withTLSHandshakeTimeout(time.Minute))
	wss := wsAddr(t, f.s, true)
	for range 3 {
		silent, err := net.Dial("tcp", wss.String())
		if err != nil {
			t.Fatal(err)
		}
		defer silent.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	browser := siptest.NewAgentTLS(t, "browser", "127.0.0.1", f.phoneTLS(), nil)
	browser.Network = "wss"
	if res, _, err := browser.Register(ctx, wss, "1002", "secret1002", 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("register beside silent connections: %v %v", res, err)
	}
}

// A wss client that fails the TLS handshake is refused and counted.
func TestWebSocketBadHandshakeRefused(t *testing.T) {
	f := newTLSFixture(t, nil, WithListen("wss://127.0.0.1:0"))
	wss := wsAddr(t, f.s, true)
	c, err := tls.Dial("tcp", wss.String(), &tls.Config{RootCAs: f.ca.Pool(), ServerName: "localhost", MaxVersion: tls.VersionTLS11})
	if err == nil {
		c.Close()
		t.Fatal("TLS 1.1 handshake accepted")
	}
	eventually(t, "refusal counted", func() bool { return f.s.Stats().WebSocketRefused == 1 })
}

// A WebRTC offer on a switch without a relay is refused (488): nothing
// else could turn DTLS-SRTP into what the callee speaks.
func TestWebRTCOfferWithoutRelayRefused(t *testing.T) {
	f := newTLSFixture(t, nil, WithListen("ws://127.0.0.1:0"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	browser := siptest.NewAgent(t, "browser", "127.0.0.1")
	browser.Network = "ws"
	_, err := browser.Call(ctx, wsAddr(t, f.s, false), "1001", "1002", "secret1002", browserSDP)
	if siptest.StatusOf(err) != 488 {
		t.Fatalf("WebRTC offer without relay: %v, want 488", err)
	}
}

// With client certificates required on tls:// (mutual TLS with
// carriers), a browser, which has none, still registers over wss://:
// the wss listeners do not ask for one (wssConfig).
func TestWebSocketTakesBrowsersUnderMutualTLS(t *testing.T) {
	f := newTLSFixture(t, []certs.ServerOption{certs.WithClientCAs(testcert.NewCA(t).Pool(), true)}, WithListen("wss://127.0.0.1:0"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	browser := siptest.NewAgentTLS(t, "browser", "127.0.0.1", f.phoneTLS(), nil)
	browser.Network = "wss"
	if res, _, err := browser.Register(ctx, wsAddr(t, f.s, true), "1002", "secret1002", 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("register over wss without a client certificate: %v %v", res, err)
	}
}
