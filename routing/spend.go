package routing

import (
	"math"
	"strings"
	"sync"
	"time"
)

// SpendLedger holds lines to their daily spend limit (phones/create
// call_maximum: "maximum spending per day; -1 for no limit"). A line's
// spend is the cost of its calls since midnight in the ledger's time zone.
//
// Money is held before it is spent, as Kamailio's cnxcc reserves credit
// per call and an online charging server grants quota (RFC 4006 5.1). A
// limited line's day is what it committed (calls that ended: Restore and
// Charge.End) and what its calls in progress hold:
//
//   - a reservation for each chargeable attempt not yet answered: the
//     first billing step of the peer that will carry it (Tariff.Charge of
//     a started call: the connect fee and first increment, or the
//     minimum), taken by Reserve before the attempt's INVITE is sent,
//     only when the committed spend, every holding of the line and this
//     step stay within the limit, in one step (across hosts with
//     SharedSpend). The attempt's Charge gives it back (End) when the
//     attempt fails, is cancelled or times out, and before the next peer
//     is tried (that peer's own first step is reserved instead);
//   - a grant for each answered call: Answer turns the reservation into
//     the call's grant, and every tick (a second) the ledger extends each
//     running call's grant to its cost one tick ahead, again only within
//     the limit. When a line's extensions do not fit, every call of the
//     line is ended: the Done channel of each of its charges is closed.
//
// End commits an answered call's cost and gives the rest of its grant
// back. INFERRED: a limited line's call is billed at most the talk its
// grant covers (Tariff.Covered), so a call the limit ends is billed up to
// the moment the ledger decided to end it, not the BYE round trips that
// follow. Why both: a grant a tick ahead pays for a call's next step
// before the step starts, so the limit is checked before money is spent
// rather than after; but between the decision and a call's end lie its
// BYEs (up to seconds when a party is slow), a window no reservation
// bounds and that 50 calls ended at once would each add to. Hence a
// line's spend in a day never passes its limit, whatever number of its
// calls run at once; in a cluster the same holds of the sum
// over the hosts (calls that outlive a Redis outage excepted: their
// grants are extended on this host alone, see SharedSpend). A line is
// held to the limit its latest attempt carried: one lowered below what it
// holds ends its calls when they next need more.
//
// Lines without a limit hold nothing and are never ended; their costs are
// committed all the same, so a limit set during the day counts the day.
//
// The zero value is not usable; NewSpendLedger makes one. It is safe for
// concurrent use.
type SpendLedger struct {
	loc  *time.Location
	now  func() time.Time
	tick time.Duration

	mu sync.Mutex
	// day is the ledger's day, "2006-01-02" in loc, from dayStart to
	// dayEnd.
	day              string
	dayStart, dayEnd time.Time
	lines            map[string]*lineSpend // by lower-case line name
	// watched are the lines with answered limited calls up, by their key:
	// the ones the watch extends.
	watched map[*lineSpend]string
	ticking bool

	// shared holds the other hosts' spend (nil: this host alone).
	shared SharedSpend
}

// lineSpend is one line's day on this host, in millionths of the
// currency (costs are rounded to millionths, so sums are exact). Fields
// are under the ledger's lock.
type lineSpend struct {
	committed int64 // calls that ended today
	reserved  int64 // reservations of attempts not answered
	granted   int64 // grants of running limited calls
	limit     int64 // the line's limit as its last attempt carried it; < 0 none
	open      int   // charges not ended (keeps the line across midnight)
	// running are the answered charges; limitedUp counts the limited ones.
	running   map[*Charge]struct{}
	limitedUp int
	// pub orders this host's writes of the line to the shared ledger:
	// every change of what the line holds takes it, so the values reach
	// Redis in the order they were taken (SharedSpend only).
	pub sync.Mutex
}

// held is what a limited line counts against its limit.
func (s *lineSpend) held() int64 { return s.committed + s.reserved + s.granted }

// SpendOption configures NewSpendLedger.
type SpendOption func(*SpendLedger)

// WithSpendClock replaces time.Now (tests).
func WithSpendClock(now func() time.Time) SpendOption { return func(l *SpendLedger) { l.now = now } }

