package media

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// SRTP termination through the seam (Session.SetSRTP), with pion/srtp
// contexts playing the phones over real UDP.

// srtpParty is a party that speaks SRTP: it encrypts with its own key
// and decrypts with the relay's.
type srtpParty struct {
	*party
	tx, rx *srtp.Context
	keys   SRTPKeys // as the relay holds them for this party
}

func randBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func newKeys(t testing.TB, profile srtp.ProtectionProfile) SRTPKeys {
	kl, _ := profile.KeyLen()
	sl, _ := profile.SaltLen()
	return SRTPKeys{Profile: profile, RemoteKey: randBytes(t, kl), RemoteSalt: randBytes(t, sl), LocalKey: randBytes(t, kl), LocalSalt: randBytes(t, sl)}
}

func newSRTPParty(t *testing.T, p *party, profile srtp.ProtectionProfile) *srtpParty {
	t.Helper()
	k := newKeys(t, profile)
	tx, err := srtp.CreateContext(k.RemoteKey, k.RemoteSalt, profile)
	if err != nil {
		t.Fatal(err)
	}
	rx, err := srtp.CreateContext(k.LocalKey, k.LocalSalt, profile)
	if err != nil {
		t.Fatal(err)
	}
	return &srtpParty{party: p, tx: tx, rx: rx, keys: k}
}

func (p *srtpParty) sendSRTP(to netip.AddrPort, payload string) {
	p.t.Helper()
	b, err := p.tx.EncryptRTP(nil, p.packet(0, payload), nil)
	if err != nil {
		p.t.Fatal(err)
	}
	p.sendFrom(p.conn, to, b)
}

