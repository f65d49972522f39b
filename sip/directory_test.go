package sip

import (
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/sipswitch/sipswitch/routing"
)

// testDirectory is a small in-memory Directory: maps, a longest-prefix
// route list and counting limits. It stands in for the engine, not for
// any SIP peer.
type testDirectory struct {
	mu        sync.Mutex
	phones    map[string]*routing.Phone
	peers     map[netip.AddrPort]*routing.Peer
	routes    []testRoute
	peerCalls map[int]int // active calls by peer id
	lineCalls map[string]int
	failPct   map[int]bool
	barred    []string // called prefixes Decide refuses with ErrCallBarred
}

type testRoute struct {
	prefix string
	route  routing.Route
	peers  []*routing.Peer
}

func newTestDirectory() *testDirectory {
	return &testDirectory{
		phones:    map[string]*routing.Phone{},
		peers:     map[netip.AddrPort]*routing.Peer{},
		peerCalls: map[int]int{},
		lineCalls: map[string]int{},
		failPct:   map[int]bool{},
	}
}

func (d *testDirectory) addPhone(p routing.Phone) *routing.Phone {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.phones[p.Name] = &p
	return &p
}

func (d *testDirectory) addPeer(p *routing.Peer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	hosts, _ := routing.ParseDestinations(p.Destination)
	d.peers[netip.AddrPortFrom(netip.MustParseAddr(hosts[0].Host), uint16(hosts[0].PortOrDefault()))] = p
}

func (d *testDirectory) addRoute(prefix string, id int, peers ...*routing.Peer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.routes = append(d.routes, testRoute{prefix: prefix, route: routing.Route{ID: id, CalledPrefix: prefix}, peers: peers})
}

func (d *testDirectory) Phone(name string) (*routing.Phone, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.phones[name]
	return p, ok
}

// PeerBySource and PeerByAddress match as engine.CallControl does: exact
// UDP source, or the address alone.
func (d *testDirectory) PeerBySource(src netip.AddrPort, transport string) (*routing.Peer, bool) {
	if !strings.EqualFold(transport, "udp") {
		return nil, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.peers[src]
	return p, ok
}

func (d *testDirectory) PeerByAddress(a netip.Addr) (*routing.Peer, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for src, p := range d.peers {
		if src.Addr() == a {
			return p, true
		}
	}
	return nil, false
}

func (d *testDirectory) Decide(req routing.CallRequest) (routing.Decision, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, b := range d.barred {
		if strings.HasPrefix(req.Called, b) {
			return routing.Decision{}, routing.ErrCallBarred
		}
	}
	var best *testRoute
	for i := range d.routes {
		r := &d.routes[i]
		if strings.HasPrefix(req.Called, r.prefix) && (best == nil || len(r.prefix) > len(best.prefix)) {
			best = r
		}
	}
	if best == nil {
		return routing.Decision{}, routing.ErrNoRoute
	}
	dec := routing.Decision{Route: &best.route}
	for _, p := range best.peers {
		called, callerID := routing.TranslateNumbers(p, req.Called, req.Caller, req.Presentation)
		dec.Attempts = append(dec.Attempts, routing.Attempt{Peer: p, Called: called, CallerID: callerID})
	}
	return dec, nil
}

func (d *testDirectory) PlanOf(p *routing.Phone) int { return p.Plan }

func (d *testDirectory) Emergency(string) bool { return false }

// Admit takes the line's slot, then the peer's, as CallControl.Admit
// does; the test directory charges nothing.
func (d *testDirectory) Admit(a routing.Admission) routing.Admitted {
	var out routing.Admitted
	if a.SlotLine != nil {
		rel, ok := d.AcquirePhone(a.SlotLine)
		if !ok {
			return routing.Admitted{Refused: routing.AdmitLine}
		}
		out.Line = rel
	}
	rel, ok := d.acquirePeer(a.Peer)
	if !ok {
		if out.Line != nil {
			out.Line()
		}
		return routing.Admitted{Refused: routing.AdmitPeer}
	}
	out.Peer = rel
	return out
}

func (d *testDirectory) acquirePeer(p *routing.Peer) (func(), bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p.OutMaximum > 0 && d.peerCalls[p.ID] >= p.OutMaximum {
		return nil, false
	}
	d.peerCalls[p.ID]++
	var once sync.Once
	return func() {
		once.Do(func() {
			d.mu.Lock()
			d.peerCalls[p.ID]--
			d.mu.Unlock()
		})
	}, true
}

func (d *testDirectory) AcquirePhone(p *routing.Phone) (func(), bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p.TotalMaximum > 0 && d.lineCalls[p.Name] >= p.TotalMaximum {
		return nil, false
	}
	d.lineCalls[p.Name]++
	var once sync.Once
	return func() {
		once.Do(func() {
			d.mu.Lock()
			d.lineCalls[p.Name]--
			d.mu.Unlock()
		})
	}, true
}

// ShouldTryNext: fail over on timeouts, limits and 5xx/408, not on a
// callee's own answer such as 486 or 404.
func (d *testDirectory) ShouldTryNext(o routing.AttemptOutcome) bool {
	return o.TimedOut || o.LimitReached || o.Code == 408 || o.Code >= 500
}

func (d *testDirectory) FailPercentHit(p *routing.Peer) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.failPct[p.ID]
}

// activeSlots sums the slots held on peers and lines.
func (d *testDirectory) activeSlots() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, v := range d.peerCalls {
		n += v
	}
	for _, v := range d.lineCalls {
		n += v
	}
	return n
}

// edit changes phones or peers under the directory's lock, as a snapshot
// swap would (the race detector sees no order through the network).
func (d *testDirectory) edit(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f()
}

// The test directory charges nothing: spend is tested on routing's
// CallControl.
func (d *testDirectory) Tariff(*routing.Peer, string, string, string, time.Time) (routing.Tariff, bool) {
	return routing.Tariff{}, false
}

// Device, Presenting and MailboxLines follow routing's rules over the
// directory's phones as they are now.
func (d *testDirectory) Device(v *routing.Phone) (*routing.Phone, bool) {
	dev, ok := d.logins().Device(v)
	return d.byName(dev, ok)
}

func (d *testDirectory) Presenting(p *routing.Phone) *routing.Phone {
	if q, ok := d.byName(d.logins().Presenting(p), true); ok {
		return q
	}
	return p
}

func (d *testDirectory) MailboxLines(box string) []*routing.Phone {
	var out []*routing.Phone
	for _, p := range routing.NewMailboxes(d.phoneList()).Lines(box) {
		if q, ok := d.byName(p, true); ok {
			out = append(out, q)
		}
	}
	return out
}

// phoneList copies the phones; logins and byName map its copies back to
// the directory's own.
func (d *testDirectory) phoneList() []routing.Phone {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]routing.Phone, 0, len(d.phones))
	for _, p := range d.phones {
		out = append(out, *p)
	}
	return out
}

func (d *testDirectory) logins() routing.Logins {
	d.mu.Lock()
	logged := false
	for _, p := range d.phones {
		logged = logged || p.LType != ""
	}
	d.mu.Unlock()
	if !logged {
		return routing.Logins{} // what the benchmarks' calls cost stays the call path's
	}
	return routing.NewLogins(d.phoneList())
}

func (d *testDirectory) byName(p *routing.Phone, ok bool) (*routing.Phone, bool) {
	if !ok || p == nil {
		return nil, false
	}
	return d.Phone(p.Name)
}
