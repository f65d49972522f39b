package routing

import "strings"

// IsCallerNumber reports whether s is a telephone number usable as a
// caller id: digits, with an optional leading '+'. A line's callerid_*
// setting that is one is presented as given; any keyword means the line's
// own number (the SIP core and the rendered configs both decide so).
func IsCallerNumber(s string) bool {
	if s == "" || s == "+" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && !(i == 0 && s[i] == '+') {
			return false
		}
	}
	return true
}

// LineCallerID is the number a line presents for a callerid_external or
// callerid_internal setting: a number as given, anything else ("default",
// "name", "original", "original_own_number", "matched_called") the line's
// own number. INFERRED: the switch holds no customer default numbers, and
// the original/matched forms only differ on forwarded and inbound calls,
// which present the original caller anyway.
func LineCallerID(setting, line string) string {
	if IsCallerNumber(setting) {
		return setting
	}
	return line
}

// PresentationOf is how a caller number is shown: unknown when empty or
// anonymous, withheld when the caller asks, else allowed.
func PresentationOf(number string, withheld bool) Presentation {
	switch {
	case number == "" || strings.EqualFold(number, "anonymous"):
		return PresentationUnknown
	case withheld:
		return PresentationWithheld
	}
	return PresentationAllowed
}

// CallMedia is the media of line p's calls: fax for a fax line (media
// "fax"), else voice. INFERRED: the line decides, not the SDP of the call,
// so the SIP core, the rendered dialplan (which picks the plan's fax
// context by the line) and route simulation choose the same routes; a
// T.38-only INVITE from a voice line is routed as voice.
func (p *Phone) CallMedia() string {
	if p.Media == MediaFax {
		return MediaFax
	}
	return MediaVoice
}

// ExternalIdentity is what a call from line p shows outside the switch:
// its callerid_external number and whether presentation_external withholds
// it.
func (p *Phone) ExternalIdentity() (string, Presentation) {
	number := LineCallerID(p.CallerIDExternal, p.Name)
	return number, PresentationOf(number, p.PresentationExternal == 0)
}
