package registrar

import (
	"sync"
	"time"

	"github.com/sipswitch/sipswitch/records"
)

// table holds the registered contacts of every phone. Only the Registrar
// changes it; the call path reads it through Registrar.Reachable.
type table struct {
	mu          sync.RWMutex
	phones      map[string][]Binding
	count       int
	unreachable int // bindings with unreachable set
}

func newTable() *table {
	return &table{phones: make(map[string][]Binding)}
}

// contacts returns the unexpired contacts of phone, appended to dst.
func (t *table) contacts(phone string, now time.Time, dst []Binding) []Binding {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, b := range t.phones[phone] {
		if now.Before(b.Reg.ExpiresAt) {
			dst = append(dst, b)
		}
	}
	return dst
}

// reachable returns the unexpired contacts of phone that have not failed
// a ping, appended to dst: those a call rings.
func (t *table) reachable(phone string, now time.Time, dst []Binding) []Binding {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, b := range t.phones[phone] {
		if now.Before(b.Reg.ExpiresAt) && !b.unreachable {
			dst = append(dst, b)
		}
	}
	return dst
}

// snapshot returns every unexpired Binding.
func (t *table) snapshot(now time.Time) []Binding {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Binding, 0, t.count)
	for _, list := range t.phones {
		for _, b := range list {
			if now.Before(b.Reg.ExpiresAt) {
				out = append(out, b)
			}
		}
	}
	return out
}

// setReachable records a ping result for the Binding of phone and contact
// made by REGISTER callID (a Binding re-registered meanwhile is left as
// the REGISTER made it). It reports whether the state changed.
func (t *table) setReachable(phone, contact, callID string, ok bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.phones[phone]
	for i := range list {
		if list[i].Reg.Contact == contact && list[i].Reg.CallID == callID {
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
func (t *table) unreachableCount() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.unreachable
}

// forget updates the unreachable count for a Binding leaving the table.
// The caller holds the lock.
func (t *table) forget(b Binding) {
	if b.unreachable {
		t.unreachable--
	}
}

// put adds or refreshes a Binding; it returns the number of bindings now.
func (t *table) put(b Binding) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.phones[b.Reg.Phone]
	for i := range list {
		if list[i].Reg.Contact == b.Reg.Contact {
			t.forget(list[i])
			list[i] = b
			return t.count
		}
	}
	t.phones[b.Reg.Phone] = append(list, b)
	t.count++
	return t.count
}

// lookup returns the Binding of phone for contact.
func (t *table) lookup(phone, contact string) (Binding, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, b := range t.phones[phone] {
		if b.Reg.Contact == contact {
			return b, true
		}
	}
	return Binding{}, false
}

// remove deletes a Binding; it reports whether one existed and the count.
func (t *table) remove(phone, contact string) (bool, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.phones[phone]
	for i := range list {
		if list[i].Reg.Contact == contact {
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
func (t *table) size(phone string) int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.phones[phone])
}

// expire removes and returns the bindings that have lapsed.
func (t *table) expire(now time.Time) ([]records.Registration, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var gone []records.Registration
	for phone, list := range t.phones {
		kept := list[:0]
		for _, b := range list {
			if now.Before(b.Reg.ExpiresAt) {
				kept = append(kept, b)
			} else {
				t.forget(b)
				gone = append(gone, b.Reg)
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

// all returns every Binding's registration.
func (t *table) all() []records.Registration {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]records.Registration, 0, t.count)
	for _, list := range t.phones {
		for _, b := range list {
			out = append(out, b.Reg)
		}
	}
	return out
}

// replace sets the bindings of phone to list (a host of the cluster
// changed them in the store), keeping the ping state of a Binding the
// same REGISTER made. It returns the number of bindings now.
func (t *table) replace(phone string, list []Binding) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.phones[phone]
	for i := range list {
		for _, o := range old {
			if o.Reg.Contact == list[i].Reg.Contact && o.Reg.CallID == list[i].Reg.CallID {
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

// total is the number of bindings, lapsed ones not yet swept included.
func (t *table) total() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.count
}
