package sip

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// udpDialog is a leg's dialog over the UDP listener the read loop serves,
// on the read loop's client transactions (clienttx.go) instead of
// sipgo's: the same requests, built by the same rules as sipgo's
// DialogClientSession (RFC 3261 12.2.1.1: CSeq, Route from the answer's
// Record-Route, the callee's Contact as target; 13.2.2.4: the ACK; 9.1:
// the CANCEL), so a callee cannot tell the two apart. TCP, TLS and WS
// legs, legs to a name, and legs whose INVITE takes a sipgo option stay
// on sipgo (writeInvite).
type udpDialog struct {
	s    *Server
	conn *readConn
	ua   *sipgo.DialogUA // Contact; RewriteContact: requests go where the answer came from
	to   netip.AddrPort  // where the INVITE went

	// invite and answer are written by WaitAnswer alone, and read by the
	// call once it returned (as sipgo's InviteRequest and InviteResponse).
	invite *sip.Request
	answer *sip.Response
	tx     *clientTx // the INVITE's
	id     string

	ctx    context.Context
	cancel context.CancelCauseFunc
	state  atomic.Int32 // sip.DialogState
	cseq   atomic.Uint32
	once   sync.Once
}

var _ calleeDialog = (*udpDialog)(nil)

// startUDPDialog sends req, a leg's first INVITE, to to.
func (s *Server) startUDPDialog(ua *sipgo.DialogUA, req *sip.Request, to netip.AddrPort) (*udpDialog, error) {
	d := &udpDialog{s: s, conn: s.legConn, ua: ua, to: to, invite: req}
	d.ctx, d.cancel = context.WithCancelCause(context.Background())
	d.completeInvite(req)
	tx, err := sendClientTx(d.conn, &s.clientTxs, req, to)
	if err != nil {
		d.cancel(err)
		return nil, fmt.Errorf("sip invite to %s: %w", to, err)
	}
	d.tx = tx
	d.cseq.Store(req.CSeq().SeqNo)
	return d, nil
}

// completeInvite adds what sipgo's client adds to a dialog's INVITE: a Via
// of the listener's with a new branch, Max-Forwards and Content-Length.
func (d *udpDialog) completeInvite(req *sip.Request) {
	req.PrependHeader(d.newVia())
	if req.MaxForwards() == nil {
		mf := sip.MaxForwardsHeader(70)
		req.AppendHeader(&mf)
	}
	if req.Body() == nil {
		req.SetBody(nil)
	}
}

// newVia is the top Via of a request the dialog sends: the switch's
// address as its Contact gives it (sipgo's client host and port: the
// first UDP listener's) and a new branch.
func (d *udpDialog) newVia() *sip.ViaHeader {
	contact := d.s.dialogUA.ContactHDR.Address
	v := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: contact.Host, Port: contact.Port}
	// crypto/rand, not sipgo's GenerateBranchN (math/rand): the branch is
	// all an answer is matched by (clienttx.go).
	v.Params.Add("branch", sip.RFC3261BranchMagicCookie+"."+rand.Text())
	return v
}

func (d *udpDialog) DialogID() string         { return d.id }
func (d *udpDialog) Invite() *sip.Request     { return d.invite }
func (d *udpDialog) Answer() *sip.Response    { return d.answer }
func (d *udpDialog) Context() context.Context { return d.ctx }

// maxAuthAttempts is how many digest challenges an INVITE answers: the
// second for a stale nonce (sipgo's number).
const maxAuthAttempts = 2

// WaitAnswer is sipgo's DialogClientSession.WaitAnswer on the dialog's
// transactions.
func (d *udpDialog) WaitAnswer(ctx context.Context, opts sipgo.AnswerOptions) error {
	tx := d.tx
	auths := 0
	var r *sip.Response
	for {
		select {
		case r = <-tx.provisional:
		case <-tx.done:
			select {
			case r = <-tx.provisional: // those before the final one first
			default:
				final, err := tx.finalAnswer()
				if err != nil {
					return err
				}
				r = final
			}
		case <-ctx.Done():
			defer tx.terminate()
			return d.cancelInvite(ctx, tx)
		}
		d.answer = r
		if opts.OnResponse != nil {
			if err := opts.OnResponse(r); err != nil {
				tx.terminate()
				return err
			}
		}
		if r.IsSuccess() {
			break
		}
		if r.IsProvisional() {
			continue
		}
		if opts.Password != "" && auths < maxAuthAttempts {
			if header, ok := challengeHeader(r); ok {
				auths++
				next, err := d.authenticated(r, header, opts)
				if err != nil {
					return err
				}
				if tx, err = sendClientTx(d.conn, &d.s.clientTxs, next, d.to); err != nil {
					return fmt.Errorf("sip invite to %s: %w", d.to, err)
				}
				d.invite, d.tx = next, tx
				continue
			}
		}
		return &sipgo.ErrDialogResponse{Res: r}
	}
	id, err := sip.DialogIDFromResponse(r)
	if err != nil {
		return err
	}
	d.id = id
	d.state.Store(int32(sip.DialogStateEstablished))
	return nil
}

