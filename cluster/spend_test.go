package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/cluster"
	"github.com/sipswitch/sipswitch/cluster/clustertest"
	"github.com/sipswitch/sipswitch/routing"
)

func holdings(t *testing.T, s *cluster.Spend, day, line string) map[string]float64 {
	t.Helper()
	h, err := s.Holdings(context.Background(), day, line)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A host's holding is written only when the sum over the hosts stays
// within the limit; each host writes its own field only; a holding
// written without a limit always lands; days are apart.
func TestSpendHoldSumsTheHosts(t *testing.T) {
	prefix := clustertest.Prefix(t)
	spends := make([]*cluster.Spend, 3)
	for i := range spends {
		l := newLimits(t, clustertest.Addr(), fmt.Sprint("host", i+1), prefix)
		spends[i] = cluster.NewSpend(l)
	}
	day := "2026-12-01"
	for i, v := range []float64{1.25, 2.5, 0.75} {
		if ok, err := spends[i].Hold(day, "2001", v, 5); err != nil || !ok {
			t.Fatalf("host%d holding %v of 5: %v %v", i+1, v, ok, err)
		}
	}
	// host1 may grow to 1.75 (the sum is 5.00), not to 1.76.
	if ok, err := spends[0].Hold(day, "2001", 1.76, 5); err != nil || ok {
		t.Fatalf("host1 to 1.76 past the limit: %v %v", ok, err)
	}
	if ok, err := spends[0].Hold(day, "2001", 1.75, 5); err != nil || !ok {
		t.Fatalf("host1 to 1.75, exactly the limit: %v %v", ok, err)
	}
	if ok, err := spends[1].Hold(day, "2001", 9, -1); err != nil || !ok {
		t.Fatalf("an unconditional write: %v %v", ok, err)
	}
	want := map[string]float64{"host1": 1.75, "host2": 9, "host3": 0.75}
	if got := holdings(t, spends[2], day, "2001"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("holdings %v, want %v", got, want)
	}
	if ok, err := spends[2].Hold("2026-12-02", "2001", 5, 5); err != nil || !ok {
		t.Fatalf("next day: %v %v", ok, err)
	}
}

// twoHosts are two ledgers sharing spend in Redis, as two switch hosts.
func twoHosts(t *testing.T) (ledgers [2]*routing.SpendLedger, spend *cluster.Spend) {
	prefix := clustertest.Prefix(t)
	for i := range ledgers {
		host := fmt.Sprint("host", i+1)
		s := cluster.NewSpend(newLimits(t, clustertest.Addr(), host, prefix))
		ledgers[i] = routing.NewSpendLedger(time.UTC, routing.WithSharedSpend(s), routing.WithSpendTick(time.Hour))
		spend = s
	}
	return ledgers, spend
}

// Fifty attempts of one line racing on two hosts for the last of its
// money: exactly the attempts it covers are admitted, the last one once,
// whichever host they arrive on; once they end, what each host holds is
// back to what it spent.
func TestSharedSpendGivesTheLastMoneyOnce(t *testing.T) {
	ledgers, spend := twoHosts(t)
	now := time.Now()
	day := now.UTC().Format(time.DateOnly)
	tariff := routing.Tariff{PerMinute: 6, ConnectFee: 0.10, Increment: 1} // first step 0.20
	for round, tc := range []struct {
		spent float64 // host1's spend before the race
		want  int
	}{{0.80, 1}, {0.10, 4}, {0.85, 0}} {
		line := &routing.Phone{Name: fmt.Sprint("line", round), CallMaximum: 1.00}
		ledgers[0].Restore(now, map[string]float64{line.Name: tc.spent})
		if err := ledgers[0].Publish(now); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var admitted []*routing.Charge
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				if c, ok := ledgers[i%2].Reserve(line, tariff, now); ok {
					mu.Lock()
					admitted = append(admitted, c)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(admitted) != tc.want {
			t.Fatalf("%v spent of 1.00: %d of 50 attempts admitted, want %d", tc.spent, len(admitted), tc.want)
		}
		held := holdings(t, spend, day, line.Name)
		if total := held["host1"] + held["host2"]; total > 1.00+1e-9 {
			t.Fatalf("the hosts hold %v of 1.00", held)
		}
		for _, c := range admitted {
			c.End(now)
		}
		if got := holdings(t, spend, day, line.Name); got["host1"] != tc.spent || got["host2"] != 0 {
			t.Fatalf("after the attempts ended: %v, want host1 %v, host2 0", got, tc.spent)
		}
	}
}

// Redis away: a limited line's chargeable attempt is refused.
func TestSharedSpendRefusesWithRedisAway(t *testing.T) {
	srv := clustertest.Start(t)
	s := cluster.NewSpend(newLimits(t, srv.Addr, "host1", "outage", cluster.WithTimeout(200*time.Millisecond)))
	l := routing.NewSpendLedger(time.UTC, routing.WithSharedSpend(s))
	line := &routing.Phone{Name: "2001", CallMaximum: 10}
	tariff := routing.Tariff{PerMinute: 1, Increment: 1}
	c, ok := l.Reserve(line, tariff, time.Now())
	if !ok {
		t.Fatal("refused with Redis up")
	}
	c.End(time.Now())
	srv.Kill()
	if _, ok := l.Reserve(line, tariff, time.Now()); ok {
		t.Fatal("admitted with Redis away")
	}
}

// A running call's grant is extended through Redis like an admission:
// when the other host holds the rest of the line's money, the call is
// ended and billed the talk it was granted, and the hosts' sum stays
// within the limit.
func TestSharedSpendEndsCallsWhenTheOtherHostHoldsTheRest(t *testing.T) {
	prefix := clustertest.Prefix(t)
	var ledgers [2]*routing.SpendLedger
	var spend *cluster.Spend
	for i := range ledgers {
		host := fmt.Sprint("host", i+1)
		spend = cluster.NewSpend(newLimits(t, clustertest.Addr(), host, prefix))
		ledgers[i] = routing.NewSpendLedger(time.UTC, routing.WithSharedSpend(spend), routing.WithSpendTick(100*time.Millisecond))
	}
	now := time.Now()
	day := now.UTC().Format(time.DateOnly)
	ledgers[1].Restore(now, map[string]float64{"2001": 0.85})
	if err := ledgers[1].Publish(now); err != nil {
		t.Fatal(err)
	}
	line := &routing.Phone{Name: "2001", CallMaximum: 1.00}
	c, ok := ledgers[0].Reserve(line, routing.Tariff{PerMinute: 6, Increment: 1}, now) // 0.10 a second
	if !ok {
		t.Fatal("0.15 left: a 0.10 first step refused")
	}
	c.Answer(now)
	select {
	case <-c.Done(): // its second second does not fit beside host2's 0.85
	case <-time.After(10 * time.Second):
		t.Fatal("the call outlived the line's money on the other host")
	}
	cost, _ := c.End(time.Now())
	held := holdings(t, spend, day, "2001")
	if cost != 0.10 || held["host1"] != 0.10 || held["host1"]+held["host2"] > 1.00 {
		t.Fatalf("cost %v, holdings %v; want the granted 0.10 beside 0.85", cost, held)
	}
}