// WithSharedSpend makes a line's limit count what it holds and spends
// through the other switch hosts too (SharedSpend). Only lines with a
// limit reach it.
func WithSharedSpend(s SharedSpend) SpendOption { return func(l *SpendLedger) { l.shared = s } }

// WithSpendTick sets how often running calls' grants are extended
// (default 1 s).
func WithSpendTick(d time.Duration) SpendOption { return func(l *SpendLedger) { l.tick = d } }

// NewSpendLedger keeps days in loc (nil: the host's local time).
func NewSpendLedger(loc *time.Location, opts ...SpendOption) *SpendLedger {
	if loc == nil {
		loc = time.Local
	}
	l := &SpendLedger{loc: loc, now: time.Now, tick: time.Second, lines: map[string]*lineSpend{}, watched: map[*lineSpend]string{}}
	for _, o := range opts {
		o(l)
	}
	return l
}

// micros is an amount in millionths.
func micros(v float64) int64 { return int64(math.Round(v * 1e6)) }

// amount is millionths as an amount.
func amount(m int64) float64 { return float64(m) / 1e6 }

// DayStart is the midnight that begins the ledger's day containing t.
func (l *SpendLedger) DayStart(t time.Time) time.Time {
	y, m, d := t.In(l.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, l.loc)
}

// setDayLocked makes the day containing t the ledger's.
func (l *SpendLedger) setDayLocked(t time.Time) {
	l.dayStart = l.DayStart(t)
	y, m, d := l.dayStart.Date()
	l.dayEnd = time.Date(y, m, d+1, 0, 0, 0, 0, l.loc)
	l.day = l.dayStart.Format(time.DateOnly)
}

// Restore sets the committed spend of the day containing day (the call
// records of the day, summed by line), replacing what the ledger held.
func (l *SpendLedger) Restore(day time.Time, spent map[string]float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setDayLocked(day)
	for _, s := range l.lines {
		s.committed = 0
	}
	for line, v := range spent {
		l.lineLocked(strings.ToLower(line)).committed += micros(v)
	}
}

// rollLocked starts a new day when now is outside the ledger's: nothing
// is committed in it yet, and the holdings of calls in progress carry
// over (a call is the spend of the day it ends).
func (l *SpendLedger) rollLocked(now time.Time) {
	if !now.Before(l.dayStart) && now.Before(l.dayEnd) {
		return
	}
	l.setDayLocked(now)
	for key, s := range l.lines {
		s.committed = 0
		if s.open == 0 {
			delete(l.lines, key)
		}
	}
}

// lineLocked is key's line, made when new.
func (l *SpendLedger) lineLocked(key string) *lineSpend {
	s := l.lines[key]
	if s == nil {
		s = &lineSpend{limit: -1}
		l.lines[key] = s
	}
	return s
}

// Spent is line's spend today: committed, and what its running calls
// have cost so far.
func (l *SpendLedger) Spent(line string, now time.Time) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rollLocked(now)
	s := l.lines[strings.ToLower(line)]
	if s == nil {
		return 0
	}
	total := s.committed
	for c := range s.running {
		cost, _ := c.costAt(now)
		total += micros(cost)
	}
	return amount(total)
}

// Held is what line holds against its limit now: committed spend,
// reservations and grants. Once its calls have ended it is what it spent.
func (l *SpendLedger) Held(line string, now time.Time) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rollLocked(now)
	if s := l.lines[strings.ToLower(line)]; s != nil {
		return amount(s.held())
	}
	return 0
}

// Reserved is what line's attempts not yet answered hold.
func (l *SpendLedger) Reserved(line string) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.lines[strings.ToLower(line)]; s != nil {
		return amount(s.reserved)
	}
	return 0
}

