package routing

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Emergency calls.
//
// The switch-wide setting emergency_numbers (settings/update; INFERRED
// name, the seeds have none) lists the numbers that reach the emergency
// services, comma separated ("112,911,999"). A call whose dial string is
// exactly one of them (no prefix match: "1120" is an ordinary number) is
// an emergency call, decided the same on the SIP core, in routes/simulate
// and in the rendered dialplan:
//   - the line's class of service is not consulted (Decide), its daily
//     spend limit (call_maximum) reserves nothing and its totalmaximum
//     refuses nothing (the SIP core's admission, Simulate): an emergency
//     call is never blocked by a limit the line's owner or reseller set;
//   - the switch's own overload limits (calls.max, calls.cps) do not
//     refuse it once the line has authenticated;
//   - the route is still looked up in the line's plan: the operator
//     routes the emergency numbers to the carrier that takes them. A
//     route that forbids the number (allow 0) is the operator's own
//     choice and is honoured, and so is a peer's outmaximum, which is the
//     carrier's capacity, not the line's;
//   - the caller id sent is the line's callerid_location (EmergencyCallerID),
//     the number the emergency service calls back, presented (allowed);
//   - peers with emergency_location 1 get the line's civic address
//     (emergency_address*, emergency_country, emergency_location_code) as a
//     PIDF-LO by value (RFC 5491, RFC 4119, RFC 5139) with a Geolocation
//     header (RFC 6442); see the sip package.

// ErrEmergencyNumbers is a malformed emergency_numbers setting.
var ErrEmergencyNumbers = errors.New("emergency_numbers must be numbers separated by commas")

// MaxEmergencyNumbers bounds the list (INFERRED: a country has a handful;
// a long list is a mistake, not a dial plan).
const MaxEmergencyNumbers = 32

// ParseEmergencyNumbers reads an emergency_numbers setting: dial strings
// separated by commas (spaces around them ignored), each a full number of
// 0-9 with an optional leading '+' (no '*' or '#': those are feature
// codes), at most MaxEmergencyNumbers of them. "" is none. The numbers
// come back in the order given, repeats removed.
func ParseEmergencyNumbers(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if !IsDialString(f) || !IsCallerNumber(f) || len(f) > 16 {
			return nil, fmt.Errorf("%w: %q is not a number of 1 to 16 digits with an optional leading +", ErrEmergencyNumbers, f)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) > MaxEmergencyNumbers {
		return nil, fmt.Errorf("%w: at most %d", ErrEmergencyNumbers, MaxEmergencyNumbers)
	}
	return out, nil
}

// IsEmergency reports whether called (a dial string) is one of the
// switch's emergency numbers.
func (s *RoutingState) IsEmergency(called string) bool {
	return slices.Contains(s.emergency, called)
}

// EmergencyNumbers returns the switch's emergency numbers (do not modify).
func (s *RoutingState) EmergencyNumbers() []string { return s.emergency }

// CallerIDOriginalOwnNumber is the callerid_location keyword for the
// line's own number (phones/create).
const CallerIDOriginalOwnNumber = "original_own_number"

// EmergencyCallerID is the number an emergency call from line p presents
// (callerid_location, phones/create: "A number, original_own_number, or
// empty string for none"): a number as given; original_own_number the
// number the line presents outside (callerid_external, else its name;
// INFERRED: the number the service can call back from outside the
// switch); "" none, and the line's usual external identity applies.
func EmergencyCallerID(p *Phone) string {
	switch {
	case p == nil || p.CallerIDLocation == "":
		return ""
	case IsCallerNumber(p.CallerIDLocation):
		return p.CallerIDLocation
	}
	return LineCallerID(p.CallerIDExternal, p.Name)
}

// HasCivicAddress reports whether line p has an emergency address to send
// (a country and at least one other element).
func (p *Phone) HasCivicAddress() bool {
	if p.EmergencyCountry == "" {
		return false
	}
	for _, v := range []string{p.EmergencyAddress1, p.EmergencyAddress2, p.EmergencyAddress3, p.EmergencyAddressCity,
		p.EmergencyAddressState, p.EmergencyAddressCode, p.EmergencyAddressOther, p.EmergencyLocationCode} {
		if v != "" {
			return true
		}
	}
	return false
}

// SendsLocation reports whether an emergency call from line to peer p
// carries the line's civic address: the peer takes it (emergency_location
// 1), it is a SIP peer, and the line has one.
func (p *Peer) SendsLocation(line *Phone) bool {
	return p.EmergencyLocation == 1 && p.IsSIP() && line != nil && line.HasCivicAddress()
}
