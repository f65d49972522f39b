package media

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/fingerprint"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v3"
	"github.com/pion/stun/v3"
	"github.com/pion/transport/v5/deadline"
)

// browser is a WebRTC agent for the relay's tests, made of the pieces a
// browser is made of (pion/stun, pion/dtls, pion/srtp): one UDP socket on
// which it runs ICE checks as the controlling agent, a DTLS client
// handshake and SRTP. What it reads is sorted as the relay sorts it
// (RFC 7983): DTLS to the handshake, the rest to rx.
type browser struct {
	*party
	cert        tls.Certificate
	fingerprint string
	ufrag, pwd  string
	dtlsIn      chan []byte
	rx          chan []byte
	tx, rxCtx   *srtp.Context
	dtls        *dtls.Conn // the last handshake's
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	x, _ := x509.ParseCertificate(cert.Certificate[0])
	fp, err := fingerprint.Fingerprint(x, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{party: newParty(t), cert: cert, fingerprint: "sha-256 " + strings.ToUpper(fp),
		ufrag: "brws", pwd: "browserpassword0123456789", dtlsIn: make(chan []byte, 64), rx: make(chan []byte, 256)}
	b.ssrc = 0xB0B0
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := b.conn.Read(buf)
			if err != nil {
				close(b.dtlsIn)
				return
			}
			pkt := append([]byte(nil), buf[:n]...)
			if classify(pkt) == classDTLS {
				b.dtlsIn <- pkt
				continue
			}
			select {
			case b.rx <- pkt:
			default:
			}
		}
	}()
	return b
}

// offer is a browser's SDP offer as Chrome writes it (JSEP placeholders,
// BUNDLE, mid, msid, extmap, rtcp-fb, opus and PCMU).
func (b *browser) offer() []byte {
	return []byte("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"a=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS stream\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111 0 126\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
		"a=ice-ufrag:" + b.ufrag + "\r\na=ice-pwd:" + b.pwd + "\r\na=ice-options:trickle\r\n" +
		"a=fingerprint:" + b.fingerprint + "\r\na=setup:actpass\r\na=mid:0\r\n" +
		"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\na=sendrecv\r\na=msid:stream track\r\n" +
		"a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n" +
		"a=rtpmap:0 PCMU/8000\r\na=rtpmap:126 telephone-event/8000\r\na=ssrc:2882 cname:abc\r\n")
}

// relayICE reads what the relay's SDP for the browser says of line 0.
type relayICE struct {
	addr         netip.AddrPort // the candidate
	ufrag, pwd   string
	fpHash       crypto.Hash
	fp           []byte
	setup, proto string
	lite         bool
}

func readRelayICE(t testing.TB, body []byte) relayICE {
	t.Helper()
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		t.Fatalf("relay SDP: %v\n%s", err, body)
	}
	md := sd.MediaDescriptions[0]
	r := relayICE{proto: strings.Join(md.MediaName.Protos, "/")}
	_, r.lite = sd.Attribute("ice-lite")
	w := parseWebRTC(&sd, md)
	r.ufrag, r.pwd, r.fpHash, r.fp, r.setup = w.ufrag, w.pwd, w.fpHash, w.fp, w.setup
	for _, a := range md.Attributes {
		if a.Key == "candidate" {
			f := strings.Fields(a.Value)
			if len(f) < 8 || f[2] != "udp" || f[7] != "host" {
				t.Fatalf("candidate %q", a.Value)
			}
			r.addr = netip.MustParseAddrPort(net.JoinHostPort(f[4], f[5]))
		}
	}
	return r
}

