package sip

import (
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// identity is how a caller is shown: outside (to peers, through the
// routing decision and the peer's own callerid rules) and inside (to the
// switch's lines), which a line sets apart with callerid_external/_internal,
// callername_external/_internal and presentation_external/_internal.
type identity struct {
	number, name       string
	pres               routing.Presentation
	intNumber, intName string
	intPres            routing.Presentation
}

// callerIdentity works out the identity of the caller of req: the line's
// settings for a call from a phone, the request's From (and Privacy) for a
// call from a peer. A caller who withholds their number (From anonymous,
// Privacy: id) is withheld both ways whatever the line says.
func callerIdentity(req *sip.Request, phone *routing.Phone) identity {
	fromUser, fromName := "", ""
	if f := req.From(); f != nil {
		fromUser, fromName = f.Address.User, f.DisplayName
	}
	withheld := strings.EqualFold(fromUser, "anonymous") || privacyWithholds(sipmsg.HeaderValue(req, "Privacy"))
	if phone == nil {
		// A peer's caller is decided on (caller prefixes, acr) as its dial
		// string; anything that is not a number is no number.
		if n, err := routing.NormalizeNumber(fromUser); err == nil {
			fromUser = n
		} else {
			fromUser = ""
		}
		pres := routing.PresentationOf(fromUser, withheld)
		return identity{number: fromUser, name: fromName, pres: pres, intNumber: fromUser, intName: fromName, intPres: pres}
	}
	ext := routing.LineCallerID(phone.CallerIDExternal, phone.Name)
	in := routing.LineCallerID(phone.CallerIDInternal, phone.Name)
	return identity{
		number: ext, name: phone.CallerNameExternal, pres: routing.PresentationOf(ext, withheld || phone.PresentationExternal == 0),
		intNumber: in, intName: phone.CallerNameInternal, intPres: routing.PresentationOf(in, withheld || phone.PresentationInternal == 0),
	}
}

// privacyWithholds reports whether a Privacy header value (RFC 3323
// section 4.2) asks for the caller's identity to be withheld: it holds
// "id", ASCII case-insensitive (for every priv-value the RFC defines this
// is the token id). INFERRED: a substring, not a parsed token list, so
// the rendered dialplan can apply the very same rule with TOLOWER and
// STRREPLACE (render/extensions.go callerWithholds); only ASCII is
// folded, as Asterisk's TOLOWER does, so "İd" is not "id" on either
// path.
func privacyWithholds(v string) bool {
	b := []byte(v)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return strings.Contains(string(b), "id")
}

// setIdentity sets what the call shows: the routing decision gets the
// external number and presentation (a withheld number is still passed, for
// P-Asserted-Identity with Privacy: id); called lines get the internal
// number, or anonymous.
func (c *call) setIdentity(id identity) {
	c.caller, c.pres, c.intPres = id.number, id.pres, id.intPres
	if id.pres == routing.PresentationUnknown {
		c.caller = ""
	}
	if id.pres == routing.PresentationAllowed {
		c.extName = id.name
	}
	c.fromUser = "anonymous"
	if id.intPres == routing.PresentationAllowed {
		c.fromUser, c.fromName = id.intNumber, id.intName
	}
}
