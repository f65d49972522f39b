package routing

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func cost(peer, id int, prefix string, price float64, mod ...func(*PeerCost)) PeerCost {
	c := DefaultPeerCost(peer)
	c.ID, c.CalledPrefix, c.Cost = id, prefix, price
	for _, m := range mod {
		m(&c)
	}
	return c
}

func TestCostIndexRank(t *testing.T) {
	peers := []Peer{{ID: 1, Costs: 1}, {ID: 2, Costs: 1}, {ID: 3, Costs: 1}, {ID: 4, Costs: 0}, {ID: 5, Costs: 1}}
	costs := []PeerCost{
		cost(1, 1, "44", 0.02),
		cost(1, 2, "447", 0.10),
		cost(2, 3, "44", 0.03),
		cost(2, 4, "447", 0.08),
		cost(2, 5, "4479", 0.01, func(c *PeerCost) { c.LeastCost = 0 }), // hides "447" of peer 2
		cost(3, 6, "", 0.05),
		cost(3, 7, "44", 0.05, func(c *PeerCost) { c.ConnectFee = 0.01 }),
		cost(3, 8, "447", 0.09, func(c *PeerCost) { c.Media = "fax" }),
		cost(3, 9, "447", 0.12, func(c *PeerCost) { c.CallerPrefix = "33" }),
		cost(4, 10, "44", 0.0001), // costs=0: never ranked
		cost(5, 11, "44", 0.02, func(c *PeerCost) { c.Priority = 5 }),
		cost(5, 12, "4420", 0.001, func(c *PeerCost) { c.StartHour, c.EndHour = 8, 17 }),
		cost(5, 13, "4421", 0.001, func(c *PeerCost) { c.Days = "67" }),
		cost(5, 14, "4422", 0.001, func(c *PeerCost) { c.CalledMin, c.CalledMax = 10, 11 }),
		cost(5, 15, "4423", 0.001, func(c *PeerCost) { c.Start, c.End = monday.Unix(), monday.Unix()+3600 }),
		cost(5, 16, "4424", 0.001, func(c *PeerCost) { c.CallerType, c.CallerPrefix = "group", "7" }),
		cost(5, 17, "4425", 0.002, func(c *PeerCost) { c.Priority = 2 }),
		cost(5, 18, "4425", 0.001, func(c *PeerCost) { c.Priority = 3 }), // higher priority wins the prefix
	}
	x, err := CompileCostIndex(peers, costs)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		peer, id int
	}
	tests := []struct {
		called, caller, media string
		now                   time.Time
		want                  []want
	}{
		// 0.02 peer 1 and peer 5 (priority 5 first), 0.03 peer 2, 0.05 peer 3 connectfee 0.01
		{"441234", "", "", monday, []want{{5, 11}, {1, 1}, {2, 3}, {3, 7}}},
		{"447700", "", "", monday, []want{{5, 11}, {3, 7}, {2, 4}, {1, 2}}},                   // peer 3: 447 rows are fax or caller-only, its 44 row prices at 0.05
		{"447912", "", "", monday, []want{{5, 11}, {3, 7}, {1, 2}}},                           // peer 2 hidden by its least_cost=0 row
		{"447700", "", "fax", monday, []want{{5, 11}, {2, 4}, {3, 8}, {1, 2}}},                // fax row
		{"447700", "3312", "", monday, []want{{5, 11}, {2, 4}, {1, 2}, {3, 9}}},               // caller prefix row
		{"1555", "", "", monday, []want{{3, 6}}},                                              // only peer 3 has ""
		{"44201", "", "", monday, []want{{5, 12}, {1, 1}, {2, 3}, {3, 7}}},                    // 12:00 in 8-17
		{"44201", "", "", monday.Add(7 * time.Hour), []want{{5, 11}, {1, 1}, {2, 3}, {3, 7}}}, // 19:00
		{"44211", "", "", monday.AddDate(0, 0, 5), []want{{5, 13}, {1, 1}, {2, 3}, {3, 7}}},   // Saturday
		{"4422123456", "", "", monday, []want{{5, 14}, {1, 1}, {2, 3}, {3, 7}}},
		{"44221", "", "", monday, []want{{5, 11}, {1, 1}, {2, 3}, {3, 7}}}, // too short for row 14
		{"44231", "", "", monday, []want{{5, 15}, {1, 1}, {2, 3}, {3, 7}}},
		{"44231", "", "", monday.Add(time.Hour), []want{{5, 11}, {1, 1}, {2, 3}, {3, 7}}}, // end is exclusive
		{"44241", "7", "", monday, []want{{5, 11}, {1, 1}, {2, 3}, {3, 7}}},               // group rows with a caller group never match
		{"44251", "", "", monday, []want{{5, 18}, {1, 1}, {2, 3}, {3, 7}}},
	}
	for _, tt := range tests {
		got := x.Rank(nil, tt.called, tt.caller, tt.media, tt.now)
		var gotw []want
		for _, r := range got {
			gotw = append(gotw, want{r.Peer, r.CostID})
		}
		if fmt.Sprint(gotw) != fmt.Sprint(tt.want) {
			t.Errorf("Rank(%q, %q, %q, %s) = %v, want %v", tt.called, tt.caller, tt.media, tt.now.Format(time.DateTime), gotw, tt.want)
		}
	}
	if p, ok := x.Price(2, "447912", "", "", monday); ok {
		t.Errorf("Price of peer 2 under a least_cost=0 row: %+v, want none", p)
	}
	if p, ok := x.Price(2, "447712", "", "", monday); !ok || p.Cost != 0.08 {
		t.Errorf("Price of peer 2: %+v %v, want 0.08", p, ok)
	}
	if _, ok := x.Price(4, "44", "", "", monday); ok {
		t.Error("peer with costs=0 priced")
	}
	dst := make([]RankedPeer, 0, 8)
	if n := testing.AllocsPerRun(100, func() { dst = x.Rank(dst[:0], "441234", "", "", monday) }); n != 0 {
		t.Errorf("Rank allocates %v times", n)
	}
}

