package sip

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// rawPeer is a carrier on a bare UDP socket, so that a test can send what
// a real carrier sends when packets are lost (copies of a 2xx, no answer
// at all) and read every datagram the switch's leg sends, byte for byte.
type rawPeer struct {
	t    *testing.T
	conn *net.UDPConn
	p    *sip.Parser
}

func newRawPeer(t *testing.T, host string) *rawPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(host)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawPeer{t: t, conn: conn, p: sip.NewParser()}
}

func (p *rawPeer) addr() string { return p.conn.LocalAddr().String() }

// read is the next request the switch sends, which must be of method m,
// with its bytes and where it came from.
func (p *rawPeer) read(m sip.RequestMethod) (*sip.Request, []byte, *net.UDPAddr) {
	p.t.Helper()
	buf := make([]byte, 65535)
	p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := p.conn.ReadFromUDP(buf)
	if err != nil {
		p.t.Fatalf("waiting for %s: %v", m, err)
	}
	msg, err := p.p.ParseSIP(buf[:n])
	if err != nil {
		p.t.Fatalf("switch sent what does not parse (%v): %q", err, buf[:n])
	}
	req, ok := msg.(*sip.Request)
	if !ok || req.Method != m {
		p.t.Fatalf("switch sent %q, want a %s", strings.SplitN(string(buf[:n]), "\r\n", 2)[0], m)
	}
	return req, bytes.Clone(buf[:n]), from
}

// quiet says whether the switch sends nothing for d.
func (p *rawPeer) quiet(d time.Duration) bool {
	buf := make([]byte, 65535)
	p.conn.SetReadDeadline(time.Now().Add(d))
	_, _, err := p.conn.ReadFromUDP(buf)
	return err != nil
}

// send sends msg to to.
func (p *rawPeer) send(msg []byte, to *net.UDPAddr) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDP(msg, to); err != nil {
		p.t.Fatal(err)
	}
}

// respond is the answer code to req as the carrier sends it: its tag, its
// Contact and, on a 2xx to an INVITE, its SDP.
func (p *rawPeer) respond(req *sip.Request, code int, reason string) []byte {
	var body []byte
	if code == 200 && req.IsInvite() {
		body = []byte(carrierSDP)
	}
	res := sip.NewResponseFromRequest(req, code, reason, body)
	if to := res.To(); to != nil {
		to.Params.Add("tag", "rawpeer")
	}
	a := p.conn.LocalAddr().(*net.UDPAddr)
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "carrier", Host: a.IP.String(), Port: a.Port}})
	if len(body) > 0 {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	return []byte(res.String())
}

