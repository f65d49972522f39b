package capture

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestSenderSendsEveryMessageAsHEP(t *testing.T) {
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := New(ln.LocalAddr().String(), WithCaptureID(42), WithAuthKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	invite := "INVITE sip:100@192.0.2.9 SIP/2.0\r\nCall-ID: call-1@phone\r\n\r\n"
	s.SIPTraceRead("UDP", "192.0.2.9:5060", "198.51.100.7:5062", []byte(invite))
	s.SIPTraceWrite("TCP", "[2001:db8::9]:5060", "[2001:db8::7]:40000", []byte("SIP/2.0 100 Trying\r\ni: call-1@phone\r\n\r\n"))
	want := []struct {
		src, dst string
		proto    uint8
		prefix   string
	}{
		{"198.51.100.7:5062", "192.0.2.9:5060", ProtocolUDP, "INVITE"},
		{"[2001:db8::9]:5060", "[2001:db8::7]:40000", ProtocolTCP, "SIP/2.0 100"},
	}
	buf := make([]byte, 65536)
	for _, w := range want {
		ln.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := ln.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if p.Src != netip.MustParseAddrPort(w.src) || p.Dst != netip.MustParseAddrPort(w.dst) || p.Protocol != w.proto ||
			p.CaptureID != 42 || p.AuthKey != "k" || p.CorrelationID != "call-1@phone" || !strings.HasPrefix(string(p.Payload), w.prefix) ||
			time.Since(p.Time) > time.Minute {
			t.Errorf("packet %+v, want %+v", p, w)
		}
	}
	s.Close() // the counts are final once the sender has stopped
	if st := s.Stats(); st.Sent != 2 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A queue that is full drops the copy and returns at once: capture never
// holds up the SIP transport.
func TestCaptureNeverBlocks(t *testing.T) {
	s := &Sender{queue: make(chan captured, 1), now: time.Now}
	s.bufs.New = func() any { b := make([]byte, 0, 64); return &b }
	done := make(chan struct{})
	go func() {
		for range 100 {
			s.Capture("UDP", "192.0.2.1:1", "192.0.2.2:2", []byte("OPTIONS sip:x SIP/2.0\r\n\r\n"))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Capture blocked with nobody sending")
	}
	if st := s.Stats(); st.Dropped != 99 {
		t.Errorf("dropped %d of 100 with a queue of 1, want 99", st.Dropped)
	}
}

// The call path's cost of capture: a copy into a pooled buffer and a
// channel send.
func BenchmarkCapture(b *testing.B) {
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := ln.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	s, err := New(ln.LocalAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	msg := []byte(strings.Repeat("INVITE sip:100@192.0.2.9 SIP/2.0\r\nCall-ID: call-1@phone\r\n", 12) + "\r\n")
	b.ReportAllocs()
	for b.Loop() {
		s.SIPTraceRead("UDP", "192.0.2.9:5060", "198.51.100.7:5062", msg)
	}
}

// The SRTP master keys in an SDES offer (a=crypto inline:) do not leave in
// the copy: masked with '*', the message otherwise as it was.
func TestCaptureMasksSDESKeys(t *testing.T) {
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := New(ln.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const key = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
	msg := "INVITE sip:100@192.0.2.9 SIP/2.0\r\nCall-ID: k@phone\r\nContent-Length: 97\r\n\r\nv=0\r\nm=audio 4000 RTP/SAVP 0\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^20\r\n"
	orig := []byte(msg)
	s.SIPTraceRead("TLS", "192.0.2.9:5061", "198.51.100.7:40000", orig)
	buf := make([]byte, 65536)
	ln.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := ln.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	if err := p.Unmarshal(buf[:n]); err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(msg, key, strings.Repeat("*", len(key)), 1)
	if string(p.Payload) != want {
		t.Fatalf("captured:\n%s\nwant:\n%s", p.Payload, want)
	}
	if string(orig) != msg {
		t.Fatal("the transport's own message was changed")
	}
}