func TestCompileCostIndexErrors(t *testing.T) {
	tests := []struct {
		mod  func(*PeerCost)
		want string
	}{
		{func(c *PeerCost) { c.CalledPrefix = "44x" }, "called_prefix"},
		{func(c *PeerCost) { c.Priority = 11 }, "priority"},
		{func(c *PeerCost) { c.Media = "video" }, "media"},
		{func(c *PeerCost) { c.Days = "0" }, "days"},
		{func(c *PeerCost) { c.EndHour = 24 }, "endhour"},
		{func(c *PeerCost) { c.Cost = -1 }, "cost"},
		{func(c *PeerCost) { c.CallerType = "list" }, "caller_type"},
	}
	for _, tt := range tests {
		c := cost(1, 9, "44", 1, tt.mod)
		_, err := CompileCostIndex([]Peer{{ID: 1, Costs: 1}}, []PeerCost{c})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "peer 1 cost 9") {
			t.Errorf("%s: err %v", tt.want, err)
		}
	}
}

func BenchmarkCostIndexRank(b *testing.B) {
	// 20 peers, 100,000 rows each over a shared deck of prefixes.
	rng := rand.New(rand.NewPCG(9, 9))
	_, routes := rateDeck(1, 100000, 11)
	var peers []Peer
	var costs []PeerCost
	id := 1
	for p := 1; p <= 20; p++ {
		peers = append(peers, Peer{ID: p, Costs: 1})
		for i := range routes {
			c := DefaultPeerCost(p)
			c.ID, c.CalledPrefix, c.Cost = id, routes[i].CalledPrefix, float64(rng.IntN(1000))/1000
			costs = append(costs, c)
			id++
		}
	}
	x, err := CompileCostIndex(peers, costs)
	if err != nil {
		b.Fatal(err)
	}
	costs = nil
	queries := rateQueries(routes, 1<<14, func(rng *rand.Rand) int { return rng.IntN(len(routes)) })
	dst := make([]RankedPeer, 0, 32)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		q := &queries[i&(len(queries)-1)]
		dst = x.Rank(dst[:0], q.called, q.caller, "", monday)
		if len(dst) != 20 {
			b.Fatalf("ranked %d peers for %q", len(dst), q.called)
		}
		i++
	}
}
