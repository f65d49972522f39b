package sip

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// shortTimersEnv marks a process of the test binary that runs one test
// with short transaction timers.
const shortTimersEnv = "SIPSWITCH_SHORT_TIMERS_TEST_PROCESS"

// inShortTimersProcess runs the calling test again in a process of its own
// with sipgo's timers set to tt and reports whether this is that process.
// sipgo's timers are process-wide and read by the timers of every
// transaction still lingering from earlier tests, so they are changed only
// where nothing else runs.
func inShortTimersProcess(t *testing.T, tt TransactionTimers) bool {
	t.Helper()
	if os.Getenv(shortTimersEnv) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1")
		cmd.Env = append(os.Environ(), shortTimersEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "PASS") {
			t.Fatalf("test process: %v\n%s", err, out)
		}
		return false
	}
	if err := SetTransactionTimers(tt); err != nil {
		t.Fatal(err)
	}
	return true
}

// shortTimersFixture is a switch with phone 1001 and route 44 to carrier1.
func shortTimersFixture(t *testing.T) (*fixture, context.Context) {
	dir := newTestDirectory()
	dir.addPhone(routing.Phone{PresentationExternal: 1, PresentationInternal: 1, ID: 1, Name: "1001", Password: "secret1001", Plan: 1})
	s, _ := startSwitch(t, dir)
	c1 := siptest.NewAgent(t, "carrier1", "127.0.0.2")
	p1 := &routing.Peer{ID: 11, Name: "peer1", Type: routing.PeerSIP, Destination: c1.Host + ":" + itoa(c1.Port)}
	dir.addPeer(p1)
	dir.addRoute("44", 7, p1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return &fixture{dir: dir, s: s, phone: siptest.NewAgent(t, "phone", "127.0.0.1"), carrier1: c1}, ctx
}

// answeredShortTimersCall is the set-up of the short-timer tests: in the
// test's own process (transaction linger 100 ms), phone 1001 calls 441234
// and carrier1 answers. ok is false in the parent process.
func answeredShortTimersCall(t *testing.T) (f *fixture, ctx context.Context, d *sipgo.DialogClientSession, ok bool) {
	t.Helper()
	if !inShortTimersProcess(t, TransactionTimers{Linger: 100 * time.Millisecond}) {
		return nil, nil, nil, false
	}
	f, ctx = shortTimersFixture(t)
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	return f, ctx, d, true
}

// liveCall is the one call in the switch's dialog table.
func liveCall(t *testing.T, s *Server) *call {
	t.Helper()
	var c *call
	s.calls.m.Range(func(_, v any) bool {
		c = v.(*call)
		return false
	})
	if c == nil {
		t.Fatal("no call in the dialog table")
	}
	return c
}

// sendFrom sends msg to the switch from a socket of its own on host, so
// that what the switch sends back to the source can be read from it.
func sendFrom(t *testing.T, s *Server, host, msg string) net.PacketConn {
	t.Helper()
	conn, err := net.ListenPacket("udp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	sw, err := net.ResolveUDPAddr("udp", s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.WriteTo([]byte(msg), sw); err != nil {
		t.Fatal(err)
	}
	return conn
}

// An INVITE retransmitted after its call was answered and its transaction
// ended (Timer L is short) is absorbed, as RFC 6026's Accepted state does:
// no answer and no second call towards the carrier. Without it the switch
// would take the retransmission for a new call.
func TestRetransmittedInviteOfAnsweredCallIsAbsorbed(t *testing.T) {
	f, ctx, d, ok := answeredShortTimersCall(t)
	if !ok {
		return
	}
	// The phone's INVITE as it came (the dialog's copy carries the To tag
	// the switch chose).
	invite := liveCall(t, f.s).a.InviteRequest.Clone()
	invite.To().Params.Remove("tag")
	time.Sleep(300 * time.Millisecond) // past Timer L: the server transaction has ended

	conn := sendFrom(t, f.s, "127.0.0.1", invite.String())
	conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 4096)
	if n, _, err := conn.ReadFrom(buf); err == nil {
		t.Fatalf("the retransmitted INVITE was answered %q, want it absorbed", strings.SplitN(string(buf[:n]), "\r\n", 2)[0])
	}
	if got := f.carrier1.Invites.Load(); got != 1 {
		t.Fatalf("carrier got %d INVITEs, want 1", got)
	}
	if got := f.s.Stats().InviteRetransmissions; got != 1 {
		t.Fatalf("InviteRetransmissions = %d, want 1", got)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatalf("bye: %v", err)
	}
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
}

