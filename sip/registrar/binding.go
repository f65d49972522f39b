package registrar

import (
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// Binding is one registered contact with its parsed URI, ready to be
// called without parsing on the call path.
type Binding struct {
	Reg records.Registration
	URI sip.Uri
	// unreachable is set when the contact did not answer a ping (lines
	// with ping=1); a REGISTER replaces the Binding and clears it.
	unreachable bool
}

// RouteTo sends req to the address and transport the registration came
// from, not to the contact's host (phones behind NAT).
func (b *Binding) RouteTo(req *sip.Request) {
	if b.Reg.Source != "" {
		req.SetDestination(b.Reg.Source)
	}
	if t := b.Reg.Transport; t != "" && !strings.EqualFold(t, "udp") {
		req.SetTransport(t)
	}
}

// WebSocket says whether the contact registered over ws or wss (RFC
// 7118): a browser, whose calls need a WebRTC offer.
func (b *Binding) WebSocket() bool {
	return strings.EqualFold(b.Reg.Transport, "ws") || strings.EqualFold(b.Reg.Transport, "wss")
}

// BehindNAT says whether the contact sits behind NAT: its URI names
// another address than the one its REGISTER came from (a private address,
// a host name the switch would have to resolve), or over UDP another
// port (a NAT that maps ports). Such a contact is reached only at the
// source address (RouteTo), is kept alive by OPTIONS (ping.go), and in
// media.relay auto its calls are relayed, latched from wherever its RTP
// comes from.
func (b *Binding) BehindNAT() bool {
	src, err := netip.ParseAddrPort(b.Reg.Source)
	if err != nil {
		return false // nothing known of where it registered from
	}
	if sipmsg.HostIsNot(b.URI.Host, src.Addr().Unmap()) {
		return true
	}
	udp := b.Reg.Transport == "" || strings.EqualFold(b.Reg.Transport, "udp")
	port := b.URI.Port
	if port == 0 {
		port = 5060
	}
	return udp && port != int(src.Port())
}

// AnyBehindNAT says whether any of the contacts is behind NAT.
func AnyBehindNAT(contacts []Binding) bool {
	for i := range contacts {
		if contacts[i].BehindNAT() {
			return true
		}
	}
	return false
}
