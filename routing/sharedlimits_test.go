package routing

import (
	"context"
	"errors"
	"testing"
	"time"
)

// countingShared is a SharedLimits of one process with a fixed capacity
// per key, standing for the other hosts' calls.
type countingShared struct {
	taken    map[LimitKey]int
	asked    int
	released int
	down     bool
}

func (s *countingShared) Acquire(key LimitKey, max int) (func(), bool) {
	s.asked++
	if s.down || s.taken[key] >= max {
		return nil, false
	}
	s.taken[key]++
	return func() { s.taken[key]--; s.released++ }, true
}

// With shared limits, the other hosts' calls count: a peer whose slots
// are held elsewhere refuses here although this host has none up. An
// unlimited line never asks the shared counter; a shared refusal gives
// this host's slot back.
func TestCallControlAsksSharedLimits(t *testing.T) {
	snap := &Snapshot{Plans: []Plan{{ID: 1}}, Peers: []Peer{{ID: 1, Name: "carrier", Type: "sip", OutMaximum: 2}},
		Phones: []Phone{{ID: 5, Name: "2001", TotalMaximum: Unlimited}}}
	shared := &countingShared{taken: map[LimitKey]int{{Kind: LimitPeer, ID: 1}: 1}}
	c, err := NewCallControl(context.Background(), snap, nil, WithSharedLimits(shared))
	if err != nil {
		t.Fatal(err)
	}
	peer := c.State().Peer(1)
	rel, ok := c.AcquirePeer(peer)
	if !ok {
		t.Fatal("the second slot was refused")
	}
	if _, ok := c.AcquirePeer(peer); ok {
		t.Fatal("admitted past outmaximum counting the other host's call")
	}
	if c.ActivePeerCalls(1) != 1 {
		t.Fatalf("a shared refusal kept this host's slot: %d active here", c.ActivePeerCalls(1))
	}
	rel()
	rel()
	if shared.released != 1 || c.ActivePeerCalls(1) != 0 {
		t.Fatalf("release twice: shared released %d, %d active here", shared.released, c.ActivePeerCalls(1))
	}
	asked := shared.asked
	phone, _ := c.Phone("2001")
	if _, ok := c.AcquirePhone(phone); !ok || shared.asked != asked {
		t.Fatalf("unlimited line: ok %v, shared asked %d more times", ok, shared.asked-asked)
	}
	shared.down = true
	if _, ok := c.AcquirePeer(peer); ok {
		t.Fatal("admitted on a limited peer with the shared counter down")
	}
}

// memSpend is a SharedSpend of one process: what the other hosts hold,
// and what this host wrote.
type memSpend struct {
	others    map[string]float64
	published map[string]float64
	down      bool
}

func (m *memSpend) Hold(day, line string, held, limit float64) (bool, error) {
	if m.down {
		return false, errors.New("down")
	}
	if limit >= 0 && m.others[day+" "+line]+held > limit+5e-7 {
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
