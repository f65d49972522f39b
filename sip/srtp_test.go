package sip

import (
	"bytes"
	"encoding/base64"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/media"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// SRTP with SDES keys through the SIP core (callsrtp.go), as an attacker
// and a careless operator would try it: keys over UDP, plain RTP from a
// line that requires SRTP, keys offered to a line without SRTP, a peer
// that requires SRTP reached over UDP. The relay's own SRTP (forged
// packets, re-keying) is tested in sip/media.

const (
	phoneKey = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR" // RFC 4568's example key
	cryptoAV = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + phoneKey
)

// savpSDP is audioSDP with transport proto and extra lines.
func savpSDP(user, host string, port int, proto string, extra ...string) string {
	return strings.Replace(audioSDP(user, host, port, extra...), "RTP/AVP", proto, 1)
}

// setPolicies sets the line's and peer1's media_encryption, under the
// directory's lock (the call path reads them under it).
func setPolicies(f *fixture, line, peer string) {
	f.dir.mu.Lock()
	defer f.dir.mu.Unlock()
	f.dir.phones["1001"].MediaEncryption = line
	f.peer1.MediaEncryption = peer
}

func TestSDESOverUDPRefused(t *testing.T) {
	for _, tc := range []struct {
		name, policy, sdp string
	}{
		// Keys over UDP are not taken: an RTP/SAVP offer then has nothing
		// the switch can answer, whatever the line's policy.
		{"required", routing.MediaEncryptionRequired, savpSDP("phone", "127.0.0.1", 4000, "RTP/SAVP", cryptoAV)},
		{"optional", routing.MediaEncryptionOptional, savpSDP("phone", "127.0.0.1", 4000, "RTP/SAVP", cryptoAV)},
		{"none", routing.MediaEncryptionNone, savpSDP("phone", "127.0.0.1", 4000, "RTP/SAVP", cryptoAV)},
		// A line that requires SRTP calling over UDP at all: its SRTP
		// could not be keyed.
		{"required plain", routing.MediaEncryptionRequired, audioSDP("phone", "127.0.0.1", 4000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			relay := newRelay(t)
			f, ctx := newFixture(t, WithMediaRelay(relay, media.ModeAuto))
			setPolicies(f, tc.policy, "")
			f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
			_, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", tc.sdp)
			if code := siptest.StatusOf(err); code != 488 {
				t.Fatalf("call: %v, want 488", err)
			}
			if n := f.carrier1.Invites.Load(); n != 0 {
				t.Fatalf("the carrier was called %d times", n)
			}
		})
	}
}

// Keys on an RTP/AVP offer over UDP (best-effort SRTP) are dropped: the
// call goes on plain, and the keys reach nobody.
func TestSDESOverUDPDroppedWhenOptional(t *testing.T) {
	relay := newRelay(t)
	f, ctx := newFixture(t, WithMediaRelay(relay, media.ModeAuto))
	setPolicies(f, routing.MediaEncryptionOptional, routing.MediaEncryptionOptional)
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", audioSDP("phone", "127.0.0.1", 4000, cryptoAV))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	toCarrier := f.carrier1.Last.Load().Body()
	if bytes.Contains(toCarrier, []byte(phoneKey)) || bytes.Contains(toCarrier, []byte("crypto")) || bytes.Contains(d.InviteResponse.Body(), []byte("crypto")) {
		t.Fatalf("keys over UDP were used:\nto the carrier %s\nto the phone %s", toCarrier, d.InviteResponse.Body())
	}
	if st := f.s.Stats(); st.SDESRefused != 1 || st.RelayedCalls != 1 {
		t.Fatalf("sdes refused %d, relayed %d: want 1 and 1", st.SDESRefused, st.RelayedCalls)
	}
	d.Bye(ctx)
}

// With SDES allowed over UDP (media.sdes_without_tls, unsafe) a line that
// requires SRTP and offers plain RTP is refused; one that offers SRTP
// gets the relay's key and talks to a plain carrier: its SRTP arrives as
// RTP, the carrier's RTP reaches it as SRTP under the relay's key.
func TestSDESRequiredLine(t *testing.T) {
	relay := newRelay(t)
	f, ctx := newFixture(t, WithMediaRelay(relay, media.ModeNever), WithSDESWithoutTLS(true))
	setPolicies(f, routing.MediaEncryptionRequired, "")
	carrierRTP := siptest.NewRTPParty(t, "127.0.0.2", 0x2222)
	f.carrier1.Handle(siptest.AnswerWith(audioSDP("carrier", "127.0.0.2", carrierRTP.Port())))

	if _, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", audioSDP("phone", "127.0.0.1", 4000)); siptest.StatusOf(err) != 488 {
		t.Fatalf("plain RTP from a line that requires SRTP: %v, want 488", err)
	}
	if f.carrier1.Invites.Load() != 0 {
		t.Fatal("the carrier was called")
	}

	phoneRTP := newSRTPPhone(t)
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", savpSDP("phone", "127.0.0.1", phoneRTP.port(), "RTP/SAVP", cryptoAV))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	toCarrier, toPhone := f.carrier1.Last.Load().Body(), d.InviteResponse.Body()
	if !bytes.Contains(toCarrier, []byte("RTP/AVP")) || bytes.Contains(toCarrier, []byte("crypto")) {
		t.Fatalf("the plain carrier was offered SRTP or a key:\n%s", toCarrier)
	}
	relayKey := answeredKey(t, toPhone)
	if !bytes.Contains(toPhone, []byte("RTP/SAVP")) || relayKey == phoneKey {
		t.Fatalf("the phone's answer is not SRTP under the relay's own key:\n%s", toPhone)
	}
	phoneRTP.keys(t, phoneKey, relayKey)
	relayA, relayB := mediaAddr(t, toPhone), mediaAddr(t, toCarrier)
	phoneRTP.send(t, relayA, 20)
	eventually(t, "the carrier hears the SRTP phone in the clear", func() bool { return carrierRTP.Received(0x1111) == 20 })
	carrierRTP.Send(relayB, 20)
	eventually(t, "the SRTP phone hears the carrier under the relay's key", func() bool { return phoneRTP.received() == 20 })
	if st := liveSession(t, relay).Stats().Legs[media.SideA].Streams[0]; !st.SRTP || st.Packets != 20 || st.DroppedAuth != 0 {
		t.Fatalf("the phone's leg: %+v", st)
	}
	d.Bye(ctx)
}

