package sip

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// inviteTxFixture is a read loop's socket, a phone's, and an INVITE the
// phone sent, with its transaction kept (not yet handled).
type inviteTxFixture struct {
	t      *testing.T
	s      *Server
	c      *readConn
	phone  *net.UDPConn
	invite *sip.Request
	tx     *inviteTx
}

func newInviteTxFixture(t *testing.T, branch string) *inviteTxFixture {
	t.Helper()
	s, err := New(newTestDirectory(), WithListen("udp://127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	self, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { self.Close() })
	phone, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { phone.Close() })
	c := newReadConn(self, s, nil, false)
	from := phone.LocalAddr().(*net.UDPAddr).AddrPort()
	msg := strings.ReplaceAll(challengeInviteMsg, "branch=z9hG4bK-7", "branch="+branch)
	m, err := sip.ParseMessage([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	req := m.(*sip.Request)
	req.SetSource(from.String())
	tx := &inviteTx{conn: c, table: &s.invites, key: readTxKey{from, branch}, origin: req, done: make(chan struct{}), acks: make(chan *sip.Request, 1)}
	s.invites.add(tx.key, tx)
	return &inviteTxFixture{t: t, s: s, c: c, phone: phone, invite: req, tx: tx}
}

// read is the phone's next datagram's first line.
func (f *inviteTxFixture) read() string {
	f.t.Helper()
	f.phone.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, _, err := f.phone.ReadFrom(buf)
	if err != nil {
		f.t.Fatalf("phone got nothing: %v", err)
	}
	line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	return line
}

// The read loop's INVITE transaction (readinvite.go) as RFC 3261 17.2.1
// and RFC 6026 have it: a copy of the INVITE gets the last provisional
// answer; a failure is retransmitted (Timer G) until its ACK, which the
// handler hears of; a 2xx leaves the table at once (handleInvite absorbs
// copies); a CANCEL gets 200, runs the cancel callbacks and answers the
// INVITE 487; 100 Trying goes out when the handler is silent for 200 ms.
func TestInviteTransaction(t *testing.T) {
	t.Run("copies and a failure until its ACK", func(t *testing.T) {
		f := newInviteTxFixture(t, "z9hG4bK-a")
		if err := f.tx.Respond(sip.NewResponseFromRequest(f.invite, 180, "Ringing", nil)); err != nil {
			t.Fatal(err)
		}
		if got := f.read(); got != "SIP/2.0 180 Ringing" {
			t.Fatalf("phone got %q", got)
		}
		f.tx.retransmitted()
		if got := f.read(); got != "SIP/2.0 180 Ringing" {
			t.Fatalf("a copy of the INVITE got %q, want the 180 again", got)
		}
		if err := f.tx.Respond(sip.NewResponseFromRequest(f.invite, 486, "Busy Here", nil)); err != nil {
			t.Fatal(err)
		}
		if got := f.read(); got != "SIP/2.0 486 Busy Here" {
			t.Fatalf("phone got %q", got)
		}
		if err := f.tx.Respond(sip.NewResponseFromRequest(f.invite, 180, "Ringing", nil)); err != nil || f.tx.state != inviteCompleted {
			t.Fatalf("a 180 after the 486: %v, state %d", err, f.tx.state)
		}
		// Timer G: the 486 again after T1, the ACK missing.
		if got := f.read(); got != "SIP/2.0 486 Busy Here" {
			t.Fatalf("Timer G sent %q, want the 486 again", got)
		}
		ack := sip.NewRequest(sip.ACK, f.invite.Recipient)
		f.tx.acked(ack)
		select {
		case got := <-f.tx.Acks():
			if got != ack {
				t.Error("another ACK on Acks")
			}
		default:
			t.Fatal("the handler did not hear of the ACK")
		}
		if f.tx.state != inviteConfirmed {
			t.Errorf("state %d after the ACK, want confirmed", f.tx.state)
		}
		var ended []error
		f.tx.OnTerminate(func(_ string, err error) { ended = append(ended, err) })
		f.tx.Terminate()
		f.tx.Terminate()
		<-f.tx.Done()
		if len(ended) != 1 || ended[0] != nil || f.s.invites.len() != 0 {
			t.Errorf("terminate callbacks %v, %d transactions kept", ended, f.s.invites.len())
		}
		if err := f.tx.Respond(sip.NewResponseFromRequest(f.invite, 486, "Busy Here", nil)); !errors.Is(err, sip.ErrTransactionTerminated) {
			t.Errorf("answer after the end: %v", err)
		}
	})
	t.Run("2xx leaves the table", func(t *testing.T) {
		f := newInviteTxFixture(t, "z9hG4bK-b")
		ok := sip.NewResponseFromRequest(f.invite, 200, "OK", nil)
		for range 2 { // the second is the handler's retransmission
			if err := f.tx.Respond(ok); err != nil {
				t.Fatal(err)
			}
			if got := f.read(); got != "SIP/2.0 200 OK" {
				t.Fatalf("phone got %q", got)
			}
		}
		if f.s.invites.len() != 0 || f.tx.state != inviteAccepted {
			t.Errorf("%d transactions kept, state %d after a 2xx", f.s.invites.len(), f.tx.state)
		}
	})
	t.Run("CANCEL", func(t *testing.T) {
		f := newInviteTxFixture(t, "z9hG4bK-c")
		var cancels int
		f.tx.OnCancel(func(*sip.Request) { cancels++ })
		cancel := sip.NewRequest(sip.CANCEL, f.invite.Recipient)
		for _, h := range []string{"Via", "From", "To", "Call-ID"} {
			cancel.AppendHeader(sip.HeaderClone(f.invite.GetHeader(h)))
		}
		cancel.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.CANCEL})
		stranger := f.tx.key
		stranger.from = netip.AddrPortFrom(stranger.from.Addr(), stranger.from.Port()+1)
		if f.s.takeCancel(f.c, cancel, stranger.from) {
			t.Fatal("a CANCEL from another source matched the INVITE")
		}
		if !f.s.takeCancel(f.c, cancel, f.tx.key.from) {
			t.Fatal("the CANCEL matched no transaction")
		}
		if got := f.read(); got != "SIP/2.0 200 OK" {
			t.Fatalf("CANCEL answered %q", got)
		}
		if got := f.read(); got != "SIP/2.0 487 Request Terminated" {
			t.Fatalf("INVITE answered %q after the CANCEL", got)
		}
		if cancels != 1 || f.tx.state != inviteCompleted {
			t.Errorf("%d cancel callbacks, state %d", cancels, f.tx.state)
		}
		f.tx.Terminate()
		if !errors.Is(f.tx.Err(), sip.ErrTransactionCanceled) {
			t.Errorf("Err %v, want ErrTransactionCanceled", f.tx.Err())
		}
	})
	t.Run("100 Trying", func(t *testing.T) {
		f := newInviteTxFixture(t, "z9hG4bK-d")
		f.tx.mu.Lock()
		f.tx.trying = time.AfterFunc(sip.Timer_1xx, f.tx.sendTrying)
		f.tx.mu.Unlock()
		if got := f.read(); got != "SIP/2.0 100 Trying" {
			t.Fatalf("a silent handler's INVITE got %q", got)
		}
		f.tx.Terminate()
	})
}

// What the read loop parses from anyone (readRequest) and reads of it
// before any call is looked up (newInviteBranch, the branch of an ACK or
// CANCEL) never fails on any datagram.
func FuzzReadLoopRequest(f *testing.F) {
	f.Add([]byte(challengeInviteMsg))
	f.Add([]byte(strings.Replace(challengeInviteMsg, "INVITE sip:", "CANCEL sip:", 1)))
	f.Add([]byte("ACK sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP 1;branch=\r\nCSeq: 1 ACK\r\nt: <sip:a@b>;tag=x\r\n\r\n"))
	f.Add([]byte("BYE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP x\r\nCSeq: x BYE\r\nCall-ID: \r\n\r\n"))
	f.Add([]byte("INVITE a b\r\nv:\r\nf: sip:@;\r\nt: <\r\ni:\r\nCSeq:\r\n\r\n"))
	p := sip.NewParser()
	f.Fuzz(func(t *testing.T, msg []byte) {
		req := readRequest(p, msg)
		if req == nil {
			return
		}
		if !takenMethod(msg) {
			t.Fatalf("read a %s the read loop does not take", req.Method)
		}
		switch req.Method {
		case sip.INVITE:
			newInviteBranch(req)
		case sip.ACK, sip.CANCEL, sip.BYE:
			req.Via().Params.Get("branch")
			sip.DialogIDFromRequestUAS(req)
			sip.DialogIDFromRequestUAC(req)
		}
	})
}