// check sends a connectivity check to the relay and returns its answer
// (nil: none within wait).
func (b *browser) check(t testing.TB, r relayICE, pwd string, nominate bool, wait time.Duration) *stun.Message {
	t.Helper()
	m := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.NewUsername(r.ufrag+":"+b.ufrag))
	if nominate {
		m.Add(stun.AttrUseCandidate, nil)
	}
	m.Add(stun.AttrICEControlling, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	if err := stun.NewShortTermIntegrity(pwd).AddTo(m); err != nil {
		t.Fatal(err)
	}
	if err := stun.Fingerprint.AddTo(m); err != nil {
		t.Fatal(err)
	}
	b.sendFrom(b.conn, r.addr, m.Raw)
	deadline := time.After(wait)
	for {
		select {
		case pkt := <-b.rx:
			if classify(pkt) != classSTUN {
				continue
			}
			res := &stun.Message{Raw: pkt}
			if err := res.Decode(); err != nil {
				t.Fatalf("relay's STUN answer: %v", err)
			}
			if res.TransactionID != m.TransactionID {
				continue
			}
			return res
		case <-deadline:
			return nil
		}
	}
}

// handshake runs the DTLS client handshake with the relay at r and keys
// the browser's SRTP.
func (b *browser) handshake(t testing.TB, r relayICE) error {
	t.Helper()
	conn, err := dtls.ClientWithOptions(&browserPipe{b: b, to: r.addr, rd: deadline.New()}, net.UDPAddrFromAddrPort(r.addr),
		dtls.WithCertificates(b.cert),
		dtls.WithSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
		dtls.WithInsecureSkipVerify(true), // the fingerprint is checked instead, as a browser does
		dtls.WithVerifyPeerCertificate(func(raw [][]byte, _ [][]*x509.Certificate) error {
			h := r.fpHash.New()
			h.Write(raw[0])
			if string(h.Sum(nil)) != string(r.fp) {
				return fmt.Errorf("relay certificate does not match its SDP fingerprint")
			}
			return nil
		}),
	)
	if err != nil {
		return err
	}
	if b.dtls != nil {
		b.dtls.Close() // it would read the new handshake's datagrams
	}
	b.dtls = conn
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := conn.HandshakeContext(ctx); err != nil {
		return err
	}
	p, _ := conn.SelectedSRTPProtectionProfile()
	state, _ := conn.ConnectionState()
	cfg := srtp.Config{Profile: srtp.ProtectionProfile(p)}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, true); err != nil {
		return err
	}
	if b.tx, err = srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, cfg.Profile); err != nil {
		return err
	}
	b.rxCtx, err = srtp.CreateContext(cfg.Keys.RemoteMasterKey, cfg.Keys.RemoteMasterSalt, cfg.Profile)
	return err
}

func (b *browser) sendSRTP(to netip.AddrPort, payload string) {
	b.t.Helper()
	out, err := b.tx.EncryptRTP(nil, b.packet(0, payload), nil)
	if err != nil {
		b.t.Fatal(err)
	}
	b.sendFrom(b.conn, to, out)
}

// expectSRTP waits for SRTP carrying payload.
func (b *browser) expectSRTP(payload string) {
	b.t.Helper()
	deadline := time.After(2 * time.Second)
	for {
		select {
		case pkt := <-b.rx:
			if classify(pkt) != classRTP {
				continue
			}
			if strings.Contains(string(pkt), payload) {
				b.t.Fatalf("%q reached the browser in the clear", payload)
			}
			plain, err := b.rxCtx.DecryptRTP(nil, pkt, nil)
			if err != nil {
				b.t.Fatalf("not SRTP under the DTLS keys: %v", err)
			}
			var p rtp.Packet
			if err := p.Unmarshal(plain); err == nil && string(p.Payload) == payload {
				return
			}
		case <-deadline:
			b.t.Fatalf("browser: no SRTP %q", payload)
		}
	}
}

// browserPipe is the browser's DTLS transport: its socket, DTLS only.
type browserPipe struct {
	b  *browser
	to netip.AddrPort
	rd *deadline.Deadline
}