// A line without SRTP (none) offering keys over a transport that would
// allow them: RTP/SAVP is refused, and keys on RTP/AVP are not passed on.
func TestSDESLineWithoutSRTP(t *testing.T) {
	relay := newRelay(t)
	f, ctx := newFixture(t, WithMediaRelay(relay, media.ModeNever), WithSDESWithoutTLS(true))
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	if _, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", savpSDP("phone", "127.0.0.1", 4000, "RTP/SAVP", cryptoAV)); siptest.StatusOf(err) != 488 {
		t.Fatalf("RTP/SAVP from a line without SRTP: %v, want 488", err)
	}
	// Relayed although media.relay is never: only the relay can keep
	// the key from the carrier.
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", audioSDP("phone", "127.0.0.1", 4000, cryptoAV))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if toCarrier := f.carrier1.Last.Load().Body(); bytes.Contains(toCarrier, []byte(phoneKey)) {
		t.Fatalf("the phone's key reached the carrier:\n%s", toCarrier)
	}
	d.Bye(ctx)
}

// A peer that requires SRTP reached over UDP is never sent keys: the
// attempt fails as the peer's 488 would.
func TestSDESPeerRequiredOverUDP(t *testing.T) {
	relay := newRelay(t)
	f, ctx := newFixture(t, WithMediaRelay(relay, media.ModeAuto))
	setPolicies(f, "", routing.MediaEncryptionRequired)
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	if _, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", audioSDP("phone", "127.0.0.1", 4000)); siptest.StatusOf(err) != 488 {
		t.Fatalf("call: %v, want 488", err)
	}
	if f.carrier1.Invites.Load() != 0 {
		t.Fatal("keys were offered to a peer over UDP")
	}
}

var answerCryptoRe = regexp.MustCompile(`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)`)

