package sip

import (
	"context"
	"net/netip"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// calleeDialog is a leg's dialog with its callee, the switch being the UAC
// (RFC 3261 12.1.2, 13.2, 15.1): sipgo's DialogClientSession (sipgoDialog),
// or, for a leg over the UDP listener the read loop serves, the switch's
// own on the read loop's client transactions (udpDialog, legudp.go). The
// methods are DialogClientSession's, which udpDialog follows to the
// letter; Invite and Answer are its InviteRequest and InviteResponse.
type calleeDialog interface {
	// WaitAnswer waits for the INVITE's final answer, passing on each
	// answer to opts.OnResponse and answering a digest challenge with
	// opts' credentials: nil on a 2xx, an ErrDialogResponse on any other
	// final answer. ctx's end CANCELs the INVITE, or only stops it with
	// the cause sipgo.WaitAnswerForceCancelErr.
	WaitAnswer(ctx context.Context, opts sipgo.AnswerOptions) error
	// Ack ACKs the 2xx; WriteAck sends ack, completed from the dialog.
	Ack(ctx context.Context) error
	WriteAck(ctx context.Context, ack *sip.Request) error
	// Bye ends the dialog with a BYE; ReadBye ends it on the callee's.
	Bye(ctx context.Context) error
	ReadBye(req *sip.Request, tx sip.ServerTransaction) error
	// Do sends req within the dialog and waits for its final answer;
	// WriteRequest sends it with no transaction (the ACK of a re-INVITE).
	Do(ctx context.Context, req *sip.Request) (*sip.Response, error)
	WriteRequest(req *sip.Request) error
	// Close frees what the dialog holds; it sends nothing.
	Close() error
	// Context ends with the dialog.
	Context() context.Context
	// DialogID is the dialog's id as sipgo makes it (sip.DialogIDFromResponse),
	// set once answered.
	DialogID() string
	// Invite is the last INVITE sent; Answer the last answer to it.
	Invite() *sip.Request
	Answer() *sip.Response
}

// calleeTarget is where requests within d go (RFC 3261 12.2.1.1): the
// callee's Contact from its answer, else the INVITE's Request-URI; a
// copy, for a request of its own.
func calleeTarget(d calleeDialog) sip.Uri {
	if ct := d.Answer().Contact(); ct != nil {
		return *ct.Address.Clone()
	}
	return *d.Invite().Recipient.Clone()
}

// sipgoDialog is a dialog kept by sipgo.
type sipgoDialog struct{ *sipgo.DialogClientSession }

func (d sipgoDialog) DialogID() string      { return d.ID }
func (d sipgoDialog) Invite() *sip.Request  { return d.InviteRequest }
func (d sipgoDialog) Answer() *sip.Response { return d.InviteResponse }

// writeInvite sends req, a leg's first INVITE, from ua: in a dialog of the
// switch's own (legudp.go) when it goes over UDP from the listener the
// read loop serves to an address (no name to resolve, no option of
// sipgo's to apply), else through sipgo.
func (s *Server) writeInvite(ctx context.Context, ua *sipgo.DialogUA, req *sip.Request, opts ...sipgo.ClientRequestOption) (calleeDialog, error) {
	if s.legConn != nil && len(opts) == 0 && (ua == &s.dialogUA || ua == &s.natDialogUA) && req.Transport() == "UDP" {
		if to, err := netip.ParseAddrPort(req.Destination()); err == nil {
			return s.startUDPDialog(ua, req, to)
		}
	}
	d, err := ua.WriteInvite(ctx, req, opts...)
	if err != nil {
		return nil, err
	}
	return sipgoDialog{d}, nil
}