func (p *browserPipe) ReadFrom(buf []byte) (int, net.Addr, error) {
	select {
	case pkt, ok := <-p.b.dtlsIn:
		if !ok {
			return 0, nil, net.ErrClosed
		}
		return copy(buf, pkt), net.UDPAddrFromAddrPort(p.to), nil
	case <-p.rd.Done():
		return 0, nil, os.ErrDeadlineExceeded
	}
}
func (p *browserPipe) WriteTo(buf []byte, _ net.Addr) (int, error) {
	return p.b.conn.WriteToUDPAddrPort(buf, p.to)
}
func (p *browserPipe) Close() error                      { return nil }
func (p *browserPipe) LocalAddr() net.Addr               { return p.b.conn.LocalAddr() }
func (p *browserPipe) SetDeadline(t time.Time) error     { p.rd.Set(t); return nil }
func (p *browserPipe) SetReadDeadline(t time.Time) error { p.rd.Set(t); return nil }
func (p *browserPipe) SetWriteDeadline(time.Time) error  { return nil }

// webrtcCall is a browser calling a plain-RTP carrier through the relay:
// the browser's offer, the carrier's answer, each SDP as the relay wrote
// it for the other party.
func webrtcCall(t testing.TB, e *Engine, br *browser, carrier *party) (s *Session, toCarrier []byte, ice relayICE, carrierRelay netip.AddrPort) {
	t.Helper()
	s, err := e.NewSession(context.Background(), "webrtc-"+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.SetNAT(SideA, true)
	s.SetSources(SideA, loopback)
	toCarrier, err = s.Offer(SideA, br.offer())
	if err != nil {
		t.Fatal(err)
	}
	toBrowser, err := s.Answer(SideB, sdpBody(carrier.addr()))
	if err != nil {
		t.Fatal(err)
	}
	return s, toCarrier, readRelayICE(t, toBrowser), relayAddr(t, toCarrier, 0)
}

// A browser calls a plain-RTP party: the carrier is offered RTP/AVP
// without any of WebRTC's attributes; the browser gets an ICE-lite answer
// (one host candidate, the relay's fingerprint, setup:passive, rtcp-mux);
// its checks are answered under the relay's ice-pwd, the DTLS handshake
// keys SRTP, and audio crosses both ways: decrypted towards the carrier,
// encrypted towards the browser, never in the clear to it.
func TestWebRTCBrowserToPlainCarrier(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		br, carrier := newBrowser(t), newParty(t)
		s, toCarrier, ice, carrierRelay := webrtcCall(t, e, br, carrier)
		for _, bad := range []string{"UDP/TLS", "ice-", "candidate", "fingerprint", "setup", "extmap", "msid", "BUNDLE", "rtcp-fb", "ssrc"} {
			if strings.Contains(string(toCarrier), bad) {
				t.Errorf("the carrier's offer carries %q:\n%s", bad, toCarrier)
			}
		}
		if !strings.Contains(string(toCarrier), "RTP/AVP 111 0 126") {
			t.Errorf("the carrier's offer is not RTP/AVP:\n%s", toCarrier)
		}
		if ice.proto != "UDP/TLS/RTP/SAVPF" || !ice.lite || ice.setup != "passive" || ice.fp == nil || len(ice.pwd) < 22 || !ice.addr.IsValid() {
			t.Fatalf("the browser's answer: %+v", ice)
		}

		// Before ICE and DTLS the carrier's audio goes nowhere.
		carrier.send(carrierRelay, 0, "early")

		// A check under another password is not answered: ice-pwd is
		// what the party proves it got the relay's SDP with.
		if res := br.check(t, ice, "wrong-password-0123456789", true, 300*time.Millisecond); res != nil {
			t.Fatalf("a check with the wrong password was answered: %v", res)
		}
		res := br.check(t, ice, ice.pwd, true, 2*time.Second)
		if res == nil || res.Type != stun.BindingSuccess {
			t.Fatalf("check not answered: %v", res)
		}
		if err := stun.NewShortTermIntegrity(ice.pwd).Check(res); err != nil {
			t.Fatalf("answer's MESSAGE-INTEGRITY: %v", err)
		}
		var mapped stun.XORMappedAddress
		if err := mapped.GetFrom(res); err != nil || mapped.Port != int(br.addr().Port()) {
			t.Fatalf("XOR-MAPPED-ADDRESS %v %v, want %v", mapped, err, br.addr())
		}
		if err := br.handshake(t, ice); err != nil {
			t.Fatalf("DTLS: %v", err)
		}
		eventually(t, "DTLS keyed", func() bool { return e.Stats().DTLSHandshakes == 1 })

		br.sendSRTP(ice.addr, "from-browser")
		carrier.expect(carrierRelay, "from-browser")
		carrier.send(carrierRelay, 0, "to-browser")
		br.expectSRTP("to-browser")

		st := s.Stats()
		if st.Legs[SideA].Streams[0].Packets == 0 || st.Legs[SideB].Streams[0].Packets == 0 {
			t.Fatalf("relay stats %+v", st)
		}
		if es := e.Stats(); es.ICERefused != 1 {
			t.Errorf("ICE refused %d, want 1", es.ICERefused)
		}
	})
}

