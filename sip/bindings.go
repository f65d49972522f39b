package sip

import (
	"github.com/sipswitch/sipswitch/sip/sipmsg"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/records"
)

// binding is one registered contact with its parsed URI, ready to be
// called without parsing on the call path.
type binding struct {
	reg records.Registration
	uri sip.Uri
	// unreachable is set when the contact did not answer a ping (lines
	// with ping=1); a REGISTER replaces the binding and clears it.
	unreachable bool
}

// routeTo sends req to the address and transport the registration came
// from, not to the contact's host (phones behind NAT).
func (b *binding) routeTo(req *sip.Request) {
	if b.reg.Source != "" {
		req.SetDestination(b.reg.Source)
	}
	if t := b.reg.Transport; t != "" && !strings.EqualFold(t, "udp") {
		req.SetTransport(t)
	}
}

// behindNAT says whether the contact sits behind NAT: its URI names
// another address than the one its REGISTER came from (a private address,
// a host name the switch would have to resolve), or over UDP another
// port (a NAT that maps ports). Such a contact is reached only at the
// source address (routeTo), is kept alive by OPTIONS (ping.go), and in
// media.relay auto its calls are relayed, latched from wherever its RTP
// comes from.
func (b *binding) behindNAT() bool {
	src, err := netip.ParseAddrPort(b.reg.Source)
	if err != nil {
		return false // nothing known of where it registered from
	}
	if sipmsg.HostIsNot(b.uri.Host, src.Addr().Unmap()) {
		return true
	}
	udp := b.reg.Transport == "" || strings.EqualFold(b.reg.Transport, "udp")
	port := b.uri.Port
	if port == 0 {
		port = 5060
	}
	return udp && port != int(src.Port())
}

// anyBehindNAT says whether any of the contacts is behind NAT.
func anyBehindNAT(contacts []binding) bool {
	for i := range contacts {
		if contacts[i].behindNAT() {
			return true
		}
	}
	return false
}

// bindingTable holds the registered contacts of every phone.
type bindingTable struct {
	mu          sync.RWMutex
	phones      map[string][]binding
	count       int
	unreachable int // bindings with unreachable set
}

func newBindingTable() *bindingTable {
	return &bindingTable{phones: make(map[string][]binding)}
}

// contacts returns the unexpired contacts of phone, appended to dst.
func (t *bindingTable) contacts(phone string, now time.Time, dst []binding) []binding {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, b := range t.phones[phone] {
		if now.Before(b.reg.ExpiresAt) {
			dst = append(dst, b)
		}
	}
	return dst
}

// reachable returns the unexpired contacts of phone that have not failed
// a ping, appended to dst: those a call rings.
func (t *bindingTable) reachable(phone string, now time.Time, dst []binding) []binding {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, b := range t.phones[phone] {
		if now.Before(b.reg.ExpiresAt) && !b.unreachable {
			dst = append(dst, b)
		}
	}
	return dst
}

// snapshot returns every unexpired binding.
func (t *bindingTable) snapshot(now time.Time) []binding {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]binding, 0, t.count)
	for _, list := range t.phones {
		for _, b := range list {
			if now.Before(b.reg.ExpiresAt) {
				out = append(out, b)
			}
		}
	}
	return out
}

// setReachable records a ping result for the binding of phone and contact
// made by REGISTER callID (a binding re-registered meanwhile is left as
// the REGISTER made it). It reports whether the state changed.
func (t *bindingTable) setReachable(phone, contact, callID string, ok bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.phones[phone]
	for i := range list {
		if list[i].reg.Contact == contact && list[i].reg.CallID == callID {
			if list[i].unreachable != ok {
				return false
			}
			list[i].unreachable = !ok
			if ok {
				t.unreachable--
			} else {
				t.unreachable++
			}
			return true
		}
	}
	return false
}

// unreachableCount is the number of bindings that failed their last ping.
func (t *bindingTable) unreachableCount() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.unreachable
}

// forget updates the unreachable count for a binding leaving the table.
// The caller holds the lock.
func (t *bindingTable) forget(b binding) {
	if b.unreachable {
		t.unreachable--
	}
}

// put adds or refreshes a binding; it returns the number of bindings now.
func (t *bindingTable) put(b binding) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.phones[b.reg.Phone]
	for i := range list {
		if list[i].reg.Contact == b.reg.Contact {
			t.forget(list[i])
			list[i] = b
			return t.count
		}
	}
	t.phones[b.reg.Phone] = append(list, b)
	t.count++
	return t.count
}

// lookup returns the binding of phone for contact.
func (t *bindingTable) lookup(phone, contact string) (binding, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, b := range t.phones[phone] {
		if b.reg.Contact == contact {
			return b, true
		}
	}
	return binding{}, false
}

// remove deletes a binding; it reports whether one existed and the count.
func (t *bindingTable) remove(phone, contact string) (bool, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.phones[phone]
	for i := range list {
		if list[i].reg.Contact == contact {
			t.forget(list[i])
			list = append(list[:i], list[i+1:]...)
			if len(list) == 0 {
				delete(t.phones, phone)
			} else {
				t.phones[phone] = list
			}
			t.count--
			return true, t.count
		}
	}
	return false, t.count
}

// size returns the number of bindings of phone.
func (t *bindingTable) size(phone string) int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.phones[phone])
}

// expire removes and returns the bindings that have lapsed.
func (t *bindingTable) expire(now time.Time) ([]records.Registration, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var gone []records.Registration
	for phone, list := range t.phones {
		kept := list[:0]
		for _, b := range list {
			if now.Before(b.reg.ExpiresAt) {
				kept = append(kept, b)
			} else {
				t.forget(b)
				gone = append(gone, b.reg)
			}
		}
		if len(kept) == 0 {
			delete(t.phones, phone)
		} else {
			t.phones[phone] = kept
		}
	}
	t.count -= len(gone)
	return gone, t.count
}

// all returns every binding's registration.
func (t *bindingTable) all() []records.Registration {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]records.Registration, 0, t.count)
	for _, list := range t.phones {
		for _, b := range list {
			out = append(out, b.reg)
		}
	}
	return out
}

// replace sets the bindings of phone to list (a host of the cluster
// changed them in the store), keeping the ping state of a binding the
// same REGISTER made. It returns the number of bindings now.
func (t *bindingTable) replace(phone string, list []binding) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.phones[phone]
	for i := range list {
		for _, o := range old {
			if o.reg.Contact == list[i].reg.Contact && o.reg.CallID == list[i].reg.CallID {
				list[i].unreachable = o.unreachable
			}
		}
		if list[i].unreachable {
			t.unreachable++
		}
	}
	for _, o := range old {
		t.forget(o)
	}
	t.count += len(list) - len(old)
	if len(list) == 0 {
		delete(t.phones, phone)
	} else {
		t.phones[phone] = list
	}
	return t.count
}
