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

// pingConcurrency bounds the OPTIONS in flight during one round.
const pingConcurrency = 64

// pingContacts sends one round of OPTIONS to the contacts of lines with
// ping=1 and records who answered.
func (s *Server) pingContacts(ctx context.Context) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, pingConcurrency)
	for _, b := range s.bindings.snapshot(s.cfg.now()) {
		p, ok := s.dir.Phone(b.reg.Phone)
		if !ok || p.Ping != 1 {
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			alive := s.ping(ctx, b)
			if changed := s.bindings.setReachable(b.reg.Phone, b.reg.Contact, b.reg.CallID, alive); changed {
				if alive {
					s.cfg.log.Info("sip phone contact reachable again", "phone", b.reg.Phone, "contact", b.reg.Contact)
				} else {
					s.cfg.log.Warn("sip phone contact unreachable: calls skip it", "phone", b.reg.Phone, "contact", b.reg.Contact, "source", b.reg.Source)
				}
			}
		}()
	}
	wg.Wait()
	s.stats.unreachable.Store(int64(s.bindings.unreachableCount()))
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

// pingLoop pings every ping interval until ctx is done.
func (s *Server) pingLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.closed:
			return
		case <-t.C:
			s.pingContacts(ctx)
		}
	}
}
