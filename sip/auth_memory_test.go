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
// buffers do not drop them. round makes each call's Call-IDs and branches
// new, so a later round is never taken for retransmissions of an earlier.
// It returns how many were answered.
func unauthFlood(t testing.TB, method string, sw net.Addr, round, sources, perSource, window int) int {
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
				msg := fmt.Sprintf("%s sip:%d@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-mem-%d-%d-%d\r\n"+
					"From: <sip:%d@%s>;tag=m%d\r\nTo: <sip:%d@%s>\r\nCall-ID: mem-%d-%d-%d@%s\r\nCSeq: 1 %s\r\n"+
					"Contact: <sip:%d@%s>\r\nMax-Forwards: 70\r\nUser-Agent: scanner\r\nContent-Length: 0\r\n\r\n",
					method, 1000+i%100, sw, local, round, s, i, 1000+i%100, sw, i, 1000+i%100, sw, round, s, i, local, method, 1000+i%100, local)
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

// testUnauthenticatedMemory floods the switch in two equal rounds from the
// same addresses. What the switch keeps per source (the challenge watch,
// at most maxPendingChallenges; for INVITE, at most maxHeldChallenges
// transactions per address waiting for their ACK) is full after the
// first round, so the second must add next to nothing; state kept per
// message would grow as much again. Comparing rounds, not an absolute
// figure, keeps the measure true under the race detector and a loaded
// machine, whose allocations and GC timing differ.
func testUnauthenticatedMemory(t *testing.T, method string, opts ...Option) {
	if testing.Short() {
		t.Skip("sends 40,000 requests")
	}
	dir := newTestDirectory()
	_, sw := startSwitch(t, dir, append([]Option{WithFloodLimit(0, 0)}, opts...)...)
	// Warm up: the transport, pools and the first allocations of each table.
	unauthFlood(t, method, sw, 0, 10, 20, 8)
	const sources, perSource = 200, 100
	start := heapInUse()
	answered := unauthFlood(t, method, sw, 1, sources, perSource, 2)
	mid := heapInUse()
	answered += unauthFlood(t, method, sw, 2, sources, perSource, 2)
	end := heapInUse()
	first, second := int64(mid)-int64(start), int64(end)-int64(mid)
	mib := func(n int64) float64 { return float64(n) / (1 << 20) }
	t.Logf("%d unauthenticated %ss from %d addresses in two rounds, %d answered: heap in use %.1f -> %.1f -> %.1f MiB (first round %+.1f MiB, second %+.1f MiB)",
		2*sources*perSource, method, sources, answered, mib(int64(start)), mib(int64(mid)), mib(int64(end)), mib(first), mib(second))
	if limited := len(opts) > 0; !limited && answered < sources*perSource {
		t.Fatalf("only %d of %d answered: the measure is meaningless", answered, 2*sources*perSource)
	}
	// Per-source state: the first round may fill it (for INVITE up to
	// ~10 KiB for each held transaction); the second adds at most noise.
	if limit := 16<<20 + int64(sources*maxHeldChallenges*10<<10); first > 2*limit {
		t.Errorf("heap grew %.1f MiB in the first round of %d unauthenticated %ss: more than per-source tables can hold", mib(first), sources*perSource, method)
	}
	if noise := int64(4 << 20); second > noise && second > first/4 {
		t.Errorf("heap grew %.1f MiB in the second round of %d unauthenticated %ss after %.1f MiB in the first: the switch holds state per message", mib(second), sources*perSource, method, mib(first))
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
