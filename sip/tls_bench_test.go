package sip

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/sip/siptest"
)

// BenchmarkRegisterCall is one phone's REGISTER (401 and the
// authenticated retry), then a call to a UDP carrier (407 round, INVITE,
// 180, 200, ACK, BYE), per op, with the phone on UDP or on TLS over one
// connection it keeps: what TLS adds to the SIP core's work once the
// handshake is paid (record encryption, the stream parser). Flood limit
// off: one source sends everything.
func BenchmarkRegisterCall(b *testing.B) {
	for _, network := range []string{"udp", "tls"} {
		b.Run(network, func(b *testing.B) {
			f := newTLSFixture(b, nil, WithFloodLimit(0, 0))
			carrier := siptest.NewAgent(b, "carrier1", "127.0.0.2")
			carrier.Handle(siptest.AnswerWith(carrierSDP))
			peer := peerFor(carrier, 11)
			f.dir.addPeer(peer)
			f.dir.addRoute("44", 7, peer)
			phone, sw := siptest.NewAgent(b, "phone", "127.0.0.1"), f.udp
			if network == "tls" {
				phone, sw = siptest.NewAgentTLS(b, "phone", "127.0.0.1", f.phoneTLS(), nil), f.tls
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			b.ReportAllocs()
			for b.Loop() {
				if res, _, err := phone.Register(ctx, sw, "1001", "secret1001", 300); err != nil || res.StatusCode != 200 {
					b.Fatalf("register: %v %v", res, err)
				}
				d, err := phone.Call(ctx, sw, "441234", "1001", "secret1001", callerSDP)
				if err != nil {
					b.Fatalf("call: %v", err)
				}
				if err := d.Bye(ctx); err != nil {
					b.Fatalf("bye: %v", err)
				}
			}
			b.StopTimer()
			eventually(b, "calls ended", func() bool { return f.s.Stats().ActiveCalls == 0 })
		})
	}
}

// BenchmarkTLSHandshake is one new TLS connection to the SIP listener
// (TCP connect, TLS 1.3 handshake with an ECDSA P-256 certificate,
// X25519MLKEM768 key exchange, Go's default), client and server in this
// process: the price a phone pays again on every reconnection.
//
// resumed is the same connection resuming a session (RFC 8446 2.2: a PSK
// from a ticket of the switch, with (EC)DHE: the key exchange is redone,
// the certificate, its ECDSA signature and the client's verification of
// the chain are not), as a phone that keeps a session cache pays on a
// reconnection: the difference is what resumption saves. The ticket
// comes from one connection that read an answer (a TLS 1.3 ticket
// arrives after the handshake); Go's client keeps it in its cache and
// offers it again on every dial.
//
// full-x25519 is a full handshake of a phone that offers X25519 alone
// (no post-quantum hybrid): what X25519MLKEM768 costs beside it.
func BenchmarkTLSHandshake(b *testing.B) {
	for _, v := range []struct {
		name           string
		resume, x25519 bool
	}{{"full", false, false}, {"resumed", true, false}, {"full-x25519", false, true}} {
		resume := v.resume
		b.Run(v.name, func(b *testing.B) {
			f := newTLSFixture(b, nil, WithFloodLimit(0, 0))
			cfg := f.phoneTLS()
			if v.x25519 {
				cfg.CurvePreferences = []tls.CurveID{tls.X25519}
			}
			if resume {
				cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
				primeSession(b, f.tls.String(), cfg)
			}
			b.ReportAllocs()
			for b.Loop() {
				conn, err := tls.Dial("tcp", f.tls.String(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				if conn.ConnectionState().DidResume != resume {
					b.Fatalf("resumed %v, want %v", conn.ConnectionState().DidResume, resume)
				}
				conn.Close()
			}
		})
	}
}

// primeSession makes one connection that reads the answer to an OPTIONS,
// so that cfg's session cache holds a ticket of the switch.
func primeSession(b *testing.B, addr string, cfg *tls.Config) {
	b.Helper()
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	port := c.LocalAddr().(*net.TCPAddr).Port
	fmt.Fprintf(c, "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:%d;branch=z9hG4bKprime\r\nFrom: <sip:bench@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: prime-%d\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", port, port)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "SIP/2.0 200 OK\r\n" {
		b.Fatalf("OPTIONS answered %q %v", line, err)
	}
}

// BenchmarkIdleConnections holds 1,000 connections to the SIP core, each
// having had one OPTIONS answered (so sipgo has taken it on and is
// reading it), and reports the Go heap and goroutines each costs: the
// switch's side and the test's bare client side together, in this
// process. tcp is the same without TLS, for the difference. Run with
// -benchtime=1x.
func BenchmarkIdleConnections(b *testing.B) {
	const n = 1000
	for _, network := range []string{"tcp", "tls"} {
		b.Run(network, func(b *testing.B) {
			f := newTLSFixture(b, nil, WithFloodLimit(0, 0), WithListen("tcp://127.0.0.1:0"))
			var addr net.Addr
			for _, a := range f.s.Addrs() {
				if a.Network() == network {
					addr = a
				}
			}
			for b.Loop() {
				heap0, g0 := heapNow()
				conns := make([]net.Conn, 0, n)
				for i := range n {
					var c net.Conn
					var err error
					if network == "tls" {
						c, err = tls.Dial("tcp", addr.String(), f.phoneTLS())
					} else {
						c, err = net.Dial("tcp", addr.String())
					}
					if err != nil {
						b.Fatalf("connection %d: %v", i, err)
					}
					conns = append(conns, c)
					local := c.LocalAddr().(*net.TCPAddr)
					msg := fmt.Sprintf("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK%d\r\nFrom: <sip:bench@127.0.0.1>;tag=%d\r\nTo: <sip:127.0.0.1>\r\nCall-ID: idle-%d\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
						network, local.Port, i, i, i)
					if _, err := c.Write([]byte(msg)); err != nil {
						b.Fatal(err)
					}
					c.SetReadDeadline(time.Now().Add(5 * time.Second))
					if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "SIP/2.0 200 OK\r\n" {
						b.Fatalf("connection %d: OPTIONS answered %q %v", i, line, err)
					}
				}
				heap1, g1 := heapNow()
				b.ReportMetric(float64(heap1-heap0)/n, "heap-B/conn")
				b.ReportMetric(float64(g1-g0)/n, "goroutines/conn")
				for _, c := range conns {
					c.Close()
				}
			}
		})
	}
}

func heapNow() (uint64, int) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, runtime.NumGoroutine()
}