// expectSRTP waits for an SRTP packet carrying payload from the relay.
func (p *srtpParty) expectSRTP(from netip.AddrPort, payload string) {
	p.t.Helper()
	for {
		b, src, ok := recvOn(p.t, p.conn, 2*time.Second)
		if !ok {
			p.t.Fatalf("%s: nothing received, want SRTP %q", p.addr(), payload)
		}
		// Authentication below proves the relay's key; the payload
		// must not be readable either (a chance match of a few random
		// bytes is why short payloads are not checked).
		if len(payload) >= 4 && len(b) >= 12+len(payload) && string(b[12:12+len(payload)]) == payload {
			p.t.Fatalf("%q arrived in the clear", payload)
		}
		plain, err := p.rx.DecryptRTP(nil, b, nil)
		if err != nil {
			p.t.Fatalf("from the relay: not SRTP under the relay's key: %v", err)
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(plain); err != nil {
			p.t.Fatal(err)
		}
		if string(pkt.Payload) != payload {
			continue
		}
		if src != from {
			p.t.Fatalf("got %q from %s, want it from %s", payload, src, from)
		}
		return
	}
}

// srtpTestRR is an RTCP RR naming ssrc with a loss figure that the
// relay's statistics should show.
func srtpTestRR(t *testing.T, ssrc uint32, lost uint8) []byte {
	b, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: ssrc, Reports: []rtcp.ReceptionReport{{SSRC: 1, FractionLost: lost, TotalLost: 3}}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSRTPToPlainBothWays(t *testing.T) {
	for _, profile := range []srtp.ProtectionProfile{srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAes128CmHmacSha1_32, srtp.ProtectionProfileAeadAes128Gcm} {
		t.Run(profile.String(), func(t *testing.T) {
			bothModels(t, func(t *testing.T, model Option) {
				e := newTestEngine(t, model)
				a, b := newSRTPParty(t, newParty(t), profile), newParty(t)
				rtcpConnA, rtcpConnB := newParty(t).conn, newParty(t).conn
				s, err := e.NewSession(t.Context(), "srtp")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				toB, err := s.Offer(SideA, sdpBody(a.addr(), fmt.Sprintf("rtcp:%d", addrOf(rtcpConnA).Port())))
				if err != nil {
					t.Fatal(err)
				}
				toA, err := s.Answer(SideB, sdpBody(b.addr(), fmt.Sprintf("rtcp:%d", addrOf(rtcpConnB).Port())))
				if err != nil {
					t.Fatal(err)
				}
				relayA, relayB := relayAddr(t, toA, 0), relayAddr(t, toB, 0)
				if err := s.SetSRTP(SideA, 0, &a.keys); err != nil {
					t.Fatal(err)
				}
				for i := range 3 {
					a.sendSRTP(relayA, fmt.Sprintf("a%d", i))
					b.expect(relayB, fmt.Sprintf("a%d", i)) // decrypted for the plain carrier
					b.send(relayB, 0, fmt.Sprintf("b%d", i))
					a.expectSRTP(relayA, fmt.Sprintf("b%d", i)) // encrypted for the phone
				}
				// SRTCP from the phone reaches the carrier as RTCP, and the
				// relay reads its report; the carrier's RTCP reaches the phone
				// as SRTCP.
				rtcpA := netip.AddrPortFrom(relayA.Addr(), relayA.Port()+1)
				rtcpB := netip.AddrPortFrom(relayB.Addr(), relayB.Port()+1)
				enc, err := a.tx.EncryptRTCP(nil, srtpTestRR(t, a.ssrc, 64), nil)
				if err != nil {
					t.Fatal(err)
				}
				a.sendFrom(rtcpConnA, rtcpA, enc)
				got, _, ok := recvOn(t, rtcpConnB, 2*time.Second)
				if !ok {
					t.Fatal("the carrier got no RTCP")
				}
				if _, err := rtcp.Unmarshal(got); err != nil {
					t.Fatalf("the carrier got no plain RTCP: %v", err)
				}
				b.sendFrom(rtcpConnB, rtcpB, srtpTestRR(t, b.ssrc, 0))
				got, _, ok = recvOn(t, rtcpConnA, 2*time.Second)
				if !ok {
					t.Fatal("the phone got no RTCP")
				}
				if _, err := a.rx.DecryptRTCP(nil, got, nil); err != nil {
					t.Fatalf("the phone got no SRTCP under the relay's key: %v", err)
				}
				st := s.Stats()
				sa, sb := st.Legs[SideA].Streams[0], st.Legs[SideB].Streams[0]
				if !sa.SRTP || sb.SRTP || sa.Packets != 3 || sb.Packets != 3 || sa.Lost != 0 || sa.DroppedAuth != 0 || sa.RTCPPackets != 1 {
					t.Fatalf("stats a: %+v\nb: %+v", sa, sb)
				}
				if sa.Reported.Reports != 1 || sa.Reported.FractionLost != 0.25 || sa.Codec != "ulaw" {
					t.Fatalf("the phone's decrypted report was not read: %+v", sa.Reported)
				}
			})
		})
	}
}

func TestSRTPToSRTPReencrypts(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a := newSRTPParty(t, newParty(t), srtp.ProtectionProfileAes128CmHmacSha1_80)
		b := newSRTPParty(t, newParty(t), srtp.ProtectionProfileAeadAes128Gcm)
		s, relayA, relayB := setup(t, e, a.party, b.party, false)
		if err := s.SetSRTP(SideA, 0, &a.keys); err != nil {
			t.Fatal(err)
		}
		if err := s.SetSRTP(SideB, 0, &b.keys); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			a.sendSRTP(relayA, fmt.Sprintf("a%d", i))
			b.expectSRTP(relayB, fmt.Sprintf("a%d", i))
			b.sendSRTP(relayB, fmt.Sprintf("b%d", i))
			a.expectSRTP(relayA, fmt.Sprintf("b%d", i))
		}
		// The same keys again keep the contexts: no key stream is reused
		// and the replay window stays (a replayed packet is refused).
		if err := s.SetSRTP(SideA, 0, &a.keys); err != nil {
			t.Fatal(err)
		}
		a.sendSRTP(relayA, "after")
		b.expectSRTP(relayB, "after")
		if st := s.Stats().Legs[SideA].Streams[0]; st.Packets != 4 || st.DroppedAuth != 0 {
			t.Fatalf("stats a: %+v", st)
		}
	})
}

