package render

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/render/dialplantest"
	"github.com/sipswitch/sipswitch/routing"
)

// randomCosts draws cost rows over a small prefix alphabet so that
// prefixes nest, with every condition a row can carry and few distinct
// prices so that ties (connectfee, priority, peer id) decide.
func randomCosts(rng *rand.Rand, peers int) []routing.PeerCost {
	n := 1 + rng.Intn(14)
	out := make([]routing.PeerCost, 0, n)
	for i := range n {
		c := routing.DefaultPeerCost(1 + rng.Intn(peers))
		c.ID = i + 1
		c.CalledPrefix = randString(rng, 3)
		c.Cost = float64(rng.Intn(4)) / 100
		c.ConnectFee = float64(rng.Intn(2)) / 100
		c.Priority = 1 + rng.Intn(3)
		if rng.Intn(5) == 0 {
			c.LeastCost = 0
		}
		if rng.Intn(4) == 0 {
			c.CallerPrefix = randString(rng, 2)
		}
		if rng.Intn(8) == 0 {
			c.CallerType = routing.CallerTypeGroup
		}
		if rng.Intn(4) == 0 {
			c.Media = []string{routing.MediaVoice, routing.MediaFax}[rng.Intn(2)]
		}
		if rng.Intn(4) == 0 {
			c.CalledMin, c.CalledMax = 1+rng.Intn(5), 3+rng.Intn(5)
		}
		if rng.Intn(4) == 0 {
			c.Days = []string{"12345", "67", "3"}[rng.Intn(3)]
		}
		if rng.Intn(3) == 0 {
			c.StartHour, c.StartMinute = rng.Intn(24), rng.Intn(60)
			c.EndHour, c.EndMinute = rng.Intn(24), rng.Intn(60)
		}
		if rng.Intn(6) == 0 {
			c.Start = 1_700_000_000 + int64(rng.Intn(3))*50_000_000
		}
		if rng.Intn(6) == 0 {
			c.End = 1_750_000_000 + int64(rng.Intn(3))*50_000_000
		}
		out = append(out, c)
	}
	return out
}

// TestDialplanLeastCostMatchesEngine renders random least-cost routes and
// cost tables, runs calls through the rendered dialplan with every peer
// failing over, and checks that Asterisk dials the peers the engine's
// Decide lists, in its order, for random numbers, callers, media and times.
func TestDialplanLeastCostMatchesEngine(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	tables, calls := 400, 30
	if testing.Short() {
		tables = 60
	}
	const peers = 4
	checked, lcrDials := 0, 0
	for tbl := 0; tbl < tables; tbl++ {
		snap := &routing.Snapshot{Plans: []routing.Plan{{ID: 1}}, Settings: routing.Settings{DefaultPeer: 2}}
		for id := 1; id <= peers; id++ {
			snap.Peers = append(snap.Peers, routing.Peer{ID: id, Name: fmt.Sprintf("p%d", id), Type: routing.PeerPJSIP, Destination: "192.0.2.1", OutMaximum: -1, Costs: min(1, rng.Intn(5))})
		}
		refs := []int{routing.PeerLeastCost, routing.PeerNone, 1, 3}
		snap.Routes = []routing.Route{{ID: 1, Plan: 1, Allow: routing.AllowAlways, Media: routing.MediaVoiceFax,
			Peer1: refs[rng.Intn(len(refs))], Peer2: refs[rng.Intn(len(refs))], Peer3: refs[rng.Intn(len(refs))]}}
		costs := randomCosts(rng, peers)
		state, err := routing.NewRoutingState(snap, costs)
		if err != nil {
			t.Fatal(err)
		}
		files, err := Render(snap, WithCosts(costs))
		if err != nil {
			t.Fatal(err)
		}
		dp, err := dialplantest.Parse(files[FileExtensions])
		if err != nil {
			t.Fatal(err)
		}
		for range calls {
			// A dial string: '+' only leads (routing.IsDialString).
			called := "4" + strings.ReplaceAll(randString(rng, 5), "+", "")
			caller := randString(rng, 4)
			fax := rng.Intn(4) == 0
			now := time.Unix(1_690_000_000+rng.Int63n(120_000_000), 0)
			media := routing.MediaVoice
			if fax {
				media = routing.MediaFax
			}
			var want []string
			d, err := state.Decide(routing.CallRequest{Plan: 1, Called: called, Caller: caller, Media: media, Now: now})
			if err == nil {
				for _, a := range d.Attempts {
					want = append(want, a.Peer.Name)
				}
			}
			res, err := dp.Run(dialplantest.Call{Context: planContext(1, fax), Exten: called, CallerNum: caller, Now: now,
				Dial: func(dialplantest.Dialled) string { return "CHANUNAVAIL" }})
			if err != nil {
				t.Fatalf("table %d: %v", tbl, err)
			}
			var got []string
			for _, dl := range res.Dials {
				_, peer, _ := strings.Cut(dl.Channel, "@")
				got = append(got, peer)
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("table %d: called %s caller %s media %s at %s (%s): dialplan dials %v, engine %v\nroute %+v\ncosts %+v\ntrace:\n%s",
					tbl, called, caller, media, now.UTC(), now.UTC().Weekday(), got, want, snap.Routes[0], costs, strings.Join(res.Trace, "\n"))
			}
			if len(want) == 0 && res.Hangup != 34 {
				t.Fatalf("table %d: no peer: hangup cause %d, want 34", tbl, res.Hangup)
			}
			lcrDials += len(got)
			checked++
		}
	}
	t.Logf("%d calls agree, %d dials", checked, lcrDials)
}
