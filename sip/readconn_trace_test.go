package sip

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
)

// traced is one message a test tracer was handed.
type traced struct {
	hook         string // which hook: read, write, read-addr, write-addr
	transport    string
	local, other string // laddr and raddr, formatted for the string hooks
	at           time.Time
	msg          string
}

// stringTracer records sipgo's string hooks.
type stringTracer struct {
	mu   sync.Mutex
	got  []traced
	more chan struct{}
}

func newStringTracer() *stringTracer { return &stringTracer{more: make(chan struct{}, 16)} }

func (r *stringTracer) add(tr traced) {
	r.mu.Lock()
	r.got = append(r.got, tr)
	r.mu.Unlock()
	r.more <- struct{}{}
}

func (r *stringTracer) SIPTraceRead(transport, laddr, raddr string, msg []byte) {
	r.add(traced{hook: "read", transport: transport, local: laddr, other: raddr, msg: string(msg)})
}

func (r *stringTracer) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	r.add(traced{hook: "write", transport: transport, local: laddr, other: raddr, msg: string(msg)})
}

// wait returns the first n messages traced, waiting for each.
func (r *stringTracer) wait(t *testing.T, n int) []traced {
	t.Helper()
	for range n {
		select {
		case <-r.more:
		case <-time.After(5 * time.Second):
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("traced %d messages, want %d: %+v", len(r.got), n, r.got)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]traced(nil), r.got[:n]...)
}

// addrTracer records the address-typed hooks too.
type addrTracer struct{ *stringTracer }

func (r addrTracer) SIPTraceReadAddr(transport string, laddr, raddr netip.AddrPort, at time.Time, msg []byte) {
	r.add(traced{hook: "read-addr", transport: transport, local: laddr.String(), other: raddr.String(), at: at, msg: string(msg)})
}

func (r addrTracer) SIPTraceWriteAddr(transport string, laddr, raddr netip.AddrPort, msg []byte) {
	r.add(traced{hook: "write-addr", transport: transport, local: laddr.String(), other: raddr.String(), msg: string(msg)})
}

// challengeOverTrace sends a line's first INVITE to a switch tracing to
// tracer and reads its 407 (both taken by the read loop, never by sipgo):
// the switch's and the phone's addresses, the 407, and when the INVITE
// was sent and the 407 received.
func challengeOverTrace(t *testing.T, tracer sip.SIPTracer) (sw, phone string, answer string, sent, received time.Time) {
	t.Helper()
	snap := &routing.Snapshot{
		Plans:  []routing.Plan{{ID: 1}},
		Routes: []routing.Route{{ID: 1, Plan: 1, Allow: 1, Media: routing.MediaVoiceFax}},
		Phones: []routing.Phone{{ID: 1, Name: "1001", Password: "secret1001", Plan: 1, TotalMaximum: -1, CallMaximum: -1}},
	}
	calls, err := routing.NewCallControl(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, addr := startSwitch(t, calls, WithSIPTracer(tracer))
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	sent = time.Now()
	if _, err := pc.WriteTo([]byte(challengeInviteMsg), addr); err != nil {
		t.Fatal(err)
	}
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	received = time.Now()
	if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 407 ") {
		t.Fatalf("answer %.40q, want a 407", buf[:n])
	}
	return addr.String(), pc.LocalAddr().String(), string(buf[:n]), sent, received
}

// A tracer with the address-typed hooks (AddrTracer, as capture.Sender)
// is handed what the read loop reads and writes through them: the
// listener's and the phone's addresses the right way round, the read
// stamped with its arrival, and nothing through sipgo's string hooks.
func TestReadLoopTracesAddresses(t *testing.T) {
	rec := addrTracer{newStringTracer()}
	sw, phone, answer, sent, received := challengeOverTrace(t, rec)
	got := rec.wait(t, 2)
	in, out := got[0], got[1]
	if in.hook != "read-addr" || in.transport != "UDP" || in.local != sw || in.other != phone || in.msg != challengeInviteMsg {
		t.Errorf("the INVITE traced as %+v, want read-addr UDP %s <- %s", in, sw, phone)
	}
	// The arrival: a clock reading of the read loop (or the kernel's
	// receive stamp), between the send and the answer.
	if in.at.Before(sent.Add(-time.Millisecond)) || in.at.After(received.Add(time.Millisecond)) {
		t.Errorf("the INVITE stamped %v, not between its send %v and its answer %v", in.at, sent, received)
	}
	if out.hook != "write-addr" || out.transport != "UDP" || out.local != sw || out.other != phone || out.msg != answer {
		t.Errorf("the 407 traced as %+v, want write-addr UDP %s -> %s", out, sw, phone)
	}
}

// A tracer with sipgo's hooks alone is handed the same as strings.
func TestReadLoopTracesStrings(t *testing.T) {
	rec := newStringTracer()
	sw, phone, answer, _, _ := challengeOverTrace(t, rec)
	got := rec.wait(t, 2)
	in, out := got[0], got[1]
	if in.hook != "read" || in.transport != "UDP" || in.local != sw || in.other != phone || in.msg != challengeInviteMsg {
		t.Errorf("the INVITE traced as %+v, want read UDP %s <- %s", in, sw, phone)
	}
	if out.hook != "write" || out.transport != "UDP" || out.local != sw || out.other != phone || out.msg != answer {
		t.Errorf("the 407 traced as %+v, want write UDP %s -> %s", out, sw, phone)
	}
}