// A DTLS client whose certificate is not the one its SDP's fingerprint
// names (a man in the middle of the media, who could not change the
// signalling) does not key the stream.
func TestWebRTCFingerprintMismatchRefused(t *testing.T) {
	e := newTestEngine(t)
	br, carrier := newBrowser(t), newParty(t)
	_, _, ice, _ := webrtcCall(t, e, br, carrier)
	if res := br.check(t, ice, ice.pwd, true, 2*time.Second); res == nil {
		t.Fatal("check not answered")
	}
	other, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	br.cert = other
	err = br.handshake(t, ice)
	if err == nil {
		t.Fatal("handshake with a certificate the SDP did not announce succeeded")
	}
	t.Logf("client: %v", err)
	eventually(t, "failure counted", func() bool { return e.Stats().DTLSFailures == 1 })
	if e.Stats().DTLSHandshakes != 0 {
		t.Fatal("keyed")
	}
}

// DTLS from a source that passed no connectivity check is dropped, and
// SRTP from anywhere but the nominated source never reaches the carrier.
func TestWebRTCUncheckedSourcesDropped(t *testing.T) {
	e := newTestEngine(t)
	br, carrier := newBrowser(t), newParty(t)
	_, _, ice, carrierRelay := webrtcCall(t, e, br, carrier)
	stranger := newBrowser(t)
	stranger.cert, stranger.fingerprint = br.cert, br.fingerprint
	if err := stranger.handshakeQuick(t, ice); err == nil {
		t.Fatal("DTLS handshake without a connectivity check succeeded")
	}
	if res := br.check(t, ice, ice.pwd, true, 2*time.Second); res == nil {
		t.Fatal("check not answered")
	}
	if err := br.handshake(t, ice); err != nil {
		t.Fatal(err)
	}
	stranger.tx, stranger.rxCtx = br.tx, br.rxCtx
	before := e.Stats().DroppedSource
	stranger.sendSRTP(ice.addr, "injected")
	eventually(t, "stranger's SRTP dropped", func() bool { return e.Stats().DroppedSource > before })
	carrier.expectNothing(100 * time.Millisecond)
	_ = carrierRelay
}

// handshakeQuick is handshake with a short bound: the relay answers
// nothing, so it can only time out.
func (b *browser) handshakeQuick(t testing.TB, r relayICE) error {
	conn, err := dtls.ClientWithOptions(&browserPipe{b: b, to: r.addr, rd: deadline.New()}, net.UDPAddrFromAddrPort(r.addr),
		dtls.WithCertificates(b.cert), dtls.WithInsecureSkipVerify(true),
		dtls.WithSRTPProtectionProfiles(dtls.SRTP_AES128_CM_HMAC_SHA1_80))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	return conn.HandshakeContext(ctx)
}

