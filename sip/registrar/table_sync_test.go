package registrar

import (
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/records"
)

// Bindings another host changed replace the line's own; counts and the
// ping state of a binding the same REGISTER made carry over.
func TestBindingReplaceKeepsCountsAndPingState(t *testing.T) {
	tb := newTable()
	exp := time.Now().Add(time.Hour)
	mk := func(phone, contact, callID string) Binding {
		return Binding{Reg: records.Registration{Phone: phone, Contact: contact, CallID: callID, ExpiresAt: exp}}
	}
	tb.put(mk("2001", "sip:a@192.0.2.1", "r1"))
	tb.put(mk("2001", "sip:b@192.0.2.2", "r2"))
	tb.put(mk("2002", "sip:c@192.0.2.3", "r3"))
	tb.setReachable("2001", "sip:a@192.0.2.1", "r1", false)
	tb.setReachable("2001", "sip:b@192.0.2.2", "r2", false)
	// b re-registered elsewhere (new Call-ID), a unchanged, d new.
	n := tb.replace("2001", []Binding{mk("2001", "sip:a@192.0.2.1", "r1"), mk("2001", "sip:b@192.0.2.2", "r9"), mk("2001", "sip:d@192.0.2.4", "r4")})
	if n != 4 || tb.size("2001") != 3 {
		t.Fatalf("count %d, 2001 holds %d", n, tb.size("2001"))
	}
	if tb.unreachableCount() != 1 {
		t.Fatalf("unreachable %d, want 1 (a kept its failed ping, b is a new REGISTER)", tb.unreachableCount())
	}
	if got := tb.reachable("2001", time.Now(), nil); len(got) != 2 {
		t.Fatalf("reachable %d, want 2", len(got))
	}
	if n := tb.replace("2001", nil); n != 1 || tb.unreachableCount() != 0 || tb.size("2001") != 0 {
		t.Fatalf("after removing all of 2001: count %d, unreachable %d", n, tb.unreachableCount())
	}
}
