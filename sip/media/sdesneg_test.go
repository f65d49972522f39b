package media

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/srtp/v3"
)

// SDES through the relay's Offer and Answer: each leg gets the relay's
// own key, media flows between an SRTP party and a plain one, and what a
// leg's Encryption refuses is ErrMediaEncryption.

// cryptoBody is a party's SDP for one audio line with transport proto and
// the given a=crypto values.
func cryptoBody(addr netip.AddrPort, proto string, crypto ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n", addr.Addr(), addr.Addr())
	fmt.Fprintf(&b, "m=audio %d %s 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n", addr.Port(), proto)
	for _, c := range crypto {
		b.WriteString("a=crypto:" + c + "\r\n")
	}
	return []byte(b.String())
}

// sdesKey is a party's key as an a=crypto value.
func sdesKey(t *testing.T, tag int, suite string) (string, cryptoAttr) {
	t.Helper()
	s, ok := suiteNamed(suite)
	if !ok {
		t.Fatal(suite)
	}
	k, err := newLocalKey(s)
	if err != nil {
		t.Fatal(err)
	}
	k.tag = uint32(tag)
	return k.value(), k
}

// relayCrypto reads the relay's SDP: the transport of m= line 0 and its
// a=crypto lines.
func relayCrypto(t *testing.T, body []byte) (string, []cryptoAttr) {
	t.Helper()
	sd, err := unmarshalSDP(body)
	if err != nil {
		t.Fatal(err)
	}
	md := sd.MediaDescriptions[0]
	n := 0
	for _, a := range md.Attributes {
		if a.Key == "crypto" {
			n++
		}
	}
	cs := cryptoLines(md)
	if len(cs) != n {
		t.Fatalf("the relay wrote a=crypto it cannot read itself:\n%s", body)
	}
	return strings.Join(md.MediaName.Protos, "/"), cs
}

func ctxOf(t *testing.T, c cryptoAttr) *srtp.Context {
	t.Helper()
	ctx, err := srtp.CreateContext(c.key, c.salt, c.suite.profile)
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

// An SRTP phone (RTP/SAVP, required) calls a plain carrier: the carrier
// is offered RTP/AVP without any key, the phone is answered RTP/SAVP with
// the relay's key under the tag it chose, and media flows both ways.
func TestSDESPhoneToPlainCarrier(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		s, err := e.NewSession(t.Context(), "sdes")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.SetEncryption(SideA, EncryptionRequired)
		unusable := "1 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
		aLine, aKey := sdesKey(t, 2, "AES_CM_128_HMAC_SHA1_80")
		toB, err := s.Offer(SideA, cryptoBody(a.addr(), "RTP/SAVP", unusable, aLine))
		if err != nil {
			t.Fatal(err)
		}
		if proto, cs := relayCrypto(t, toB); proto != "RTP/AVP" || len(cs) != 0 || bytes.Contains(toB, []byte("crypto")) {
			t.Fatalf("offer to the plain carrier: %s with %d keys\n%s", proto, len(cs), toB)
		}
		toA, err := s.Answer(SideB, sdpBody(b.addr()))
		if err != nil {
			t.Fatal(err)
		}
		proto, cs := relayCrypto(t, toA)
		if proto != "RTP/SAVP" || len(cs) != 1 || cs[0].tag != 2 || cs[0].suite.name != "AES_CM_128_HMAC_SHA1_80" || bytes.Equal(cs[0].key, aKey.key) {
			t.Fatalf("answer to the phone: %s %v\n%s", proto, cs, toA)
		}
		phone := &srtpParty{party: a, tx: ctxOf(t, aKey), rx: ctxOf(t, cs[0])}
		relayA, relayB := relayAddr(t, toA, 0), relayAddr(t, toB, 0)
		phone.sendSRTP(relayA, "hello")
		b.expect(relayB, "hello")
		b.send(relayB, 0, "back")
		phone.expectSRTP(relayA, "back")
		if !s.SRTP(SideA, 0) || s.SRTP(SideB, 0) {
			t.Fatal("the phone's side must be SRTP, the carrier's plain")
		}
	})
}

