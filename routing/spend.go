package routing

import (
	"math"
	"strings"
	"sync"
	"time"
)

// SpendLedger holds lines to their daily spend limit (phones/create
// call_maximum: "maximum spending per day; -1 for no limit"). A line's
// spend is the cost of its calls since midnight in the ledger's time zone:
// the calls that ended (Restore and Charge.End commit them) and, while
// calls run, what they have cost so far. A line at or over its limit may
// make no chargeable call (CanSpend); the running calls of a line that
// reaches it are ended, as Kamailio's cnxcc does: every tick (a second)
// the ledger prices each running call one tick ahead, and when a line's
// spend would pass its limit it closes the Done channel of every charge
// of the line. A call is thus ended within one tick of its cost reaching
// what was left; the last billing step it started may take the line past
// its limit by at most that step's price.
//
// The zero value is not usable; NewSpendLedger makes one. It is safe for
// concurrent use.
type SpendLedger struct {
	loc  *time.Location
	now  func() time.Time
	tick time.Duration

	mu      sync.Mutex
	day     string             // the day spent is for, "2006-01-02" in loc
	spent   map[string]float64 // committed cost today, by lower-case line name
	running map[string]map[*Charge]struct{}
	ticking bool

	// shared holds the other hosts' spend (nil: this host alone).
	shared SharedSpend
}

// SpendOption configures NewSpendLedger.
type SpendOption func(*SpendLedger)

// WithSpendClock replaces time.Now (tests).
func WithSpendClock(now func() time.Time) SpendOption { return func(l *SpendLedger) { l.now = now } }

// WithSharedSpend makes a line's limit count what it spends through the
// other switch hosts too (SharedSpend). Only lines with a limit reach it.
func WithSharedSpend(s SharedSpend) SpendOption { return func(l *SpendLedger) { l.shared = s } }

// WithSpendTick sets how often running calls are priced (default 1 s).
func WithSpendTick(d time.Duration) SpendOption { return func(l *SpendLedger) { l.tick = d } }

// NewSpendLedger keeps days in loc (nil: the host's local time).
func NewSpendLedger(loc *time.Location, opts ...SpendOption) *SpendLedger {
	if loc == nil {
		loc = time.Local
	}
	l := &SpendLedger{loc: loc, now: time.Now, tick: time.Second, spent: map[string]float64{}, running: map[string]map[*Charge]struct{}{}}
	for _, o := range opts {
		o(l)
	}
	return l
}

// DayStart is the midnight that begins the ledger's day containing t.
func (l *SpendLedger) DayStart(t time.Time) time.Time {
	y, m, d := t.In(l.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, l.loc)
}

// Restore sets the committed spend of the day containing day (the call
// records of the day, summed by line), replacing what the ledger held.
func (l *SpendLedger) Restore(day time.Time, spent map[string]float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.day = day.In(l.loc).Format(time.DateOnly)
	l.spent = make(map[string]float64, len(spent))
	for line, v := range spent {
		l.spent[strings.ToLower(line)] += v
	}
}

// rollLocked starts a new day when now is past the ledger's.
func (l *SpendLedger) rollLocked(now time.Time) {
	if day := now.In(l.loc).Format(time.DateOnly); day != l.day {
		l.day, l.spent = day, map[string]float64{}
	}
}

// Spent is line's spend today: committed and running.
func (l *SpendLedger) Spent(line string, now time.Time) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.spentLocked(strings.ToLower(line), now)
}

func (l *SpendLedger) spentLocked(key string, at time.Time) float64 {
	l.rollLocked(at)
	total := l.spent[key]
	for c := range l.running[key] {
		cost, _ := c.tariff.Charge(at.Sub(c.answered))
		total += cost
	}
	return total
}

// CanSpend reports whether line may make a call charged under t now: it
// has no limit (call_maximum < 0), or what is left of its limit covers the
// call's first billing step (connect fee and first increment, or the
// minimum). A line at its limit, or so near it that the call would be ended
// at once after its answer was charged, gets no call.
func (l *SpendLedger) CanSpend(line *Phone, t Tariff, now time.Time) bool {
	if line.CallMaximum < 0 {
		return true
	}
	first, _ := t.Charge(time.Nanosecond)
	others := 0.0
	if l.shared != nil {
		var err error
		if others, err = l.shared.Others(l.dayOf(now), strings.ToLower(line.Name)); err != nil {
			return false // a limit that cannot be checked is treated as reached
		}
	}
	return others+l.Spent(line.Name, now)+first <= line.CallMaximum
}

// dayOf is the ledger's day containing t, as "2006-01-02".
func (l *SpendLedger) dayOf(t time.Time) string { return t.In(l.loc).Format(time.DateOnly) }