// answeredKey is the relay's key in an answer to the phone's tag 1.
func answeredKey(t *testing.T, body []byte) string {
	t.Helper()
	m := answerCryptoRe.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no a=crypto:1 in the answer:\n%s", body)
	}
	return string(m[1])
}

// srtpPhone is a phone's SRTP media socket: pion/srtp contexts over an
// RTPParty's socket.
type srtpPhone struct {
	*siptest.RTPParty
	tx, rx *srtp.Context
}

func newSRTPPhone(t *testing.T) *srtpPhone {
	return &srtpPhone{RTPParty: siptest.NewRTPParty(t, "127.0.0.1", 0x1111)}
}

func (p *srtpPhone) port() int { return p.Port() }

func masterKey(t *testing.T, inline string) (key, salt []byte) {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(inline)
	if err != nil || len(b) != 30 {
		t.Fatalf("key %q: %v", inline, err)
	}
	return b[:16], b[16:]
}

func (p *srtpPhone) keys(t *testing.T, own, relay string) {
	t.Helper()
	var err error
	k, s := masterKey(t, own)
	if p.tx, err = srtp.CreateContext(k, s, srtp.ProtectionProfileAes128CmHmacSha1_80); err != nil {
		t.Fatal(err)
	}
	k, s = masterKey(t, relay)
	if p.rx, err = srtp.CreateContext(k, s, srtp.ProtectionProfileAes128CmHmacSha1_80); err != nil {
		t.Fatal(err)
	}
	p.SetTransform(func(b []byte) ([]byte, error) { return p.rx.DecryptRTP(nil, b, nil) })
}

func (p *srtpPhone) send(t *testing.T, to netip.AddrPort, n int) {
	t.Helper()
	payload := make([]byte, 160)
	for i := range n {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(100 + i), Timestamp: uint32(i * 160), SSRC: 0x1111}, Payload: payload}
		b, err := pkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		enc, err := p.tx.EncryptRTP(nil, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		p.SendRaw(to, enc)
	}
}

// received counts what the phone got from the carrier and decrypted.
func (p *srtpPhone) received() int { return p.Received(0x2222) }

// Over TLS keys are taken and offered without any allowance: a plain UDP
// phone calls a line that requires SRTP and registered over TLS, which is
// offered RTP/SAVP with the relay's keys (never the caller's: it has
// none) and answers with its own.
func TestSDESOverTLS(t *testing.T) {
	relay := newRelay(t)
	f := newTLSFixture(t, nil, WithMediaRelay(relay, media.ModeNever))
	ctx := t.Context()
	f.dir.mu.Lock()
	f.dir.phones["1002"].MediaEncryption = routing.MediaEncryptionRequired
	f.dir.mu.Unlock()
	callee := siptest.NewAgentTLS(t, "tlsphone", "127.0.0.1", f.phoneTLS(), nil)
	calleeKey := "NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj"
	callee.Handle(siptest.AnswerWith(savpSDP("callee", "127.0.0.1", 4002, "RTP/SAVP", "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"+calleeKey)))
	if res, _, err := callee.Register(ctx, f.tls, "1002", "secret1002", 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("register over TLS: %v %v", res, err)
	}
	caller := siptest.NewAgent(t, "udpphone", "127.0.0.1")
	d, err := caller.Call(ctx, f.udp, "1002", "1001", "secret1001", audioSDP("caller", "127.0.0.1", 4000))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	offer := callee.Last.Load().Body()
	if !bytes.Contains(offer, []byte("RTP/SAVP")) || bytes.Count(offer, []byte("a=crypto:")) != 3 {
		t.Fatalf("offer to the SRTP line over TLS:\n%s", offer)
	}
	if answer := d.InviteResponse.Body(); bytes.Contains(answer, []byte("crypto")) || bytes.Contains(answer, []byte(calleeKey)) || !bytes.Contains(answer, []byte("RTP/AVP")) {
		t.Fatalf("the plain caller's answer:\n%s", answer)
	}
	if !liveSession(t, relay).SRTP(media.SideB, 0) {
		t.Fatal("the callee's leg is not SRTP")
	}
	d.Bye(ctx)
}
