// Package msgsummary reads and writes the body of a message-summary
// NOTIFY (RFC 3842 5, media type application/simple-message-summary):
// whether messages are waiting, the account they wait in and the counts of
// each message class. The body comes from outside (the voicemail server),
// so reading it is strict and bounded: Parse accepts at most MaxBody
// bytes, the grammar of RFC 3842 5.2 and the classes of RFC 3458 (unknown
// classes are an error, not passed through), and Marshal writes only what
// Parse understood, so nothing else a server put in a body ever reaches a
// phone. Imports nothing of the module.
//
//	message-summary = msg-status-line CRLF
//	                  [msg-account CRLF]
//	                  [*(msg-summary-line CRLF)]
//	                  [ *opt-msg-headers ]
//	msg-status-line = "Messages-Waiting" HCOLON msg-status   ; yes / no
//	msg-account     = "Message-Account" HCOLON Account-URI
//	msg-summary-line = message-context-class HCOLON newmsgs SLASH oldmsgs
//	                  [ LPAREN new-urgentmsgs SLASH old-urgentmsgs RPAREN ]
//
// INFERRED, for servers that deviate in the usual ways: header names are
// matched without case, Message-Account may come after a class line, LF alone ends a line as CRLF does, whitespace
// around the colon and the numbers is ignored, and the optional message
// headers after an empty line (opt-msg-headers: subjects, senders) are
// read past and dropped, never relayed.
package msgsummary

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ContentType is the media type of the body (RFC 3842 7.2).
const ContentType = "application/simple-message-summary"

// MaxBody bounds the body Parse reads: a summary is a few lines (RFC 3842
// 5.2; INFERRED: 4 KiB leaves room for a long account URI and every
// class twice over).
const MaxBody = 4096

// maxCount bounds each message count (INFERRED: no mailbox holds more).
const maxCount = 1_000_000

// ErrBadBody is wrapped by every error of Parse.
var ErrBadBody = errors.New("bad message-summary body")

// Classes are the message-context-class values (RFC 3458 4.2), in the
// order Marshal writes them.
var Classes = [...]string{"voice-message", "fax-message", "pager-message", "multimedia-message", "text-message", "none"}

// Counts are the messages of one class: new and old, and of those the
// urgent ones.
type Counts struct {
	New, Old             int
	NewUrgent, OldUrgent int
	// Urgent says whether the urgent counts were given.
	Urgent bool
}

// Summary is one message-summary body.
type Summary struct {
	Waiting bool
	// Account is the Message-Account URI ("" when the body had none).
	Account string
	// Counts are by class, indexed as Classes; Has says which were
	// given.
	Counts [len(Classes)]Counts
	Has    [len(Classes)]bool
}

// Parse reads a message-summary body.
func Parse(body []byte) (Summary, error) {
	var s Summary
	if len(body) > MaxBody {
		return s, fmt.Errorf("%w: %d bytes, at most %d", ErrBadBody, len(body), MaxBody)
	}
	text := string(body)
	status := false
	for n := 1; text != ""; n++ {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			if !status {
				return s, fmt.Errorf("%w: line %d: empty before Messages-Waiting", ErrBadBody, n)
			}
			break // opt-msg-headers follow: read past, dropped
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return s, fmt.Errorf("%w: line %d: no colon", ErrBadBody, n)
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !status {
			if !strings.EqualFold(name, "Messages-Waiting") {
				return s, fmt.Errorf("%w: line %d: the first line must be Messages-Waiting", ErrBadBody, n)
			}
			switch strings.ToLower(value) {
			case "yes":
				s.Waiting = true
			case "no":
			default:
				return s, fmt.Errorf("%w: line %d: Messages-Waiting must be yes or no", ErrBadBody, n)
			}
			status = true
			continue
		}
		if strings.EqualFold(name, "Message-Account") {
			if s.Account != "" {
				return s, fmt.Errorf("%w: line %d: Message-Account given twice", ErrBadBody, n)
			}
			if !accountURI(value) {
				return s, fmt.Errorf("%w: line %d: Message-Account is not a sip:, sips: or tel: URI", ErrBadBody, n)
			}
			s.Account = value
			continue
		}
		i := classIndex(name)
		if i < 0 {
			return s, fmt.Errorf("%w: line %d: unknown message class", ErrBadBody, n)
		}
		if s.Has[i] {
			return s, fmt.Errorf("%w: line %d: message class %s given twice", ErrBadBody, n, Classes[i])
		}
		c, err := parseCounts(value)
		if err != nil {
			return s, fmt.Errorf("%w: line %d: %s: %w", ErrBadBody, n, Classes[i], err)
		}
		s.Counts[i], s.Has[i] = c, true
	}
	if !status {
		return s, fmt.Errorf("%w: no Messages-Waiting line", ErrBadBody)
	}
	return s, nil
}

func classIndex(name string) int {
	for i, c := range Classes {
		if strings.EqualFold(name, c) {
			return i
		}
	}
	return -1
}

// parseCounts reads "new/old" or "new/old (newurgent/oldurgent)".
func parseCounts(v string) (Counts, error) {
	var c Counts
	main, urgent, hasUrgent := strings.Cut(v, "(")
	var err error
	if c.New, c.Old, err = pair(main); err != nil {
		return c, err
	}
	if hasUrgent {
		inner, ok := strings.CutSuffix(strings.TrimSpace(urgent), ")")
		if !ok {
			return c, errors.New("urgent counts not closed by ')'")
		}
		if c.NewUrgent, c.OldUrgent, err = pair(inner); err != nil {
			return c, err
		}
		c.Urgent = true
	}
	return c, nil
}

func pair(v string) (int, int, error) {
	a, b, ok := strings.Cut(v, "/")
	if !ok {
		return 0, 0, errors.New("counts must be new/old")
	}
	x, err := count(a)
	if err != nil {
		return 0, 0, err
	}
	y, err := count(b)
	return x, y, err
}

func count(v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 7 || strings.TrimLeft(v, "0123456789") != "" {
		return 0, fmt.Errorf("count %q is not a number up to %d", v, maxCount)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n > maxCount {
		return 0, fmt.Errorf("count %q is not a number up to %d", v, maxCount)
	}
	return n, nil
}

// accountURI accepts a sip:, sips: or tel: URI of printable ASCII without
// spaces, quotes or angle brackets (it is written back into a body as it
// is).
func accountURI(v string) bool {
	lower := strings.ToLower(v)
	if !strings.HasPrefix(lower, "sip:") && !strings.HasPrefix(lower, "sips:") && !strings.HasPrefix(lower, "tel:") {
		return false
	}
	if len(v) > 256 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

// Marshal writes s as a body (CRLF line ends).
func (s Summary) Marshal() []byte {
	var b strings.Builder
	b.WriteString("Messages-Waiting: ")
	if s.Waiting {
		b.WriteString("yes")
	} else {
		b.WriteString("no")
	}
	b.WriteString("\r\n")
	if s.Account != "" {
		b.WriteString("Message-Account: " + s.Account + "\r\n")
	}
	for i, c := range s.Counts {
		if !s.Has[i] {
			continue
		}
		fmt.Fprintf(&b, "%s: %d/%d", Classes[i], c.New, c.Old)
		if c.Urgent {
			fmt.Fprintf(&b, " (%d/%d)", c.NewUrgent, c.OldUrgent)
		}
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}

// Voice is the voice-message counts (the lamp's usual source).
func (s Summary) Voice() (Counts, bool) { return s.Counts[0], s.Has[0] }
