package routing

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// countingShared is a SharedLimits of one process with a fixed capacity
// per key, standing for the other hosts' calls; its spend is held in
// spend, as the daemon's Redis holds both.
type countingShared struct {
	taken    map[LimitKey]int
	asked    int // round trips
	released int
	down     bool
	spend    *memSpend
	last     SharedAdmission
}

func (s *countingShared) Acquire(key LimitKey, max int) (func(), bool) {
	req := SharedAdmission{NSlots: 1}
	req.Slots[0] = SlotRequest{Key: key, Max: max}
	got, err := s.Admit(&req)
	if err != nil || got.Refused != AdmitOK {
		return nil, false
	}
	return got.Releases[0], true
}

func (s *countingShared) Admit(req *SharedAdmission) (SharedAdmitted, error) {
	s.asked++
	s.last = *req
	if s.down {
		return SharedAdmitted{}, errors.New("down")
	}
	slots := req.Slots[:req.NSlots]
	for _, kind := range []LimitKind{LimitPhone, 0, LimitPeer} {
		if kind == 0 {
			if req.Spend.Line != "" && !s.spend.fits(req.Spend) {
				return SharedAdmitted{Refused: AdmitSpend}, nil
			}
			continue
		}
		for _, sl := range slots {
			if sl.Key.Kind == kind && s.taken[sl.Key] >= sl.Max {
				return SharedAdmitted{Refused: map[LimitKind]AdmitPart{LimitPhone: AdmitLine, LimitPeer: AdmitPeer}[kind]}, nil
			}
		}
	}
	var got SharedAdmitted
	for i, sl := range slots {
		s.taken[sl.Key]++
		var once sync.Once
		got.Releases[i] = func() { once.Do(func() { s.taken[sl.Key]--; s.released++ }) }
	}
	if req.Spend.Line != "" {
		s.spend.published[req.Spend.Day+" "+req.Spend.Line] = req.Spend.Held
	}
	return got, nil
}

// sharedControl is a CallControl of one host of a cluster: a limited
// peer with one call up on another host, a free unlimited peer, a line
// limited in calls and spend (0.60 of its 1.00 held elsewhere), an
// unlimited line and a line of one call.
func sharedControl(t *testing.T) (*CallControl, *countingShared, *SpendLedger) {
	t.Helper()
	snap := &Snapshot{Plans: []Plan{{ID: 1}},
		Peers: []Peer{{ID: 1, Name: "carrier", Type: "sip", OutMaximum: 2}, {ID: 2, Name: "free", Type: "sip", OutMaximum: Unlimited}},
		Phones: []Phone{{ID: 5, Name: "2001", TotalMaximum: 3, CallMaximum: 1.00},
			{ID: 6, Name: "2002", TotalMaximum: Unlimited, CallMaximum: -1},
			{ID: 7, Name: "2003", TotalMaximum: 1, CallMaximum: -1}}}
	spend := &memSpend{others: map[string]float64{"2026-12-01 2001": 0.60}, published: map[string]float64{}}
	shared := &countingShared{taken: map[LimitKey]int{{Kind: LimitPeer, ID: 1}: 1}, spend: spend}
	ledger := NewSpendLedger(time.UTC, WithSharedSpend(spend))
	c, err := NewCallControl(context.Background(), snap, nil, WithSharedLimits(shared), WithSpendLedger(ledger))
	if err != nil {
		t.Fatal(err)
	}
	return c, shared, ledger
}

