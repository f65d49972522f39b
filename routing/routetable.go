package routing

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RouteTable is the compiled, immutable form of every plan's routes. It is
// safe for concurrent use; Lookup takes no locks and does not allocate.
//
// Routes are kept as 44-byte entries whose strings point into one shared
// string arena, not as Route values: a rate deck of a million routes must
// fit in a small share of the switch's memory.
type RouteTable struct {
	byPlanID map[int]int32 // plan id -> index into plans
	plans    []planRoutes
	routes   []routeEntry
	arena    string
	groups   *TimeGroupSet
}

// planRoutes is one plan's part of the table: its routes are
// routes[base:], indexed by called prefix.
type planRoutes struct {
	id       int
	cosGroup int32 // compiled index of the plan's cos_timegroup, -1 none
	index    prefixIndex
	base     uint32 // index of the plan's first entry in RouteTable.routes
}

// routeEntry is a Route packed for the table; strings are offsets into the
// table's arena.
type routeEntry struct {
	id                  int32
	peer1, peer2, peer3 int32
	timeGroup           int32 // as configured; 0 = plan's cos_timegroup
	calledOff           uint32
	callerOff           uint32
	descOff             uint32
	descLen             uint32
	calledLen           uint8
	callerLen           uint8
	allow               uint8
	media               uint8
}

// Media codes of routeEntry.media and of calls.
const (
	mediaVoice uint8 = 1 << iota
	mediaFax
	mediaVoiceFax = mediaVoice | mediaFax
)

func routeMedia(s string) (uint8, bool) {
	switch s {
	case MediaVoice:
		return mediaVoice, true
	case MediaFax:
		return mediaFax, true
	case MediaVoiceFax, "":
		return mediaVoiceFax, true
	}
	return 0, false
}

// callMedia maps a call's media to its code; "" and unknown values are voice.
func callMedia(s string) uint8 {
	if s == MediaFax {
		return mediaFax
	}
	return mediaVoice
}

func mediaName(m uint8) string {
	switch m {
	case mediaVoice:
		return MediaVoice
	case mediaFax:
		return MediaFax
	}
	return MediaVoiceFax
}

// CompileRouteTable checks routes and builds the table. Every route must
// name a plan in plans; time groups are those allow=2/3 consult.
func CompileRouteTable(plans []Plan, routes []Route, groups []TimeGroup) (*RouteTable, error) {
	gs, err := CompileTimeGroups(groups)
	if err != nil {
		return nil, err
	}
	return compileRouteTable(plans, routes, gs)
}

