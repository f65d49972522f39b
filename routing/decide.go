package routing

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// RoutingState is everything a routing decision reads, built from one
// Snapshot: the route table, the peers, the settings and the least-cost
// index. It is immutable; the Peers its Decisions point to must not be
// modified.
type RoutingState struct {
	revision int64
	table    *RouteTable
	peers    map[int]*Peer
	settings Settings
	costs    *CostIndex
	cos      *cosTable
	parents  map[int]int // customer -> parent (0 at the root)
	// emergency are the emergency numbers (emergency.go).
	emergency []string
}

// StateOption configures NewRoutingState.
type StateOption func(*stateConfig)

type stateConfig struct {
	costOpts []CostOption
}

// WithCostOptions passes options to the least-cost index.
func WithCostOptions(opts ...CostOption) StateOption {
	return func(c *stateConfig) { c.costOpts = append(c.costOpts, opts...) }
}

// NewRoutingState compiles snap's plans, routes, time groups and peers and
// the peers' cost rows into a RoutingState.
func NewRoutingState(snap *Snapshot, costs []PeerCost, opts ...StateOption) (*RoutingState, error) {
	var cfg stateConfig
	for _, o := range opts {
		o(&cfg)
	}
	table, err := CompileRouteTable(snap.Plans, snap.Routes, snap.TimeGroups)
	if err != nil {
		return nil, fmt.Errorf("route table: %w", err)
	}
	ci, err := CompileCostIndex(snap.Peers, costs, cfg.costOpts...)
	if err != nil {
		return nil, fmt.Errorf("least-cost index: %w", err)
	}
	emergency, err := ParseEmergencyNumbers(snap.Settings.EmergencyNumbers)
	if err != nil {
		return nil, err
	}
	cos, err := compileCOS(snap.Classes, snap.Settings.DefaultCOS, table.TimeGroups())
	if err != nil {
		return nil, err
	}
	s := &RoutingState{
		revision:  snap.Revision,
		table:     table,
		peers:     make(map[int]*Peer, len(snap.Peers)),
		settings:  snap.Settings,
		costs:     ci,
		cos:       cos,
		parents:   make(map[int]int, len(snap.Customers)),
		emergency: emergency,
	}
	for _, c := range snap.Customers {
		s.parents[c.ID] = c.Parent
	}
	// One copy of the peers: decisions point into it, never into the
	// caller's snapshot, which may be reused.
	peers := make([]Peer, len(snap.Peers))
	copy(peers, snap.Peers)
	for i := range peers {
		s.peers[peers[i].ID] = &peers[i]
	}
	return s, nil
}

// Revision returns the store revision the state was built from.
func (s *RoutingState) Revision() int64 { return s.revision }

// Table returns the compiled route table.
func (s *RoutingState) Table() *RouteTable { return s.table }

// Costs returns the least-cost index.
func (s *RoutingState) Costs() *CostIndex { return s.costs }

// Peer returns the peer with id, or nil.
func (s *RoutingState) Peer(id int) *Peer { return s.peers[id] }

// Settings returns the switch-wide settings the state was built with.
func (s *RoutingState) Settings() Settings { return s.settings }

// maxAttempts sizes a decision's attempt list without least-cost routing.
const maxAttempts = 3

