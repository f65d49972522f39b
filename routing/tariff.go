package routing

import (
	"math"
	"slices"
	"time"
)

// Tariff is how a call a peer carries is charged: the fields of the peer's
// cost row that prices the number (peers/costs). INFERRED from the
// peers/costs/create fields: connectfee is charged on answer; cost is per
// minute of talk after the included seconds; talk is counted in whole
// started seconds and, past the included ones, billed in steps of
// increment seconds (1 when 0); minimum is the least an answered call
// costs. message (a per-message price) has no call to apply to.
type Tariff struct {
	CostID     int     // the peer_costs row
	PerMinute  float64 // cost
	ConnectFee float64
	Minimum    float64
	Included   int // seconds
	Increment  int // seconds
}

// Charge is what an answered call of talk time d costs, and its billed
// seconds (the included seconds used plus the billed steps). Costs are
// rounded to millionths.
func (t Tariff) Charge(d time.Duration) (cost float64, billsec int) {
	secs, billed := t.steps(d)
	billsec = min(secs, t.Included) + billed
	cost = t.ConnectFee + t.PerMinute*float64(billed)/60
	cost = max(cost, t.Minimum)
	return math.Round(cost*1e6) / 1e6, billsec
}

// Covered is the talk that Charge(d) pays for: the end of the billing
// step talk d is in (the included seconds, or the last whole increment
// started), 0 for no talk. Charge(Covered(d)) == Charge(d).
func (t Tariff) Covered(d time.Duration) time.Duration {
	secs, billed := t.steps(d)
	if secs == 0 {
		return 0
	}
	return time.Duration(t.Included+billed) * time.Second
}

// steps is talk d in started seconds and the seconds billed past the
// included ones: whole increments.
func (t Tariff) steps(d time.Duration) (secs, billed int) {
	secs = max(int(math.Ceil(d.Seconds())), 0)
	inc := max(t.Increment, 1)
	chargeable := max(secs-t.Included, 0)
	return secs, (chargeable + inc - 1) / inc * inc
}

// Chargeable reports whether the tariff costs anything at all: a line at
// its spend limit may still make calls that cost nothing.
func (t Tariff) Chargeable() bool {
	return t.PerMinute > 0 || t.ConnectFee > 0 || t.Minimum > 0
}

// Tariff returns the cost row of peer that charges a call to called: the
// matching row with the longest called prefix, as Price finds it, but
// whether or not the row takes part in least cost (least_cost=0 keeps a
// row out of ranking, not out of billing). ok is false when the peer has
// no own cost table (costs=0: sipswitch has no system cost table, so such
// calls cost nothing) or no row matches.
func (x *CostIndex) Tariff(peer int, called, caller, media string, now time.Time) (Tariff, bool) {
	if x == nil {
		return Tariff{}, false
	}
	p, ok := slices.BinarySearch(x.peers, peer)
	if !ok {
		return Tariff{}, false
	}
	c := x.clock(now)
	m := callMedia(media)
	var t Tariff
	found := false
	x.index.longestFirst(called, func(first, end uint32) bool {
		for i := first; i < end; i++ {
			e := &x.entries[i]
			if e.peer == uint32(p) && x.costMatches(e, called, caller, m, c) {
				b := &x.terms[i]
				t = Tariff{CostID: int(e.id), PerMinute: e.cost, ConnectFee: e.connectFee, Minimum: b.minimum,
					Included: int(b.included), Increment: int(b.increment)}
				found = true
				return false
			}
		}
		return true
	})
	return t, found
}

// Tariff is the tariff of peer for a call, in the current state.
func (s *RoutingState) Tariff(peer *Peer, called, caller, media string, now time.Time) (Tariff, bool) {
	if peer == nil || peer.Charge != 1 {
		return Tariff{}, false // charge=0: the peer's calls are not charged to customers
	}
	return s.costs.Tariff(peer.ID, called, caller, media, now)
}
