package siptest

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// RTPParty is the media socket of a phone or a carrier in the tests: real
// UDP on a loopback address, sending G.711 (PCMU) RTP packets built with
// pion/rtp under its own SSRC and counting what it receives by SSRC.
type RTPParty struct {
	t    testing.TB
	conn *net.UDPConn
	ssrc uint32
	seq  uint16
	ts   uint32

	mu        sync.Mutex
	got       map[uint32]int
	transform func([]byte) ([]byte, error) // SetTransform
}

// NewRTPParty opens a party's media socket on host; it closes with the
// test.
func NewRTPParty(t testing.TB, host string, ssrc uint32) *RTPParty {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(host)})
	if err != nil {
		t.Fatal(err)
	}
	p := &RTPParty{t: t, conn: c, ssrc: ssrc, seq: 1000, ts: 8000, got: map[uint32]int{}}
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			b := buf[:n]
			p.mu.Lock()
			tf := p.transform
			p.mu.Unlock()
			if tf != nil {
				if b, err = tf(b); err != nil {
					continue
				}
			}
			var pkt rtp.Packet
			if pkt.Unmarshal(b) == nil {
				p.mu.Lock()
				p.got[pkt.SSRC]++
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// Port is the socket's port.
func (p *RTPParty) Port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// Send sends n packets of 20 ms of PCMU to to, a millisecond apart.
func (p *RTPParty) Send(to netip.AddrPort, n int) {
	p.t.Helper()
	payload := make([]byte, 160)
	for range n {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc}, Payload: payload}
		b, err := pkt.Marshal()
		if err != nil {
			p.t.Fatal(err)
		}
		if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
			p.t.Fatal(err)
		}
		p.seq++
		p.ts += 160
		time.Sleep(time.Millisecond)
	}
}

// SetTransform makes the party count only what f accepts, as f returns
// it (an SRTP phone: decryption under the key it was given).
func (p *RTPParty) SetTransform(f func([]byte) ([]byte, error)) {
	p.mu.Lock()
	p.transform = f
	p.mu.Unlock()
}

// SendRaw sends one datagram b to to from the party's socket.
func (p *RTPParty) SendRaw(to netip.AddrPort, b []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

// Received is the number of packets received from ssrc.
func (p *RTPParty) Received(ssrc uint32) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.got[ssrc]
}

// MediaAddr is where an SDP asks for its first stream's media: the
// session's (or last) c= address and the first m= port.
func MediaAddr(body []byte) (netip.AddrPort, error) {
	var host, port string
	for _, l := range strings.Split(string(body), "\r\n") {
		if h, ok := strings.CutPrefix(l, "c=IN IP4 "); ok {
			host = h
		}
		if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(l, "m=") && port == "" {
			port = f[1]
		}
	}
	ap, err := netip.ParseAddrPort(host + ":" + port)
	if err != nil {
		return ap, errors.Join(errors.New("no media address in "+strconv.Quote(string(body))), err)
	}
	return ap, nil
}
