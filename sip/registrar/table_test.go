package registrar

import (
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/records"
)

// The unreachable count follows every way a binding leaves or is replaced.
func TestBindingTableUnreachableCount(t *testing.T) {
	now := time.Now()
	bind := func(contact string, expires time.Duration) Binding {
		return Binding{Reg: records.Registration{Phone: "1001", Contact: contact, CallID: "c-" + contact, ExpiresAt: now.Add(expires)}}
	}
	tab := newTable()
	tab.put(bind("a", time.Hour))
	tab.put(bind("b", time.Second))
	tab.put(bind("c", time.Hour))
	steps := []struct {
		name string
		do   func() bool
		want int
	}{
		{"a fails a ping", func() bool { return tab.setReachable("1001", "a", "c-a", false) }, 1},
		{"a fails again: no change", func() bool { return !tab.setReachable("1001", "a", "c-a", false) }, 1},
		{"a re-registers", func() bool { tab.put(bind("a", time.Hour)); return true }, 0},
		{"b fails a ping", func() bool { return tab.setReachable("1001", "b", "c-b", false) }, 1},
		{"b expires", func() bool { gone, _ := tab.expire(now.Add(2 * time.Second)); return len(gone) == 1 }, 0},
		{"c fails a ping", func() bool { return tab.setReachable("1001", "c", "c-c", false) }, 1},
		{"c answers again", func() bool { return tab.setReachable("1001", "c", "c-c", true) }, 0},
		{"c fails once more", func() bool { return tab.setReachable("1001", "c", "c-c", false) }, 1},
		{"c unregisters", func() bool { ok, _ := tab.remove("1001", "c"); return ok }, 0},
	}
	for _, st := range steps {
		if !st.do() {
			t.Fatalf("%s: step did not take", st.name)
		}
		if got := tab.unreachableCount(); got != st.want {
			t.Fatalf("%s: unreachable %d, want %d", st.name, got, st.want)
		}
	}
}
