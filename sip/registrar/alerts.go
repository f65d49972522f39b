package registrar

import (
	"net/netip"

	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/routing"
)

// A line's expect_registered (phones/create) says what the operator
// expects of its registration: 0 nothing, 1 that it stays registered (an
// alert when it stops being), 2 also that it stays where it is (an alert
// when it registers from another address). The alerts are WARN log lines
// and counters (sipswitch_sip_unregistered_alerts_total,
// sipswitch_sip_address_change_alerts_total) for the operator's alerting.
const (
	expectRegistered        = 1
	expectRegisteredAndAddr = 2
)

// Reasons a line stopped being registered.
const (
	unregExpired   = "expired"            // the phone did not refresh in time
	unregRemoved   = "deregistered"       // the phone sent Expires: 0
	unregWhileDown = "expired_while_down" // lapsed while the switch was stopped
)

// lineUnregistered alerts, when the line expects to be registered, that
// its last binding (last) went away for reason.
func (r *Registrar) lineUnregistered(last records.Registration, reason string) {
	p, ok := r.phones.Phone(last.Phone)
	if !ok || p.ExpectRegistered < expectRegistered {
		return
	}
	r.unregisteredAlerts.Add(1)
	r.log.Warn("sip phone unregistered", "phone", last.Phone, "reason", reason,
		"last_source", last.Source, "last_contact", last.Contact, "user_agent", last.UserAgent)
}

// checkAddressChange alerts, when the line asks for it, that it registers
// from src while its current bindings all came from other IP addresses.
// A line with no binding has no address to change from.
func (r *Registrar) checkAddressChange(p *routing.Phone, prev []Binding, src string) {
	if p.ExpectRegistered < expectRegisteredAndAddr || len(prev) == 0 {
		return
	}
	ip := addrIP(src)
	for _, b := range prev {
		if addrIP(b.Reg.Source) == ip {
			return
		}
	}
	r.addressChangeAlerts.Add(1)
	r.log.Warn("sip phone address changed", "phone", p.Name, "old_source", prev[0].Reg.Source, "new_source", src)
}

// addrIP is the IP address of a host:port source (the whole string when
// it does not parse), so that a NAT port change is not an address change.
func addrIP(src string) string {
	if ap, err := netip.ParseAddrPort(src); err == nil {
		return ap.Addr().Unmap().String()
	}
	return src
}
