package sip

import (
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/routing"
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
	withheld := strings.EqualFold(fromUser, "anonymous") || strings.Contains(strings.ToLower(headerValue(req, "Privacy")), "id")
	if phone == nil {
		pres := presentation(fromUser, withheld)
		return identity{number: fromUser, name: fromName, pres: pres, intNumber: fromUser, intName: fromName, intPres: pres}
	}
	ext := lineCallerID(phone.CallerIDExternal, phone.Name)
	in := lineCallerID(phone.CallerIDInternal, phone.Name)
	return identity{
		number: ext, name: phone.CallerNameExternal, pres: presentation(ext, withheld || phone.PresentationExternal == 0),
		intNumber: in, intName: phone.CallerNameInternal, intPres: presentation(in, withheld || phone.PresentationInternal == 0),
	}
}

// lineCallerID is the number a line presents for a callerid_external or
// callerid_internal setting: a number as given, anything else ("default",
// "name", "original", "original_own_number", "matched_called") the line's
// own number. INFERRED: the switch holds no customer default numbers, and
// the original/matched forms only differ on forwarded and inbound calls,
// which present the original caller anyway.
func lineCallerID(setting, line string) string {
	if engine.IsCallerNumber(setting) {
		return setting
	}
	return line
}

func presentation(number string, withheld bool) routing.Presentation {
	switch {
	case number == "" || strings.EqualFold(number, "anonymous"):
		return routing.PresentationUnknown
	case withheld:
		return routing.PresentationWithheld
	}
	return routing.PresentationAllowed
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
