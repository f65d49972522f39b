package render

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
)

// voicemail.conf holds the mailboxes the rendered dialplan records into
// (VoiceMail box@context, a line's busy, no-answer or unregistered
// destination of type voicemail) and that phones' mailbox option names
// for message waiting: every such box, in its context (a box given as
// box@context, else WithVoicemailContext's). Without it VoiceMail() finds
// no mailbox and records nothing, where the SIP core's voicemail server
// (calls.voicemail_server, the Asterisk hosting these files) takes the
// message (found by calls through Asterisk 20.20.1).
//
// A mailbox's password is its line's pin (phones/create pin, digits);
// a line without one gets "!", which no telephone keypad can enter, so
// VoiceMailMain never opens it without a password (Asterisk treats an
// empty password as none to ask for). Its full name is the box.

// mailboxRef is one box in one voicemail.conf context.
type mailboxRef struct{ context, box string }

// phoneMailboxes lists the boxes line p names: its mailbox and the boxes of
// its voicemail destinations.
func phoneMailboxes(p *routing.Phone, vmContext string) ([]mailboxRef, error) {
	var out []mailboxRef
	add := func(box, param string) error {
		if box == "" {
			return nil
		}
		b, ctx, ok := strings.Cut(box, "@")
		if !ok {
			ctx = vmContext
		}
		if b == "" || !dialplanSafe(b) || strings.ContainsAny(b, " /@:") {
			return fmt.Errorf("%s: %w: mailbox %q (letters, digits, + * # . _ -)", param, ErrInvalidValue, box)
		}
		if err := checkSectionName(ctx); err != nil {
			return fmt.Errorf("%s: voicemail context: %w", param, err)
		}
		out = append(out, mailboxRef{context: ctx, box: b})
		return nil
	}
	if err := add(p.Mailbox, "mailbox"); err != nil {
		return nil, err
	}
	for _, d := range [][3]string{{p.BType, p.BNumber, "bnumber"}, {p.DType, p.DNumber, "dnumber"}, {p.UType, p.UNumber, "unumber"}} {
		if !strings.EqualFold(d[0], "voicemail") {
			continue
		}
		box := d[1]
		if box == "" {
			box = p.Mailbox
		}
		if err := add(box, d[2]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func renderVoicemail(m *model, cfg *config) ([]byte, error) {
	w := m.newConfWriter(FileVoicemail, 40*len(m.phones))
	header(w, FileVoicemail, m.snap.Revision)
	w.section("general")
	w.set("format", "wav", "general")
	boxes := map[mailboxRef]bool{}
	for _, p := range m.phones {
		w.each(phoneRef(p), func() {
			refs, err := phoneMailboxes(p, cfg.vmContext)
			if err != nil {
				w.fail(fmt.Errorf("%s: %w", w.ctx, err))
				return
			}
			for _, r := range refs {
				boxes[r] = true
			}
		})
	}
	list := make([]mailboxRef, 0, len(boxes))
	for r := range boxes {
		list = append(list, r)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].context != list[j].context {
			return list[i].context < list[j].context
		}
		return list[i].box < list[j].box
	})
	cur := ""
	for _, r := range list {
		if r.context != cur {
			w.ctx = "voicemail context " + r.context
			w.section(r.context)
			cur = r.context
		}
		pin := "!"
		if name, ok := m.lineName(r.box); ok {
			if p := m.lineByName[name]; p.PIN != "" && strings.Trim(p.PIN, "0123456789") == "" {
				pin = p.PIN
			}
		}
		w.object(r.box, pin+","+r.box, "mailbox")
	}
	return w.bytes()
}
