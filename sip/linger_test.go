package sip

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// lingerChildEnv marks the process that runs the linger test with short timers.
const lingerChildEnv = "SIPSWITCH_LINGER_TEST_PROCESS"

// With the transaction linger shorter than a peer's 2xx retransmission
// window, a 2xx that arrives after the B-leg's transaction is gone (our
// ACK was lost) is ACKed again and the call stays up.
func TestLate2xxRetransmissionOfLiveLegIsReACKed(t *testing.T) {
	// sipgo's timers are process-wide and read by the timers of every
	// transaction still lingering from earlier tests, so they are changed
	// only in a process of this test's own.
	if os.Getenv(lingerChildEnv) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLate2xxRetransmissionOfLiveLegIsReACKed$", "-test.count=1")
		cmd.Env = append(os.Environ(), lingerChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "PASS") {
			t.Fatalf("test process: %v\n%s", err, out)
		}
		return
	}
	if err := SetTransactionTimers(TransactionTimers{Linger: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	dir := newTestDirectory()
	dir.addPhone(routing.Phone{PresentationExternal: 1, PresentationInternal: 1, ID: 1, Name: "1001", Password: "secret1001", Plan: 1})
	s, _ := startSwitch(t, dir)
	c1 := siptest.NewAgent(t, "carrier1", "127.0.0.2")
	p1 := &routing.Peer{ID: 11, Name: "peer1", Type: routing.PeerSIP, Destination: c1.Host + ":" + itoa(c1.Port)}
	dir.addPeer(p1)
	dir.addRoute("44", 7, p1)
	f := &fixture{dir: dir, s: s, phone: siptest.NewAgent(t, "phone", "127.0.0.1"), carrier1: c1}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	var answer string
	f.s.calls.m.Range(func(_, v any) bool {
		if b := v.(*call).b.Load(); b != nil {
			answer = b.dlg.InviteResponse.String()
		}
		return answer == ""
	})
	if answer == "" {
		t.Fatal("no answered B-leg in the dialog table")
	}
	time.Sleep(300 * time.Millisecond) // past the linger: the client transaction has ended

	// The retransmission comes from a socket of our own, so the ACK the
	// switch sends back to its source can be read here.
	conn, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sw, err := net.ResolveUDPAddr("udp", f.s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.WriteTo([]byte(answer), sw); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, _, err := conn.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no ACK for the retransmitted 2xx: %v", err)
	}
	if got := string(buf[:n]); !strings.HasPrefix(got, "ACK ") {
		t.Fatalf("switch answered the retransmitted 2xx with %q, want an ACK", strings.SplitN(got, "\r\n", 2)[0])
	}
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, _, err := conn.ReadFrom(buf); err == nil {
		t.Fatalf("switch sent more than an ACK: %q", strings.SplitN(string(buf[:n]), "\r\n", 2)[0])
	}
	if f.carrier1.Byes.Load() != 0 || f.s.Stats().ActiveCalls != 1 {
		t.Fatalf("call torn down: carrier BYEs %d, active calls %d", f.carrier1.Byes.Load(), f.s.Stats().ActiveCalls)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatalf("bye: %v", err)
	}
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
}
