//go:build linux

package udpbatch

import (
	"testing"
	"time"
)

// Two datagrams 20 ms apart read in one batch keep their own arrival
// times: what the load generator uses to tell time on the way from its
// own time to read.
func TestTimestampsPerDatagram(t *testing.T) {
	rc, wc := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")
	r, err := NewReader(rc, 4, 1500)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.EnableTimestamps(); err != nil {
		t.Fatal(err)
	}
	before := time.Now().UnixNano()
	if _, err := wc.WriteToUDPAddrPort([]byte("first"), addrOf(rc)); err != nil {
		t.Fatal(err)
	}
	const gap = 20 * time.Millisecond
	time.Sleep(gap) // the time between the two arrivals is what is measured
	if _, err := wc.WriteToUDPAddrPort([]byte("second"), addrOf(rc)); err != nil {
		t.Fatal(err)
	}
	sent := time.Now().UnixNano()
	var stamps []int64
	rc.SetReadDeadline(time.Now().Add(2 * time.Second))
	for len(stamps) < 2 {
		n, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			stamps = append(stamps, r.Timestamp(i))
		}
	}
	for i, ts := range stamps {
		if ts < before || ts > sent {
			t.Fatalf("datagram %d stamped %d, want within [%d, %d]", i, ts, before, sent)
		}
	}
	if d := time.Duration(stamps[1] - stamps[0]); d < gap {
		t.Fatalf("arrivals %v apart, want at least %v", d, gap)
	}

	// Read resets the control buffers: the next batch is stamped too, and
	// reading a stamp allocates nothing.
	if _, err := wc.WriteToUDPAddrPort([]byte("third"), addrOf(rc)); err != nil {
		t.Fatal(err)
	}
	var n int
	allocs := testing.AllocsPerRun(1, func() {
		for n == 0 && err == nil {
			n, err = r.Read()
		}
		_ = r.Timestamp(0)
	})
	if err != nil || n != 1 || r.Timestamp(0) < sent {
		t.Fatalf("third datagram: n %d, err %v, stamp %d (sent after %d)", n, err, r.Timestamp(0), sent)
	}
	if allocs != 0 {
		t.Fatalf("Read and Timestamp allocated %v times", allocs)
	}
}

func TestTimestampZeroWhenNotEnabled(t *testing.T) {
	rc, wc := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")
	r, _ := NewReader(rc, 2, 1500)
	if _, err := wc.WriteToUDPAddrPort([]byte("x"), addrOf(rc)); err != nil {
		t.Fatal(err)
	}
	readAll(t, r, rc, 1)
	if ts := r.Timestamp(0); ts != 0 {
		t.Fatalf("stamp %d without EnableTimestamps, want 0", ts)
	}
}