// A plain phone calls an SRTP-only party: the party is offered
// RTP/SAVP with the relay's three lines, answers one, and gets SRTP; the
// phone gets a plain answer.
func TestSDESPlainToRequiredCallee(t *testing.T) {
	e := newTestEngine(t)
	a, b := newParty(t), newParty(t)
	s, err := e.NewSession(t.Context(), "sdes")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.SetEncryption(SideB, EncryptionRequired)
	toB, err := s.Offer(SideA, cryptoBody(a.addr(), "RTP/AVP"))
	if err != nil {
		t.Fatal(err)
	}
	proto, offered := relayCrypto(t, toB)
	if proto != "RTP/SAVP" || len(offered) != offeredSuites || offered[0].suite.name != "AES_CM_128_HMAC_SHA1_80" || offered[1].suite.name != "AES_CM_128_HMAC_SHA1_32" || offered[2].suite.name != "AEAD_AES_128_GCM" {
		t.Fatalf("offer to the SRTP callee: %s %v\n%s", proto, offered, toB)
	}
	// An answer naming a tag not offered, or a tag with another suite,
	// is no SRTP: refused for a required leg.
	wrongTag, _ := sdesKey(t, 7, "AES_CM_128_HMAC_SHA1_80")
	wrongSuite, _ := sdesKey(t, 1, "AES_CM_128_HMAC_SHA1_32")
	for _, ans := range [][]byte{cryptoBody(b.addr(), "RTP/SAVP"), cryptoBody(b.addr(), "RTP/SAVP", wrongTag), cryptoBody(b.addr(), "RTP/SAVP", wrongSuite)} {
		if _, err := s.Answer(SideB, ans); !errors.Is(err, ErrMediaEncryption) {
			t.Fatalf("answer without a usable key: %v\n%s", err, ans)
		}
	}
	bLine, bKey := sdesKey(t, 2, "AES_CM_128_HMAC_SHA1_32")
	toA, err := s.Answer(SideB, cryptoBody(b.addr(), "RTP/SAVP", bLine))
	if err != nil {
		t.Fatal(err)
	}
	if proto, cs := relayCrypto(t, toA); proto != "RTP/AVP" || len(cs) != 0 {
		t.Fatalf("answer to the plain phone: %s %v\n%s", proto, cs, toA)
	}
	callee := &srtpParty{party: b, tx: ctxOf(t, bKey), rx: ctxOf(t, offered[1])}
	relayA, relayB := relayAddr(t, toA, 0), relayAddr(t, toB, 0)
	a.send(relayA, 0, "to-srtp")
	callee.expectSRTP(relayB, "to-srtp")
	callee.sendSRTP(relayB, "from-srtp")
	a.expect(relayA, "from-srtp")
}

