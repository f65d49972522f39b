package sip

import (
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/media"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// sip_endpoints with a fixed host that are no line are trunks
// (routing.EndpointTrunk has the rules): calls from them are a carrier's
// (local lines only), calls to their names go to their hosts, and those
// with registration=out are registered by the switch (outreg.go). This
// file is the call side; trunkkeeper.go runs registrations and qualify.

// trunkDirectory is a Directory that serves sip_endpoints as trunks;
// routing.CallControl is one. A Directory that is not has no trunks.
type trunkDirectory interface {
	Trunk(name string) (*routing.EndpointTrunk, bool)
	TrunkBySource(src netip.AddrPort, transport string, anyPort bool) (*routing.EndpointTrunk, bool)
	Trunks() []*routing.EndpointTrunk
}

// trunkNamed returns the trunk called name, if the directory has trunks.
func (s *Server) trunkNamed(name string) (*routing.EndpointTrunk, bool) {
	if s.trunkDir == nil {
		return nil, false
	}
	return s.trunkDir.Trunk(name)
}

// trunkOf returns the trunk req comes from: its source is the trunk's
// host (routing.EndpointTrunk), or its Request-URI carries the line
// parameter of one of the switch's outbound registrations (the Contact
// the registrar was given, as res_pjsip's line=yes; outreg.go). Anything
// else that merely names a trunk (its From, its Request-URI user) is no
// trunk's.
func (s *Server) trunkOf(req *sip.Request) *routing.EndpointTrunk {
	if s.trunkDir == nil {
		return nil
	}
	if src, err := netip.ParseAddrPort(req.Source()); err == nil {
		if t, ok := s.trunkDir.TrunkBySource(src, req.Transport(), s.cfg.peerMatch == PeerMatchAddress); ok {
			return t
		}
	}
	if req.Recipient.UriParams != nil {
		if token, ok := req.Recipient.UriParams.Get("line"); ok && token != "" {
			if name, ok := s.keeper.lineOwner(token); ok {
				if t, ok := s.trunkDir.Trunk(name); ok && t.RegisterOut {
					return t
				}
			}
		}
	}
	return nil
}

// trunkCredentials is what a call from a trunk that is challenged
// (routing.EndpointTrunk.InSecret) is proved with: the trunk's digest
// username and secret, else a line's credentials (a phone behind the same
// address). Which of the two it proved decides whose call it is.
type trunkCredentials struct {
	t     *routing.EndpointTrunk
	lines authLines
}

func (c trunkCredentials) Phone(user string) (*routing.Phone, bool) {
	if strings.EqualFold(user, c.t.AuthUser) {
		return c.t.Line, true
	}
	return c.lines.Phone(user)
}

// authenticateTrunk checks the credentials of an INVITE from trunk t
// (authenticate, with the trunk's own credential first). fromTrunk says
// that it proved the trunk; otherwise phone is the line it proved. When
// ok is false req has been answered.
func (s *Server) authenticateTrunk(req *sip.Request, tx sip.ServerTransaction, src netip.Addr, t *routing.EndpointTrunk) (phone *routing.Phone, fromTrunk, ok bool) {
	p, ok := s.auth.CheckWith(req, tx, src, true, trunkCredentials{t: t, lines: authLines{s.dir}})
	if !ok {
		ap, err := netip.ParseAddrPort(req.Source())
		s.challengeHold.keep(tx, src, err == nil && s.flood.trusted(ap))
		return nil, false, false
	}
	if ap, err := netip.ParseAddrPort(req.Source()); err == nil {
		s.flood.trust(ap, s.cfg.now())
	}
	if p == t.Line {
		return nil, true, true
	}
	return p, false, true
}

// localName is the stored name of the line, or for a call a line makes
// (lineCall) also of the trunk, called name: what routing.Dialled decides
// a called number on as it is. The functions are bound once (New), so
// the call path allocates none.
func (s *Server) localName(lineCall bool) func(string) (string, bool) {
	if lineCall && s.trunkDir != nil {
		return s.lineOrTrunkFn
	}
	return s.lineNameFn
}

// lineOrTrunkName is the stored name of the line or trunk called name.
func (s *Server) lineOrTrunkName(name string) (string, bool) {
	if n, ok := s.lineName(name); ok {
		return n, true
	}
	if t, ok := s.trunkDir.Trunk(name); ok {
		return t.Name, true
	}
	return "", false
}

// ringTrunk sends the call to trunk t: one INVITE to its host (its
// outboundproxy when set) with its From rules, its challenges answered
// with its outbound credentials, for the maximum ring time. A qualified
// trunk that did not answer its last OPTIONS is not tried (480), as
// Asterisk does not dial an unreachable contact.
func (c *call) ringTrunk(t *routing.EndpointTrunk) result {
	s := c.s
	if !s.keeper.reachable(t.Name) {
		c.noteRefusal("endpoint unreachable (qualify)")
		s.cfg.log.Info("sip call attempt", "call_id", c.callID, "caller", c.caller, "called", t.Name, "endpoint", t.Name,
			"outcome", causeUnavailable, "status", 480, "reason", "unreachable (qualify)")
		return result{code: 480, reason: "Temporarily Unavailable"}
	}
	offer, err := c.policyBody(routing.PeerCodecOffer(&t.Peer, c.callerPhone))
	if err == nil {
		offer, err = c.relayBody(offer, false, false, media.EncryptionNone)
	}
	if err != nil {
		code, reason, refusal := mediaFailure(err)
		c.noteRefusal(refusal)
		s.cfg.log.Info("sip call attempt", "call_id", c.callID, "caller", c.caller, "called", t.Name, "endpoint", t.Name,
			"outcome", causeOfStatus(code), "status", code, "reason", refusal)
		return result{code: code, reason: reason}
	}
	l, err := c.startTrunkLeg(t, offer)
	if err != nil {
		s.cfg.log.Warn("sip leg to endpoint not started", "call_id", c.callID, "endpoint", t.Name, "error", err)
		return result{code: 503, reason: "Service Unavailable"}
	}
	return c.collect([]*leg{l}, 0, s.cfg.maxRing)
}

// startTrunkLeg sends the INVITE of a call to trunk t.
func (c *call) startTrunkLeg(t *routing.EndpointTrunk, offer []byte) (*leg, error) {
	l := c.newLeg(offer)
	l.phone, l.called, l.endpoint = t.Name, t.Name, t.Name
	l.user, l.pass = t.AuthUser, t.OutSecret
	l.resend = func(sessionSecs int) (calleeDialog, error) {
		req := c.trunkInvite(t, sessionSecs, offer)
		ua := c.s.dialogUAFor(req.Transport(), false)
		req.ReplaceHeader(&sip.ContactHeader{Address: ua.ContactHDR.Address})
		return c.s.writeInvite(l.ctx, ua, req)
	}
	return l.start()
}

// trunkInvite is the INVITE to trunk t: Request-URI and To
// sip:[defaultuser@]host:port (the rendered aor contact), over its
// transport; From the caller as lines see it (its internal identity),
// with fromuser as user and fromdomain as host when set, the caller
// withheld or not: fromuser is the trunk account's name, not the
// caller's number, and res_pjsip sends it for a withheld caller too
// (display name Anonymous; seen through Asterisk 20.20.1).
func (c *call) trunkInvite(t *routing.EndpointTrunk, sessionSecs int, offer []byte) *sip.Request {
	dest := t.Host
	uri := sip.Uri{Scheme: "sip", User: t.RequestUser, Host: dest.Host, Port: dest.PortOrDefault()}
	req := c.newLegRequest(uri, t.RequestUser, c.fromUser, c.fromName, sessionSecs, offer)
	if from := req.From(); from != nil {
		if t.FromUser != "" {
			from.Address.User = t.FromUser
		}
		if t.FromDomain != "" {
			from.Address.Host = t.FromDomain
		}
	}
	if dest.Transport != "udp" {
		req.SetTransport(transportName(dest.Transport))
		req.Recipient.UriParams = sip.NewParams()
		req.Recipient.UriParams.Add("transport", dest.Transport)
	}
	if t.Proxy != nil {
		req.SetDestination(sipmsg.JoinHostPort(t.Proxy.Host, t.Proxy.PortOrDefault()))
	}
	return req
}

// carrierSource reports whether src is a peer's or a trunk's source: the
// flood limit never limits a carrier (flood.go). The read filter sees TLS
// as TCP.
func (s *Server) carrierSource(src netip.AddrPort, transport string) bool {
	if _, ok := s.peerAt(src, transport); ok {
		return true
	}
	if s.trunkDir == nil {
		return false
	}
	anyPort := s.cfg.peerMatch == PeerMatchAddress
	if _, ok := s.trunkDir.TrunkBySource(src, transport, anyPort); ok {
		return true
	}
	_, ok := s.trunkDir.TrunkBySource(src, "TLS", anyPort)
	return ok && transport == "TCP"
}
