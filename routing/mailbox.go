package routing

import "strings"

// Message waiting (phones/create mailbox: "Mailbox for message waiting
// indicator and direct mailbox access"). A line's mailbox is box or
// box@context; the box is what the SIP core sends voicemail calls to (the
// Request-URI user of the call to the voicemail server) and what the
// server's message-summary NOTIFYs name (their Request-URI user). A
// mailbox's state goes to every line whose mailbox is that box, as
// Asterisk's mailbox= lets several phones show one box. INFERRED: the
// context is the voicemail server's own business (voicemail.conf); the
// switch tells boxes apart by box alone, case-insensitively.

// MailboxBox is the box of line p's mailbox ("" for none).
func (p *Phone) MailboxBox() string {
	box, _, _ := strings.Cut(p.Mailbox, "@")
	return box
}

// Mailboxes index lines by their mailbox's box. The zero value has none.
type Mailboxes struct {
	lines map[string][]*Phone // lower-case box -> lines showing it
}

// NewMailboxes indexes phones by box; the pointers it answers point into
// phones, which must not change after.
func NewMailboxes(phones []Phone) Mailboxes {
	var m Mailboxes
	for i := range phones {
		box := strings.ToLower(phones[i].MailboxBox())
		if box == "" {
			continue
		}
		if m.lines == nil {
			m.lines = map[string][]*Phone{}
		}
		m.lines[box] = append(m.lines[box], &phones[i])
	}
	return m
}

// Lines are the lines whose mailbox is box. The slice is shared: callers
// must not change it.
func (m Mailboxes) Lines(box string) []*Phone {
	if m.lines == nil {
		return nil
	}
	if l, ok := m.lines[box]; ok {
		return l
	}
	return m.lines[strings.ToLower(box)]
}
