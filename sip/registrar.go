package sip

import (
	"context"
	"net/netip"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// handleRegister takes a REGISTER (RFC 3261 10.3): a blocked address
// gets 403, a request without To 400, one without valid credentials a
// challenge; the registrar applies the rest.
func (s *Server) handleRegister(req *sip.Request, tx sip.ServerTransaction) {
	src := sipmsg.SourceAddr(req)
	// Until the request proves a line, its transaction is not kept for
	// Timer J (32 s over UDP): see statelessUntilAuthenticated.
	authed := false
	defer statelessUntilAuthenticated(tx, &authed)
	if s.auth.Blocked(src) {
		s.stats.blocked.Add(1)
		sipmsg.Respond(tx, req, 403, "Forbidden")
		return
	}
	to := req.To()
	if to == nil {
		sipmsg.Respond(tx, req, 400, "Bad Request")
		return
	}
	phone, ok := s.authenticate(req, tx, src, false)
	if !ok {
		return
	}
	authed = true
	s.reg.Register(req, tx, phone)
}

// pingLoop runs the registrar's OPTIONS pings from the server's client
// until ctx is done or the server is closed.
func (s *Server) pingLoop(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	s.reg.PingLoop(ctx, func(ctx context.Context, req *sip.Request) (*sip.Response, error) {
		req.AppendHeader(s.uaHeader)
		return s.clientFor(req.Transport()).Do(ctx, req)
	})
}

// Registrations returns the registered contacts now (for status pages and
// the API), unexpired ones only.
func (s *Server) Registrations() []records.Registration { return s.reg.Registrations() }

// SyncRegistrations sets the bindings of phone to regs, the phone's
// bindings as a shared store holds them now (hosts of a cluster, each
// with its own registrar, learn of each other's REGISTERs this way).
// Calls to the line then ring every contact whichever host took its
// REGISTER, sent from this host straight to the address the REGISTER came
// from. Lapsed and unparsable bindings are left out.
func (s *Server) SyncRegistrations(phone string, regs []records.Registration) {
	s.reg.Sync(phone, regs)
}

// trustRegistered tells the flood limit that the sources of the bindings
// restored at start proved a line before the restart.
func (s *Server) trustRegistered() {
	now := s.cfg.now()
	for _, r := range s.reg.Registrations() {
		if ap, err := netip.ParseAddrPort(r.Source); err == nil {
			s.flood.trust(ap, now)
		}
	}
}
