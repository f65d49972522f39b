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

// Covered is the end of the billing step a talk falls in, and pays the
// same as the talk.
func TestTariffCovered(t *testing.T) {
	tests := []struct {
		name string
		t    Tariff
		talk time.Duration
		want time.Duration
	}{
		{"no talk", Tariff{PerMinute: 0.60, Increment: 1}, 0, 0},
		{"per second, a started second", Tariff{PerMinute: 0.60, Increment: 1}, 1500 * time.Millisecond, 2 * time.Second},
		{"60/60", Tariff{PerMinute: 1.20, Increment: 60}, time.Nanosecond, 60 * time.Second},
		{"inside the included seconds", Tariff{PerMinute: 0.60, Included: 30, Increment: 6}, time.Nanosecond, 30 * time.Second},
		{"past the included seconds", Tariff{PerMinute: 0.60, Included: 30, Increment: 6}, 31 * time.Second, 36 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.t.Covered(tc.talk)
			if got != tc.want {
				t.Fatalf("covered %v, want %v", got, tc.want)
			}
			if a, _ := tc.t.Charge(tc.talk); tc.talk > 0 {
				if b, _ := tc.t.Charge(got); a != b {
					t.Fatalf("charge of the talk %v, of what it covers %v", a, b)
				}
			}
		})
	}
}

type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Admission: an attempt is admitted only when the line's committed spend,
// what its other attempts and calls hold, and the attempt's first billing
// step stay within its limit.
func TestSpendLedgerAdmits(t *testing.T) {
	perSecond := Tariff{PerMinute: 0.60, Increment: 1}                 // first step 0.01
	connect := Tariff{PerMinute: 0.60, ConnectFee: 0.30, Increment: 1} // 0.31
	tests := []struct {
		name      string
		limit     float64
		committed float64
		ringing   []Tariff // attempts of the line already admitted, not answered
		talking   []Tariff // calls of the line answered (their first step granted)
		tariff    Tariff
		want      bool
	}{
		{"no limit", -1, 50, nil, nil, Tariff{ConnectFee: 100}, true},
		{"first step fits", 1.00, 0.70, nil, nil, perSecond, true},
		{"connect fee and first second do not fit", 1.00, 0.70, nil, nil, connect, false},
		{"exactly what is left", 1.00, 0.69, nil, nil, connect, true},
		{"ringing attempts hold their first step", 1.00, 0, []Tariff{connect, connect, connect}, nil, connect, false},
		{"answered calls hold their grant", 1.00, 0, nil, []Tariff{connect, connect, connect}, connect, false},
		{"room beside ringing attempts", 1.00, 0, []Tariff{connect, connect}, nil, connect, true},
		{"the minimum is the first step", 1.00, 0.60, nil, nil, Tariff{PerMinute: 0.60, Minimum: 0.50, Increment: 1}, false},
		{"60/60 billing holds a whole minute", 1.00, 0, nil, nil, Tariff{PerMinute: 1.20, Increment: 60}, false},
		{"at the limit a free first step is refused", 1.00, 1.00, nil, nil, Tariff{PerMinute: 0.60, Included: 30, Increment: 6}, false},
		{"under it a free first step is admitted", 1.00, 0.99, nil, nil, Tariff{PerMinute: 0.60, Included: 30, Increment: 6}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
			l := NewSpendLedger(time.UTC, WithSpendClock(func() time.Time { return now }), WithSpendTick(time.Hour))
			l.Restore(now, map[string]float64{"2001": tc.committed})
			line := &Phone{Name: "2001", CallMaximum: tc.limit}
			for i, tr := range append(tc.ringing, tc.talking...) {
				c, ok := l.Reserve(line, tr, now)
				if !ok {
					t.Fatalf("setup: attempt under %+v refused", tr)
				}
				if i >= len(tc.ringing) {
					c.Answer(now)
				}
			}
			c, ok := l.Reserve(line, tc.tariff, now)
			if ok != tc.want {
				t.Fatalf("admitted %v, want %v (held %v)", ok, tc.want, l.Held("2001", now))
			}
			if ok != (c != nil) {
				t.Fatalf("admitted %v with charge %v", ok, c)
			}
		})
	}
}

