package sip

import (
	"context"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Lines with ping=1 (phones/create: "SIP ping handset") have each
// registered contact sent OPTIONS every ping interval, like Asterisk's
// qualify: it keeps the phone's NAT binding open and finds a phone that
// went away long before its registration lapses. Any answer, even 405 or
// 404, shows the contact alive; none within the ping timeout marks it
// unreachable, and calls to the line skip it: with every contact
// unreachable the line is treated as unregistered (its unregistered
// destination at once, not a ring time of silence). A REGISTER from the
// contact, or an answer to a later ping, makes it reachable again.
//
// Contacts behind NAT (binding.behindNAT) are sent the same OPTIONS
// whatever the line's ping, as a keep-alive: a NAT forgets an idle UDP
// mapping within minutes, and the calls to the phone go to that mapping
// (RFC 3581 rport). INFERRED, as Kamailio's nathelper pings NATed
// contacts: only ping=1 lines are marked unreachable by a missing answer,
// so ping keeps its meaning for calls.

// pingInFlight bounds the OPTIONS awaiting an answer at once. A round is
// spread over the ping interval, so about contacts / interval * timeout
// are in flight: 100,000 pinged contacts every 60 s with a 3 s timeout
// need 5,000 when none answers.
const pingInFlight = 8192

// pingContacts sends one round of OPTIONS to the contacts of lines with
// ping=1, spread evenly over the ping interval (a round of 100,000 sent
// back to back would be a burst the phones' NATs and the switch's own
// socket do not need), and records who answered.
func (s *Server) pingContacts(ctx context.Context) {
	var due []binding
	for _, b := range s.bindings.snapshot(s.cfg.now()) {
		if p, ok := s.dir.Phone(b.reg.Phone); ok && (p.Ping == 1 || b.behindNAT()) {
			due = append(due, b)
		}
	}
	if len(due) == 0 {
		return
	}
	// Leave the last timeout of the interval for the last answers.
	pace := time.NewTicker(max((s.cfg.pingInterval-s.cfg.pingTimeout)/time.Duration(len(due)), time.Microsecond))
	defer pace.Stop()
	var wg sync.WaitGroup
	slots := make(chan struct{}, pingInFlight)
	for i, b := range due {
		if i > 0 {
			select {
			case <-pace.C:
			case <-ctx.Done():
				wg.Wait()
				return
			}
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Go(func() {
			defer func() { <-slots }()
			alive := s.ping(ctx, b)
			if ctx.Err() != nil {
				return // stopping: no answer proves nothing
			}
			if p, ok := s.dir.Phone(b.reg.Phone); !ok || p.Ping != 1 {
				return // a NAT keep-alive only
			}
			if changed := s.bindings.setReachable(b.reg.Phone, b.reg.Contact, b.reg.CallID, alive); changed {
				if alive {
					s.cfg.log.Info("sip phone contact reachable again", "phone", b.reg.Phone, "contact", b.reg.Contact)
				} else {
					s.cfg.log.Warn("sip phone contact unreachable: calls skip it", "phone", b.reg.Phone, "contact", b.reg.Contact, "source", b.reg.Source)
				}
			}
		})
	}
	wg.Wait()
}

// ping sends OPTIONS to one contact, to the address it registered from.
func (s *Server) ping(ctx context.Context, b binding) bool {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.pingTimeout)
	defer cancel()
	req := sip.NewRequest(sip.OPTIONS, *b.uri.Clone())
	b.routeTo(req)
	req.AppendHeader(s.uaHeader)
	res, err := s.client.Do(ctx, req)
	return err == nil && res != nil
}

// pingLoop pings every ping interval until ctx is done or the server is
// closed; a round in progress stops with it.
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
	t := time.NewTicker(s.cfg.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.pingContacts(ctx)
		}
	}
}
