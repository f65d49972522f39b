package routing

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
)

// CallControl is what the SIP core asks of the switch while calls run:
// lines by name, peers by address, routing decisions, admission to call
// limits and the failover policy. Everything it reads is an immutable view
// built from one store revision and swapped atomically by Reload, so the
// call path takes no lock and a rebuild never blocks a call.
type CallControl struct {
	router   *Router
	view     atomic.Pointer[callView]
	limits   *CallLimits
	policy   FailoverPolicy
	injector *FailureInjector
	resolver func(ctx context.Context, host string) ([]netip.Addr, error)
	spend    *SpendLedger
	// shared holds limits across switch hosts (nil: this host alone).
	shared SharedLimits
}

// callView is the part of a snapshot the call path reads.
type callView struct {
	revision int64
	phones   map[string]*Phone // by lower-case name
	// users are the lines by lower-case digest username: a phone's name,
	// a sip_endpoint line's defaultuser or name (LineByUser).
	users map[string]*Phone
	// peerSources are the exact sources (address and port) calls to a SIP
	// peer go to: its destinations and its proxy. peerAddrs are their
	// addresses alone.
	peerSources map[netip.AddrPort]*Peer
	peerAddrs   map[netip.Addr]*Peer
	customers   map[int]Customer
	settings    Settings
	// recordGroups are the record groups by id (recordgroup.go).
	recordGroups map[int]*RecordGroup
	groupList    []RecordGroup
	// trunks are the sip_endpoints served as trunks (endpointtrunk.go) by
	// lower-case name, trunkAddrs by the addresses their hosts resolve
	// to, trunkList in the store's order.
	trunks     map[string]*EndpointTrunk
	trunkAddrs map[netip.Addr][]*EndpointTrunk
	trunkList  []*EndpointTrunk
	// logins are the virtual lines logged into physical lines
	// (virtual.go); mailboxes the lines by their mailbox's box
	// (mailbox.go).
	logins    Logins
	mailboxes Mailboxes
}

// CallControlOption configures NewCallControl.
type CallControlOption func(*CallControl)

// WithFailoverPolicy replaces the default failover policy.
func WithFailoverPolicy(p FailoverPolicy) CallControlOption {
	return func(c *CallControl) { c.policy = p }
}

// WithFailureInjector replaces the fail_percent source (tests make it
// deterministic).
func WithFailureInjector(f *FailureInjector) CallControlOption {
	return func(c *CallControl) { c.injector = f }
}

// WithSpendLedger sets the ledger that holds lines to their daily spend
// (default: one keeping days in the host's local time, starting empty).
func WithSpendLedger(l *SpendLedger) CallControlOption {
	return func(c *CallControl) { c.spend = l }
}

// WithSharedLimits makes outmaximum and totalmaximum count the calls of
// every switch host sharing shared, not only this host's (several hosts
// on one store). Unlimited keys never reach it.
func WithSharedLimits(shared SharedLimits) CallControlOption {
	return func(c *CallControl) { c.shared = shared }
}

// WithHostResolver replaces DNS lookups of peer destinations.
func WithHostResolver(r func(ctx context.Context, host string) ([]netip.Addr, error)) CallControlOption {
	return func(c *CallControl) { c.resolver = r }
}

// NewCallControl builds the call-path view of snap and costs.
func NewCallControl(ctx context.Context, snap *Snapshot, costs []PeerCost, opts ...CallControlOption) (*CallControl, error) {
	c := &CallControl{
		limits:   &CallLimits{},
		policy:   DefaultFailoverPolicy(),
		injector: NewFailureInjector(),
		resolver: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		},
	}
	for _, o := range opts {
		o(c)
	}
	if c.spend == nil {
		c.spend = NewSpendLedger(nil)
	}
	state, err := NewRoutingState(snap, costs)
	if err != nil {
		return nil, err
	}
	c.router = NewRouter(state)
	c.view.Store(c.buildView(ctx, snap, state))
	return c, nil
}

// Reload swaps in a view of a newer snapshot. Calls in progress keep the
// objects they already hold; call-limit counters carry over, keyed by id.
func (c *CallControl) Reload(ctx context.Context, snap *Snapshot, costs []PeerCost) error {
	state, err := NewRoutingState(snap, costs)
	if err != nil {
		return fmt.Errorf("reload routing: %w", err)
	}
	view := c.buildView(ctx, snap, state)
	c.router.Swap(state)
	c.view.Store(view)
	return nil
}

// State is the routing state calls are decided on now.
func (c *CallControl) State() *RoutingState { return c.router.Load() }

// Revision is the store revision the current view was built from.
func (c *CallControl) Revision() int64 { return c.view.Load().revision }