// SRTP phone to SRTP phone: each leg has its own keys (the relay
// re-encrypts); neither phone's key reaches the other.
func TestSDESBothLegs(t *testing.T) {
	e := newTestEngine(t)
	a, b := newParty(t), newParty(t)
	s, err := e.NewSession(t.Context(), "sdes")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.SetEncryption(SideA, EncryptionRequired)
	s.SetEncryption(SideB, EncryptionRequired)
	aLine, aKey := sdesKey(t, 1, "AEAD_AES_128_GCM")
	toB, err := s.Offer(SideA, cryptoBody(a.addr(), "RTP/SAVP", aLine))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(toB, []byte(aLine[strings.Index(aLine, "inline:")+7:])) {
		t.Fatal("the caller's key reached the callee")
	}
	_, offered := relayCrypto(t, toB)
	bLine, bKey := sdesKey(t, 1, "AES_CM_128_HMAC_SHA1_80")
	toA, err := s.Answer(SideB, cryptoBody(b.addr(), "RTP/SAVP", bLine))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(toA, []byte(bLine[strings.Index(bLine, "inline:")+7:])) {
		t.Fatal("the callee's key reached the caller")
	}
	_, cs := relayCrypto(t, toA)
	if len(cs) != 1 || cs[0].suite.name != "AEAD_AES_128_GCM" {
		t.Fatalf("answer to the caller: %v", cs)
	}
	pa := &srtpParty{party: a, tx: ctxOf(t, aKey), rx: ctxOf(t, cs[0])}
	pb := &srtpParty{party: b, tx: ctxOf(t, bKey), rx: ctxOf(t, offered[0])}
	relayA, relayB := relayAddr(t, toA, 0), relayAddr(t, toB, 0)
	pa.sendSRTP(relayA, "a1")
	pb.expectSRTP(relayB, "a1")
	pb.sendSRTP(relayB, "b1")
	pa.expectSRTP(relayA, "b1")

	// A re-INVITE from the callee with the same key: the relay offers the
	// caller the same key again, and the media keeps flowing with the
	// contexts it had (no key stream starts again).
	toA2, err := s.Offer(SideB, cryptoBody(b.addr(), "RTP/SAVP", bLine))
	if err != nil {
		t.Fatal(err)
	}
	_, reoffer := relayCrypto(t, toA2)
	if !bytes.Equal(reoffer[2].key, cs[0].key) {
		t.Fatal("a re-offer named another key for the same suite")
	}
	toB2, err := s.Answer(SideA, cryptoBody(a.addr(), "RTP/SAVP", strings.Replace(aLine, "1 ", "3 ", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, cs := relayCrypto(t, toB2); len(cs) != 1 || !bytes.Equal(cs[0].key, offered[0].key) {
		t.Fatalf("answer to the callee's re-offer: %v", cs)
	}
	pa.sendSRTP(relayA, "a2")
	pb.expectSRTP(relayB, "a2")
	pb.sendSRTP(relayB, "b2")
	pa.expectSRTP(relayA, "b2")

	// Failover: the next party on the callee's leg gets keys of its own.
	s.ResetLeg(SideB)
	toB3, err := s.Offer(SideA, cryptoBody(a.addr(), "RTP/SAVP", aLine))
	if err != nil {
		t.Fatal(err)
	}
	if _, cs := relayCrypto(t, toB3); bytes.Equal(cs[0].key, offered[0].key) {
		t.Fatal("the next callee got the failed callee's key")
	}
}

// Optional: the callee is offered RTP/AVP with keys; an answer with a key
// makes its leg SRTP, one without plain.
func TestSDESOptionalCallee(t *testing.T) {
	e := newTestEngine(t)
	a, b := newParty(t), newParty(t)
	for _, withKey := range []bool{true, false} {
		s, err := e.NewSession(t.Context(), "sdes")
		if err != nil {
			t.Fatal(err)
		}
		s.SetEncryption(SideB, EncryptionOptional)
		toB, err := s.Offer(SideA, sdpBody(a.addr()))
		if err != nil {
			t.Fatal(err)
		}
		proto, offered := relayCrypto(t, toB)
		if proto != "RTP/AVP" || len(offered) != offeredSuites {
			t.Fatalf("optional offer: %s %v", proto, offered)
		}
		ans := cryptoBody(b.addr(), "RTP/AVP")
		if withKey {
			line, _ := sdesKey(t, 1, "AES_CM_128_HMAC_SHA1_80")
			ans = cryptoBody(b.addr(), "RTP/AVP", line)
		}
		if _, err := s.Answer(SideB, ans); err != nil {
			t.Fatal(err)
		}
		if s.SRTP(SideB, 0) != withKey {
			t.Fatalf("answer with a key %v: SRTP %v", withKey, s.SRTP(SideB, 0))
		}
		s.Close()
	}
}

// What a leg's Encryption refuses.
func TestSDESRefused(t *testing.T) {
	e := newTestEngine(t)
	a := newParty(t)
	key, _ := sdesKey(t, 1, "AES_CM_128_HMAC_SHA1_80")
	for _, tc := range []struct {
		name string
		enc  Encryption
		body []byte
	}{
		{"savp where SRTP is not allowed", EncryptionNone, cryptoBody(a.addr(), "RTP/SAVP", key)},
		{"savpf where SRTP is not allowed", EncryptionNone, cryptoBody(a.addr(), "RTP/SAVPF", key)},
		{"plain where SRTP is required", EncryptionRequired, cryptoBody(a.addr(), "RTP/AVP")},
		{"savp without a key", EncryptionOptional, cryptoBody(a.addr(), "RTP/SAVP")},
		{"only keys the relay cannot use", EncryptionRequired, cryptoBody(a.addr(), "RTP/SAVP", "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR UNENCRYPTED_SRTP")},
	} {
		s, err := e.NewSession(t.Context(), "sdes")
		if err != nil {
			t.Fatal(err)
		}
		s.SetEncryption(SideA, tc.enc)
		if _, err := s.Offer(SideA, tc.body); !errors.Is(err, ErrMediaEncryption) {
			t.Errorf("%s: %v, want ErrMediaEncryption", tc.name, err)
		}
		s.Close()
	}
	// Keys in an RTP/AVP offer to a leg without SRTP are dropped, not
	// passed on: the call is plain.
	s, err := e.NewSession(t.Context(), "sdes")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	toB, err := s.Offer(SideA, cryptoBody(a.addr(), "RTP/AVP", key))
	if err != nil || bytes.Contains(toB, []byte("crypto")) || s.SRTP(SideA, 0) {
		t.Fatalf("keys offered on RTP/AVP to a plain leg: %v, srtp %v\n%s", err, s.SRTP(SideA, 0), toB)
	}
}

// No key, the party's or the relay's, reaches the relay's log, whatever
// it logs at debug level.
func TestSDESKeysNotLogged(t *testing.T) {
	var logBuf lockedBuffer
	e := newTestEngine(t, WithLogger(slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	a, b := newParty(t), newParty(t)
	s, err := e.NewSession(t.Context(), "sdes")
	if err != nil {
		t.Fatal(err)
	}
	s.SetEncryption(SideA, EncryptionRequired)
	s.SetEncryption(SideB, EncryptionRequired)
	aLine, aKey := sdesKey(t, 1, "AES_CM_128_HMAC_SHA1_80")
	toB, err := s.Offer(SideA, cryptoBody(a.addr(), "RTP/SAVP", aLine))
	if err != nil {
		t.Fatal(err)
	}
	_, offered := relayCrypto(t, toB)
	bLine, bKey := sdesKey(t, 1, "AES_CM_128_HMAC_SHA1_80")
	toA, err := s.Answer(SideB, cryptoBody(b.addr(), "RTP/SAVP", bLine))
	if err != nil {
		t.Fatal(err)
	}
	_, cs := relayCrypto(t, toA)
	pa := &srtpParty{party: a, tx: ctxOf(t, aKey), rx: ctxOf(t, cs[0])}
	relayA, relayB := relayAddr(t, toA, 0), relayAddr(t, toB, 0)
	pa.sendSRTP(relayA, "x")
	pb := &srtpParty{party: b, tx: ctxOf(t, bKey), rx: ctxOf(t, offered[0])}
	pb.expectSRTP(relayB, "x")
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("end", "media", s.Stats())
	s.Close()
	logged := logBuf.String()
	if !strings.Contains(logged, "media latched") {
		t.Fatalf("the test logged nothing at debug:\n%s", logged)
	}
	for _, k := range []cryptoAttr{aKey, bKey, offered[0], cs[0]} {
		for _, enc := range []string{base64.StdEncoding.EncodeToString(append(append([]byte{}, k.key...), k.salt...))[:16], fmt.Sprintf("%x", k.key)[:16]} {
			if strings.Contains(logged, enc) {
				t.Fatalf("a key is in the log:\n%s", logged)
			}
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// FuzzSDESOfferAnswer runs a body as the offer of one leg and the answer
// of the other under every pair of Encryption: what the relay writes
// parses, never carries a key of the input, and gives a leg without SRTP
// neither a key nor RTP/SAVP.
func FuzzSDESOfferAnswer(f *testing.F) {
	a := netip.MustParseAddrPort("10.0.0.1:4000")
	for _, b := range [][]byte{
		cryptoBody(a, "RTP/SAVP", "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4"),
		cryptoBody(a, "RTP/AVP", "1 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj", "2 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw=="),
		cryptoBody(a, "RTP/SAVPF"), sdpBody(a),
	} {
		for enc := range uint8(9) {
			f.Add(b, enc)
		}
	}
	e, err := New(WithPortRange(testPorts(), testPorts()+199), WithAdvertisedAddress(netip.MustParseAddr("203.0.113.5")), withCheckInterval(time.Second))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	f.Fuzz(func(t *testing.T, body []byte, enc uint8) {
		encs := [2]Encryption{Encryption(enc % 3), Encryption(enc / 3 % 3)}
		s, err := e.NewSession(t.Context(), "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		s.SetEncryption(SideA, encs[0])
		s.SetEncryption(SideB, encs[1])
		var keys [][]byte
		if sd, err := unmarshalSDP(body); err == nil {
			for _, md := range sd.MediaDescriptions {
				for _, c := range cryptoLines(md) {
					keys = append(keys, c.key)
				}
			}
		}
		check := func(to Side, out []byte) {
			sd, err := unmarshalSDP(out)
			if err != nil {
				t.Fatalf("relay wrote SDP it cannot read: %v\n%s", err, out)
			}
			for _, md := range sd.MediaDescriptions {
				for _, c := range cryptoLines(md) {
					for _, k := range keys {
						if bytes.Equal(c.key, k) {
							t.Fatalf("a key of the input was passed on\n%s", out)
						}
					}
				}
				if encs[to] == EncryptionNone && (len(cryptoLines(md)) > 0 || isSecureProto(md.MediaName.Protos) && md.MediaName.Port.Value != 0 && isRTPProto(md.MediaName.Protos)) {
					t.Fatalf("a leg without SRTP was sent SRTP\n%s", out)
				}
			}
		}
		out, err := s.Offer(SideA, body)
		if err != nil {
			return
		}
		check(SideB, out)
		if out, err = s.Answer(SideB, out); err != nil {
			return
		}
		check(SideA, out)
	})
}

// An optional party that offered RTP/SAVP is offered RTP/SAVP when the
// other party re-offers: an SRTP-only phone is not asked for RTP/AVP.
func TestSDESReofferKeepsSAVP(t *testing.T) {
	e := newTestEngine(t)
	a, b := newParty(t), newParty(t)
	s, err := e.NewSession(t.Context(), "sdes")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.SetEncryption(SideA, EncryptionOptional)
	aLine, _ := sdesKey(t, 1, "AES_CM_128_HMAC_SHA1_80")
	if _, err := s.Offer(SideA, cryptoBody(a.addr(), "RTP/SAVP", aLine)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Answer(SideB, sdpBody(b.addr())); err != nil {
		t.Fatal(err)
	}
	toA, err := s.Offer(SideB, sdpBody(b.addr(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	if proto, cs := relayCrypto(t, toA); proto != "RTP/SAVP" || len(cs) != offeredSuites {
		t.Fatalf("re-offer to the SRTP phone: %s with %d keys", proto, len(cs))
	}
}

// A browser (DTLS-SRTP) calls a phone whose leg requires SDES: the phone
// is offered RTP/SAVP with the relay's keys and none of WebRTC's
// attributes, the browser gets its DTLS-SRTP answer without a=crypto,
// and audio crosses both ways: decrypted from one kind of SRTP,
// encrypted in the other.
func TestSDESPhoneCalledByBrowser(t *testing.T) {
	e := newTestEngine(t)
	br, phone := newBrowser(t), newParty(t)
	s, err := e.NewSession(t.Context(), "webrtc-sdes")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.SetNAT(SideA, true)
	s.SetSources(SideA, loopback)
	s.SetEncryption(SideA, EncryptionRequired) // a browser's policy: not SDES's to apply
	s.SetEncryption(SideB, EncryptionRequired)
	toPhone, err := s.Offer(SideA, br.offer())
	if err != nil {
		t.Fatal(err)
	}
	proto, offered := relayCrypto(t, toPhone)
	if proto != "RTP/SAVP" || len(offered) != offeredSuites {
		t.Fatalf("offer to the SDES phone: %s with %d keys\n%s", proto, len(offered), toPhone)
	}
	for _, bad := range []string{"UDP/TLS", "ice-", "candidate", "fingerprint", "setup"} {
		if strings.Contains(string(toPhone), bad) {
			t.Errorf("the phone's offer carries %q:\n%s", bad, toPhone)
		}
	}
	line, key := sdesKey(t, 1, "AES_CM_128_HMAC_SHA1_80")
	toBrowser, err := s.Answer(SideB, cryptoBody(phone.addr(), "RTP/SAVP", line))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(toBrowser), "crypto") {
		t.Fatalf("the browser's answer carries SDES:\n%s", toBrowser)
	}
	ice := readRelayICE(t, toBrowser)
	if ice.proto != "UDP/TLS/RTP/SAVPF" {
		t.Fatalf("the browser's answer: %+v", ice)
	}
	if res := br.check(t, ice, ice.pwd, true, 2*time.Second); res == nil {
		t.Fatal("check not answered")
	}
	if err := br.handshake(t, ice); err != nil {
		t.Fatalf("DTLS: %v", err)
	}
	eventually(t, "DTLS keyed", func() bool { return e.Stats().DTLSHandshakes == 1 })
	p := &srtpParty{party: phone, tx: ctxOf(t, key), rx: ctxOf(t, offered[0])}
	relayPhone := relayAddr(t, toPhone, 0)
	br.sendSRTP(ice.addr, "from-browser")
	p.expectSRTP(relayPhone, "from-browser")
	p.sendSRTP(relayPhone, "to-browser")
	br.expectSRTP("to-browser")
}