// challengeHeader is the name of the header that answers r's digest
// challenge, when r is one (401 with WWW-Authenticate, 407 with
// Proxy-Authenticate).
func challengeHeader(r *sip.Response) (string, bool) {
	switch {
	case r.StatusCode == sip.StatusProxyAuthRequired && r.GetHeader("Proxy-Authenticate") != nil:
		return "Proxy-Authorization", true
	case r.StatusCode == sip.StatusUnauthorized && r.GetHeader("WWW-Authenticate") != nil:
		return "Authorization", true
	}
	return "", false
}

// authenticated is the INVITE again with credentials for challenge r (RFC
// 3261 22.2), the next CSeq and a new branch, as sipgo sends it.
func (d *udpDialog) authenticated(r *sip.Response, header string, opts sipgo.AnswerOptions) (*sip.Request, error) {
	challengeName := "WWW-Authenticate"
	if header == "Proxy-Authorization" {
		challengeName = "Proxy-Authenticate"
	}
	chal, err := digest.ParseChallenge(r.GetHeader(challengeName).Value())
	if err != nil {
		return nil, fmt.Errorf("sip digest challenge %q: %w", r.GetHeader(challengeName).Value(), err)
	}
	chal.Algorithm = sip.ASCIIToUpper(chal.Algorithm)
	cred, err := digest.Digest(chal, digest.Options{
		Method:   sip.INVITE.String(),
		URI:      d.invite.Recipient.Addr(),
		Username: opts.Username,
		Password: opts.Password,
	})
	if err != nil {
		return nil, fmt.Errorf("sip digest answer: %w", err)
	}
	next := d.invite.Clone()
	next.RemoveHeader(header)
	next.AppendHeader(sip.NewHeader(header, cred.String()))
	next.RemoveHeader("Via")
	next.PrependHeader(d.newVia())
	seq := d.cseq.Add(1)
	next.CSeq().SeqNo = seq
	return next, nil
}

// cancelInvite CANCELs the INVITE once a provisional answer has come (RFC
// 3261 9.1), and waits for its final answer for up to 64*T1; with the
// cause WaitAnswerForceCancelErr it only stops the transaction, unless a
// provisional answer has reached it after all: the leg that forced it
// (abandon) had not seen one yet, and without a CANCEL the callee would
// ring on with nobody there. As sipgo's, it returns ctx's error once
// done.
func (d *udpDialog) cancelInvite(ctx context.Context, tx *clientTx) error {
	if context.Cause(ctx) == sipgo.WaitAnswerForceCancelErr && !tx.proceeding() {
		return ctx.Err()
	}
	if d.answer == nil {
		select {
		case r := <-tx.provisional:
			d.answer = r
		case <-tx.done:
			final, err := tx.finalAnswer()
			if err != nil {
				return err
			}
			d.answer = final
			return fmt.Errorf("non provisional response received during CANCEL. resp=%s", final.StartLine())
		}
	}
	ctt, err := tx.sendCancel(inviteTxRequest(d.invite, sip.CANCEL, d.invite.To()))
	if err != nil {
		return err
	}
	<-ctt.done
	res, err := ctt.finalAnswer()
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("cancel failed with non 200. code=%d", res.StatusCode)
	}
	wait := time.NewTimer(64 * sip.T1)
	defer wait.Stop()
	for {
		select {
		case <-tx.provisional:
		case <-tx.done:
			final, err := tx.finalAnswer()
			if err != nil {
				return err
			}
			d.answer = final
			return ctx.Err()
		case <-wait.C:
			return ctx.Err()
		}
	}
}

// Ack ACKs the 2xx (RFC 3261 13.2.2.4).
func (d *udpDialog) Ack(ctx context.Context) error {
	return d.WriteAck(ctx, sip.NewRequest(sip.ACK, calleeTarget(d)))
}

// WriteAck sends ack, completed from the dialog, and keeps it to send
// again for each copy of the 2xx.
func (d *udpDialog) WriteAck(ctx context.Context, ack *sip.Request) error {
	to, err := d.prepare(ctx, ack)
	if err != nil {
		return err
	}
	wire := marshalRequest(ack)
	d.tx.setAck(wire)
	if err := d.conn.writeTo(wire, to); err != nil {
		return err
	}
	d.state.Store(int32(sip.DialogStateConfirmed))
	return nil
}