// An attempt's admission is one shared step for its line's slot, its
// peer's and the spend's first step: the limited parts only, all or
// none. A refusal anywhere gives back what this host took; a key full on
// this host, or a line and peer without limits, never ask.
func TestCallControlAdmitsInOneSharedStep(t *testing.T) {
	c, shared, ledger := sharedControl(t)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	line, _ := c.Phone("2001")
	carrier, free := c.State().Peer(1), c.State().Peer(2)
	perSecond := Tariff{PerMinute: 0.60, Increment: 1}
	a := c.Admit(Admission{SlotLine: line, Peer: carrier, SpendLine: line, Tariff: perSecond, Now: now})
	if a.Refused != AdmitOK || shared.asked != 1 {
		t.Fatalf("first attempt: refused %v, %d round trips", a.Refused, shared.asked)
	}
	if r := shared.last; r.NSlots != 2 || r.Slots[0].Key.Kind != LimitPhone || r.Slots[1].Key.Kind != LimitPeer ||
		r.Spend != (SpendHold{Day: "2026-12-01", Line: "2001", Held: 0.01, Limit: 1.00}) {
		t.Fatalf("asked %+v, want the line's and the peer's slots and a 0.01 holding of 1.00", r)
	}
	// The carrier's second slot is held by the other host now.
	if b := c.Admit(Admission{SlotLine: line, Peer: carrier, SpendLine: line, Tariff: perSecond, Now: now}); b.Refused != AdmitPeer || shared.asked != 2 {
		t.Fatalf("carrier full across hosts: refused %v, %d round trips", b.Refused, shared.asked)
	}
	if c.ActivePhoneCalls(5) != 1 || c.ActivePeerCalls(1) != 1 || ledger.Reserved("2001") != 0.01 || shared.taken[LimitKey{Kind: LimitPhone, ID: 5}] != 1 {
		t.Fatalf("a refused attempt kept something: line %d, peer %d here, reserved %v, line across hosts %d",
			c.ActivePhoneCalls(5), c.ActivePeerCalls(1), ledger.Reserved("2001"), shared.taken[LimitKey{Kind: LimitPhone, ID: 5}])
	}
	// 0.41 more (a 0.40 connect fee) fits here but not beside 0.60 elsewhere.
	if b := c.Admit(Admission{SlotLine: line, Peer: free, SpendLine: line, Tariff: Tariff{PerMinute: 0.60, ConnectFee: 0.40, Increment: 1}, Now: now}); b.Refused != AdmitSpend || shared.asked != 3 {
		t.Fatalf("spend across hosts: refused %v, %d round trips", b.Refused, shared.asked)
	}
	if ledger.Reserved("2001") != 0.01 || c.ActivePeerCalls(2) != 0 {
		t.Fatalf("refused on spend: reserved %v, free peer %d", ledger.Reserved("2001"), c.ActivePeerCalls(2))
	}
	// Nothing limited: no round trip, slots counted here all the same.
	unlimited, _ := c.Phone("2002")
	if b := c.Admit(Admission{SlotLine: unlimited, Peer: free, Now: now}); b.Refused != AdmitOK || b.Line == nil || b.Peer == nil || shared.asked != 3 {
		t.Fatalf("unlimited line and peer: %+v, %d round trips", b, shared.asked)
	} else {
		b.Line()
		b.Peer()
	}
	// A line full on this host is refused without a round trip.
	one, _ := c.Phone("2003")
	b := c.Admit(Admission{SlotLine: one, Peer: free, Now: now})
	if b.Refused != AdmitOK || shared.asked != 4 {
		t.Fatalf("line of one call: refused %v, %d round trips", b.Refused, shared.asked)
	}
	if d := c.Admit(Admission{SlotLine: one, Peer: free, Now: now}); d.Refused != AdmitLine || shared.asked != 4 {
		t.Fatalf("line full here: refused %v, %d round trips", d.Refused, shared.asked)
	}
	b.Peer()
	b.Line()
	b.Line()
	if shared.released != 1 || c.ActivePhoneCalls(7) != 0 {
		t.Fatalf("released twice: %d shared releases, %d here", shared.released, c.ActivePhoneCalls(7))
	}
	a.Peer()
	a.Charge.End(now)
	a.Line()
	if shared.released != 3 || c.ActivePhoneCalls(5) != 0 || c.ActivePeerCalls(1) != 0 || shared.spend.published["2026-12-01 2001"] != 0 {
		t.Fatalf("first call ended: %d shared releases, line %d, peer %d, published %v", shared.released,
			c.ActivePhoneCalls(5), c.ActivePeerCalls(1), shared.spend.published)
	}

	// Shared counters away: refused, blaming the first limited part,
	// and nothing is left held.
	shared.down = true
	for _, tc := range []struct {
		a    Admission
		want AdmitPart
	}{
		{Admission{SlotLine: line, Peer: carrier, Now: now}, AdmitLine},
		{Admission{SlotLine: unlimited, Peer: carrier, Now: now}, AdmitPeer},
		{Admission{Peer: free, SpendLine: line, Tariff: perSecond, Now: now}, AdmitSpend},
	} {
		if got := c.Admit(tc.a); got.Refused != tc.want {
			t.Errorf("shared counters away: refused %v, want %v", got.Refused, tc.want)
		}
	}
	if c.ActivePhoneCalls(5)+c.ActivePhoneCalls(6)+c.ActivePeerCalls(1)+c.ActivePeerCalls(2) != 0 || ledger.Reserved("2001") != 0 {
		t.Fatalf("refusals with the shared counters away kept slots or money: lines %d %d, peers %d %d, reserved %v", c.ActivePhoneCalls(5), c.ActivePhoneCalls(6), c.ActivePeerCalls(1), c.ActivePeerCalls(2), ledger.Reserved("2001"))
	}
	if got := c.Admit(Admission{SlotLine: unlimited, Peer: free, SpendLine: unlimited, Tariff: perSecond, Now: now}); got.Refused != AdmitOK {
		t.Fatalf("nothing limited with the shared counters away: refused %v", got.Refused)
	}
}