// Reserve admits a chargeable attempt of line to be carried under t: it
// has no limit (call_maximum < 0), or what is left of its limit after its
// committed spend and what its calls in progress hold covers the
// attempt's first billing step, which is then held for it (a line at its
// limit makes no chargeable call, even one whose first step is free). ok
// false: the attempt may not be made. With SharedSpend, the check and
// the reservation are one atomic step across hosts, and a shared ledger
// that cannot be asked refuses (a limit that cannot be checked is
// treated as reached).
//
// The Charge follows the attempt: Answer when it is answered, End exactly
// when it fails or the call ends.
func (l *SpendLedger) Reserve(line *Phone, t Tariff, now time.Time) (*Charge, bool) {
	r := l.reserve(line, t, now)
	if r.Ask {
		ok, err := l.shared.Hold(r.Hold.Day, r.Hold.Line, r.Hold.Held, r.Hold.Limit)
		return l.reserved(r, ok && err == nil)
	}
	return admitted(r.c, r.ok)
}

// reservation is a Reserve in two halves (reserve, reserved) around the
// shared ledger's round trip, so that CallControl.Admit can ask it in the
// round trip that takes the attempt's slots.
type reservation struct {
	c  *Charge
	ok bool // decided here (Ask false): admitted
	// Ask: the shared ledger decides; Hold is what to ask it. The line's
	// pub is held until reserved is called, which it must be.
	Ask  bool
	Hold SpendHold
}

// reserve does Reserve up to the shared ledger's round trip.
func (l *SpendLedger) reserve(line *Phone, t Tariff, now time.Time) reservation {
	c := &Charge{l: l, key: strings.ToLower(line.Name), tariff: t, limited: line.CallMaximum >= 0}
	limit := int64(-1)
	if c.limited {
		c.done = make(chan struct{})
		first, _ := t.Charge(time.Nanosecond)
		c.held = max(micros(first), 1)
		limit = micros(line.CallMaximum)
	}
	l.mu.Lock()
	l.rollLocked(now)
	s := l.lineLocked(c.key)
	c.line = s
	s.limit = limit
	s.open++ // the line outlives midnight while the charge is open
	if !c.limited {
		l.mu.Unlock()
		return reservation{c: c, ok: true}
	}
	if l.shared == nil {
		ok := s.held()+c.held <= limit
		l.reservedLocked(c, ok)
		l.mu.Unlock()
		return reservation{c: c, ok: ok}
	}
	l.mu.Unlock()
	// pub orders this host's writes of the line: held from before the
	// holding is computed until the answer is applied (reserved).
	s.pub.Lock()
	l.mu.Lock()
	l.rollLocked(now)
	own, day := s.held()+c.held, l.day
	if own > limit { // over on this host alone: refused without a round trip
		l.reservedLocked(c, false)
		l.mu.Unlock()
		s.pub.Unlock()
		return reservation{c: c}
	}
	l.mu.Unlock()
	return reservation{c: c, Ask: true, Hold: SpendHold{Day: day, Line: c.key, Held: amount(own), Limit: amount(limit)}}
}

// reserved applies the shared ledger's answer to r (Ask) and releases the
// line's pub.
func (l *SpendLedger) reserved(r reservation, ok bool) (*Charge, bool) {
	l.mu.Lock()
	l.reservedLocked(r.c, ok)
	l.mu.Unlock()
	r.c.line.pub.Unlock()
	return admitted(r.c, ok)
}

// admitted is Reserve's answer: the charge, or none.
func admitted(c *Charge, ok bool) (*Charge, bool) {
	if !ok {
		return nil, false
	}
	return c, true
}

// reservedLocked takes c's reservation when it was admitted, or closes it.
func (l *SpendLedger) reservedLocked(c *Charge, admitted bool) {
	if admitted {
		c.line.reserved += c.held
		return
	}
	c.state = chargeEnded
	c.line.open--
}

// holdShared asks the shared ledger for extra more on s; the caller holds
// s.pub. This host's holding of the line grows to what it holds plus
// extra when that and every other host's holding stay within limit. It
// returns with the ledger's lock held, so that the caller applies the
// outcome before anything else changes the line. ok false and err nil:
// refused; err: the shared ledger could not be asked.
func (l *SpendLedger) holdShared(s *lineSpend, key string, extra, limit int64, now time.Time) (ok bool, err error) {
	l.mu.Lock()
	l.rollLocked(now)
	own, day := s.held()+extra, l.day
	l.mu.Unlock()
	if own <= limit { // over on this host alone: refused without a round trip
		ok, err = l.shared.Hold(day, key, amount(own), amount(limit))
	}
	l.mu.Lock()
	return ok && err == nil, err
}

