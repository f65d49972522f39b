package routing

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// CostIndex is the compiled form of the cost tables of every peer with
// costs=1, for least-cost routing. It is immutable and safe for concurrent
// use; Rank does not allocate when dst has room.
//
// All peers share one prefix index: a number's prefixes are looked up
// once, and each prefix holds the rows of every peer for it, grouped by
// peer. Twenty separate indexes would cost twenty lookups through cold
// memory per call.
type CostIndex struct {
	peers   []int // peer ids, ascending; costEntry.peer indexes it
	index   prefixIndex
	entries []costEntry
	// terms hold, beside entries (same index), what only billing reads:
	// kept apart so that ranking walks a compact array.
	terms []billingTerms
	arena string // caller prefixes
	loc   *time.Location
}

// billingTerms are a cost row's charging fields (Tariff).
type billingTerms struct {
	minimum             float64
	included, increment int32
}

// costEntry is a PeerCost packed for matching; only the fields LCR reads.
type costEntry struct {
	cost, connectFee float64
	start, end       int64 // unix seconds; -1 = unbounded
	id               int32
	peer             uint32 // index into CostIndex.peers
	callerOff        uint32
	calledMin        uint16
	calledMax        uint16
	startMin, endMin int16
	priority         int16
	callerLen        uint8
	days             uint8
	media            uint8
	leastCost        bool
	callerGroup      bool
}

// RankedPeer is one peer's price for a number, as least-cost routing ranks it.
type RankedPeer struct {
	Peer       int
	CostID     int // the peer_costs row that priced the number
	Cost       float64
	ConnectFee float64
	Priority   int
}

// CostOption configures CompileCostIndex.
type CostOption func(*CostIndex)

// WithCostLocation sets the time zone in which cost rows' days and hours
// are read; the default is UTC.
func WithCostLocation(loc *time.Location) CostOption {
	return func(x *CostIndex) { x.loc = loc }
}

// CompileCostIndex indexes the costs of the peers with costs=1. Rows of
// other peers are ignored: Enswitch only uses a peer's own cost table when
// the peer has costs=1.
func CompileCostIndex(peers []Peer, costs []PeerCost, opts ...CostOption) (*CostIndex, error) {
	x := &CostIndex{loc: time.UTC}
	for _, o := range opts {
		o(x)
	}
	for _, p := range peers {
		if p.Costs == 1 {
			x.peers = append(x.peers, p.ID)
		}
	}
	slices.Sort(x.peers)
	for i := 1; i < len(x.peers); i++ {
		if x.peers[i] == x.peers[i-1] {
			return nil, fmt.Errorf("peer %d: duplicate id", x.peers[i])
		}
	}
	var idx []int32
	for i := range costs {
		c := &costs[i]
		if _, ok := slices.BinarySearch(x.peers, c.Peer); !ok {
			continue
		}
		if err := checkCost(c); err != nil {
			return nil, err
		}
		idx = append(idx, int32(i))
	}
	slices.SortFunc(idx, func(a, b int32) int { return CompareCostRows(&costs[a], &costs[b]) })
	keys := make([]string, len(idx))
	for k, i := range idx {
		keys[k] = costs[i].CalledPrefix
	}
	index, err := buildPrefixIndex(keys)
	if err != nil {
		return nil, fmt.Errorf("peer costs: %w", err)
	}
	var arena arenaBuilder
	x.index = index
	x.entries = make([]costEntry, len(idx))
	x.terms = make([]billingTerms, len(idx))
	for k, i := range idx {
		p, _ := slices.BinarySearch(x.peers, costs[i].Peer)
		x.entries[k] = packCost(&costs[i], &arena)
		x.entries[k].peer = uint32(p)
		c := &costs[i]
		x.terms[k] = billingTerms{minimum: c.Minimum, included: int32(min(c.Included, math.MaxInt32)), increment: int32(min(c.Increment, math.MaxInt32))}
	}
	x.arena = arena.b.String()
	return x, nil
}

func packCost(c *PeerCost, arena *arenaBuilder) costEntry {
	days, _ := parseDays(c.Days)
	if c.Days == "" {
		days = allDays
	}
	media, _ := routeMedia(c.Media)
	return costEntry{
		cost:        c.Cost,
		connectFee:  c.ConnectFee,
		start:       c.Start,
		end:         c.End,
		id:          int32(c.ID),
		callerOff:   arena.intern(c.CallerPrefix),
		callerLen:   uint8(len(c.CallerPrefix)),
		calledMin:   uint16(c.CalledMin),
		calledMax:   uint16(min(c.CalledMax, math.MaxUint16)),
		startMin:    int16(c.StartHour*60 + c.StartMinute),
		endMin:      int16(c.EndHour*60 + c.EndMinute),
		priority:    int16(c.Priority),
		days:        days,
		media:       media,
		leastCost:   c.LeastCost == 1,
		callerGroup: c.CallerType == CallerTypeGroup,
	}
}

