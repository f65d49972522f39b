package media

import (
	"errors"
	"net"
	"net/netip"
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
	var got []*portPair
	for range 3 {
		pp, err := a.allocate()
		if err != nil {
			t.Fatal(err)
		}
		if pp.port%2 != 0 {
			t.Fatalf("RTP port %d is odd", pp.port)
		}
		got = append(got, pp)
	}
	if _, err := a.allocate(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("exhausted range: %v, want ErrNoPorts", err)
	}
	if a.InUse() != 3 {
		t.Fatalf("in use %d", a.InUse())
	}
	// a released pair is reused last (FIFO)
	a.release(got[1])
	pp, err := a.allocate()
	if err != nil || pp.port != got[1].port {
		t.Fatalf("after release: %v %v, want port %d", pp, err, got[1].port)
	}
	want := []int{10002, 10003, 10004, 10005, 10006, 10007, 10004, 10005}
	if len(bound) != len(want) {
		t.Fatalf("bound %v, want %v", bound, want)
	}
	for i := range want {
		if bound[i] != want[i] {
			t.Fatalf("bound %v, want %v", bound, want)
		}
	}
	// releasing twice does not duplicate the pair
	a.release(pp)
	a.release(pp)
	if a.InUse() != 2 || a.count != 1 {
		t.Fatalf("double release: in use %d free %d", a.InUse(), a.count)
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
