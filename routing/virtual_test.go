package routing

import (
	"strconv"
	"testing"
)

func TestLoginsFollowLtypeAndLnumber(t *testing.T) {
	phones := []Phone{
		{ID: 1, Name: "desk"},
		{ID: 2, Name: "alice", LType: LTypePhone, LNumber: "DESK"}, // names compare without case
		{ID: 3, Name: "bob", LType: "", LNumber: "desk"},           // logged out: lnumber alone is nothing
		{ID: 4, Name: "carol", LType: LTypePhone, LNumber: "gone"}, // a line that does not exist
		{ID: 5, Name: "self", LType: LTypePhone, LNumber: "self"},  // itself
		{ID: 6, Name: "chain", LType: LTypePhone, LNumber: "alice"},
		{ID: 7, Name: "lab"},
		{ID: 9, Name: "second", LType: LTypePhone, LNumber: "lab"},
		{ID: 8, Name: "first", LType: LTypePhone, LNumber: "lab"},
	}
	l := NewLogins(phones)
	dev := func(name string) string {
		for i := range phones {
			if phones[i].Name == name {
				if d, ok := l.Device(&phones[i]); ok {
					return d.Name
				}
			}
		}
		return ""
	}
	for name, want := range map[string]string{"alice": "desk", "bob": "", "carol": "", "self": "", "chain": "", "desk": "", "first": "lab", "second": "lab"} {
		if got := dev(name); got != want {
			t.Errorf("Device(%s) = %q, want %q", name, got, want)
		}
	}
	for i, want := range map[int]string{0: "alice", 1: "alice", 3: "carol", 6: "first"} {
		if got := l.Presenting(&phones[i]).Name; got != want {
			t.Errorf("Presenting(%s) = %s, want %s", phones[i].Name, got, want)
		}
	}
	var none Logins
	if _, ok := none.Device(&phones[1]); ok || none.Presenting(&phones[0]) != &phones[0] {
		t.Error("the zero Logins has logins")
	}
}

func TestMailboxesByBox(t *testing.T) {
	phones := []Phone{
		{ID: 1, Name: "1001", Mailbox: "1001"},
		{ID: 2, Name: "alice", Mailbox: "1001@sales"},
		{ID: 3, Name: "bob", Mailbox: "Bob"},
		{ID: 4, Name: "1002"},
	}
	m := NewMailboxes(phones)
	if got := m.Lines("1001"); len(got) != 2 || got[0].Name != "1001" || got[1].Name != "alice" {
		t.Errorf("Lines(1001) = %v", got)
	}
	if got := m.Lines("BOB"); len(got) != 1 || got[0].Name != "bob" {
		t.Errorf("Lines(BOB) = %v", got)
	}
	if got := m.Lines("1002"); got != nil {
		t.Errorf("a line without a mailbox is some box's: %v", got)
	}
	if phones[1].MailboxBox() != "1001" || phones[3].MailboxBox() != "" {
		t.Error("MailboxBox")
	}
}

// The call path asks for a line's device and presentation on every call
// to or from a line: a map lookup each, no allocation.
func BenchmarkLogins(b *testing.B) {
	phones := make([]Phone, 0, 2000)
	for i := range 1000 {
		phones = append(phones, Phone{ID: 2*i + 1, Name: "desk" + strconv.Itoa(i)})
		phones = append(phones, Phone{ID: 2*i + 2, Name: "hot" + strconv.Itoa(i), LType: LTypePhone, LNumber: "desk" + strconv.Itoa(i)})
	}
	l := NewLogins(phones)
	desk, hot := &phones[500], &phones[501]
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if d, ok := l.Device(hot); !ok || d != desk || l.Presenting(desk) != hot {
			b.Fatal("login lost")
		}
	}
}