// Caller types of a cost row (peers/costs/create "caller_type").
const (
	CallerTypePrefix = "prefix"
	CallerTypeGroup  = "group"
)

// checkCost validates a cost row; CheckPeerCost is the same check for the API.
func checkCost(c *PeerCost) error {
	if err := CheckPeerCost(c); err != nil {
		return fmt.Errorf("peer %d cost %d: %w", c.Peer, c.ID, err)
	}
	return nil
}

// CheckPeerCost reports the first field of c that LCR cannot use, naming
// the API parameter.
func CheckPeerCost(c *PeerCost) error {
	switch {
	case c.ID < 0 || c.ID > math.MaxInt32:
		return fmt.Errorf("id %d out of range", c.ID)
	case !ValidPrefix(c.CalledPrefix):
		return fmt.Errorf("called_prefix %q: want up to %d characters of 0-9 * # +", c.CalledPrefix, MaxPrefixLen)
	case !ValidPrefix(c.CallerPrefix):
		return fmt.Errorf("caller_prefix %q: want up to %d characters of 0-9 * # +", c.CallerPrefix, MaxPrefixLen)
	case c.CallerType != CallerTypePrefix && c.CallerType != CallerTypeGroup && c.CallerType != "":
		return fmt.Errorf("caller_type %q: want prefix or group", c.CallerType)
	case c.CalledMin < 0 || c.CalledMin > math.MaxUint16:
		return fmt.Errorf("called_min %d out of range", c.CalledMin)
	case c.CalledMax < 0:
		return fmt.Errorf("called_max %d out of range", c.CalledMax)
	case c.LeastCost != 0 && c.LeastCost != 1:
		return fmt.Errorf("least_cost %d: want 0 or 1", c.LeastCost)
	case c.Priority < 1 || c.Priority > 10:
		return fmt.Errorf("priority %d: want 1..10", c.Priority)
	case c.Start < -1:
		return fmt.Errorf("start %d: want a unix time or -1", c.Start)
	case c.End < -1:
		return fmt.Errorf("end %d: want a unix time or -1", c.End)
	case math.IsNaN(c.Cost) || c.Cost < 0:
		return fmt.Errorf("cost %v: want a non-negative number", c.Cost)
	case math.IsNaN(c.ConnectFee) || c.ConnectFee < 0:
		return fmt.Errorf("connectfee %v: want a non-negative number", c.ConnectFee)
	case math.IsNaN(c.Message) || c.Message < 0:
		return fmt.Errorf("message %v: want a non-negative number", c.Message)
	case math.IsNaN(c.Minimum) || c.Minimum < 0:
		return fmt.Errorf("minimum %v: want a non-negative number", c.Minimum)
	case c.Included < 0:
		return fmt.Errorf("included %d: want 0 or more seconds", c.Included)
	case c.Increment < 0:
		return fmt.Errorf("increment %d: want 0 or more seconds", c.Increment)
	}
	if _, ok := routeMedia(c.Media); !ok {
		return fmt.Errorf("media %q: want voice, fax or voice_fax", c.Media)
	}
	if _, err := parseDays(c.Days); err != nil {
		return err
	}
	if err := checkClock("starthour", c.StartHour, "startminute", c.StartMinute); err != nil {
		return err
	}
	return checkClock("endhour", c.EndHour, "endminute", c.EndMinute)
}

// CompareCostRows orders rows by called prefix and peer, then in the order
// one peer's rows for a prefix are tried: longest caller prefix, exact
// media before voice_fax, higher priority, lowest id. The renderer writes
// a peer's rows in this order so that Asterisk settles a peer's price on
// the same row as Rank.
func CompareCostRows(a, b *PeerCost) int {
	if c := strings.Compare(a.CalledPrefix, b.CalledPrefix); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Peer, b.Peer); c != 0 {
		return c
	}
	if c := compareSpecificity(a.CallerPrefix, a.Media, b.CallerPrefix, b.Media); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Priority, a.Priority); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// Price returns the cost row of peer that prices a call to called: the
// matching row with the longest called prefix. ok is false when the peer
// has no costs=1 table, no row matches, or the winning row has
// least_cost=0 (a row the operator keeps out of least-cost routing hides
// the shorter rows below it, so a peer is never offered at a price that is
// not its price for the number).
func (x *CostIndex) Price(peer int, called, caller, media string, now time.Time) (RankedPeer, bool) {
	if x == nil {
		return RankedPeer{}, false
	}
	p, ok := slices.BinarySearch(x.peers, peer)
	if !ok {
		return RankedPeer{}, false
	}
	c := x.clock(now)
	m := callMedia(media)
	var r entryRanges
	x.index.collect(called, &r)
	for k := 0; k < r.n; k++ {
		for i := r.first[k]; i < r.end[k]; i++ {
			e := &x.entries[i]
			if e.peer == uint32(p) && x.costMatches(e, called, caller, m, c) {
				return x.ranked(e)
			}
		}
	}
	return RankedPeer{}, false
}