// publish writes what this host holds of s to the shared ledger after it
// shrank; the caller holds s.pub. A write that fails is made good by the
// line's next one.
func (l *SpendLedger) publish(s *lineSpend, key string) {
	l.mu.Lock()
	own, day := s.held(), l.day
	l.mu.Unlock()
	_, _ = l.shared.Hold(day, key, amount(own), -1)
}

// Publish hands this host's holding of every line today to the shared
// ledger (a host starting in a cluster); a no-op without one.
func (l *SpendLedger) Publish(now time.Time) error {
	if l.shared == nil {
		return nil
	}
	type line struct {
		key string
		own int64
	}
	l.mu.Lock()
	l.rollLocked(now)
	day := l.day
	lines := make([]line, 0, len(l.lines))
	for k, s := range l.lines {
		if h := s.held(); h > 0 {
			lines = append(lines, line{k, h})
		}
	}
	l.mu.Unlock()
	for _, ln := range lines {
		if _, err := l.shared.Hold(day, ln.key, amount(ln.own), -1); err != nil {
			return err
		}
	}
	return nil
}

// chargeState is where a Charge is in its life.
type chargeState uint8

const (
	chargeReserved chargeState = iota
	chargeRunning
	chargeEnded
)

// Charge is one chargeable attempt of a line, then its answered call.
// Its methods may be called on a nil Charge (a call that costs nothing):
// they do nothing.
type Charge struct {
	l       *SpendLedger
	key     string
	line    *lineSpend
	tariff  Tariff
	limited bool
	done    chan struct{}

	// Under the ledger's lock:
	state    chargeState
	held     int64         // the reservation, then the grant (limited only)
	covered  time.Duration // the talk the grant pays for
	answered time.Time
	closed   bool // done closed: the limit ended the call
	cost     float64
	billsec  int
}

// Answer starts charging the call, answered at answered: its reservation
// becomes its grant, which covers its first billing step.
func (c *Charge) Answer(answered time.Time) {
	if c == nil {
		return
	}
	l := c.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.state != chargeReserved {
		return
	}
	c.state, c.answered = chargeRunning, answered
	s := c.line
	if s.running == nil {
		s.running = map[*Charge]struct{}{}
	}
	s.running[c] = struct{}{}
	if !c.limited {
		return
	}
	c.covered = c.tariff.Covered(time.Nanosecond)
	s.reserved -= c.held
	s.granted += c.held
	s.limitedUp++
	l.watched[s] = c.key
	if !l.ticking {
		l.ticking = true
		go l.watch()
	}
}

// Done is closed when the line's spend limit ends the call (nil when no
// limit can: a nil Charge, a line without a limit).
func (c *Charge) Done() <-chan struct{} {
	if c == nil {
		return nil
	}
	return c.done
}

// costAt is what the call costs for talk up to at, at most its grant;
// under the ledger's lock.
func (c *Charge) costAt(at time.Time) (float64, int) {
	talk := at.Sub(c.answered)
	if c.limited {
		talk = min(talk, c.covered)
	}
	return c.tariff.Charge(talk)
}

// End ends the charge at at: an answered call's cost (for a limited line,
// at most the talk its grant covers) is committed to the line's day and
// returned with the billed seconds, and the rest of its grant given back;
// an attempt never answered gives its reservation back and costs
// nothing. Ending again returns the same and changes nothing.
func (c *Charge) End(at time.Time) (cost float64, billsec int) {
	if c == nil {
		return 0, 0
	}
	l := c.l
	s := c.line
	shared := l.shared != nil && c.limited
	if shared {
		s.pub.Lock()
		defer s.pub.Unlock()
	}
	l.mu.Lock()
	switch c.state {
	case chargeEnded:
		l.mu.Unlock()
		return c.cost, c.billsec
	case chargeReserved:
		if c.limited {
			s.reserved -= c.held
		}
	case chargeRunning:
		c.cost, c.billsec = c.costAt(at)
		l.rollLocked(at)
		// A call that began yesterday is today's spend: the day it ended.
		s.committed += micros(c.cost)
		delete(s.running, c)
		if c.limited {
			s.granted -= c.held
			if s.limitedUp--; s.limitedUp == 0 {
				delete(l.watched, s)
			}
		}
	}
	c.state = chargeEnded
	s.open--
	l.mu.Unlock()
	if shared {
		// The other hosts see what was given back now.
		l.publish(s, c.key)
	}
	return c.cost, c.billsec
}