// An attacker who can send from the party's own address (its NAT, its
// network) but has no key gets nothing through and moves no latch: not
// before the party's first packet (which would latch at once on plain
// RTP), not after with a probation run, not with a replayed packet.
func TestSRTPForgedPacketsDropped(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newSRTPParty(t, newParty(t), srtp.ProtectionProfileAes128CmHmacSha1_80), newParty(t)
		s, relayA, relayB := setup(t, e, a.party, b, true) // a behind NAT: any port of 127.0.0.1 may latch
		if err := s.SetSRTP(SideA, 0, &a.keys); err != nil {
			t.Fatal(err)
		}
		attacker := newSRTPParty(t, newParty(t), srtp.ProtectionProfileAes128CmHmacSha1_80) // its own keys
		attacker.ssrc = a.ssrc
		attacker.sendSRTP(relayA, "forged-first")
		plain := attacker.packet(0, "plain-first") // plain RTP at an SRTP leg
		attacker.sendFrom(attacker.conn, relayA, plain)
		b.expectNothing(100 * time.Millisecond)
		if st := s.Stats().Legs[SideA].Streams[0]; st.Latched || st.DroppedAuth != 2 {
			t.Fatalf("after forged packets: latched %v dropped_auth %d, want unlatched and 2", st.Latched, st.DroppedAuth)
		}
		a.sendSRTP(relayA, "real")
		b.expect(relayB, "real")
		// A probation run of forged packets, and a replay of a genuine one.
		for i := range Probation + 1 {
			attacker.sendSRTP(relayA, fmt.Sprintf("forged%d", i))
		}
		genuine := a.packet(0, "genuine")
		enc, err := a.tx.EncryptRTP(nil, genuine, nil)
		if err != nil {
			t.Fatal(err)
		}
		a.sendFrom(a.conn, relayA, enc)
		b.expect(relayB, "genuine")
		attacker.sendFrom(attacker.conn, relayA, enc)
		a.sendFrom(a.conn, relayA, enc)
		a.sendSRTP(relayA, "last")
		b.expect(relayB, "last")
		b.send(relayB, 0, "reply")
		a.expectSRTP(relayA, "reply")
		attacker.expectNothing(50 * time.Millisecond)
		st := s.Stats().Legs[SideA].Streams[0]
		if st.Remote != a.addr() || st.Relatches != 0 || st.Packets != 3 || st.DroppedAuth != 2+Probation+1+2 {
			t.Fatalf("after the attack: %+v", st)
		}
		if got := e.Stats().DroppedAuth; got != st.DroppedAuth {
			t.Fatalf("engine dropped_auth %d, want %d", got, st.DroppedAuth)
		}
	})
}

// A source that may never latch the leg is dropped before its packet is
// authenticated: a copy of the party's packet sent from elsewhere first
// does not use up the party's replay window.
func TestSRTPStrangerDoesNotBurnReplayWindow(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newSRTPParty(t, newParty(t), srtp.ProtectionProfileAes128CmHmacSha1_80), newParty(t)
		s, relayA, relayB := setup(t, e, a.party, b, true)
		if err := s.SetSRTP(SideA, 0, &a.keys); err != nil {
			t.Fatal(err)
		}
		stranger := newPartyOn(t, netip.MustParseAddr("127.0.0.2"))
		enc, err := a.tx.EncryptRTP(nil, a.packet(0, "copied"), nil)
		if err != nil {
			t.Fatal(err)
		}
		stranger.sendFrom(stranger.conn, relayA, enc)
		a.sendFrom(a.conn, relayA, enc)
		b.expect(relayB, "copied")
		if st := s.Stats().Legs[SideA].Streams[0]; st.DroppedSource != 1 || st.DroppedAuth != 0 || st.Remote != a.addr() {
			t.Fatalf("stats: %+v", st)
		}
	})
}

