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

// memSpend is a SharedSpend of one process: what the other hosts spent,
// and what this host published.
type memSpend struct {
	others    map[string]float64
	published map[string]float64
	down      bool
}

func (m *memSpend) Publish(day, line string, spent float64) error {
	if m.down {
		return errors.New("down")
	}
	m.published[day+" "+line] = spent
	return nil
}

func (m *memSpend) Others(day, line string) (float64, error) {
	if m.down {
		return 0, errors.New("down")
	}
	return m.others[day+" "+line], nil
}

// A line's limit counts what it spent through the other hosts: a call
// is refused when their spend leaves too little, a running call is ended
// when its cost and theirs reach the limit, and this host's spend is
// published for them. With the shared ledger away, no new chargeable call
// of a limited line starts, but the running one is not ended for it.
func TestSpendLedgerCountsOtherHosts(t *testing.T) {
	clock := &stepClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	shared := &memSpend{others: map[string]float64{"2026-12-01 2001": 0.60}, published: map[string]float64{}}
	l := NewSpendLedger(time.UTC, WithSpendClock(clock.now), WithSpendTick(15*time.Second), WithSharedSpend(shared))
	line := &Phone{Name: "2001", CallMaximum: 1.00}
	perSecond := Tariff{PerMinute: 0.60, Increment: 1}
	if l.CanSpend(line, Tariff{PerMinute: 0.60, ConnectFee: 0.40, Increment: 1}, clock.now()) {
		t.Fatal("0.40 left after the other hosts' 0.60 cannot cover a 0.40 connect fee and a second")
	}
	if !l.CanSpend(line, perSecond, clock.now()) {
		t.Fatal("0.40 left: a per-second call may start")
	}
	c := l.StartCharge(line, perSecond, clock.now())
	clock.add(20 * time.Second) // 0.20 here, 0.60 elsewhere; a tick ahead 0.35 + 0.60
	if l.check(); isClosed(c.Done()) {
		t.Fatal("ended at 0.95 of 1.00 a tick ahead")
	}
	if got := shared.published["2026-12-01 2001"]; got < 0.199 || got > 0.201 {
		t.Fatalf("published %v, want this host's 0.20", got)
	}
	shared.others["2026-12-01 2001"] = 0.70 // another host's call ended
	if l.check(); !isClosed(c.Done()) {
		t.Fatal("not ended though 0.35 + 0.70 passes the limit within the tick")
	}
	c.End(clock.now())
	if got := shared.published["2026-12-01 2001"]; got != 0.20 {
		t.Fatalf("published at the end %v, want 0.20", got)
	}
	shared.others["2026-12-01 2001"] = 0
	shared.down = true
	if l.CanSpend(line, perSecond, clock.now()) {
		t.Fatal("a limited line's call started with the shared ledger away")
	}
	if !l.CanSpend(&Phone{Name: "free", CallMaximum: -1}, perSecond, clock.now()) {
		t.Fatal("an unlimited line was refused with the shared ledger away")
	}
}