// eventually polls cond for up to 5 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A browser offering audio and video to a carrier that declines the
// video: the browser's answer declines it with port 0 on its own
// protocol, the audio line is DTLS-SRTP with ICE-lite; the carrier was
// offered both as RTP/AVP.
func TestWebRTCDeclinedLineKeepsProtocol(t *testing.T) {
	e := newTestEngine(t)
	br, carrier := newBrowser(t), newParty(t)
	offer := string(br.offer()) + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=ice-ufrag:" + br.ufrag +
		"\r\na=ice-pwd:" + br.pwd + "\r\na=fingerprint:" + br.fingerprint + "\r\na=setup:actpass\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
	s, err := e.NewSession(context.Background(), "declined")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	toCarrier, err := s.Offer(SideA, []byte(offer))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(toCarrier), " RTP/AVP "); n != 2 {
		t.Fatalf("carrier offered %d RTP/AVP lines:\n%s", n, toCarrier)
	}
	answer := string(sdpBody(carrier.addr())) + "m=video 0 RTP/AVP 96\r\n"
	toBrowser, err := s.Answer(SideB, []byte(answer))
	if err != nil {
		t.Fatal(err)
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(toBrowser); err != nil {
		t.Fatal(err)
	}
	v := sd.MediaDescriptions[1]
	if v.MediaName.Port.Value != 0 || strings.Join(v.MediaName.Protos, "/") != "UDP/TLS/RTP/SAVPF" {
		t.Fatalf("declined video line to the browser: %v", v.MediaName)
	}
	if ice := readRelayICE(t, toBrowser); ice.proto != "UDP/TLS/RTP/SAVPF" || ice.setup != "passive" || !ice.addr.IsValid() {
		t.Fatalf("audio line to the browser: %+v", ice)
	}
}

// A call to a browser: the relay offers it DTLS-SRTP with ICE-lite
// (actpass); the browser checks and starts DTLS as soon as it has the
// offer, before its answer (with its fingerprint) has come back through
// the SIP core. The handshake waits for the answer and keys the call;
// media then flows both ways.
func TestWebRTCCallToBrowserKeysBeforeItsAnswerArrives(t *testing.T) {
	e := newTestEngine(t)
	br, carrier := newBrowser(t), newParty(t)
	s, err := e.NewSession(context.Background(), "to-browser")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetWebRTC(SideB)
	toBrowser, err := s.Offer(SideA, sdpBody(carrier.addr()))
	if err != nil {
		t.Fatal(err)
	}
	ice := readRelayICE(t, toBrowser)
	if ice.proto != "UDP/TLS/RTP/SAVPF" || ice.setup != "actpass" || !ice.lite {
		t.Fatalf("offer to the browser: %+v\n%s", ice, toBrowser)
	}
	if res := br.check(t, ice, ice.pwd, true, 2*time.Second); res == nil {
		t.Fatal("check not answered before the answer")
	}
	done := make(chan error, 1)
	go func() { done <- br.handshake(t, ice) }()
	w := s.stream(0).ends[SideB].wrtc.Load()
	eventually(t, "the handshake started", w.dtls.started.Load)
	answer := "v=0\r\no=- 77 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\n" +
		"a=ice-ufrag:" + br.ufrag + "\r\na=ice-pwd:" + br.pwd + "\r\na=fingerprint:" + br.fingerprint +
		"\r\na=setup:active\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\n"
	toCarrier, err := s.Answer(SideB, []byte(answer))
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("DTLS with the answer late: %v", err)
	}
	carrierRelay := relayAddr(t, toCarrier, 0)
	eventually(t, "keyed", func() bool { return e.Stats().DTLSHandshakes == 1 })
	carrier.send(carrierRelay, 0, "to-browser")
	br.expectSRTP("to-browser")
	br.sendSRTP(ice.addr, "from-browser")
	carrier.expect(carrierRelay, "from-browser")
}