// rawPeerFixture is phone 1001 calling 441234 through the switch to a
// carrier on a raw socket.
func rawPeerFixture(t *testing.T) (*Server, *rawPeer, *siptest.Agent, *testDirectory, context.Context) {
	t.Helper()
	dir := newTestDirectory()
	dir.addPhone(routing.Phone{PresentationExternal: 1, PresentationInternal: 1, ID: 1, Name: "1001", Password: "secret1001", Plan: 1})
	carrier := newRawPeer(t, "127.0.0.2")
	p := &routing.Peer{ID: 11, Name: "peer1", Type: routing.PeerSIP, Destination: carrier.addr()}
	dir.addPeer(p)
	dir.addRoute("44", 7, p)
	s, _ := startSwitch(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return s, carrier, siptest.NewAgent(t, "phone", "127.0.0.1"), dir, ctx
}

// A B-leg's dialog ACKs every copy of the callee's 2xx with the very ACK
// it sent first, to where it sent it (RFC 3261 13.2.2.4): a callee whose
// ACK was lost resends its 2xx until one comes, and a call whose ACK
// never came is torn down by the callee after 64*T1. The leg's INVITE
// transaction is kept, without a timer, while the dialog lasts
// (clienttx.go); the read loop hands it the copies.
func TestLegDialogACKsEveryCopyOf2xx(t *testing.T) {
	s, carrier, phone, dir, ctx := rawPeerFixture(t)
	calls := make(chan *sipgo.DialogClientSession, 1)
	errs := make(chan error, 1)
	go func() {
		d, err := phone.Call(ctx, s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
		if err != nil {
			errs <- err
			return
		}
		calls <- d
	}()
	inv, _, from := carrier.read(sip.INVITE)
	ok := carrier.respond(inv, 200, "OK")
	carrier.send(ok, from)
	_, ack, ackFrom := carrier.read(sip.ACK)
	var d *sipgo.DialogClientSession
	select {
	case d = <-calls:
	case err := <-errs:
		t.Fatalf("call: %v", err)
	}
	before := s.Stats().ReadLoopResponses
	for i := range 2 {
		carrier.send(ok, from) // our ACK was lost
		_, again, againFrom := carrier.read(sip.ACK)
		if !bytes.Equal(again, ack) || againFrom.String() != ackFrom.String() {
			t.Fatalf("copy %d of the 2xx ACKed with\n%s\nfrom %s, want the first ACK again from %s:\n%s", i+1, again, againFrom, ackFrom, ack)
		}
	}
	if got := s.Stats().ReadLoopResponses - before; got != 2 {
		t.Errorf("read loop handed %d copies of the 2xx to the leg, want 2", got)
	}
	if st := s.Stats(); st.ActiveCalls != 1 {
		t.Fatalf("call torn down by the copies: active calls %d", st.ActiveCalls)
	}
	// The phone hangs up: the BYE goes to the carrier in the dialog, the
	// CSeq after the INVITE's.
	byeDone := make(chan error, 1)
	go func() { byeDone <- d.Bye(ctx) }()
	bye, _, byeFrom := carrier.read(sip.BYE)
	if got, want := bye.CSeq().SeqNo, inv.CSeq().SeqNo+1; got != want {
		t.Errorf("BYE CSeq %d, want %d", got, want)
	}
	if bye.CallID().Value() != inv.CallID().Value() {
		t.Errorf("BYE Call-ID %q, want the INVITE's %q", bye.CallID().Value(), inv.CallID().Value())
	}
	carrier.send(carrier.respond(bye, 200, "OK"), byeFrom)
	if err := <-byeDone; err != nil {
		t.Fatalf("phone's BYE: %v", err)
	}
	eventually(t, "slots released", func() bool { return dir.activeSlots() == 0 && s.Stats().ActiveCalls == 0 })
	eventually(t, "the leg's transactions gone", func() bool { return s.clientTxs.len() == 0 })
	// A copy of the 2xx after the dialog ended finds no transaction: it
	// goes to sipgo's stray handler, which ACKs it and hangs up.
	carrier.send(ok, from)
	carrier.read(sip.ACK)
	carrier.read(sip.BYE)
}

// A leg's INVITE is sent again every T1, doubling, until an answer comes
// (Timer A, RFC 3261 17.1.1.2), the same bytes each time; a provisional
// answer stops it. A failure is ACKed by the transaction with the
// INVITE's branch (17.1.1.3) and the call fails over or fails.
func TestLegInviteRetransmittedUntilAnswered(t *testing.T) {
	s, carrier, phone, dir, ctx := rawPeerFixture(t)
	errs := make(chan error, 1)
	go func() {
		_, err := phone.Call(ctx, s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
		errs <- err
	}()
	inv, first, from := carrier.read(sip.INVITE)
	_, again, _ := carrier.read(sip.INVITE) // after T1: no answer yet
	if !bytes.Equal(first, again) {
		t.Fatalf("INVITE sent again as\n%s\nwant the same bytes:\n%s", again, first)
	}
	carrier.send(carrier.respond(inv, 180, "Ringing"), from)
	if !carrier.quiet(3 * sip.T1) {
		t.Fatal("INVITE sent again after a provisional answer")
	}
	// A stranger who knows the call but not the branch forges its answer:
	// it matches no transaction, and the call goes on ringing.
	stranger := newRawPeer(t, "127.0.0.9")
	forged := sip.NewResponseFromRequest(inv, 200, "OK", []byte(carrierSDP))
	forged.Via().Params.Add("branch", "z9hG4bK.guessed")
	forged.To().Params.Add("tag", "forged")
	sa := stranger.conn.LocalAddr().(*net.UDPAddr)
	forged.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: sa.IP.String(), Port: sa.Port}})
	stranger.send([]byte(forged.String()), s.Addrs()[0].(*net.UDPAddr))
	stranger.read(sip.ACK) // the stray answer's, from sipgo's stray handler
	if st := s.Stats(); st.CallsAnswered != 0 {
		t.Fatalf("forged 200 answered the call (%d answered)", st.CallsAnswered)
	}
	carrier.send(carrier.respond(inv, 486, "Busy Here"), from)
	ack, _, _ := carrier.read(sip.ACK)
	ib, _ := inv.Via().Params.Get("branch")
	ab, _ := ack.Via().Params.Get("branch")
	if ab != ib || ack.CSeq().SeqNo != inv.CSeq().SeqNo || ack.Recipient.String() != inv.Recipient.String() {
		t.Errorf("ACK of the 486: branch %s CSeq %d URI %s, want the INVITE's %s %d %s", ab, ack.CSeq().SeqNo, ack.Recipient.String(), ib, inv.CSeq().SeqNo, inv.Recipient.String())
	}
	if tag, _ := ack.To().Params.Get("tag"); tag != "rawpeer" {
		t.Errorf("ACK of the 486 To tag %q, want the answer's", tag)
	}
	if got := siptest.StatusOf(<-errs); got != 486 {
		t.Errorf("caller got %d, want 486", got)
	}
	eventually(t, "slots released", func() bool { return dir.activeSlots() == 0 && s.Stats().ActiveCalls == 0 })
	if n := s.clientTxs.len(); n != 0 {
		t.Errorf("%d client transactions left after the call", n)
	}
}

