package sip

import (
	"context"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/routing"
)

const storeTimeout = 2 * time.Second

// handleRegister is the registrar (RFC 3261 10.3).
func (s *Server) handleRegister(req *sip.Request, tx sip.ServerTransaction) {
	src := sipmsg.SourceAddr(req)
	now := s.cfg.now()
	if s.guard.blocked(src, now) {
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
	if to.Address.User != phone.Name {
		s.cfg.log.Warn("sip register for another line", "user", phone.Name, "aor", to.Address.User, "source", src.String())
		sipmsg.Respond(tx, req, 403, "Forbidden")
		return
	}

	headerExpires := -1
	if h := sipmsg.Header(req, "Expires"); h != nil {
		n, err := strconv.Atoi(h.Value())
		if err != nil || n < 0 {
			sipmsg.Respond(tx, req, 400, "Bad Expires")
			return
		}
		headerExpires = n
	}
	contacts := req.GetHeaders("Contact")
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	prev := s.bindings.contacts(phone.Name, now, nil)

	// Wildcard: remove every binding of the line (RFC 3261 10.2.2).
	if len(contacts) == 1 {
		if c, ok := contacts[0].(*sip.ContactHeader); ok && c.Address.Wildcard {
			if headerExpires != 0 {
				sipmsg.Respond(tx, req, 400, "Wildcard Needs Expires 0")
				return
			}
			for _, b := range s.bindings.contacts(phone.Name, time.Time{}, nil) {
				s.unbind(ctx, phone.Name, b.reg.Contact)
			}
			s.afterRegister(phone, prev, now)
			s.replyBindings(req, tx, phone.Name, now)
			return
		}
	}

	type change struct {
		uri     sip.Uri
		contact string
		expires int
	}
	changes := make([]change, 0, len(contacts))
	for _, h := range contacts {
		c, ok := h.(*sip.ContactHeader)
		if !ok || c.Address.Wildcard || c.Address.Host == "" {
			sipmsg.Respond(tx, req, 400, "Bad Contact")
			return
		}
		exp := headerExpires
		if v, ok := c.Params.Get("expires"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				sipmsg.Respond(tx, req, 400, "Bad Contact Expires")
				return
			}
			exp = n
		}
		if exp < 0 {
			exp = s.cfg.defaultExpires
		}
		if exp != 0 && exp < s.cfg.minExpires {
			minExp := sip.NewHeader("Min-Expires", strconv.Itoa(s.cfg.minExpires))
			sipmsg.Respond(tx, req, 423, "Interval Too Brief", minExp)
			return
		}
		exp = min(exp, s.cfg.maxExpires)
		changes = append(changes, change{uri: *c.Address.Clone(), contact: c.Address.String(), expires: exp})
	}

	callID := ""
	if h := req.CallID(); h != nil {
		callID = h.Value()
	}
	var cseq uint32
	if h := req.CSeq(); h != nil {
		cseq = h.SeqNo
	}
	ua := sipmsg.HeaderValue(req, "User-Agent")
	for _, ch := range changes {
		if ch.expires > 0 {
			s.checkAddressChange(phone, prev, req.Source())
			break
		}
	}
	for _, ch := range changes {
		if ch.expires == 0 {
			s.unbind(ctx, phone.Name, ch.contact)
			continue
		}
		if old, ok := s.bindings.lookup(phone.Name, ch.contact); ok {
			// RFC 3261 10.3 step 7: an older request of the same Call-ID
			// must not undo a newer one.
			if old.reg.CallID == callID && cseq <= old.reg.CSeq {
				continue
			}
		} else if s.bindings.size(phone.Name) >= s.cfg.maxContacts {
			sipmsg.Respond(tx, req, 403, "Too Many Contacts")
			return
		}
		reg := records.Registration{
			Phone:     phone.Name,
			Contact:   ch.contact,
			Source:    req.Source(),
			Transport: req.Transport(),
			UserAgent: ua,
			CallID:    callID,
			CSeq:      cseq,
			ExpiresAt: now.Add(time.Duration(ch.expires) * time.Second),
		}
		s.stats.registrations.Store(int64(s.bindings.put(binding{reg: reg, uri: ch.uri})))
		if s.cfg.store != nil {
			if err := s.cfg.store.SaveRegistration(ctx, reg); err != nil {
				s.cfg.log.Error("sip registration not persisted", "phone", phone.Name, "error", err)
			}
		}
		s.cfg.log.Debug("sip registered", "phone", phone.Name, "contact", ch.contact, "expires", ch.expires, "source", reg.Source)
	}
	s.afterRegister(phone, prev, now)
	s.replyBindings(req, tx, phone.Name, now)
}