func compileRouteTable(plans []Plan, routes []Route, gs *TimeGroupSet) (*RouteTable, error) {
	t := &RouteTable{byPlanID: make(map[int]int32, len(plans)), groups: gs}
	for _, p := range plans {
		if _, dup := t.byPlanID[p.ID]; dup {
			return nil, fmt.Errorf("plan %d: duplicate id", p.ID)
		}
		if !fitsInt32(p.COSTimeGroup) {
			return nil, fmt.Errorf("plan %d: cos_timegroup %d out of range", p.ID, p.COSTimeGroup)
		}
		cos := int32(-1)
		if p.COSTimeGroup != 0 {
			cos = gs.lookupIndex(p.COSTimeGroup)
		}
		t.byPlanID[p.ID] = int32(len(t.plans))
		t.plans = append(t.plans, planRoutes{id: p.ID, cosGroup: cos})
	}

	// Group route indexes by plan, then sort each plan's routes by called
	// prefix (trie order) and, within a prefix, into match order.
	counts := make([]int, len(t.plans)+1)
	planOf := make([]int32, len(routes))
	for i := range routes {
		r := &routes[i]
		if err := checkRoute(r); err != nil {
			return nil, err
		}
		pi, ok := t.byPlanID[r.Plan]
		if !ok {
			return nil, fmt.Errorf("route %d: plan %d: %w", r.ID, r.Plan, ErrUnknownPlan)
		}
		planOf[i] = pi
		counts[pi+1]++
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	order := make([]int32, len(routes))
	next := slices.Clone(counts[:len(t.plans)])
	for i, pi := range planOf {
		order[next[pi]] = int32(i)
		next[pi]++
	}
	planOf = nil
	next = nil

	t.routes = make([]routeEntry, len(routes))
	keys := make([]string, len(routes))
	var arena arenaBuilder
	// Plans sort and index independently, most of a big table's build:
	// one worker per CPU takes plans from a shared counter.
	planErrs := make([]error, len(t.plans))
	var nextPlan atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(t.plans)) {
		wg.Go(func() {
			for {
				pi := int(nextPlan.Add(1) - 1)
				if pi >= len(t.plans) {
					return
				}
				lo, hi := counts[pi], counts[pi+1]
				idx := order[lo:hi]
				slices.SortFunc(idx, func(a, b int32) int { return compareRoutes(&routes[a], &routes[b]) })
				for k, ri := range idx {
					keys[lo+k] = routes[ri].CalledPrefix
				}
				index, err := buildPrefixIndex(keys[lo:hi])
				if err != nil {
					planErrs[pi] = fmt.Errorf("plan %d: %w", t.plans[pi].id, err)
				}
				t.plans[pi].index = index
				t.plans[pi].base = uint32(lo)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(planErrs...); err != nil {
		return nil, err
	}
	for pi := range t.plans {
		lo, hi := counts[pi], counts[pi+1]
		idx := order[lo:hi]
		// Walk backwards so that a prefix can reuse the arena bytes of the
		// longer prefix that follows it in sorted order ("44" inside "447").
		for k := len(idx) - 1; k >= 0; k-- {
			r := &routes[idx[k]]
			e := &t.routes[lo+k]
			*e = routeEntry{
				id:        int32(r.ID),
				peer1:     int32(r.Peer1),
				peer2:     int32(r.Peer2),
				peer3:     int32(r.Peer3),
				timeGroup: int32(r.TimeGroup),
				allow:     uint8(r.Allow),
				calledLen: uint8(len(r.CalledPrefix)),
				callerLen: uint8(len(r.CallerPrefix)),
			}
			e.media, _ = routeMedia(r.Media)
			e.calledOff = arena.prefix(r.CalledPrefix)
			e.callerOff = arena.intern(r.CallerPrefix)
			e.descOff = arena.intern(r.Description)
			e.descLen = uint32(len(r.Description))
		}
	}
	if arena.b.Len() > math.MaxUint32 {
		return nil, fmt.Errorf("route strings take %d bytes, more than 4 GiB", arena.b.Len())
	}
	t.arena = arena.b.String()
	return t, nil
}

func fitsInt32(v int) bool { return v >= math.MinInt32 && v <= math.MaxInt32 }

// checkRoute reports the first field of r that CompileRouteTable would
// refuse (the plan's existence aside), naming the API parameter.
func checkRoute(r *Route) error {
	switch {
	case r.ID < 0 || r.ID > math.MaxInt32:
		return fmt.Errorf("route %d: id out of range", r.ID)
	case !ValidPrefix(r.CalledPrefix):
		return fmt.Errorf("route %d: called_prefix %q: want up to %d characters of 0-9 * # +", r.ID, r.CalledPrefix, MaxPrefixLen)
	case !ValidPrefix(r.CallerPrefix):
		return fmt.Errorf("route %d: caller_prefix %q: want up to %d characters of 0-9 * # +", r.ID, r.CallerPrefix, MaxPrefixLen)
	case r.Allow < AllowForbid || r.Allow > AllowOutOfTimeGroup:
		return fmt.Errorf("route %d: allow %d: want 0..3", r.ID, r.Allow)
	case !validPeerRef(r.Peer1):
		return fmt.Errorf("route %d: peer1 %d out of range", r.ID, r.Peer1)
	case !validPeerRef(r.Peer2):
		return fmt.Errorf("route %d: peer2 %d out of range", r.ID, r.Peer2)
	case !validPeerRef(r.Peer3):
		return fmt.Errorf("route %d: peer3 %d out of range", r.ID, r.Peer3)
	case r.TimeGroup < 0 || r.TimeGroup > math.MaxInt32:
		return fmt.Errorf("route %d: timegroup %d out of range", r.ID, r.TimeGroup)
	case len(r.Description) > math.MaxUint32:
		return fmt.Errorf("route %d: description too long", r.ID)
	}
	if _, ok := routeMedia(r.Media); !ok {
		return fmt.Errorf("route %d: media %q: want voice, fax or voice_fax", r.ID, r.Media)
	}
	return nil
}

func validPeerRef(p int) bool { return p >= PeerLeastCost && p <= math.MaxInt32 }

// compareRoutes orders routes by called prefix, then in the order a lookup
// tries the routes of one prefix: longest caller prefix, exact media before
// voice_fax, lowest id.
func compareRoutes(a, b *Route) int {
	if c := strings.Compare(a.CalledPrefix, b.CalledPrefix); c != 0 {
		return c
	}
	if c := compareSpecificity(a.CallerPrefix, a.Media, b.CallerPrefix, b.Media); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// compareSpecificity orders two rows of one called prefix (routes, or one
// peer's costs) as a lookup tries them: the longer caller prefix first,
// then an exact media before voice_fax.
func compareSpecificity(callerA, mediaA, callerB, mediaB string) int {
	if c := cmp.Compare(len(callerB), len(callerA)); c != 0 {
		return c
	}
	am, _ := routeMedia(mediaA)
	bm, _ := routeMedia(mediaB)
	return boolOrder(am == mediaVoiceFax, bm == mediaVoiceFax)
}

// boolOrder sorts false before true.
func boolOrder(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// arenaBuilder collects the table's strings into one string.
type arenaBuilder struct {
	b      strings.Builder
	last   string // the previous prefix written by prefix()
	lastAt uint32
	seen   map[string]uint32
}

// prefix stores a called prefix, reusing the previous one when s is a
// prefix of it; callers pass prefixes in descending order.
func (a *arenaBuilder) prefix(s string) uint32 {
	if strings.HasPrefix(a.last, s) {
		return a.lastAt
	}
	off := uint32(a.b.Len())
	a.b.WriteString(s)
	a.last, a.lastAt = s, off
	return off
}

// intern stores s once however many routes carry it: caller prefixes and
// descriptions repeat across a deck.
func (a *arenaBuilder) intern(s string) uint32 {
	if s == "" {
		return 0
	}
	if a.seen == nil {
		a.seen = make(map[string]uint32)
	}
	if off, ok := a.seen[s]; ok {
		return off
	}
	off := uint32(a.b.Len())
	a.b.WriteString(s)
	a.seen[s] = off
	return off
}

// Lookup returns the route that decides a call from caller to called with
// media ("" = voice) in plan at now. It returns ErrUnknownPlan, ErrNoRoute,
// or ErrCallBarred together with the barring route.
func (t *RouteTable) Lookup(plan int, called, caller, media string, now time.Time) (Route, error) {
	pi, ok := t.byPlanID[plan]
	if !ok {
		return Route{}, ErrUnknownPlan
	}
	p := &t.plans[pi]
	e := t.match(p, called, caller, callMedia(media))
	if e == nil {
		return Route{}, ErrNoRoute
	}
	r := t.route(p, e)
	if !t.allowed(p, e, now) {
		return r, ErrCallBarred
	}
	return r, nil
}

// match finds the winning entry: the longest matching called prefix first,
// and within one prefix the first entry (sorted into match order) whose
// caller prefix and media fit.
func (t *RouteTable) match(p *planRoutes, called, caller string, media uint8) *routeEntry {
	var found *routeEntry
	p.index.longestFirst(called, func(first, end uint32) bool {
		found = t.firstMatch(p.base+first, p.base+end, caller, media)
		return found == nil
	})
	return found
}

// firstMatch returns the first entry of routes[first:end] whose caller
// prefix and media fit the call.
func (t *RouteTable) firstMatch(first, end uint32, caller string, media uint8) *routeEntry {
	for i := first; i < end; i++ {
		e := &t.routes[i]
		if e.media&media == 0 {
			continue
		}
		if e.callerLen > 0 && !strings.HasPrefix(caller, t.arena[e.callerOff:e.callerOff+uint32(e.callerLen)]) {
			continue
		}
		return e
	}
	return nil
}

func (t *RouteTable) allowed(p *planRoutes, e *routeEntry, now time.Time) bool {
	switch e.allow {
	case AllowAlways:
		return true
	case AllowInTimeGroup:
		return t.groups.activeIndex(t.groupOf(p, e), now)
	case AllowOutOfTimeGroup:
		return !t.groups.activeIndex(t.groupOf(p, e), now)
	}
	return false
}

// groupOf returns the compiled index of the time group e consults, or -1
// when it has none or names an unknown group (both: never active).
func (t *RouteTable) groupOf(p *planRoutes, e *routeEntry) int32 {
	if e.timeGroup != 0 {
		return t.groups.lookupIndex(int(e.timeGroup))
	}
	return p.cosGroup
}

func (t *RouteTable) route(p *planRoutes, e *routeEntry) Route {
	return Route{
		ID:           int(e.id),
		Plan:         p.id,
		CalledPrefix: t.arena[e.calledOff : e.calledOff+uint32(e.calledLen)],
		CallerPrefix: t.arena[e.callerOff : e.callerOff+uint32(e.callerLen)],
		Allow:        int(e.allow),
		Description:  t.arena[e.descOff : e.descOff+e.descLen],
		Media:        mediaName(e.media),
		Peer1:        int(e.peer1),
		Peer2:        int(e.peer2),
		Peer3:        int(e.peer3),
		TimeGroup:    int(e.timeGroup),
	}
}

// Len returns the number of routes in the table.
func (t *RouteTable) Len() int { return len(t.routes) }

// TimeGroups returns the compiled time groups the table consults.
func (t *RouteTable) TimeGroups() *TimeGroupSet { return t.groups }
