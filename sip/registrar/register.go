package registrar

import (
	"context"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// Register applies a REGISTER that authenticated as phone (RFC 3261
// 10.3 steps 3 to 8) and answers it: 403 for another line's address of
// record, 400 for a malformed Contact or Expires, 423 with Min-Expires for
// too short an expiry, 403 Too Many Contacts beyond the line's limit, else
// 200 listing the line's bindings. The caller has checked the source
// address, the To header and the credentials (steps 1 and 2).
func (r *Registrar) Register(req *sip.Request, tx sip.ServerTransaction, phone *routing.Phone) {
	now := r.now()
	to := req.To()
	if to.Address.User != phone.Name {
		r.log.Warn("sip register for another line", "user", phone.Name, "aor", to.Address.User, "source", sipmsg.SourceAddr(req).String())
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
	prev := r.table.contacts(phone.Name, now, nil)

	// Wildcard: remove every binding of the line (RFC 3261 10.2.2).
	if len(contacts) == 1 {
		if c, ok := contacts[0].(*sip.ContactHeader); ok && c.Address.Wildcard {
			if headerExpires != 0 {
				sipmsg.Respond(tx, req, 400, "Wildcard Needs Expires 0")
				return
			}
			for _, b := range r.table.contacts(phone.Name, time.Time{}, nil) {
				r.unbind(ctx, phone.Name, b.Reg.Contact)
			}
			r.afterRegister(phone, prev, now)
			r.replyBindings(req, tx, phone.Name, now)
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
			exp = r.defaultExpires
		}
		if exp != 0 && exp < r.minExpires {
			minExp := sip.NewHeader("Min-Expires", strconv.Itoa(r.minExpires))
			sipmsg.Respond(tx, req, 423, "Interval Too Brief", minExp)
			return
		}
		exp = min(exp, r.maxExpires)
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
			r.checkAddressChange(phone, prev, req.Source())
			break
		}
	}
	for _, ch := range changes {
		if ch.expires == 0 {
			r.unbind(ctx, phone.Name, ch.contact)
			continue
		}
		if old, ok := r.table.lookup(phone.Name, ch.contact); ok {
			// RFC 3261 10.3 step 7: an older request of the same Call-ID
			// must not undo a newer one.
			if old.Reg.CallID == callID && cseq <= old.Reg.CSeq {
				continue
			}
		} else if r.table.size(phone.Name) >= r.maxContacts {
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
		r.table.put(Binding{Reg: reg, URI: ch.uri})
		if r.store != nil {
			if err := r.store.SaveRegistration(ctx, reg); err != nil {
				r.log.Error("sip registration not persisted", "phone", phone.Name, "error", err)
			}
		}
		r.log.Debug("sip registered", "phone", phone.Name, "contact", ch.contact, "expires", ch.expires, "source", reg.Source)
	}
	r.afterRegister(phone, prev, now)
	r.replyBindings(req, tx, phone.Name, now)
}

// afterRegister alerts when a REGISTER took a line's last binding away;
// before the answer, so that whoever sees the 200 also sees the alert.
func (r *Registrar) afterRegister(phone *routing.Phone, prev []Binding, now time.Time) {
	if len(prev) > 0 && len(r.table.contacts(phone.Name, now, nil)) == 0 {
		r.lineUnregistered(prev[len(prev)-1].Reg, unregRemoved)
	}
}

func (r *Registrar) unbind(ctx context.Context, phone, contact string) {
	existed, _ := r.table.remove(phone, contact)
	if existed && r.store != nil {
		if err := r.store.DeleteRegistration(ctx, phone, contact); err != nil {
			r.log.Error("sip registration removal not persisted", "phone", phone, "error", err)
		}
	}
}

// replyBindings answers 200 listing the line's current contacts.
func (r *Registrar) replyBindings(req *sip.Request, tx sip.ServerTransaction, phone string, now time.Time) {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	for _, b := range r.table.contacts(phone, now, nil) {
		h := &sip.ContactHeader{Address: *b.URI.Clone()}
		h.Params.Add("expires", strconv.Itoa(int(b.Reg.ExpiresAt.Sub(now)/time.Second)))
		res.AppendHeader(h)
	}
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	_ = tx.Respond(res)
}

// Load restores persisted bindings that have not lapsed, and removes from
// the store the ones that lapsed while the switch was down.
func (r *Registrar) Load(ctx context.Context) error {
	if r.store == nil {
		return nil
	}
	regs, err := r.store.LoadRegistrations(ctx)
	if err != nil {
		return err
	}
	now := r.now()
	var lapsed []records.Registration
	for _, reg := range regs {
		var u sip.Uri
		if err := sip.ParseUri(reg.Contact, &u); err != nil || !now.Before(reg.ExpiresAt) {
			lapsed = append(lapsed, reg)
			continue
		}
		r.table.put(Binding{Reg: reg, URI: u})
	}
	// Lapsed while the switch was down: gone from the store too (nothing
	// else would remove them), and an alert for lines left unregistered.
	r.dropLapsed(ctx, lapsed, unregWhileDown)
	return nil
}

// dropLapsed removes lapsed registrations from the store and alerts for
// each line they leave without a binding, once per line.
func (r *Registrar) dropLapsed(ctx context.Context, gone []records.Registration, reason string) {
	alerted := make(map[string]bool)
	// A store shared by several hosts removes a lapsed binding only if no
	// other host's registrar refreshed it meanwhile.
	lapsedStore, shared := r.store.(interface {
		DeleteLapsedRegistration(ctx context.Context, phone, contact string, at time.Time) error
	})
	for _, reg := range gone {
		if shared {
			if err := lapsedStore.DeleteLapsedRegistration(ctx, reg.Phone, reg.Contact, reg.ExpiresAt); err != nil {
				r.log.Error("sip lapsed registration not removed from store", "phone", reg.Phone, "error", err)
			}
		} else if r.store != nil {
			if err := r.store.DeleteRegistration(ctx, reg.Phone, reg.Contact); err != nil {
				r.log.Error("sip lapsed registration not removed from store", "phone", reg.Phone, "error", err)
			}
		}
		if !alerted[reg.Phone] && r.table.size(reg.Phone) == 0 {
			alerted[reg.Phone] = true
			r.lineUnregistered(reg, reason)
		}
	}
}

// Sweep drops lapsed bindings from memory and the store (each store round
// trip bounded by storeTimeout within ctx).
func (r *Registrar) Sweep(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	gone, _ := r.table.expire(r.now())
	r.dropLapsed(ctx, gone, unregExpired)
}

// Registrations returns the registered contacts now (for status pages and
// the API), unexpired ones only.
func (r *Registrar) Registrations() []records.Registration {
	now := r.now()
	all := r.table.all()
	out := all[:0]
	for _, reg := range all {
		if now.Before(reg.ExpiresAt) {
			out = append(out, reg)
		}
	}
	return out
}

// Sync sets the bindings of phone to regs, the phone's bindings as a
// shared store holds them now (hosts of a cluster, each with its own
// registrar, learn of each other's REGISTERs this way). Calls to the line
// then ring every contact whichever host took its REGISTER, sent from
// this host straight to the address the REGISTER came from. Lapsed and
// unparsable bindings are left out.
func (r *Registrar) Sync(phone string, regs []records.Registration) {
	now := r.now()
	list := make([]Binding, 0, len(regs))
	for _, reg := range regs {
		var u sip.Uri
		if reg.Phone != phone || !now.Before(reg.ExpiresAt) || sip.ParseUri(reg.Contact, &u) != nil {
			continue
		}
		list = append(list, Binding{Reg: reg, URI: u})
	}
	r.table.replace(phone, list)
}

// Unregister removes one binding of a line, as a REGISTER with Expires: 0
// would (from the store too, with the alert when it was the line's last):
// registrations/delete. It reports whether there was such a binding.
func (r *Registrar) Unregister(ctx context.Context, phone, contact string) bool {
	b, ok := r.table.lookup(phone, contact)
	if !ok {
		return false
	}
	r.unbind(ctx, phone, contact)
	if len(r.table.contacts(phone, r.now(), nil)) == 0 {
		r.lineUnregistered(b.Reg, unregRemoved)
	}
	return true
}