// afterRegister alerts when a REGISTER took a line's last binding away;
// before the answer, so that whoever sees the 200 also sees the alert.
func (s *Server) afterRegister(phone *routing.Phone, prev []binding, now time.Time) {
	if len(prev) > 0 && len(s.bindings.contacts(phone.Name, now, nil)) == 0 {
		s.lineUnregistered(prev[len(prev)-1].reg, unregRemoved)
	}
}

func (s *Server) unbind(ctx context.Context, phone, contact string) {
	existed, n := s.bindings.remove(phone, contact)
	s.stats.registrations.Store(int64(n))
	if existed && s.cfg.store != nil {
		if err := s.cfg.store.DeleteRegistration(ctx, phone, contact); err != nil {
			s.cfg.log.Error("sip registration removal not persisted", "phone", phone, "error", err)
		}
	}
}

// replyBindings answers 200 listing the line's current contacts.
func (s *Server) replyBindings(req *sip.Request, tx sip.ServerTransaction, phone string, now time.Time) {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	for _, b := range s.bindings.contacts(phone, now, nil) {
		h := &sip.ContactHeader{Address: *b.uri.Clone()}
		h.Params.Add("expires", strconv.Itoa(int(b.reg.ExpiresAt.Sub(now)/time.Second)))
		res.AppendHeader(h)
	}
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	_ = tx.Respond(res)
}

// loadRegistrations restores persisted bindings that have not lapsed.
func (s *Server) loadRegistrations(ctx context.Context) error {
	if s.cfg.store == nil {
		return nil
	}
	regs, err := s.cfg.store.LoadRegistrations(ctx)
	if err != nil {
		return err
	}
	now := s.cfg.now()
	var lapsed []records.Registration
	for _, r := range regs {
		var u sip.Uri
		if err := sip.ParseUri(r.Contact, &u); err != nil || !now.Before(r.ExpiresAt) {
			lapsed = append(lapsed, r)
			continue
		}
		s.stats.registrations.Store(int64(s.bindings.put(binding{reg: r, uri: u})))
	}
	// Lapsed while the switch was down: gone from the store too (nothing
	// else would remove them), and an alert for lines left unregistered.
	s.dropLapsed(ctx, lapsed, unregWhileDown)
	return nil
}

// dropLapsed removes lapsed registrations from the store and alerts for
// each line they leave without a binding, once per line.
func (s *Server) dropLapsed(ctx context.Context, gone []records.Registration, reason string) {
	alerted := make(map[string]bool)
	// A store shared by several hosts removes a lapsed binding only if no
	// other host's registrar refreshed it meanwhile.
	lapsedStore, shared := s.cfg.store.(interface {
		DeleteLapsedRegistration(ctx context.Context, phone, contact string, at time.Time) error
	})
	for _, r := range gone {
		if shared {
			if err := lapsedStore.DeleteLapsedRegistration(ctx, r.Phone, r.Contact, r.ExpiresAt); err != nil {
				s.cfg.log.Error("sip lapsed registration not removed from store", "phone", r.Phone, "error", err)
			}
		} else if s.cfg.store != nil {
			if err := s.cfg.store.DeleteRegistration(ctx, r.Phone, r.Contact); err != nil {
				s.cfg.log.Error("sip lapsed registration not removed from store", "phone", r.Phone, "error", err)
			}
		}
		if !alerted[r.Phone] && s.bindings.size(r.Phone) == 0 {
			alerted[r.Phone] = true
			s.lineUnregistered(r, reason)
		}
	}
}

// expireRegistrations drops lapsed bindings from memory and the store.
func (s *Server) expireRegistrations(ctx context.Context) {
	gone, n := s.bindings.expire(s.cfg.now())
	s.stats.registrations.Store(int64(n))
	s.dropLapsed(ctx, gone, unregExpired)
}

// Registrations returns the registered contacts now (for status pages and
// the API), unexpired ones only.
func (s *Server) Registrations() []records.Registration {
	now := s.cfg.now()
	all := s.bindings.all()
	out := all[:0]
	for _, r := range all {
		if now.Before(r.ExpiresAt) {
			out = append(out, r)
		}
	}
	return out
}

// SyncRegistrations sets the bindings of phone to regs, the phone's
// bindings as a shared store holds them now (hosts of a cluster, each
// with its own registrar, learn of each other's REGISTERs this way).
// Calls to the line then ring every contact whichever host took its
// REGISTER, sent from this host straight to the address the REGISTER came
// from. Lapsed and unparsable bindings are left out.
func (s *Server) SyncRegistrations(phone string, regs []records.Registration) {
	now := s.cfg.now()
	list := make([]binding, 0, len(regs))
	for _, r := range regs {
		var u sip.Uri
		if r.Phone != phone || !now.Before(r.ExpiresAt) || sip.ParseUri(r.Contact, &u) != nil {
			continue
		}
		list = append(list, binding{reg: r, uri: u})
	}
	s.stats.registrations.Store(int64(s.bindings.replace(phone, list)))
}