// The caller's CANCEL of a ringing call reaches the callee as a CANCEL
// of the leg's INVITE (same branch, RFC 3261 9.1); the callee's 487 is
// ACKed; the leg's transactions are gone after it.
func TestLegInviteCancelled(t *testing.T) {
	s, carrier, phone, dir, ctx := rawPeerFixture(t)
	callCtx, hangUp := context.WithCancel(ctx)
	errs := make(chan error, 1)
	go func() {
		_, err := phone.Call(callCtx, s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
		errs <- err
	}()
	inv, _, from := carrier.read(sip.INVITE)
	carrier.send(carrier.respond(inv, 180, "Ringing"), from)
	hangUp() // the phone CANCELs once it has the 180 (RFC 3261 9.1)
	cancel, _, cancelFrom := carrier.read(sip.CANCEL)
	ib, _ := inv.Via().Params.Get("branch")
	cb, _ := cancel.Via().Params.Get("branch")
	if cb != ib || cancel.CSeq().SeqNo != inv.CSeq().SeqNo {
		t.Errorf("CANCEL branch %s CSeq %d, want the INVITE's %s %d", cb, cancel.CSeq().SeqNo, ib, inv.CSeq().SeqNo)
	}
	carrier.send(carrier.respond(cancel, 200, "OK"), cancelFrom)
	carrier.send(carrier.respond(inv, 487, "Request Terminated"), from)
	carrier.read(sip.ACK)
	<-errs
	eventually(t, "slots released", func() bool { return dir.activeSlots() == 0 && s.Stats().ActiveCalls == 0 })
	eventually(t, "the leg's transactions gone", func() bool { return s.clientTxs.len() == 0 })
}

// What the read loop parses of an answer from anyone (readResponse), and
// what a client transaction and its dialog then read of it: its branch,
// the ACK of a refusal, the dialog's id, Contact and Record-Route.
func FuzzReadLoopResponse(f *testing.F) {
	f.Add([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContact: <sip:c@127.0.0.2:5070>\r\nRecord-Route: <sip:p@127.0.0.3;lr>\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("SIP/2.0 486 Busy\r\nv: SIP/2.0/UDP 1;branch=\r\nCSeq: 1 CANCEL\r\nt: <sip:a@b>;tag=x\r\n\r\n"))
	f.Add([]byte("SIP/2.0 1 a\r\nv:\r\nf: sip:@;\r\nt: <\r\ni:\r\nCSeq:\r\nm: <>\r\n\r\n"))
	p := sip.NewParser()
	invite := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "a", Host: "127.0.0.2", Port: 5070})
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 5060}
	via.Params.Add("branch", "z9hG4bKabc")
	invite.AppendHeader(via)
	invite.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "a", Host: "b"}})
	callID := sip.CallIDHeader("x")
	invite.AppendHeader(&callID)
	invite.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	f.Fuzz(func(t *testing.T, msg []byte) {
		rawTopBranch(msg)
		res := readResponse(p, msg)
		if res == nil {
			return
		}
		res.Via().Params.Get("branch")
		if res.StatusCode >= 300 {
			failureAck(invite, res)
		}
		sip.DialogIDFromResponse(res)
		res.Contact()
		sipmsg.Headers(res, "Record-Route")
	})
}