// Decide routes req: it finds the deciding route, expands its peers in
// order (peer1 0 = the default peer, -1 = every peer with a price for the
// number, cheapest first), drops unknown and repeated peers, and gives each
// attempt the numbers to send. A called number that is not a dial string is
// ErrInvalidNumber. A refused call returns the refusing route
// with ErrCallBarred; a route without a usable peer returns ErrNoPeer.
func (s *RoutingState) Decide(req CallRequest) (Decision, error) {
	if !IsDialString(req.Called) {
		// Callers normalise first (NormalizeNumber); a number that is not
		// a dial string is never matched against prefixes.
		return Decision{}, ErrInvalidNumber
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	emergency := s.IsEmergency(req.Called)
	var bypassed *COSRule
	cosBypassed := false
	if req.Line != nil {
		if rule, ok := s.cos.check(req.Line.COS, req.Called, now); !ok {
			if !emergency {
				return Decision{COSRule: rule}, ErrCOSBarred
			}
			// Never blocked by the line's class: noted for simulation.
			bypassed, cosBypassed = rule, true
		}
	}
	if emergency && req.Line != nil {
		if n := EmergencyCallerID(req.Line); n != "" {
			req.Caller, req.Presentation = n, PresentationAllowed
		}
	}
	route, err := s.table.Lookup(req.Plan, req.Called, req.Caller, req.Media, now)
	switch err {
	case nil:
	case ErrCallBarred:
		return Decision{Route: &route, Emergency: emergency, COSRule: bypassed, COSBypassed: cosBypassed}, err
	default:
		return Decision{Emergency: emergency, COSRule: bypassed, COSBypassed: cosBypassed}, err
	}
	d := Decision{Route: &route, Attempts: make([]Attempt, 0, maxAttempts), Emergency: emergency, COSRule: bypassed, COSBypassed: cosBypassed}
	if emergency {
		d.Caller, d.Presentation = req.Caller, req.Presentation
	}
	var rankBuf [16]RankedPeer
	var ranked []RankedPeer
	for i, id := range [3]int{route.Peer1, route.Peer2, route.Peer3} {
		switch {
		case id == PeerLeastCost:
			if ranked == nil {
				ranked = s.costs.Rank(rankBuf[:0], req.Called, req.Caller, req.Media, now)
			}
			for _, rp := range ranked {
				s.appendAttempt(&d, rp.Peer, &req)
			}
		case id == PeerNone && i == 0:
			s.appendAttempt(&d, s.settings.DefaultPeer, &req)
		case id > 0:
			s.appendAttempt(&d, id, &req)
		}
	}
	if len(d.Attempts) == 0 {
		return d, ErrNoPeer
	}
	return d, nil
}

// appendAttempt adds peer id to d's attempts: not an unknown peer, not a
// peer already listed, and not one reserved for another customer
// (d.Reserved).
func (s *RoutingState) appendAttempt(d *Decision, id int, req *CallRequest) {
	p := s.peers[id]
	if p == nil {
		return
	}
	for _, a := range d.Attempts {
		if a.Peer.ID == id {
			return
		}
	}
	if !s.mayUse(p, req.Line) {
		if !slices.Contains(d.Reserved, p) {
			d.Reserved = append(d.Reserved, p)
		}
		return
	}
	called, callerID := TranslateNumbers(p, req.Called, req.Caller, req.Presentation)
	d.Attempts = append(d.Attempts, Attempt{Peer: p, Called: called, CallerID: callerID})
}

// mayUse reports whether line's calls may go to peer p. A peer's customer
// (peers/create: "ID of customer to reserve for. 0 for none. -1 for all")
// above 0 reserves it for that customer and the customers below it
// (INFERRED: the tree, as plan_customer's "(and children)"); 0 and -1
// reserve it for nobody. A call without a line (a simulation by plan
// alone) is nobody's customer's and gets no reserved peer.
func (s *RoutingState) mayUse(p *Peer, line *Phone) bool {
	if p.Customer <= 0 {
		return true
	}
	if line == nil {
		return false
	}
	return s.withinCustomer(line.Customer, p.Customer)
}

// withinCustomer reports whether customer c is top or below it.
func (s *RoutingState) withinCustomer(c, top int) bool {
	for range len(s.parents) + 1 { // a cycle in a bad store ends here
		if c == top {
			return true
		}
		parent, ok := s.parents[c]
		if !ok || parent == 0 {
			return false
		}
		c = parent
	}
	return false
}

// Router holds the current RoutingState. Decisions read it without locks;
// Swap replaces it whole, so a decision sees the old state or the new one,
// never a mix.
type Router struct {
	state atomic.Pointer[RoutingState]
}

// NewRouter returns a router holding s (which may be nil until the first Swap).
func NewRouter(s *RoutingState) *Router {
	r := &Router{}
	if s != nil {
		r.state.Store(s)
	}
	return r
}

// Load returns the current state, or nil before the first one.
func (r *Router) Load() *RoutingState { return r.state.Load() }

// Swap installs s and returns the state it replaces.
func (r *Router) Swap(s *RoutingState) *RoutingState { return r.state.Swap(s) }

// ErrNotLoaded is returned by a Router that has no RoutingState yet.
var ErrNotLoaded = fmt.Errorf("routing state not loaded: %w", ErrUnknownPlan)

// Decide routes req with the current state.
func (r *Router) Decide(req CallRequest) (Decision, error) {
	s := r.state.Load()
	if s == nil {
		return Decision{}, ErrNotLoaded
	}
	return s.Decide(req)
}
