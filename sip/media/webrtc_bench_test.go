package media

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/stun/v3"

	"github.com/sipswitch/sipswitch/internal/udpbatch"
)

// BenchmarkWebRTCSetup is what a browser's call costs to set up in the
// relay, per call: a session, the browser's offer and the carrier's
// answer rewritten, one connectivity check answered, a DTLS-SRTP
// handshake (ECDSA P-256 on both sides; the browser's side, pion/dtls as
// a client in the same process, is included in ns/op), the keys
// exported and installed, and the session closed.
func BenchmarkWebRTCSetup(b *testing.B) {
	e := newTestEngine(b, WithPollWorkers(2))
	br, carrier := newBrowser(b), newParty(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s, _, ice, _ := webrtcCall(b, e, br, carrier)
		if res := br.check(b, ice, ice.pwd, true, 2*time.Second); res == nil {
			b.Fatal("check not answered")
		}
		if err := br.handshake(b, ice); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkForwardWebRTC is BenchmarkForward with the sender a browser
// keyed by a real DTLS-SRTP handshake (the profile negotiated is
// SRTP_AEAD_AES_128_GCM, which the relay prefers and browsers offer):
// per packet the relay sorts it (RFC 7983), checks it comes from the
// nominated source, authenticates and decrypts it, and relays it in the
// clear to the SIP party. ns/packet less BenchmarkForward's is what a
// browser's media costs beyond plain RTP.
func BenchmarkForwardWebRTC(b *testing.B) {
	const window = 8
	model := WithPollWorkers(0)
	if pollSupported {
		model = WithPollWorkers(2)
	}
	e := newTestEngine(b, model)
	br, carrier := newBrowser(b), newParty(b)
	s, _, ice, _ := webrtcCall(b, e, br, carrier)
	if res := br.check(b, ice, ice.pwd, true, 2*time.Second); res == nil {
		b.Fatal("check not answered")
	}
	if err := br.handshake(b, ice); err != nil {
		b.Fatal(err)
	}
	// The relay's side of the handshake ends after the browser's (its
	// last flight): SRTP before then is dropped, not buffered.
	eventually(b, "keyed", func() bool { return e.Stats().DTLSHandshakes == 1 })
	w, _ := udpbatch.NewWriter(br.conn, window)
	r, _ := udpbatch.NewReader(carrier.conn, window, 1500)
	dst := udpbatch.NewDest(ice.addr)
	hdr := rtp.Header{Version: 2, PayloadType: 0, SSRC: 7}
	pkts := make([][]byte, window*(b.N+1))
	for i := range pkts {
		hdr.SequenceNumber, hdr.Timestamp = uint16(i+1), uint32(i+1)*160
		p := make([]byte, 172, 172+srtpOverhead)
		if _, err := hdr.MarshalTo(p); err != nil {
			b.Fatal(err)
		}
		var err error
		if pkts[i], err = br.tx.EncryptRTP(p, p, nil); err != nil {
			b.Fatal(err)
		}
	}
	next := 0
	round := func() {
		for range window {
			w.Add(pkts[next], &dst)
			next++
		}
		if _, err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		carrier.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		for got := 0; got < window; {
			n, err := r.Read()
			if err != nil {
				b.Fatalf("relay lost packets: %v", err)
			}
			got += n
		}
	}
	round()
	carrier.conn.SetReadDeadline(time.Time{})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		round()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*window), "ns/packet")
	st := s.Stats().Legs[SideA].Streams[0]
	if st.Lost != 0 || st.DroppedAuth != 0 {
		b.Fatalf("lost %d, %d unauthenticated", st.Lost, st.DroppedAuth)
	}
}

// BenchmarkSTUNCheck is the relay's cost of one connectivity check: read
// and verify it (USERNAME, MESSAGE-INTEGRITY, FINGERPRINT), build and
// send the answer. A browser sends one every few seconds per call
// (consent freshness, RFC 7675); a flood of forged checks is refused
// after the integrity check ("refused").
func BenchmarkSTUNCheck(b *testing.B) {
	e := newTestEngine(b, WithPollWorkers(2))
	br, carrier := newBrowser(b), newParty(b)
	s, _, ice, _ := webrtcCall(b, e, br, carrier)
	end := s.stream(0).ends[SideA]
	w := end.wrtc.Load()
	for _, bc := range []struct {
		name, pwd string
		want      stunVerdict
	}{{"answered", ice.pwd, stunAnswered}, {"refused", "forged-password-0123456789", stunRefused}} {
		b.Run(bc.name, func(b *testing.B) {
			m := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.NewUsername(ice.ufrag+":"+br.ufrag))
			m.Add(stun.AttrICEControlling, []byte{1, 2, 3, 4, 5, 6, 7, 8})
			if err := stun.NewShortTermIntegrity(bc.pwd).AddTo(m); err != nil {
				b.Fatal(err)
			}
			if err := stun.Fingerprint.AddTo(m); err != nil {
				b.Fatal(err)
			}
			src := br.addr()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				end.mu.Lock()
				v := w.handleSTUN(m.Raw, src)
				end.mu.Unlock()
				if v != bc.want {
					b.Fatalf("verdict %d", v)
				}
			}
		})
	}
}