// watch extends the running calls' grants every tick while any line has
// limited calls up.
func (l *SpendLedger) watch() {
	t := time.NewTicker(l.tick)
	defer t.Stop()
	for range t.C {
		if !l.check() {
			return
		}
	}
}

// extension is what one line's running calls need to be covered until
// the next tick.
type extension struct {
	key   string
	s     *lineSpend
	extra int64
	calls []grant
}

// grant is one call's grant as extended.
type grant struct {
	c       *Charge
	held    int64
	covered time.Duration
}

// extendLocked is what s's running calls need so that each is paid for
// until ahead: its cost then, grown from its grant. A call whose grant
// already pays for that talk (a minimum above its first steps) has its
// cover extended at once, for nothing. Calls the limit has ended are not
// extended.
func extendLocked(key string, s *lineSpend, ahead time.Time) extension {
	x := extension{key: key, s: s}
	for c := range s.running {
		if !c.limited || c.closed {
			continue
		}
		talk := ahead.Sub(c.answered)
		cost, _ := c.tariff.Charge(talk)
		need, covered := micros(cost), c.tariff.Covered(talk)
		if need <= c.held {
			c.covered = max(c.covered, covered)
			continue
		}
		x.extra += need - c.held
		x.calls = append(x.calls, grant{c: c, held: need, covered: covered})
	}
	return x
}

// applyLocked grants x, or ends every call of its line when it was
// refused.
func (x *extension) applyLocked(granted bool) {
	if !granted {
		for c := range x.s.running {
			if c.limited && !c.closed {
				c.closed = true
				close(c.done)
			}
		}
		return
	}
	for _, g := range x.calls {
		if g.c.state != chargeRunning || g.c.closed {
			continue // ended meanwhile: nothing to grant
		}
		x.s.granted += g.held - g.c.held
		g.c.held, g.c.covered = g.held, g.covered
	}
}

// check does one round of watch; false when no limited call is left and
// the watch stops.
func (l *SpendLedger) check() bool {
	l.mu.Lock()
	if len(l.watched) == 0 {
		l.ticking = false
		l.mu.Unlock()
		return false
	}
	at := l.now()
	ahead := at.Add(l.tick)
	l.rollLocked(at)
	var due []extension
	for s, key := range l.watched {
		x := extendLocked(key, s, ahead)
		if x.extra == 0 {
			continue
		}
		if l.shared == nil {
			x.applyLocked(s.limit < 0 || s.held()+x.extra <= s.limit)
			continue
		}
		due = append(due, x)
	}
	l.mu.Unlock()
	for _, x := range due {
		l.extendShared(x.key, x.s, ahead, at)
	}
	return true
}

// extendShared extends a line's grants through the shared ledger. What
// the calls need is taken again under the line's pub (a call may have
// ended meanwhile). A shared ledger that cannot be asked leaves the calls
// running on grants extended here alone: calls in progress are not ended
// for an outage.
func (l *SpendLedger) extendShared(key string, s *lineSpend, ahead, at time.Time) {
	s.pub.Lock()
	defer s.pub.Unlock()
	l.mu.Lock()
	x := extendLocked(key, s, ahead)
	limit := s.limit
	l.mu.Unlock()
	if x.extra == 0 {
		return
	}
	if limit < 0 {
		limit = math.MaxInt64 / 2 // the limit was lifted: write, never refuse
	}
	ok, err := l.holdShared(s, key, x.extra, limit, at)
	x.applyLocked(ok || err != nil)
	l.mu.Unlock()
}