func TestSetSRTPErrors(t *testing.T) {
	e := newTestEngine(t)
	a, b := newParty(t), newParty(t)
	s, _, _ := setup(t, e, a, b, false)
	k := newKeys(t, srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err := s.SetSRTP(SideA, 3, &k); err == nil {
		t.Fatal("keys for an m= line that is not relayed accepted")
	}
	bad := k
	bad.RemoteKey = bad.RemoteKey[:5]
	if err := s.SetSRTP(SideA, 0, &bad); err == nil {
		t.Fatal("a 5-byte master key accepted")
	}
	for _, f := range []string{"%v", "%+v", "%s", "%#v"} {
		if got := fmt.Sprintf(f, k); !strings.Contains(got, "[redacted]") || strings.Contains(got, fmt.Sprint(k.RemoteKey)) {
			t.Fatalf("keys formatted with %s: %s", f, got)
		}
	}
	if err := s.SetSRTP(SideA, 0, nil); err != nil || s.SRTP(SideA, 0) {
		t.Fatalf("nil keys: %v, srtp %v", err, s.SRTP(SideA, 0))
	}
}

// Keys installed through the seam (a DTLS handshake's) are not SDES's:
// a re-offer without a=crypto leaves them.
func TestSetSRTPSurvivesOfferWithoutSDES(t *testing.T) {
	e := newTestEngine(t)
	a, b := newParty(t), newParty(t)
	s, _, _ := setup(t, e, a, b, false)
	k := newKeys(t, srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err := s.SetSRTP(SideA, 0, &k); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Offer(SideA, sdpBody(a.addr(), "sendonly")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Answer(SideB, sdpBody(b.addr(), "recvonly")); err != nil {
		t.Fatal(err)
	}
	if !s.SRTP(SideA, 0) {
		t.Fatal("a re-offer removed keys SDES did not install")
	}
}

// FuzzSRTPRelayPacket sends each input as a datagram to the relay port of
// an SRTP party, from the party's own address, then a genuine SRTP
// marker. Nothing but the marker may reach the plain party: no input
// carries a valid tag under the party's key, so none crosses the relay.
func FuzzSRTPRelayPacket(f *testing.F) {
	keys := newKeys(f, srtp.ProtectionProfileAes128CmHmacSha1_80)
	tx, err := srtp.CreateContext(keys.RemoteKey, keys.RemoteSalt, keys.Profile)
	if err != nil {
		f.Fatal(err)
	}
	seed := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, SSRC: 0x1234}, Payload: []byte("seed")}
	sb, _ := seed.Marshal()
	for _, s := range [][]byte{sb, append(sb, make([]byte, 10)...), {0x80, 201, 0, 1, 0, 0, 0, 1}, {0x81, 200, 0, 6, 0, 0, 0x12, 0x34, 1, 2, 3, 4, 5, 6, 7, 8, 0x80, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}} {
		f.Add(s)
	}
	e, err := New(WithPortRange(testPorts(), testPorts()+199), withCheckInterval(time.Second))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	a, b := newFuzzParty(f), newFuzzParty(f)
	s, err := e.NewSession(f.Context(), "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	toB, err := s.Offer(SideA, sdpBody(a.addr(), "rtcp-mux"))
	if err != nil {
		f.Fatal(err)
	}
	toA, err := s.Answer(SideB, sdpBody(b.addr(), "rtcp-mux"))
	if err != nil {
		f.Fatal(err)
	}
	if err := s.SetSRTP(SideA, 0, &keys); err != nil {
		f.Fatal(err)
	}
	_, la, _ := parseSDP(toA)
	_, lb, _ := parseSDP(toB)
	relayA, relayB := la[0].rtpAddr(), lb[0].rtpAddr()
	seq := uint16(0)
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := a.conn.WriteToUDPAddrPort(data, relayA); err != nil {
			return // too large for a datagram
		}
		seq++
		m := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, SSRC: 0x1234}, Payload: []byte("marker" + strconv.Itoa(int(seq)))}
		mb, _ := m.Marshal()
		enc, err := tx.EncryptRTP(nil, mb, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.conn.WriteToUDPAddrPort(enc, relayA); err != nil {
			t.Fatal(err)
		}
		got, src, ok := recvOn(t, b.conn, 2*time.Second)
		if !ok {
			t.Fatal("the relay stopped relaying the party's SRTP")
		}
		if src != relayB || !bytes.Equal(got, mb) {
			t.Fatalf("relayed an unauthenticated datagram: % x", got)
		}
	})
}
