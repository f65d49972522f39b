package registrar

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
// Contacts behind NAT (Binding.BehindNAT) are sent the same OPTIONS
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
func (r *Registrar) pingContacts(ctx context.Context, send Sender) {
	var due []Binding
	for _, b := range r.table.snapshot(r.now()) {
		if p, ok := r.phones.Phone(b.Reg.Phone); ok && (p.Ping == 1 || b.BehindNAT()) {
			due = append(due, b)
		}
	}
	if len(due) == 0 {
		return
	}
	// Leave the last timeout of the interval for the last answers.
	pace := time.NewTicker(max((r.pingInterval-r.pingTimeout)/time.Duration(len(due)), time.Microsecond))
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
			alive := r.ping(ctx, send, b)
			if ctx.Err() != nil {
				return // stopping: no answer proves nothing
			}
			if p, ok := r.phones.Phone(b.Reg.Phone); !ok || p.Ping != 1 {
				return // a NAT keep-alive only
			}
			if changed := r.table.setReachable(b.Reg.Phone, b.Reg.Contact, b.Reg.CallID, alive); changed {
				if alive {
					r.log.Info("sip phone contact reachable again", "phone", b.Reg.Phone, "contact", b.Reg.Contact)
				} else {
					r.log.Warn("sip phone contact unreachable: calls skip it", "phone", b.Reg.Phone, "contact", b.Reg.Contact, "source", b.Reg.Source)
				}
			}
		})
	}
	wg.Wait()
}

// Sender sends a request outside any dialog and returns the final
// response (sipgo's Client.Do): the server's client, which adds its
// User-Agent and leaves from the listening socket.
type Sender func(ctx context.Context, req *sip.Request) (*sip.Response, error)

// ping sends OPTIONS to one contact, to the address it registered from.
func (r *Registrar) ping(ctx context.Context, send Sender, b Binding) bool {
	ctx, cancel := context.WithTimeout(ctx, r.pingTimeout)
	defer cancel()
	req := sip.NewRequest(sip.OPTIONS, *b.URI.Clone())
	b.RouteTo(req)
	res, err := send(ctx, req)
	return err == nil && res != nil
}

// PingLoop pings every ping interval through send until ctx is done; a
// round in progress stops with it.
func (r *Registrar) PingLoop(ctx context.Context, send Sender) {
	t := time.NewTicker(r.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.pingContacts(ctx, send)
		}
	}
}