// Publish hands this host's spend of every line today to the shared
// ledger (a host starting in a cluster); a no-op without one.
func (l *SpendLedger) Publish(now time.Time) error {
	if l.shared == nil {
		return nil
	}
	l.mu.Lock()
	l.rollLocked(now)
	spent := make(map[string]float64, len(l.spent))
	for k := range l.spent {
		spent[k] = l.spentLocked(k, now)
	}
	l.mu.Unlock()
	day := l.dayOf(now)
	for k, v := range spent {
		if err := l.shared.Publish(day, k, v); err != nil {
			return err
		}
	}
	return nil
}

// Charge is one answered chargeable call of a line.
type Charge struct {
	l        *SpendLedger
	key      string
	limit    float64 // < 0: none
	tariff   Tariff
	answered time.Time
	done     chan struct{}
	closed   bool // done closed; under l.mu
	ended    bool // under l.mu
}

// StartCharge begins charging line for a call answered at answered under
// tariff. End it exactly once when the call ends.
func (l *SpendLedger) StartCharge(line *Phone, t Tariff, answered time.Time) *Charge {
	c := &Charge{l: l, key: strings.ToLower(line.Name), limit: line.CallMaximum, tariff: t, answered: answered, done: make(chan struct{})}
	l.mu.Lock()
	defer l.mu.Unlock()
	set := l.running[c.key]
	if set == nil {
		set = map[*Charge]struct{}{}
		l.running[c.key] = set
	}
	set[c] = struct{}{}
	if c.limit >= 0 && !l.ticking {
		l.ticking = true
		go l.watch()
	}
	return c
}

// Done is closed when the line's spend limit ends the call.
func (c *Charge) Done() <-chan struct{} { return c.done }

// End commits the call's cost for talk up to at and returns it with the
// billed seconds.
func (c *Charge) End(at time.Time) (cost float64, billsec int) {
	cost, billsec = c.tariff.Charge(at.Sub(c.answered))
	l := c.l
	l.mu.Lock()
	if c.ended {
		l.mu.Unlock()
		return cost, billsec
	}
	c.ended = true
	delete(l.running[c.key], c)
	if len(l.running[c.key]) == 0 {
		delete(l.running, c.key)
	}
	l.rollLocked(at)
	// A call that began yesterday is today's spend: the day it ended.
	l.spent[c.key] = math.Round((l.spent[c.key]+cost)*1e6) / 1e6
	if l.shared == nil || c.limit < 0 {
		l.mu.Unlock()
		return cost, billsec
	}
	own := l.spentLocked(c.key, at)
	l.mu.Unlock()
	// The other hosts see the cost now, not at this host's next tick.
	_ = l.shared.Publish(l.dayOf(at), c.key, own)
	return cost, billsec
}

// watch prices the running calls every tick while any has a limit, and
// ends the calls of every line whose spend would pass its limit by the
// next tick.
func (l *SpendLedger) watch() {
	t := time.NewTicker(l.tick)
	defer t.Stop()
	for range t.C {
		if !l.check() {
			return
		}
	}
}

// check does one round of watch; false when no limited call is left and
// the watch stops.
func (l *SpendLedger) check() bool {
	if l.shared != nil {
		return l.checkShared()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ahead := l.now().Add(l.tick)
	limited := false
	for key, set := range l.running {
		limit := limitOf(set)
		if limit < 0 {
			continue
		}
		limited = true
		if l.spentLocked(key, ahead) > limit {
			endCalls(set)
		}
	}
	if !limited {
		l.ticking = false
	}
	return limited
}

// checkShared is check for a ledger shared with other hosts: this host's
// spend of each limited line is published, the others' read, and the
// line's calls here are ended when all of it would pass the limit by the
// next tick. Redis round trips happen outside the lock; a failed one
// leaves the line's calls running (calls in progress are not ended for
// an outage) until the next tick.
func (l *SpendLedger) checkShared() bool {
	type line struct {
		key             string
		limit, now, due float64
	}
	l.mu.Lock()
	at := l.now()
	ahead := at.Add(l.tick)
	var lines []line
	for key, set := range l.running {
		if limit := limitOf(set); limit >= 0 {
			lines = append(lines, line{key: key, limit: limit, now: l.spentLocked(key, at), due: l.spentLocked(key, ahead)})
		}
	}
	if len(lines) == 0 {
		l.ticking = false
		l.mu.Unlock()
		return false
	}
	l.mu.Unlock()
	day := l.dayOf(at)
	var over []string
	for _, ln := range lines {
		_ = l.shared.Publish(day, ln.key, ln.now)
		others, err := l.shared.Others(day, ln.key)
		if err == nil && others+ln.due > ln.limit {
			over = append(over, ln.key)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, key := range over {
		endCalls(l.running[key])
	}
	return true
}

// limitOf is the spend limit of the line whose running charges set
// holds (-1: none).
func limitOf(set map[*Charge]struct{}) float64 {
	for c := range set {
		if c.limit >= 0 {
			return c.limit
		}
	}
	return -1
}

// endCalls closes the Done channel of every charge of set; the caller
// holds the ledger's lock.
func endCalls(set map[*Charge]struct{}) {
	for c := range set {
		if !c.closed {
			c.closed = true
			close(c.done)
		}
	}
}