func (c *CallControl) buildView(ctx context.Context, snap *Snapshot, state *RoutingState) *callView {
	v := &callView{
		revision:    snap.Revision,
		phones:      make(map[string]*Phone, len(snap.Phones)),
		peerSources: map[netip.AddrPort]*Peer{},
		peerAddrs:   map[netip.Addr]*Peer{},
		customers:   make(map[int]Customer, len(snap.Customers)),
		settings:    snap.Settings,
	}
	phones := make([]Phone, len(snap.Phones))
	copy(phones, snap.Phones)
	for i := range phones {
		v.phones[strings.ToLower(phones[i].Name)] = &phones[i]
	}
	v.users = v.addEndpointLines(snap.SIPEndpoints)
	v.groupList = append([]RecordGroup(nil), snap.RecordGroups...)
	v.recordGroups = make(map[int]*RecordGroup, len(v.groupList))
	for i := range v.groupList {
		v.recordGroups[v.groupList[i].ID] = &v.groupList[i]
	}
	v.addEndpointTrunks(snap.SIPEndpoints, func(host string) []netip.Addr { return c.resolve(ctx, host) })
	v.logins = NewLogins(phones)
	v.mailboxes = NewMailboxes(phones)
	for _, cu := range snap.Customers {
		v.customers[cu.ID] = cu
	}
	// Peers are identified by where the switch sends their calls: each
	// destination and the proxy, at its port (5060 when it names none).
	// The Peer pointers are the routing state's, so Admit sees the
	// same object whichever way the core found it.
	for _, p := range snap.Peers {
		peer := state.Peer(p.ID)
		if peer == nil || !peer.IsSIP() {
			continue
		}
		// Parsed apart: a TLS destination and a UDP proxy are each valid,
		// together a mixed list ParseDestinations refuses.
		hosts, _ := ParseDestinations(peer.Destination)
		proxies, _ := ParseDestinations(peer.Proxy)
		hosts = append(hosts, proxies...)
		for _, hp := range hosts {
			for _, a := range c.resolve(ctx, hp.Host) {
				src := netip.AddrPortFrom(a, uint16(hp.PortOrDefault()))
				if _, taken := v.peerSources[src]; !taken {
					v.peerSources[src] = peer
				}
				if _, taken := v.peerAddrs[a]; !taken {
					v.peerAddrs[a] = peer
				}
			}
		}
	}
	return v
}