// prepare completes req within the dialog as sipgo's buildReq does (RFC
// 3261 12.2.1.1) and says where it goes: From, To, Call-ID, CSeq (the
// dialog's next, the last for ACK and CANCEL), Max-Forwards, Route from
// the answer's Record-Route (reversed; strict routing puts the first in
// the Request-URI), Contact, a Via with a new branch.
func (d *udpDialog) prepare(ctx context.Context, req *sip.Request) (netip.AddrPort, error) {
	if d.answer == nil || d.answer.To() == nil {
		return netip.AddrPort{}, errors.New("sip request in dialog: no answer with a To header")
	}
	if req.From() == nil {
		req.AppendHeader(sip.HeaderClone(d.invite.From()))
	}
	if req.To() == nil {
		req.AppendHeader(sip.HeaderClone(d.answer.To()))
	}
	if req.CallID() == nil {
		req.AppendHeader(sip.HeaderClone(d.invite.CallID()))
	}
	if req.MaxForwards() == nil {
		mf := sip.MaxForwardsHeader(70)
		req.AppendHeader(&mf)
	}
	cseq := req.CSeq()
	if cseq == nil {
		cseq = &sip.CSeqHeader{MethodName: req.Method}
		req.AppendHeader(cseq)
	}
	if req.IsAck() || req.IsCancel() {
		cseq.SeqNo = d.cseq.Load()
	} else {
		cseq.SeqNo = d.cseq.Add(1)
	}
	dest := ""
	if routes := sipmsg.Headers(d.answer, "Record-Route"); len(routes) > 0 {
		for i := len(routes) - 1; i >= 0; i-- {
			req.AppendHeader(sip.NewHeader("Route", routes[i].Value()))
		}
		first := req.Route()
		if first != nil && !first.Address.UriParams.Has("lr") {
			req.Recipient = first.Address // strict routing
		}
		if first != nil {
			dest = uriDestination(first.Address, "UDP")
		}
	} else if d.ua.RewriteContact {
		dest = d.answer.Source()
	}
	if dest == "" {
		dest = uriDestination(req.Recipient, "UDP")
	}
	if req.Contact() == nil {
		req.AppendHeader(sip.HeaderClone(&d.ua.ContactHDR))
	}
	if req.Via() == nil {
		req.PrependHeader(d.newVia())
	}
	if req.Body() == nil {
		req.SetBody(nil)
	}
	req.SetTransport("UDP")
	to, err := resolveUDP(ctx, dest)
	if err != nil {
		return netip.AddrPort{}, err
	}
	req.SetDestination(to.String())
	return to, nil
}

// resolveUDP is the address of dest, host:port, looking a name up (a
// callee's Contact or Record-Route may name a host).
func resolveUDP(ctx context.Context, dest string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(dest); err == nil {
		return ap, nil
	}
	host, port, err := net.SplitHostPort(dest)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("sip destination %q: %w", dest, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("sip destination %q: %w", dest, err)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("sip destination %q: %w", dest, err)
	}
	if len(ips) == 0 {
		return netip.AddrPort{}, fmt.Errorf("sip destination %q: no address", dest)
	}
	return netip.AddrPortFrom(ips[0].Unmap(), uint16(p)), nil
}

// Bye ends the dialog with a BYE and waits for its answer.
func (d *udpDialog) Bye(ctx context.Context) error {
	defer d.Close()
	if d.answer == nil {
		return errors.New("bye: can not send as no invite response present")
	}
	switch st := sip.DialogState(d.state.Load()); {
	case st == sip.DialogStateEnded:
		return nil
	case st != sip.DialogStateConfirmed && !(d.answer.IsProvisional() && d.answer.StatusCode != 100):
		return errors.New("bye: dialog neither confirmed nor early")
	}
	res, err := d.Do(ctx, sip.NewRequest(sip.BYE, calleeTarget(d)))
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return sipgo.ErrDialogResponse{Res: res}
	}
	d.end()
	return nil
}

// ReadBye answers the callee's BYE and ends the dialog.
func (d *udpDialog) ReadBye(req *sip.Request, tx sip.ServerTransaction) error {
	d.end()
	defer d.Close()
	return tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
}

func (d *udpDialog) end() {
	d.state.Store(int32(sip.DialogStateEnded))
	d.cancel(nil)
}

// Do sends req within the dialog and waits for its final answer.
func (d *udpDialog) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	to, err := d.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	tx, err := sendClientTx(d.conn, &d.s.clientTxs, req, to)
	if err != nil {
		return nil, err
	}
	// A re-INVITE's transaction is kept for nothing after this: copies of
	// its 2xx go to the stray handler, which ACKs them.
	defer tx.close()
	for {
		select {
		case <-tx.provisional:
		case <-tx.done:
			return tx.finalAnswer()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// WriteRequest sends req within the dialog with no transaction.
func (d *udpDialog) WriteRequest(req *sip.Request) error {
	ctx, cancel := context.WithTimeout(context.Background(), inDialogTimeout)
	defer cancel()
	to, err := d.prepare(ctx, req)
	if err != nil {
		return err
	}
	return d.conn.writeTo(marshalRequest(req), to)
}

// Close ends the INVITE's transaction, kept for copies of the 2xx.
func (d *udpDialog) Close() error {
	d.once.Do(func() {
		if d.tx != nil {
			d.tx.close()
		}
	})
	return nil
}