// The caller's 2xx is retransmitted until its ACK after the INVITE
// transaction has ended (RFC 3261 13.3.1.4), so a late ACK keeps the call;
// with no ACK at all the call ends 64*T1 after the answer, the callee BYEd.
func TestCallerAnswerRetransmittedUntilAckAfterTransactionEnds(t *testing.T) {
	// T1 50 ms: Timer L 100 ms, sipgo's own retransmissions at 50 and
	// 250 ms (the second finds the transaction gone), 64*T1 3.2 s.
	if !inShortTimersProcess(t, TransactionTimers{T1: 50 * time.Millisecond, T2: 200 * time.Millisecond, Linger: 100 * time.Millisecond}) {
		return
	}
	f, ctx := shortTimersFixture(t)
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	call := func() *sipgo.DialogClientSession {
		d, err := f.phone.CallUnacked(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
		if err != nil {
			t.Fatalf("call: %v", err)
		}
		return d
	}

	d := call()
	time.Sleep(time.Second) // no ACK yet: well past Timer L and sipgo's loop
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if f.carrier1.Byes.Load() != 0 || f.s.Stats().ActiveCalls != 1 {
		t.Fatalf("a late ACK lost the call: carrier BYEs %d, active calls %d", f.carrier1.Byes.Load(), f.s.Stats().ActiveCalls)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatalf("bye: %v", err)
	}
	eventually(t, "first call ended", func() bool { return f.s.Stats().ActiveCalls == 0 })

	call() // never ACKed
	time.Sleep(2 * time.Second)
	if f.carrier1.Byes.Load() != 1 {
		t.Fatalf("callee BYEd before 64*T1: %d BYEs", f.carrier1.Byes.Load())
	}
	eventually(t, "unconfirmed call ended", func() bool { return f.carrier1.Byes.Load() == 2 && f.s.Stats().ActiveCalls == 0 })
}

// A callee's refusal retransmitted after the B-leg's client transaction
// ended (Timer D is short: our ACK was lost) is ACKed again as the
// transaction would have: the INVITE's Request-URI and top Via, the
// refusal's To tag, CSeq number with method ACK.
func TestRetransmittedRefusalIsACKedAfterTransactionEnds(t *testing.T) {
	if !inShortTimersProcess(t, TransactionTimers{Linger: 100 * time.Millisecond}) {
		return
	}
	f, ctx := shortTimersFixture(t)
	f.carrier1.Handle(siptest.RejectWith(503))
	if _, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP); siptest.StatusOf(err) == 0 {
		t.Fatalf("call: %v, want refused", err)
	}
	inv := f.carrier1.Last.Load()
	time.Sleep(300 * time.Millisecond) // past Timer D: the client transaction has ended

	refusal := sip.NewResponseFromRequest(inv, 503, "Service Unavailable", nil)
	conn := sendFrom(t, f.s, "127.0.0.2", refusal.String())
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, _, err := conn.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no ACK for the retransmitted refusal: %v", err)
	}
	ack, err := sip.ParseMessage(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	req, ok := ack.(*sip.Request)
	if !ok || req.Method != sip.ACK {
		t.Fatalf("switch answered the refusal with %q, want an ACK", strings.SplitN(string(buf[:n]), "\r\n", 2)[0])
	}
	wantBranch, _ := inv.Via().Params.Get("branch")
	gotBranch, _ := req.Via().Params.Get("branch")
	totag, _ := refusal.To().Params.Get("tag")
	gotTag, _ := req.To().Params.Get("tag")
	if req.Recipient.String() != inv.Recipient.String() || gotBranch != wantBranch || gotTag != totag ||
		req.CSeq().SeqNo != inv.CSeq().SeqNo || req.CSeq().MethodName != sip.ACK || req.CallID().Value() != inv.CallID().Value() {
		t.Fatalf("ACK does not match the INVITE's transaction:\n%s\nINVITE:\n%s", req, inv)
	}
	if req.Via().Params.Has("received") {
		t.Errorf("ACK's Via carries the callee's received parameter: %s", req.Via())
	}
}

// The timers sipgo reads: Timer J is the linger, D, L and M at most 2*T1,
// I zero (see SetTransactionTimers for why each).
func TestTransactionTimersSet(t *testing.T) {
	if !inShortTimersProcess(t, TransactionTimers{T1: 500 * time.Millisecond, Linger: 5 * time.Second}) {
		return
	}
	for name, tc := range map[string]struct{ got, want time.Duration }{
		"J": {sip.Timer_J, 5 * time.Second},
		"D": {sip.Timer_D, time.Second},
		"L": {sip.Timer_L, time.Second},
		"M": {sip.Timer_M, time.Second},
		"I": {sip.Timer_I, 0},
	} {
		if tc.got != tc.want {
			t.Errorf("Timer %s = %s, want %s", name, tc.got, tc.want)
		}
	}
	if err := SetTransactionTimers(TransactionTimers{Linger: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if sip.Timer_L != 300*time.Millisecond || sip.Timer_J != 300*time.Millisecond {
		t.Errorf("a linger under 2*T1 bounds Timer L too: L %s, J %s", sip.Timer_L, sip.Timer_J)
	}
}