func (c *CallControl) resolve(ctx context.Context, host string) []netip.Addr {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := c.resolver(ctx, host)
	if err != nil {
		return nil
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	return addrs
}

// Phone returns the line named name (SIP usernames compare without case,
// as the store's unique index does).
func (c *CallControl) Phone(name string) (*Phone, bool) {
	v := c.view.Load()
	p, ok := v.phones[name]
	if !ok {
		p, ok = v.phones[strings.ToLower(name)]
	}
	return p, ok
}

// Device is the physical line virtual line v is logged into (virtual.go):
// calls to v ring its contacts.
func (c *CallControl) Device(v *Phone) (*Phone, bool) { return c.view.Load().logins.Device(v) }

// Presenting is the line whose caller presentation line p's calls show:
// the virtual line logged into p, else p (virtual.go).
func (c *CallControl) Presenting(p *Phone) *Phone { return c.view.Load().logins.Presenting(p) }

// MailboxLines are the lines whose mailbox is box (mailbox.go): a
// message-summary for box goes to each.
func (c *CallControl) MailboxLines(box string) []*Phone { return c.view.Load().mailboxes.Lines(box) }

// LineByUser returns the line whose digest username is user: a phone by
// its name, else a sip_endpoint line by its defaultuser (its name when it
// has none). A phone's name wins over an endpoint's defaultuser.
func (c *CallControl) LineByUser(user string) (*Phone, bool) {
	v := c.view.Load()
	p, ok := v.users[user]
	if !ok {
		p, ok = v.users[strings.ToLower(user)]
	}
	return p, ok
}

// PeerBySource returns the SIP peer that src is: a request arriving over
// UDP (the transport the switch sends peers' calls on) from exactly the
// address and port of one of the peer's destinations or its proxy. A
// forged or borrowed port on a carrier's address is no peer.
func (c *CallControl) PeerBySource(src netip.AddrPort, transport string) (*Peer, bool) {
	if !strings.EqualFold(transport, "udp") {
		return nil, false
	}
	p, ok := c.view.Load().peerSources[netip.AddrPortFrom(src.Addr().Unmap(), src.Port())]
	return p, ok
}

// PeerByAddress returns the SIP peer one of whose destinations or proxy
// resolves to addr, whatever the port and transport: the relaxed match of
// Asterisk's insecure=port, for carriers that send from a pool of ports.
func (c *CallControl) PeerByAddress(addr netip.Addr) (*Peer, bool) {
	p, ok := c.view.Load().peerAddrs[addr.Unmap()]
	return p, ok
}

// RecordGroup returns the record group id names (recordgroup.go).
func (c *CallControl) RecordGroup(id int) (*RecordGroup, bool) {
	g, ok := c.view.Load().recordGroups[id]
	return g, ok
}

// RecordGroups lists the record groups; the slice is shared and
// read-only.
func (c *CallControl) RecordGroups() []RecordGroup { return c.view.Load().groupList }

// Decide routes a call.
func (c *CallControl) Decide(req CallRequest) (Decision, error) { return c.router.Decide(req) }

// Emergency reports whether called is one of the emergency numbers.
func (c *CallControl) Emergency(called string) bool {
	s := c.router.Load()
	return s != nil && s.IsEmergency(called)
}

// PlanOf is the line's rate plan: its own, else its customer's, else the
// system default.
func (c *CallControl) PlanOf(phone *Phone) int {
	if phone.Plan > 0 {
		return phone.Plan
	}
	v := c.view.Load()
	if cu, ok := v.customers[phone.Customer]; ok && cu.Plan > 0 {
		return cu.Plan
	}
	return v.settings.DefaultPlan
}

// AcquirePhone admits one call of phone under its totalmaximum: a call
// to the line, or a line's call that is not routed out (routed out, the
// line's slot is taken with the call's first attempt, Admit).
func (c *CallControl) AcquirePhone(phone *Phone) (func(), bool) {
	return c.acquire(LimitKey{Kind: LimitPhone, ID: phone.ID}, phone.TotalMaximum)
}

func (c *CallControl) acquire(key LimitKey, max int) (func(), bool) {
	slot, ok := c.limits.Acquire(key, max)
	if !ok {
		return nil, false
	}
	if c.shared == nil || max < 0 {
		return slot.Release, true
	}
	// This host's count never exceeds the shared one, so checking it
	// first turns a full key away without a round trip; the shared
	// count then decides.
	release, ok := c.shared.Acquire(key, max)
	if !ok {
		slot.Release()
		return nil, false
	}
	return sharedRelease(slot, release), true
}

// sharedRelease gives back a slot held here and across hosts.
func sharedRelease(slot *Slot, release func()) func() {
	return func() {
		// The local slot's once-only release guards the shared one too.
		if slot.tryRelease() {
			release()
		}
	}
}

// Admission is what an attempt of a call toward a peer takes before its
// INVITE is sent (CallControl.Admit).
type Admission struct {
	// SlotLine is the calling line whose totalmaximum slot the attempt
	// takes with it: the call's first admitted attempt takes it, so that
	// a call routed out takes the line's slot, the peer's and the spend's
	// first step in one round trip. nil: the call holds its line's slot
	// already, or holds none.
	SlotLine *Phone
	// Peer is the peer the attempt goes to: a slot of its outmaximum.
	Peer *Peer
	// SpendLine is the line a chargeable attempt charges, under Tariff:
	// its first billing step is reserved (SpendLedger.Reserve). nil: the
	// attempt is free.
	SpendLine *Phone
	Tariff    Tariff
	Now       time.Time
}

// Admitted is Admit's answer. When Refused is AdmitOK, Line (when
// SlotLine was given) and Peer give back the slots (each is idempotent)
// and Charge follows the attempt (nil when it is free); otherwise nothing
// was taken.
type Admitted struct {
	Refused    AdmitPart
	Line, Peer func()
	Charge     *Charge
}

// Admit admits one attempt of a call: the line's slot (SlotLine), the
// peer's slot and the spend's first step (SpendLine), all or none, in
// the order line, spend, peer (Refused names the first that refused, the
// one the call answers for). Each is first checked on this host, which
// refuses without a round trip; then with shared limits the limited
// parts are taken across hosts in one round trip (SharedLimits.Admit),
// so a call costs one round trip for its admission on its first peer and
// one for each further peer it is tried on. A shared counter that cannot
// be asked refuses the attempt (fail closed), blaming its first limited
// part.
func (c *CallControl) Admit(a Admission) Admitted {
	var req SharedAdmission
	var lineSlot, peerSlot *Slot
	var lineIdx, peerIdx = -1, -1
	if a.SlotLine != nil {
		key, max := LimitKey{Kind: LimitPhone, ID: a.SlotLine.ID}, a.SlotLine.TotalMaximum
		var ok bool
		if lineSlot, ok = c.limits.Acquire(key, max); !ok {
			return Admitted{Refused: AdmitLine}
		}
		if c.shared != nil && max >= 0 {
			lineIdx = req.add(key, max)
		}
	}
	var spend reservation
	if a.SpendLine != nil {
		if spend = c.spend.reserve(a.SpendLine, a.Tariff, a.Now); !spend.Ask && !spend.ok {
			lineSlot.Release()
			return Admitted{Refused: AdmitSpend}
		}
	}
	peerKey, peerMax := LimitKey{Kind: LimitPeer, ID: a.Peer.ID}, a.Peer.OutMaximum
	peerSlot, ok := c.limits.Acquire(peerKey, peerMax)
	if !ok {
		if spend.Ask {
			c.spend.reserved(spend, false)
		} else {
			spend.c.End(a.Now)
		}
		lineSlot.Release()
		return Admitted{Refused: AdmitPeer}
	}
	if c.shared != nil && peerMax >= 0 {
		peerIdx = req.add(peerKey, peerMax)
	}
	var got SharedAdmitted
	switch {
	case spend.Ask && c.shared == nil:
		// A shared ledger without shared limits: its own round trip.
		held, err := c.spend.shared.Hold(spend.Hold.Day, spend.Hold.Line, spend.Hold.Held, spend.Hold.Limit)
		if !held || err != nil {
			got.Refused = AdmitSpend
		}
	case spend.Ask || req.NSlots > 0:
		if spend.Ask {
			req.Spend = spend.Hold
		}
		var err error
		if got, err = c.shared.Admit(&req); err != nil {
			got = SharedAdmitted{Refused: firstPart(&req)}
		}
	}
	if spend.Ask {
		spend.c, spend.ok = c.spend.reserved(spend, got.Refused == AdmitOK)
	}
	if got.Refused != AdmitOK {
		if !spend.Ask {
			spend.c.End(a.Now) // a free or unlimited attempt's charge
		}
		lineSlot.Release()
		peerSlot.Release()
		return Admitted{Refused: got.Refused}
	}
	out := Admitted{Peer: peerSlot.Release, Charge: spend.c}
	if peerIdx >= 0 {
		out.Peer = sharedRelease(peerSlot, got.Releases[peerIdx])
	}
	if lineSlot != nil {
		out.Line = lineSlot.Release
		if lineIdx >= 0 {
			out.Line = sharedRelease(lineSlot, got.Releases[lineIdx])
		}
	}
	return out
}

// firstPart is the part a shared counter that could not be asked blames:
// the first of req's in the order Admit checks them.
func firstPart(req *SharedAdmission) AdmitPart {
	for _, s := range req.Slots[:req.NSlots] {
		if s.Key.Kind == LimitPhone {
			return AdmitLine
		}
	}
	if req.Spend.Line != "" {
		return AdmitSpend
	}
	return AdmitPeer
}

// ActivePeerCalls is how many calls hold a slot of peer id.
func (c *CallControl) ActivePeerCalls(id int) int {
	return c.limits.Active(LimitKey{Kind: LimitPeer, ID: id})
}

// ActivePhoneCalls is how many calls hold a slot of phone id.
func (c *CallControl) ActivePhoneCalls(id int) int {
	return c.limits.Active(LimitKey{Kind: LimitPhone, ID: id})
}

// Tariff is the tariff peer charges for a call of media to called (none
// when the peer does not charge or has no cost row for it).
func (c *CallControl) Tariff(peer *Peer, called, caller, media string, now time.Time) (Tariff, bool) {
	return c.router.Load().Tariff(peer, called, caller, media, now)
}

// SpendHeld is what line has spent and holds today (SpendLedger.Held).
func (c *CallControl) SpendHeld(line string, now time.Time) float64 { return c.spend.Held(line, now) }

// Spend is the ledger the call path charges.
func (c *CallControl) Spend() *SpendLedger { return c.spend }

// ShouldTryNext applies the failover policy.
func (c *CallControl) ShouldTryNext(o AttemptOutcome) bool { return c.policy.ShouldTryNext(o) }

// FailPercentHit rolls the peer's fail_percent.
func (c *CallControl) FailPercentHit(peer *Peer) bool { return c.injector.ShouldFail(peer) }

// Peers lists the peers of the current routing state with their limits,
// for metrics.
func (c *CallControl) Peers() []*Peer {
	state := c.router.Load()
	out := make([]*Peer, 0, len(state.peers))
	for _, p := range state.peers {
		out = append(out, p)
	}
	return out
}

// EachActivePhone calls fn for every line with calls up; lines without
// calls are left out so a switch of 100,000 lines exports a handful.
func (c *CallControl) EachActivePhone(fn func(p *Phone, active int)) {
	for _, p := range c.view.Load().phones {
		if n := c.ActivePhoneCalls(p.ID); n > 0 {
			fn(p, n)
		}
	}
}
