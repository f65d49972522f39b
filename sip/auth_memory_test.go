package sip

import (
	"fmt"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// unauthFlood sends perSource requests of method (REGISTER or INVITE,
// never ACKed) without credentials, each
// a new transaction (new Call-ID and branch), from each of sources
// loopback addresses (127.0.1.x: every 127/8 address is loopback on
// Linux), keeping at most window unanswered per source so the socket
// buffers do not drop them. It returns how many were answered.
func unauthFlood(t testing.TB, method string, sw net.Addr, sources, perSource, window int) int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered := 0
	for s := range sources {
		conn, err := net.ListenPacket("udp", fmt.Sprintf("127.0.%d.%d:0", 1+s/250, 1+s%250))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			local := conn.LocalAddr().String()
			buf := make([]byte, 4096)
			got, out := 0, 0
			for i := range perSource {
				msg := fmt.Sprintf("%s sip:%d@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-mem-%d-%d\r\n"+
					"From: <sip:%d@%s>;tag=m%d\r\nTo: <sip:%d@%s>\r\nCall-ID: mem-%d-%d@%s\r\nCSeq: 1 %s\r\n"+
					"Contact: <sip:%d@%s>\r\nMax-Forwards: 70\r\nUser-Agent: scanner\r\nContent-Length: 0\r\n\r\n",
					method, 1000+i%100, sw, local, s, i, 1000+i%100, sw, i, 1000+i%100, sw, s, i, local, method, 1000+i%100, local)
				if _, err := conn.WriteTo([]byte(msg), sw); err != nil {
					return
				}
				out++
				for out >= window || (i == perSource-1 && out > 0) {
					conn.SetReadDeadline(time.Now().Add(2 * time.Second))
					if _, _, err := conn.ReadFrom(buf); err != nil {
						out = 0 // dropped (flood limit) or lost: move on
						break
					}
					got++
					out--
				}
			}
			mu.Lock()
			answered += got
			mu.Unlock()
		}()
	}
	wg.Wait()
	return answered
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// Unauthenticated REGISTERs from many addresses must not make the switch
// hold memory for each: a challenge is answered statelessly (its nonce is
// self-validating, its transaction is not kept for Timer J), so what a
// stranger costs is bounded by the per-source tables, not by how much it
// sends. The figure: 189,000 REGISTERs from 200 addresses in 8 s
// took the switch to 448 MiB. Measured with the flood limit off (the
// worst case: every REGISTER is parsed and challenged).
func TestUnauthenticatedRegistersHoldBoundedMemory(t *testing.T) {
	testUnauthenticatedMemory(t, "REGISTER") // flood limit off: the worst case
}

// INVITEs a stranger never ACKs: each address has at most
// maxHeldChallenges of them held for their ACK (Timer H, 32 s), the rest
// are refused statelessly (challengeHold). Flood limit off: the worst case.
func TestUnauthenticatedInvitesHoldBoundedMemory(t *testing.T) {
	testUnauthenticatedMemory(t, "INVITE")
}

func testUnauthenticatedMemory(t *testing.T, method string, opts ...Option) {
	if testing.Short() {
		t.Skip("sends 40,000 requests")
	}
	dir := newTestDirectory()
	_, sw := startSwitch(t, dir, append([]Option{WithFloodLimit(0, 0)}, opts...)...)
	// Warm up: the transport, pools and the first allocations of each table.
	unauthFlood(t, method, sw, 10, 20, 8)
	before := heapInUse()
	const sources, perSource = 200, 200
	answered := unauthFlood(t, method, sw, sources, perSource, 2)
	after := heapInUse()
	growth := int64(after) - int64(before)
	t.Logf("%d unauthenticated %ss from %d addresses, %d answered: heap in use %.1f MiB -> %.1f MiB (%+.1f MiB, %d bytes per request)",
		sources*perSource, method, sources, answered, float64(before)/(1<<20), float64(after)/(1<<20), float64(growth)/(1<<20), growth/int64(sources*perSource))
	if limited := len(opts) > 0; !limited && answered < sources*perSource/2 {
		t.Fatalf("only %d of %d answered: the measure is meaningless", answered, sources*perSource)
	}
	// What stays is per source and per challenged phone: the challenge
	// watch (at most maxPendingChallenges) and, for INVITE, at most
	// maxHeldChallenges transactions per address (~10 KiB each).
	if growth > 16<<20+int64(sources*maxHeldChallenges*10<<10) {
		t.Errorf("heap grew %.1f MiB for %d unauthenticated %ss: the switch holds state per message", float64(growth)/(1<<20), sources*perSource, method)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkUnauthenticatedRegister is what a stranger's message costs the
// switch: a REGISTER without credentials, parsed, challenged and answered
// (one at a time, over loopback). cpu-us/op is the process's CPU (the
// switch and this sender) per REGISTER; DefaultFloodLimit is chosen from
// it. Flood limit off: every REGISTER reaches the registrar.
func BenchmarkUnauthenticatedRegister(b *testing.B) {
	_, sw := startSwitch(b, newTestDirectory(), WithFloodLimit(0, 0))
	conn, err := net.ListenPacket("udp", "127.0.0.9:0")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	buf := make([]byte, 4096)
	i := 0
	cpu := cpuTime()
	for b.Loop() {
		msg := fmt.Sprintf("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-bench-%d\r\n"+
			"From: <sip:1001@%s>;tag=b%d\r\nTo: <sip:1001@%s>\r\nCall-ID: bench-%d@x\r\nCSeq: 1 REGISTER\r\n"+
			"Contact: <sip:1001@%s>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", sw, local, i, sw, i, sw, i, local)
		i++
		if _, err := conn.WriteTo([]byte(msg), sw); err != nil {
			b.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, _, err := conn.ReadFrom(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-us/op")
}
