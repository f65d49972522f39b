package udpbatch

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

func listen(t testing.TB, addr string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Skipf("listen %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// readAll reads until want datagrams came (the 2 s deadline is a hang
// guard).
func readAll(t *testing.T, r *Reader, conn *net.UDPConn, want int) (got []string, srcs []netip.AddrPort) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for len(got) < want {
		n, err := r.Read()
		if err != nil {
			t.Fatalf("read after %d of %d: %v", len(got), want, err)
		}
		for i := range n {
			b, src := r.Msg(i)
			got = append(got, string(b))
			srcs = append(srcs, src)
		}
	}
	return got, srcs
}

func TestBatchRoundTrip(t *testing.T) {
	for _, local := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(local, func(t *testing.T) {
			rc, wc := listen(t, local), listen(t, local)
			r, err := NewReader(rc, 4, 1500)
			if err != nil {
				t.Fatal(err)
			}
			w, err := NewWriter(wc, 4)
			if err != nil {
				t.Fatal(err)
			}
			dst := NewDest(addrOf(rc))
			want := []string{"one", "two", "three", "four", "five", "six"}
			for _, s := range want {
				w.Add([]byte(s), &dst)
				if w.Full() {
					if failed, err := w.Flush(); failed != 0 || err != nil {
						t.Fatalf("flush: %d failed, %v", failed, err)
					}
				}
			}
			if w.Len() != 2 {
				t.Fatalf("queued %d, want 2", w.Len())
			}
			if failed, err := w.Flush(); failed != 0 || err != nil {
				t.Fatalf("flush: %d failed, %v", failed, err)
			}
			got, srcs := readAll(t, r, rc, len(want))
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got %q, want %q", got, want)
			}
			for _, s := range srcs {
				if s != addrOf(wc) {
					t.Fatalf("source %s, want %s", s, addrOf(wc))
				}
			}
		})
	}
}

func TestBatchTruncatedIsEmpty(t *testing.T) {
	rc, wc := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")
	r, _ := NewReader(rc, 2, 16)
	if _, err := wc.WriteToUDPAddrPort(make([]byte, 100), addrOf(rc)); err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, r, rc, 1)
	if got[0] != "" {
		t.Fatalf("an oversized datagram came back as %d bytes, want 0", len(got[0]))
	}
}

func TestBatchSkipsRefusedDatagram(t *testing.T) {
	rc, wc := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")
	r, _ := NewReader(rc, 4, 1500)
	w, _ := NewWriter(wc, 4)
	good := NewDest(addrOf(rc))
	bad := NewDest(netip.MustParseAddrPort("[2001:db8::1]:9")) // IPv6 on an IPv4 socket
	w.Add([]byte("a"), &good)
	w.Add([]byte("x"), &bad)
	w.Add([]byte("b"), &good)
	failed, err := w.Flush()
	if failed != 1 || err == nil {
		t.Fatalf("flush: %d failed (%v), want 1 failed", failed, err)
	}
	got, _ := readAll(t, r, rc, 2)
	if fmt.Sprint(got) != "[a b]" {
		t.Fatalf("got %q, want the datagrams around the refused one", got)
	}
}

// On a connected socket a nil destination is the one it is connected to
// (the kernel keeps its route: no lookup per datagram).
func TestBatchConnected(t *testing.T) {
	rc := listen(t, "127.0.0.1:0")
	r, _ := NewReader(rc, 4, 1500)
	wc, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addrOf(rc)))
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	w, _ := NewWriter(wc, 4)
	w.Add([]byte("one"), nil)
	w.Add([]byte("two"), nil)
	if failed, err := w.Flush(); failed != 0 || err != nil {
		t.Fatalf("flush: %d failed, %v", failed, err)
	}
	got, srcs := readAll(t, r, rc, 2)
	if fmt.Sprint(got) != "[one two]" || srcs[0] != wc.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("got %q from %v", got, srcs)
	}
}

func TestBatchClosed(t *testing.T) {
	rc := listen(t, "127.0.0.1:0")
	r, _ := NewReader(rc, 2, 1500)
	done := make(chan error, 1)
	go func() { _, err := r.Read(); done <- err }()
	time.Sleep(10 * time.Millisecond)
	rc.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read on a closed socket returned no error")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read did not return after Close")
	}
}

// The read benchmarks compare this package with golang.org/x/net's
// ipv4.PacketConn.ReadBatch on the same traffic: 8 datagrams of 172 bytes
// (G.711 RTP) sent with one sendmmsg, read with one recvmmsg. x/net
// allocates a net.UDPAddr and its IP per datagram.

const benchBatch = 8

func benchSetup(b *testing.B) (rc *net.UDPConn, send func()) {
	rc, wc := listen(b, "127.0.0.1:0"), listen(b, "127.0.0.1:0")
	w, _ := NewWriter(wc, benchBatch)
	dst := NewDest(addrOf(rc))
	pkt := make([]byte, 172)
	return rc, func() {
		for range benchBatch {
			w.Add(pkt, &dst)
		}
		if _, err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	rc, send := benchSetup(b)
	r, _ := NewReader(rc, benchBatch, 1500)
	b.ReportAllocs()
	for b.Loop() {
		send()
		for got := 0; got < benchBatch; {
			n, err := r.Read()
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/datagram")
}

func BenchmarkReadXNet(b *testing.B) {
	rc, send := benchSetup(b)
	pc := ipv4.NewPacketConn(rc)
	ms := make([]ipv4.Message, benchBatch)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, 1500)}
	}
	b.ReportAllocs()
	for b.Loop() {
		send()
		for got := 0; got < benchBatch; {
			n, err := pc.ReadBatch(ms, 0)
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/datagram")
}