// A shared spend ledger without shared limits holds the spend in its own
// round trip.
func TestCallControlAdmitsSpendWithoutSharedLimits(t *testing.T) {
	spend := &memSpend{others: map[string]float64{}, published: map[string]float64{}}
	snap := &Snapshot{Plans: []Plan{{ID: 1}}, Peers: []Peer{{ID: 1, Name: "carrier", Type: "sip", OutMaximum: 2}},
		Phones: []Phone{{ID: 5, Name: "2001", TotalMaximum: Unlimited, CallMaximum: 1.00}}}
	c, err := NewCallControl(context.Background(), snap, nil, WithSpendLedger(NewSpendLedger(time.UTC, WithSharedSpend(spend))))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	line, _ := c.Phone("2001")
	a := c.Admit(Admission{SlotLine: line, Peer: c.State().Peer(1), SpendLine: line, Tariff: Tariff{PerMinute: 0.60, Increment: 1}, Now: now})
	if a.Refused != AdmitOK || spend.published["2026-12-01 2001"] != 0.01 {
		t.Fatalf("refused %v, published %v", a.Refused, spend.published)
	}
	spend.down = true
	if b := c.Admit(Admission{Peer: c.State().Peer(1), SpendLine: line, Tariff: Tariff{PerMinute: 0.60, Increment: 1}, Now: now}); b.Refused != AdmitSpend {
		t.Fatalf("shared spend away: refused %v", b.Refused)
	}
	if c.ActivePeerCalls(1) != 1 {
		t.Fatalf("refused on spend kept the peer's slot: %d", c.ActivePeerCalls(1))
	}
}

// memSpend is a SharedSpend of one process: what the other hosts hold,
// and what this host wrote.
type memSpend struct {
	others    map[string]float64
	published map[string]float64
	down      bool
}

// fits is Hold's check.
func (m *memSpend) fits(h SpendHold) bool {
	return h.Limit < 0 || m.others[h.Day+" "+h.Line]+h.Held <= h.Limit+5e-7
}

func (m *memSpend) Hold(day, line string, held, limit float64) (bool, error) {
	if m.down {
		return false, errors.New("down")
	}
	if !m.fits(SpendHold{Day: day, Line: line, Held: held, Limit: limit}) {
		return false, nil
	}
	m.published[day+" "+line] = held
	return true, nil
}

// A line's limit counts what it holds through the other hosts: an
// attempt is refused when their holding leaves too little, a running
// call's grant is extended only within what they leave and the call is
// ended when it cannot be, and this host's holding is written for them
// at each change. With the shared ledger away, no new chargeable call of
// a limited line starts, but the running one is not ended for it.
func TestSpendLedgerCountsOtherHosts(t *testing.T) {
	clock := &stepClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	shared := &memSpend{others: map[string]float64{"2026-12-01 2001": 0.60}, published: map[string]float64{}}
	l := NewSpendLedger(time.UTC, WithSpendClock(clock.now), WithSpendTick(15*time.Second), WithSharedSpend(shared))
	line := &Phone{Name: "2001", CallMaximum: 1.00}
	perSecond := Tariff{PerMinute: 0.60, Increment: 1}
	published := func() float64 { return shared.published["2026-12-01 2001"] }
	if _, ok := l.Reserve(line, Tariff{PerMinute: 0.60, ConnectFee: 0.40, Increment: 1}, clock.now()); ok {
		t.Fatal("0.40 left after the other hosts' 0.60 cannot cover a 0.40 connect fee and a second")
	}
	c, ok := l.Reserve(line, perSecond, clock.now())
	if !ok || published() != 0.01 {
		t.Fatalf("0.40 left: a per-second call may start (ok %v, published %v)", ok, published())
	}
	c.Answer(clock.now())
	l.check() // granted up to 15 s: 0.15 here, 0.60 elsewhere
	clock.add(15 * time.Second)
	if l.check(); isClosed(c.Done()) || published() != 0.30 {
		t.Fatalf("at 15 s: ended %v, published %v, want running on 0.30", isClosed(c.Done()), published())
	}
	shared.others["2026-12-01 2001"] = 0.75 // another host's call was answered
	clock.add(15 * time.Second)
	if l.check(); !isClosed(c.Done()) || published() != 0.30 {
		t.Fatalf("0.45 + 0.75 passes the limit: ended %v, published %v", isClosed(c.Done()), published())
	}
	clock.add(2 * time.Second)
	if cost, _ := c.End(clock.now()); cost != 0.30 || published() != 0.30 {
		t.Fatalf("ended: cost %v (want the 30 s granted), published %v", cost, published())
	}

	shared.others["2026-12-01 2001"] = 0
	running, ok := l.Reserve(line, perSecond, clock.now())
	if !ok {
		t.Fatal("refused with 0.70 left")
	}
	running.Answer(clock.now())
	shared.down = true
	if _, ok := l.Reserve(line, perSecond, clock.now()); ok {
		t.Fatal("a limited line's call started with the shared ledger away")
	}
	if _, ok := l.Reserve(&Phone{Name: "free", CallMaximum: -1}, perSecond, clock.now()); !ok {
		t.Fatal("an unlimited line was refused with the shared ledger away")
	}
	clock.add(15 * time.Second)
	if l.check(); isClosed(running.Done()) {
		t.Fatal("a running call was ended for an outage")
	}
	clock.add(10 * time.Second)
	if cost, _ := running.End(clock.now()); cost != 0.25 {
		t.Fatalf("a call through the outage: cost %v, want its 25 s", cost)
	}
}
