package sip

import (
	"bytes"
	"fmt"
	"net"
	"testing"

	"github.com/sipswitch/sipswitch/sip/siptest"
)

// Datagrams that queued while the read loop worked are read several to a
// system call (recvmmsg) and handed out one at a time, each whole, in
// order, with its own source; one too large for a buffer is skipped, not
// passed on cut short.
func TestReadLoopReadsQueuedDatagramsInBatches(t *testing.T) {
	s, err := New(newTestDirectory(), WithLogger(siptest.Logger()), WithRealm("test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	growUDPBuffers(conn)
	rc := newReadConn(conn, s, nil, false)
	if rc.batch == nil {
		t.Fatal("no batch reader on a UDP socket")
	}
	from := make([]*net.UDPConn, 2)
	for i := range from {
		if from[i], err = net.DialUDP("udp", nil, conn.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { from[i].Close() })
	}
	// Loopback delivers a datagram to the socket's queue within the send:
	// all are waiting before the first read.
	const n = 2*readBatch + 3
	var want [][]byte
	var wantFrom []string
	for i := range n {
		msg := fmt.Appendf(nil, "OPTIONS sip:%d@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK.%d\r\n\r\n", i, i)
		src := from[i%2]
		if _, err := src.Write(msg); err != nil {
			t.Fatal(err)
		}
		want, wantFrom = append(want, msg), append(wantFrom, src.LocalAddr().String())
		if i == readBatch/2 {
			big := bytes.Repeat([]byte("x"), 40000) // over sipgo's 32 KiB read size
			if _, err := src.Write(big); err != nil {
				t.Fatal(err)
			}
		}
	}
	buf := make([]byte, 32768)
	for i := range n {
		got, addr, err := rc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if !bytes.Equal(buf[:got], want[i]) || addr.String() != wantFrom[i] {
			t.Fatalf("read %d: %q from %s, want %q from %s", i, buf[:got], addr, want[i], wantFrom[i])
		}
	}
	st := s.Stats()
	if st.ReadLoopDatagrams != n+1 || st.ReadLoopReads != 3 {
		t.Errorf("%d datagrams in %d reads, want %d in 3 (batches of %d)", st.ReadLoopDatagrams, st.ReadLoopReads, n+1, readBatch)
	}
}
