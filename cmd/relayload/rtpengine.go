//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sipswitch/sipswitch/sip/media"
)

// With -rtpengine the relay under test is a running rtpengine (scripts/
// loadtest-rtpengine.sh starts it in userspace, without the kernel
// module): each call is an "offer" from the caller's SDP and an "answer"
// from the callee's over rtpengine's ng control protocol (bencoded
// dictionaries over UDP, each prefixed by a cookie the reply repeats),
// and a "delete" at the end. The relay ports are read from the SDP
// rtpengine returns, its CPU from /proc/<pid>/stat over the measured
// window, as for a sipswitch.
type rtpengineConfig struct {
	ng  string // host:port of the ng listener
	pid int
}

type rtpengine struct {
	cfg    rtpengineConfig
	conn   *net.UDPConn
	seq    int
	prefix string // call-id prefix: this run's calls only
	calls  int
	buf    []byte
	// replyWait is how long a reply is waited for before the command is
	// sent again (3 tries).
	replyWait time.Duration
}

func newRTPEngine(cfg rtpengineConfig) (*rtpengine, error) {
	addr, err := net.ResolveUDPAddr("udp", cfg.ng)
	if err != nil {
		return nil, fmt.Errorf("rtpengine ng address %q: %w", cfg.ng, err)
	}
	conn, err := net.DialUDP("udp", nil, addr)
	if err != nil {
		return nil, fmt.Errorf("rtpengine ng %s: %w", cfg.ng, err)
	}
	r := &rtpengine{cfg: cfg, conn: conn, prefix: "relayload-" + strconv.FormatInt(time.Now().UnixNano(), 36), buf: make([]byte, 65536), replyWait: 2 * time.Second}
	if _, err := r.ask(context.Background(), map[string]any{"command": "ping"}); err != nil {
		conn.Close()
		return nil, err
	}
	return r, nil
}

// ask sends one ng command and returns the reply's dictionary; a reply
// whose result is "error" is an error. A lost datagram is sent again (the
// same cookie: rtpengine answers a repeated cookie from its cache).
func (r *rtpengine) ask(ctx context.Context, req map[string]any) (map[string]any, error) {
	r.seq++
	cookie := strconv.Itoa(r.seq) + "_" + r.prefix
	msg, err := bencode(append([]byte(cookie), ' '), req)
	if err != nil {
		return nil, err
	}
	for try := 0; try < 3; try++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := r.conn.Write(msg); err != nil {
			return nil, fmt.Errorf("rtpengine %s: %w", req["command"], err)
		}
		r.conn.SetReadDeadline(time.Now().Add(r.replyWait))
		for {
			n, err := r.conn.Read(r.buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // send again
				}
				return nil, fmt.Errorf("rtpengine %s: %w", req["command"], err)
			}
			c, body, ok := strings.Cut(string(r.buf[:n]), " ")
			if !ok || c != cookie {
				continue // a late reply to an earlier try
			}
			v, err := bdecode([]byte(body))
			if err != nil {
				return nil, fmt.Errorf("rtpengine %s reply: %w", req["command"], err)
			}
			d, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("rtpengine %s reply: %T, want a dictionary", req["command"], v)
			}
			if d["result"] == "error" {
				return nil, fmt.Errorf("rtpengine %s: %v", req["command"], d["error-reason"])
			}
			return d, nil
		}
	}
	return nil, fmt.Errorf("rtpengine %s: no reply from %s", req["command"], r.cfg.ng)
}

func (r *rtpengine) callID(i int) string { return r.prefix + "-" + strconv.Itoa(i) }

// setup offers and answers n calls: the caller's media at a, the callee's
// at b, as relayChild.setup does with the engine.
func (r *rtpengine) setup(n int, a, b netip.AddrPort) ([]int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(n)*20*time.Millisecond+10*time.Second)
	defer cancel()
	ports := make([]int, 2*n)
	offer, answer := string(partySDP(a)), string(partySDP(b))
	for i := range n {
		id := r.callID(i)
		res, err := r.ask(ctx, map[string]any{"command": "offer", "call-id": id, "from-tag": "caller", "sdp": offer})
		if err != nil {
			return nil, fmt.Errorf("call %d: %w", i, err)
		}
		toB, _ := res["sdp"].(string)
		r.calls = i + 1
		res, err = r.ask(ctx, map[string]any{"command": "answer", "call-id": id, "from-tag": "caller", "to-tag": "callee", "sdp": answer})
		if err != nil {
			return nil, fmt.Errorf("call %d: %w", i, err)
		}
		toA, _ := res["sdp"].(string)
		ports[2*i], ports[2*i+1] = mPort([]byte(toA)), mPort([]byte(toB))
		if ports[2*i] == 0 || ports[2*i+1] == 0 {
			return nil, fmt.Errorf("call %d: rtpengine's SDP names no media port", i)
		}
	}
	return ports, nil
}

func (r *rtpengine) cpu() time.Duration { return procCPU(r.cfg.pid) }

// stats: rtpengine's totals are not read (its own "statistics" command
// has them); the generator's counts stand.
func (r *rtpengine) stats() (media.EngineStats, error) {
	return media.EngineStats{Sessions: r.calls}, nil
}

// stop deletes the run's calls, so the next run finds the port range free.
func (r *rtpengine) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.calls)*20*time.Millisecond+10*time.Second)
	defer cancel()
	for i := range r.calls {
		if _, err := r.ask(ctx, map[string]any{"command": "delete", "call-id": r.callID(i), "from-tag": "caller"}); err != nil {
			fmt.Fprintln(os.Stderr, "relayload:", err)
			break
		}
	}
	r.conn.Close()
}
