//go:build linux

package main

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeNG answers rtpengine's ng protocol on 127.0.0.1 as rtpengine does:
// "cookie bencoded-reply" for "cookie bencoded-request". Its first reply
// to each offer is dropped (a lost datagram: the client must send again
// with the same cookie), and a stray reply under another cookie comes
// first (a late answer to an earlier try: ignored).
type fakeNG struct {
	conn     *net.UDPConn
	mu       sync.Mutex
	commands []string
	dropped  map[string]bool
}

func newFakeNG(t *testing.T) *fakeNG {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNG{conn: c, dropped: map[string]bool{}}
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			cookie, body, _ := strings.Cut(string(buf[:n]), " ")
			v, err := bdecode([]byte(body))
			req, _ := v.(map[string]any)
			if err != nil || req == nil {
				continue
			}
			f.mu.Lock()
			cmd, _ := req["command"].(string)
			f.commands = append(f.commands, cmd)
			drop := cmd == "offer" && !f.dropped[cookie]
			f.dropped[cookie] = true
			f.mu.Unlock()
			if drop {
				continue
			}
			reply := map[string]any{"result": "ok"}
			switch cmd {
			case "offer", "answer":
				// The port the other side is to send to: 1000 + the call's
				// number in the answer, 2000 + it in the offer.
				id, _ := req["call-id"].(string)
				var port int
				fmt.Sscan(id[strings.LastIndex(id, "-")+1:], &port)
				if cmd == "answer" {
					port += 1000
				} else {
					port += 2000
				}
				reply["sdp"] = string(partySDP(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))))
			case "delete", "ping":
				if cmd == "ping" {
					reply["result"] = "pong"
				}
			default:
				reply = map[string]any{"result": "error", "error-reason": "Unrecognized command"}
			}
			stray, _ := bencode([]byte("0_other "), map[string]any{"result": "ok"})
			c.WriteToUDPAddrPort(stray, from)
			out, _ := bencode([]byte(cookie+" "), reply)
			c.WriteToUDPAddrPort(out, from)
		}
	}()
	return f
}

func TestRTPEngineSetupAndStop(t *testing.T) {
	f := newFakeNG(t)
	r, err := newRTPEngine(rtpengineConfig{ng: f.conn.LocalAddr().String(), pid: 1})
	if err != nil {
		t.Fatal(err)
	}
	r.replyWait = 100 * time.Millisecond
	a := netip.MustParseAddrPort("127.0.0.1:4000")
	ports, err := r.setup(2, a, netip.MustParseAddrPort("127.0.0.1:5000"))
	if err != nil {
		t.Fatal(err)
	}
	// The caller sends to the port of the answer's SDP, the callee to the offer's.
	if want := []int{1000, 2000, 1001, 2001}; fmt.Sprint(ports) != fmt.Sprint(want) {
		t.Fatalf("ports %v, want %v", ports, want)
	}
	r.stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	got := strings.Join(f.commands, " ")
	// Each offer twice: its first reply was lost.
	if want := "ping offer offer answer offer offer answer delete delete"; got != want {
		t.Fatalf("commands %q, want %q", got, want)
	}
}

func TestRTPEngineErrorResult(t *testing.T) {
	f := newFakeNG(t)
	r, err := newRTPEngine(rtpengineConfig{ng: f.conn.LocalAddr().String(), pid: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.conn.Close()
	if _, err := r.ask(t.Context(), map[string]any{"command": "bogus"}); err == nil || !strings.Contains(err.Error(), "Unrecognized command") {
		t.Fatalf("error %v, want rtpengine's error-reason", err)
	}
}
