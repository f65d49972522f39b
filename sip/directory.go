package sip

import (
	"net/netip"
	"time"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/registrar"
)

// Directory is what the SIP core asks of the rest of the switch. All methods
// must be fast and non-blocking (in-memory snapshots): they run on the call
// path.
type Directory interface {
	// Phone returns a line by its SIP username.
	Phone(name string) (*routing.Phone, bool)
	// PeerBySource returns the peer whose destination (or proxy) is
	// exactly src, over transport ("UDP", "TCP"): an INVITE from there
	// without credentials is inbound from that peer.
	PeerBySource(src netip.AddrPort, transport string) (*routing.Peer, bool)
	// PeerByAddress returns the peer one of whose destinations is at addr,
	// whatever the port and transport (WithPeerMatch(PeerMatchAddress)).
	PeerByAddress(addr netip.Addr) (*routing.Peer, bool)
	// Decide routes a call: the matched route and the ordered attempts.
	Decide(req routing.CallRequest) (routing.Decision, error)
	// PlanOf returns the phone's effective rate plan.
	PlanOf(phone *routing.Phone) int
	// AcquirePhone admits one more call on the line under its totalmaximum.
	// release is idempotent. A line's call routed out takes its line's
	// slot with its first attempt instead (Admit).
	AcquirePhone(phone *routing.Phone) (release func(), ok bool)
	// Admit admits one attempt toward a peer, all or nothing: the calling
	// line's totalmaximum slot when the call does not hold it yet, the
	// peer's outmaximum slot and, for a chargeable attempt, the first
	// billing step of the line's daily call_maximum (the charge is
	// answered when the attempt is and ended exactly once, when the
	// attempt fails or the call ends; its Done channel closes when the
	// line's spend limit ends the call). Refused names the part that
	// refused, checked in the order line, spend, peer. On a host of a
	// cluster it is one round trip to the shared counters, whatever the
	// parts (routing.CallControl.Admit).
	Admit(a routing.Admission) routing.Admitted
	// ShouldTryNext is the failover policy: whether an attempt that ended
	// with o is followed by the next attempt.
	ShouldTryNext(o routing.AttemptOutcome) bool
	// FailPercentHit rolls the peer's fail_percent: true means the attempt is
	// failed as if the peer had answered 503.
	FailPercentHit(peer *routing.Peer) bool
	// Tariff is what peer charges for a call to called (ok false: the
	// call costs nothing).
	Tariff(peer *routing.Peer, called, caller, media string, now time.Time) (routing.Tariff, bool)
	// Emergency reports whether called (a dial string) is one of the
	// switch's emergency numbers (emergency.go).
	Emergency(called string) bool
	// Device is the physical line virtual line v is logged into
	// (routing/virtual.go): calls to v ring its contacts.
	Device(v *routing.Phone) (*routing.Phone, bool)
	// Presenting is the line whose caller presentation the calls of line
	// p show: the virtual line logged into p, else p.
	Presenting(p *routing.Phone) *routing.Phone
	// MailboxLines are the lines whose mailbox is box
	// (routing/mailbox.go); the slice is shared, read-only.
	MailboxLines(box string) []*routing.Phone
}

// RegistrationStore persists registrations so they survive restarts.
type RegistrationStore = registrar.Store