func (x *CostIndex) ranked(e *costEntry) (RankedPeer, bool) {
	if !e.leastCost {
		return RankedPeer{}, false
	}
	return RankedPeer{Peer: x.peers[e.peer], CostID: int(e.id), Cost: e.cost, ConnectFee: e.connectFee, Priority: int(e.priority)}, true
}

// costClock is the call time broken down once for every peer's rows.
type costClock struct {
	unix   int64
	minute int16
	day    uint8 // bit of the ISO weekday
}

func (x *CostIndex) clock(now time.Time) costClock {
	lt := now.In(x.loc)
	h, m, _ := lt.Clock()
	wd := uint(lt.Weekday())
	if wd == 0 {
		wd = 7
	}
	return costClock{unix: now.Unix(), minute: int16(h*60 + m), day: 1 << wd}
}

func (x *CostIndex) costMatches(e *costEntry, called, caller string, media uint8, c costClock) bool {
	n := len(called)
	switch {
	case e.media&media == 0,
		n < int(e.calledMin) || n > int(e.calledMax),
		e.days&c.day == 0,
		!inWindow(c.minute, e.startMin, e.endMin),
		e.start >= 0 && c.unix < e.start,
		e.end >= 0 && c.unix >= e.end:
		return false
	}
	if e.callerGroup {
		// sipswitch has no caller groups: a group row only applies when it
		// names none.
		return e.callerLen == 0
	}
	return e.callerLen == 0 || strings.HasPrefix(caller, x.arena[e.callerOff:e.callerOff+uint32(e.callerLen)])
}

// Rank appends to dst every peer with a price for the number, cheapest
// first: by cost, then connectfee, then higher priority, then lower peer id.
func (x *CostIndex) Rank(dst []RankedPeer, called, caller, media string, now time.Time) []RankedPeer {
	if x == nil {
		return dst
	}
	c := x.clock(now)
	m := callMedia(media)
	start := len(dst)
	// done has a bit per peer whose price is settled (found, or hidden by
	// a least_cost=0 row); deeper rows settle a peer first.
	var small [4]uint64
	done := small[:]
	if words := (len(x.peers) + 63) / 64; words > len(small) {
		done = make([]uint64, words)
	}
	remaining := len(x.peers)
	var r entryRanges
	x.index.collect(called, &r)
	for k := 0; k < r.n && remaining > 0; k++ {
		for i := r.first[k]; i < r.end[k]; i++ {
			e := &x.entries[i]
			w, bit := e.peer/64, uint64(1)<<(e.peer%64)
			if done[w]&bit != 0 || !x.costMatches(e, called, caller, m, c) {
				continue
			}
			done[w] |= bit
			remaining--
			if rp, ok := x.ranked(e); ok {
				dst = append(dst, rp)
			}
		}
	}
	// Insertion sort: a handful of peers, and no allocation.
	ranked := dst[start:]
	for i := 1; i < len(ranked); i++ {
		v := ranked[i]
		j := i
		for ; j > 0 && Cheaper(&v, &ranked[j-1]); j-- {
			ranked[j] = ranked[j-1]
		}
		ranked[j] = v
	}
	return dst
}

// Cheaper is Rank's order: by cost, then connectfee, then higher priority,
// then lower peer id.
func Cheaper(a, b *RankedPeer) bool {
	switch {
	case a.Cost != b.Cost:
		return a.Cost < b.Cost
	case a.ConnectFee != b.ConnectFee:
		return a.ConnectFee < b.ConnectFee
	case a.Priority != b.Priority:
		return a.Priority > b.Priority
	}
	return a.Peer < b.Peer
}

// Peers returns the ids of the peers whose cost tables are indexed.
func (x *CostIndex) Peers() []int {
	return slices.Clone(x.peers)
}

// DefaultPeerCost returns a cost row of peer with the peers/costs/create
// defaults, for the API and the CSV import to fill in.
func DefaultPeerCost(peer int) PeerCost {
	return PeerCost{
		Peer:       peer,
		CalledMax:  100,
		CalledMin:  1,
		CallerType: CallerTypePrefix,
		Days:       "1234567",
		End:        -1,
		Start:      -1,
		EndHour:    23,
		EndMinute:  59,
		Increment:  1,
		LeastCost:  1,
		Media:      MediaVoiceFax,
		Priority:   1,
	}
}
