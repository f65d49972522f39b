package routing

import (
	"sync"
	"testing"
	"time"
)

func TestTariffCharge(t *testing.T) {
	tests := []struct {
		name    string
		t       Tariff
		talk    time.Duration
		cost    float64
		billsec int
	}{
		{"per second", Tariff{PerMinute: 0.60, Increment: 1}, 61 * time.Second, 0.61, 61},
		{"a started second counts", Tariff{PerMinute: 0.60, Increment: 1}, 1500 * time.Millisecond, 0.02, 2},
		{"60/60 billing", Tariff{PerMinute: 1.20, Increment: 60}, 61 * time.Second, 2.40, 120},
		{"increment 0 is per second", Tariff{PerMinute: 0.60}, 10 * time.Second, 0.10, 10},
		{"connect fee on answer", Tariff{PerMinute: 0.60, ConnectFee: 0.05, Increment: 1}, 0, 0.05, 0},
		{"included seconds", Tariff{PerMinute: 0.60, ConnectFee: 0.10, Included: 30, Increment: 6}, 31 * time.Second, 0.16, 36},
		{"inside the included seconds", Tariff{PerMinute: 0.60, Included: 30, Increment: 6}, 20 * time.Second, 0, 20},
		{"minimum", Tariff{PerMinute: 0.60, Minimum: 0.25, Increment: 1}, 5 * time.Second, 0.25, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cost, billsec := tc.t.Charge(tc.talk)
			if cost != tc.cost || billsec != tc.billsec {
				t.Fatalf("cost %v billsec %d, want %v %d", cost, billsec, tc.cost, tc.billsec)
			}
		})
	}
}

// The tariff of a call is the carrying peer's row for the number, whether
// or not the row takes part in least cost; peers that do not charge, or
// have no own table, have none.
func TestRoutingStateTariff(t *testing.T) {
	snap := &Snapshot{Plans: []Plan{{ID: 1}}, Peers: []Peer{
		{ID: 1, Name: "billed", Costs: 1, Charge: 1},
		{ID: 2, Name: "free", Costs: 1, Charge: 0},
		{ID: 3, Name: "no table", Costs: 0, Charge: 1},
	}}
	row := func(id, peer int, prefix string, perMin float64, lcr int) PeerCost {
		c := DefaultPeerCost(peer)
		c.ID, c.CalledPrefix, c.Cost, c.LeastCost, c.Increment, c.ConnectFee = id, prefix, perMin, lcr, 6, 0.01
		return c
	}
	state, err := NewRoutingState(snap, []PeerCost{row(1, 1, "44", 0.10, 1), row(2, 1, "447", 0.30, 0), row(3, 2, "44", 0.10, 1), row(4, 3, "44", 0.10, 1)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if tr, ok := state.Tariff(state.Peer(1), "4471234", "", MediaVoice, now); !ok || tr.CostID != 2 || tr.PerMinute != 0.30 || tr.Increment != 6 || tr.ConnectFee != 0.01 {
		t.Errorf("least_cost=0 row must still bill: %+v %v", tr, ok)
	}
	if tr, ok := state.Tariff(state.Peer(1), "4420", "", MediaVoice, now); !ok || tr.CostID != 1 {
		t.Errorf("longest prefix row: %+v %v", tr, ok)
	}
	for _, id := range []int{2, 3} {
		if tr, ok := state.Tariff(state.Peer(id), "4420", "", MediaVoice, now); ok {
			t.Errorf("peer %d: tariff %+v, want none", id, tr)
		}
	}
}

type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestSpendLedger(t *testing.T) {
	clock := &stepClock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	l := NewSpendLedger(time.UTC, WithSpendClock(clock.now), WithSpendTick(15*time.Second))
	line := &Phone{Name: "2001", CallMaximum: 1.00}
	l.Restore(clock.now(), map[string]float64{"2001": 0.70, "other": 5})
	if !l.CanSpend(line, Tariff{PerMinute: 0.60, Increment: 1}, clock.now()) {
		t.Fatal("0.70 of 1.00 spent: the line may call")
	}
	if l.CanSpend(line, Tariff{PerMinute: 0.60, ConnectFee: 0.30, Increment: 1}, clock.now()) {
		t.Fatal("0.30 left does not cover a 0.30 connect fee and a first second")
	}
	// A running call at 0.60/min: 0.70 + 0.30 reaches the limit at 30 s.
	c := l.StartCharge(line, Tariff{PerMinute: 0.60, Increment: 1}, clock.now())
	clock.add(20 * time.Second)
	if got := l.Spent("2001", clock.now()); got < 0.899 || got > 0.901 {
		t.Fatalf("spend with a 20 s call running: %v, want 0.90", got)
	}
	// A check prices one tick (15 s) ahead: 35 s would pass the limit.
	if l.check(); !isClosed(c.Done()) {
		t.Fatal("a call that will pass the limit within the tick was not ended")
	}
	clock.add(11 * time.Second)
	if l.CanSpend(line, Tariff{PerMinute: 0.60, Increment: 1}, clock.now()) {
		t.Error("a line whose running call took it to its limit may start another")
	}
	cost, billsec := c.End(clock.now())
	if cost != 0.31 || billsec != 31 {
		t.Errorf("ended call: cost %v billsec %d", cost, billsec)
	}
	if got := l.Spent("2001", clock.now()); got != 1.01 {
		t.Errorf("committed spend %v, want 1.01", got)
	}
	// Unlimited lines always may; a new day starts from nothing.
	if !l.CanSpend(&Phone{Name: "other", CallMaximum: -1}, Tariff{ConnectFee: 100}, clock.now()) {
		t.Error("call_maximum -1 refused")
	}
	clock.add(24 * time.Hour)
	if got := l.Spent("2001", clock.now()); got != 0 {
		t.Errorf("spend the next day %v", got)
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
