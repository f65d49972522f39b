package records

import "time"

// Registration is one contact a phone has registered with the SIP core.
// A phone may hold several at once (one per device). It is persisted so
// that registrations survive a restart of the switch.
type Registration struct {
	Phone     string    // phone name (SIP username)
	Contact   string    // contact URI the phone asked calls to be sent to
	Source    string    // ip:port the REGISTER came from
	Transport string    // "UDP", "TCP", ...
	UserAgent string    // User-Agent header of the REGISTER
	CallID    string    // Call-ID of the REGISTER (RFC 3261 10.3 ordering)
	CSeq      uint32    // CSeq of the REGISTER
	ExpiresAt time.Time // when the binding lapses unless refreshed
	// Host is the switch host whose registrar took the REGISTER (cluster
	// hosts share bindings through the store).
	Host string `json:",omitempty"`
}