// A charge's life: the reservation while ringing, the grant once
// answered, extended every tick while the limit allows, then the calls
// ended and billed at most what was granted; and an attempt that failed
// gives its reservation back.
func TestSpendLedgerLifecycle(t *testing.T) {
	clock := &stepClock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	l := NewSpendLedger(time.UTC, WithSpendClock(clock.now), WithSpendTick(15*time.Second))
	line := &Phone{Name: "2001", CallMaximum: 1.00}
	perSecond := Tariff{PerMinute: 0.60, Increment: 1}
	l.Restore(clock.now(), map[string]float64{"2001": 0.50, "other": 5})

	failed, ok := l.Reserve(line, Tariff{PerMinute: 0.60, ConnectFee: 0.20, Increment: 1}, clock.now())
	if !ok || l.Reserved("2001") != 0.21 {
		t.Fatalf("reserve: ok %v, reserved %v", ok, l.Reserved("2001"))
	}
	if cost, _ := failed.End(clock.now()); cost != 0 || l.Reserved("2001") != 0 || l.Held("2001", clock.now()) != 0.50 {
		t.Fatalf("a failed attempt: cost %v, reserved %v, held %v", cost, l.Reserved("2001"), l.Held("2001", clock.now()))
	}

	c, ok := l.Reserve(line, perSecond, clock.now())
	if !ok {
		t.Fatal("0.50 of 1.00 spent: the line may call")
	}
	c.Answer(clock.now())
	if l.Reserved("2001") != 0 || l.Held("2001", clock.now()) != 0.51 {
		t.Fatalf("answered: reserved %v, held %v; want the first step granted", l.Reserved("2001"), l.Held("2001", clock.now()))
	}
	// Each tick grants the talk up to the next one: 0.50 + 0.15 at 0 s.
	if l.check(); isClosed(c.Done()) || l.Held("2001", clock.now()) != 0.65 {
		t.Fatalf("first tick: ended %v, held %v, want 0.65", isClosed(c.Done()), l.Held("2001", clock.now()))
	}
	clock.add(15 * time.Second)
	l.check() // up to 30 s: 0.80
	clock.add(15 * time.Second)
	l.check() // up to 45 s: 0.95
	if isClosed(c.Done()) || l.Held("2001", clock.now()) != 0.95 {
		t.Fatalf("at 30 s: ended %v, held %v, want 0.95", isClosed(c.Done()), l.Held("2001", clock.now()))
	}
	if _, ok := l.Reserve(line, Tariff{PerMinute: 0.60, ConnectFee: 0.05, Increment: 1}, clock.now()); ok {
		t.Fatal("admitted 0.06 with 0.05 left after the running call's grant")
	}
	clock.add(15 * time.Second)
	if l.check(); !isClosed(c.Done()) {
		t.Fatal("a call whose grant cannot cover the next tick was not ended")
	}
	if got := l.Spent("2001", clock.now()); got != 0.95 {
		t.Fatalf("spent with the ended call still up %v, want 0.95", got)
	}
	// The BYEs take 3 s: the talk past the grant is not billed.
	clock.add(3 * time.Second)
	cost, billsec := c.End(clock.now())
	if cost != 0.45 || billsec != 45 {
		t.Errorf("ended call: cost %v billsec %d, want 0.45 45", cost, billsec)
	}
	if again, _ := c.End(clock.now().Add(time.Hour)); again != cost {
		t.Errorf("ending again: %v", again)
	}
	if got := l.Held("2001", clock.now()); got != 0.95 || l.Spent("2001", clock.now()) != 0.95 {
		t.Errorf("after the end: held %v, spent %v, want 0.95", got, l.Spent("2001", clock.now()))
	}

	// A nil charge (a free call) does nothing; a new day starts from
	// nothing but keeps the holdings of calls in progress.
	var free *Charge
	free.Answer(clock.now())
	if cost, _ := free.End(clock.now()); cost != 0 || free.Done() != nil {
		t.Error("nil charge")
	}
	ringing, _ := l.Reserve(line, perSecond, clock.now())
	clock.add(24 * time.Hour)
	if got := l.Held("2001", clock.now()); got != 0.01 {
		t.Errorf("held the next day %v, want the ringing attempt's 0.01", got)
	}
	ringing.End(clock.now())
	if got := l.Held("2001", clock.now()); got != 0 {
		t.Errorf("held the next day after the attempt %v", got)
	}
}

// A minimum pays for more than the first step: the call is billed its
// talk up to what the minimum covers, with its billed seconds, without
// holding more.
func TestSpendLedgerMinimumCoversTalk(t *testing.T) {
	clock := &stepClock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	l := NewSpendLedger(time.UTC, WithSpendClock(clock.now), WithSpendTick(15*time.Second))
	line := &Phone{Name: "2001", CallMaximum: 1.00}
	c, ok := l.Reserve(line, Tariff{PerMinute: 0.60, Minimum: 0.50, Increment: 1}, clock.now())
	if !ok {
		t.Fatal("refused")
	}
	c.Answer(clock.now())
	l.check() // up to 15 s: 0.15, under the minimum
	clock.add(15 * time.Second)
	l.check() // up to 30 s: 0.30
	clock.add(14 * time.Second)
	if cost, billsec := c.End(clock.now()); cost != 0.50 || billsec != 29 || l.Held("2001", clock.now()) != 0.50 {
		t.Fatalf("cost %v billsec %d held %v, want 0.50 29 0.50", cost, billsec, l.Held("2001", clock.now()))
	}
}

// Fifty attempts of one line at once: exactly as many as the limit
// covers are admitted, and once all have ended nothing is held.
func TestSpendLedgerAdmitsConcurrentAttemptsOnce(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	l := NewSpendLedger(time.UTC, WithSpendClock(func() time.Time { return now }), WithSpendTick(time.Hour))
	line := &Phone{Name: "2001", CallMaximum: 1.00}
	tariff := Tariff{PerMinute: 1.00, ConnectFee: 0.40, Increment: 1} // first step 0.416667: two fit
	var mu sync.Mutex
	var admitted []*Charge
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if c, ok := l.Reserve(line, tariff, now); ok {
				mu.Lock()
				admitted = append(admitted, c)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(admitted) != 2 {
		t.Fatalf("%d of 50 attempts admitted, want 2", len(admitted))
	}
	admitted[0].Answer(now)
	admitted[0].End(now.Add(2 * time.Second))
	admitted[1].End(now)
	if l.Reserved("2001") != 0 || l.Held("2001", now) != 0.416667 {
		t.Fatalf("after the calls: reserved %v, held %v, want 0.416667 spent", l.Reserved("2001"), l.Held("2001", now))
	}
}

// BenchmarkSpendAdmission is what a chargeable attempt of a limited line
// costs the call path on one host: the reservation taken and given back.
func BenchmarkSpendAdmission(b *testing.B) {
	l := NewSpendLedger(time.UTC)
	line := &Phone{Name: "2001", CallMaximum: 1e9}
	tariff := Tariff{PerMinute: 1.00, ConnectFee: 0.40, Increment: 1}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		c, ok := l.Reserve(line, tariff, now)
		if !ok {
			b.Fatal("refused")
		}
		c.End(now)
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
