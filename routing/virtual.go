package routing

import "strings"

// Virtual lines (phones/create ltype, lnumber: "phone" if logged in as a
// virtual phone; the line logged in on top of). A virtual line has no
// device of its own: while it is logged into a physical line, the SIP
// core, the rendered dialplan and routes/simulate apply these rules, read
// from one Logins built per snapshot:
//
//   - a call to the virtual line is the virtual line's call (its
//     forwarding, dnd, acr, totalmaximum, ring time and destinations), and
//     it rings the physical line's registered contacts, under the physical
//     line's delivery and codecs (the device's);
//   - a call from the physical line presents the virtual line: its
//     callerid_external/_internal (a keyword meaning the virtual line's
//     own number), callername_external/_internal and
//     presentation_external/_internal. INFERRED, as hot-desking does: the
//     person at the desk is the virtual line's. Everything else of the
//     call stays the physical line's (plan, class of service, spend,
//     totalmaximum, and callerid_location and the emergency address: the
//     desk is where the phone is).
//
// A login counts only when ltype is "phone", lnumber names another line
// and that line is not itself logged in anywhere (no chains); a line
// lnumber does not name (deleted, renamed) leaves the virtual line logged
// out. The API keeps one virtual line per physical line; should a store
// hold several, the lowest id presents (one rule on every path).

// LTypePhone is the ltype of a line logged into another.
const LTypePhone = "phone"

// Logins are the virtual lines logged into physical lines of one set of
// lines. The zero value has none.
type Logins struct {
	device map[string]*Phone // virtual line (lower-case name) -> physical line
	user   map[string]*Phone // physical line (lower-case name) -> virtual line presenting
}

// NewLogins finds the logins among phones; the pointers it answers point
// into phones, which must not change after.
func NewLogins(phones []Phone) Logins {
	var l Logins
	byName := make(map[string]*Phone, len(phones))
	for i := range phones {
		byName[strings.ToLower(phones[i].Name)] = &phones[i]
	}
	for i := range phones {
		v := &phones[i]
		if !loggedIn(v) {
			continue
		}
		dev, ok := byName[strings.ToLower(v.LNumber)]
		if !ok || dev == v || loggedIn(dev) {
			continue
		}
		if l.device == nil {
			l.device, l.user = map[string]*Phone{}, map[string]*Phone{}
		}
		l.device[strings.ToLower(v.Name)] = dev
		key := strings.ToLower(dev.Name)
		if u, taken := l.user[key]; !taken || v.ID < u.ID {
			l.user[key] = v
		}
	}
	return l
}

// loggedIn says whether line p's ltype and lnumber log it in somewhere.
func loggedIn(p *Phone) bool { return strings.EqualFold(p.LType, LTypePhone) && p.LNumber != "" }

// Device is the physical line virtual line v is logged into. v may be a
// copy of the line from another snapshot (a call in progress): only its
// name is looked up, and its own login must name the same line.
func (l Logins) Device(v *Phone) (*Phone, bool) {
	if v == nil || l.device == nil || !loggedIn(v) {
		return nil, false
	}
	d, ok := l.device[strings.ToLower(v.Name)]
	if !ok || !strings.EqualFold(d.Name, v.LNumber) {
		return nil, false
	}
	return d, true
}

// Presenting is the line whose caller presentation a call from line p
// shows: the virtual line logged into p, else p itself.
func (l Logins) Presenting(p *Phone) *Phone {
	if p == nil || l.user == nil {
		return p
	}
	if v, ok := l.user[strings.ToLower(p.Name)]; ok {
		return v
	}
	return p
}
