package media

import (
	"errors"
	"maps"
	"net"
	"net/netip"
	"slices"
	"testing"
)

// fakeBind binds nothing: it hands out sockets (nil conns) and fails the
// ports in busy.
func fakeBind(busy map[int]bool, bound *[]int) func(int) (udpSock, error) {
	return func(port int) (udpSock, error) {
		if busy[port] {
			return udpSock{}, errors.New("address already in use")
		}
		*bound = append(*bound, port)
		return udpSock{fd: -1}, nil
	}
}

func TestPortAllocatorPairs(t *testing.T) {
	var bound []int
	a, err := newPortAllocator(10001, 10008, fakeBind(nil, &bound))
	if err != nil {
		t.Fatal(err)
	}
	// an odd lower bound moves up: pairs 10002/3, 10004/5, 10006/7
	if a.Pairs() != 3 {
		t.Fatalf("pairs %d, want 3", a.Pairs())
	}
	got := map[int]*portPair{}
	for range 3 {
		pp, err := a.allocate()
		if err != nil {
			t.Fatal(err)
		}
		if pp.port%2 != 0 || got[pp.port] != nil {
			t.Fatalf("RTP port %d is odd or handed out twice", pp.port)
		}
		got[pp.port] = pp
	}
	for _, p := range []int{10002, 10004, 10006} {
		if got[p] == nil {
			t.Fatalf("pairs handed out %v, want 10002, 10004 and 10006", slices.Collect(maps.Keys(got)))
		}
	}
	if _, err := a.allocate(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("exhausted range: %v, want ErrNoPorts", err)
	}
	if a.InUse() != 3 {
		t.Fatalf("in use %d", a.InUse())
	}
	// every pair bound its even port and then its odd one, once
	if len(bound) != 6 {
		t.Fatalf("bound %v, want each of the 3 pairs once", bound)
	}
	for i := 0; i < len(bound); i += 2 {
		if bound[i]%2 != 0 || bound[i+1] != bound[i]+1 {
			t.Fatalf("bound %v: want even port, then its odd successor", bound)
		}
	}
	// the only free pair is the one released
	a.release(got[10004])
	pp, err := a.allocate()
	if err != nil || pp.port != 10004 {
		t.Fatalf("after release: %v %v, want port 10004", pp, err)
	}
	// releasing twice does not duplicate the pair
	a.release(pp)
	a.release(pp)
	if a.InUse() != 2 || a.count != 1 {
		t.Fatalf("double release: in use %d free %d", a.InUse(), a.count)
	}
}

// The next call's ports cannot be told from this call's: allocations are
// not a stride (the +4 per call of a sequential allocator), yet the whole
// range is handed out before ErrNoPorts, each pair once.
func TestPortAllocatorRandomWholeRange(t *testing.T) {
	const pairs = 500
	var bound []int
	a, err := newPortAllocator(20000, 20000+2*pairs-1, fakeBind(nil, &bound))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	var order []int
	for range pairs {
		pp, err := a.allocate()
		if err != nil {
			t.Fatalf("after %d pairs: %v", len(order), err)
		}
		if seen[pp.port] || pp.port < 20000 || pp.port > 20000+2*pairs-2 || pp.port%2 != 0 {
			t.Fatalf("pair %d: handed out twice, odd, or outside the range", pp.port)
		}
		seen[pp.port] = true
		order = append(order, pp.port)
	}
	if _, err := a.allocate(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("whole range handed out: %v, want ErrNoPorts", err)
	}
	// Two sessions of two pairs each: would the second call's pairs be the
	// first's plus 4? Over the first 20 allocations a sequential (or any
	// fixed-stride) allocator has one difference; a uniform draw from 250+
	// pairs repeats one 19 times with probability below 1e-40.
	steps := map[int]int{}
	for i := 1; i < 20; i++ {
		steps[order[i]-order[i-1]]++
	}
	if len(steps) < 2 {
		t.Fatalf("first allocations %v go by one stride: the next port is predictable", order[:20])
	}
}

// A released pair is not handed out again before about half of the free
// pairs have been: late packets of an ended call do not reach the next.
func TestPortAllocatorReleasedPairWaits(t *testing.T) {
	const pairs = 100
	var bound []int
	a, _ := newPortAllocator(30000, 30000+2*pairs-1, fakeBind(nil, &bound))
	pp, err := a.allocate()
	if err != nil {
		t.Fatal(err)
	}
	a.release(pp)
	for i := range pairs / 2 {
		next, err := a.allocate()
		if err != nil {
			t.Fatal(err)
		}
		if next.port == pp.port {
			t.Fatalf("the pair just released came back at the %d. allocation of %d free", i+1, pairs)
		}
	}
}

func TestPortAllocatorSkipsBindFailures(t *testing.T) {
	var bound []int
	// 20000 (RTP) and 20003 (RTCP of the second pair) are taken.
	a, _ := newPortAllocator(20000, 20005, fakeBind(map[int]bool{20000: true, 20003: true}, &bound))
	pp, err := a.allocate()
	if err != nil || pp.port != 20004 {
		t.Fatalf("got %v %v, want the third pair 20004", pp, err)
	}
	// both failed pairs went back to the queue; all fail again now
	if _, err := a.allocate(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("got %v, want ErrNoPorts", err)
	}
	if a.InUse() != 1 {
		t.Fatalf("in use %d, want 1", a.InUse())
	}
}

func TestPortAllocatorBadRange(t *testing.T) {
	for _, r := range [][2]int{{0, 10}, {100, 100}, {101, 101}, {65535, 65536}, {5000, 4000}} {
		if _, err := newPortAllocator(r[0], r[1], nil); !errors.Is(err, ErrPortRange) {
			t.Errorf("range %v: %v, want ErrPortRange", r, err)
		}
	}
}

func TestPortAllocatorRealSockets(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	base := testPorts()
	// Hold the first pair's RTCP port ourselves: the allocator skips it.
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, uint16(base+1))))
	if err != nil {
		t.Skip(err)
	}
	defer c.Close()
	a, err := NewPortAllocator(lo, base, base+199)
	if err != nil {
		t.Fatal(err)
	}
	pp, err := a.allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer a.release(pp)
	if pp.port == base {
		t.Fatalf("got the pair whose RTCP port is taken")
	}
	if got := pp.rtcp.conn.LocalAddr().(*net.UDPAddr).Port; got != pp.port+1 {
		t.Fatalf("RTCP on %d, want %d", got, pp.port+1)
	}
}
