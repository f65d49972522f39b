package routing

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func decideSnapshot() (*Snapshot, []PeerCost) {
	snap := &Snapshot{
		Revision: 3,
		Settings: Settings{DefaultPeer: 1},
		Plans:    []Plan{{ID: 1}},
		Peers: []Peer{
			{ID: 1, Name: "default", CalledPrefix: "0"},
			{ID: 2, Name: "cheap", Costs: 1, CallerIDWithheld: "Anonymous"},
			{ID: 3, Name: "dear", Costs: 1, CalledStripHash: 1},
			{ID: 4, Name: "backup"},
		},
		Routes: []Route{
			{ID: 1, Plan: 1, CalledPrefix: "", Allow: 1, Media: "voice_fax"},                                   // peer1 0: default
			{ID: 2, Plan: 1, CalledPrefix: "44", Allow: 1, Media: "voice_fax", Peer1: -1, Peer2: 4},            // LCR then backup
			{ID: 3, Plan: 1, CalledPrefix: "447", Allow: 1, Media: "voice_fax", Peer1: 3, Peer2: -1, Peer3: 2}, // dedupe
			{ID: 4, Plan: 1, CalledPrefix: "449", Allow: 0, Media: "voice_fax", Peer1: 4},
			{ID: 5, Plan: 1, CalledPrefix: "33", Allow: 1, Media: "voice_fax", Peer1: 99, Peer2: 98}, // unknown peers
			{ID: 6, Plan: 1, CalledPrefix: "34", Allow: 1, Media: "voice_fax", Peer1: 99, Peer2: 4},
		},
	}
	costs := []PeerCost{cost(2, 1, "44", 0.01), cost(3, 2, "44", 0.02), cost(3, 3, "4478", 0.001)}
	return snap, costs
}

func TestDecide(t *testing.T) {
	snap, costs := decideSnapshot()
	state, err := NewRoutingState(snap, costs)
	if err != nil {
		t.Fatal(err)
	}
	type att struct {
		peer           int
		called, caller string
	}
	tests := []struct {
		req       CallRequest
		wantRoute int
		want      []att
		wantErr   error
	}{
		{CallRequest{Plan: 1, Called: "123", Caller: "555"}, 1, []att{{1, "0123", "555"}}, nil},
		{CallRequest{Plan: 1, Called: "4412", Caller: "555", Presentation: PresentationWithheld}, 2,
			[]att{{2, "4412", "Anonymous"}, {3, "4412", ""}, {4, "4412", ""}}, nil},
		{CallRequest{Plan: 1, Called: "4471#", Caller: "555"}, 3, []att{{3, "4471", "555"}, {2, "4471#", "555"}}, nil},
		{CallRequest{Plan: 1, Called: "4478", Caller: "555"}, 3, []att{{3, "4478", "555"}, {2, "4478", "555"}}, nil},
		{CallRequest{Plan: 1, Called: "4490", Caller: "555"}, 4, nil, ErrCallBarred},
		{CallRequest{Plan: 1, Called: "3312", Caller: "555"}, 5, nil, ErrNoPeer},
		{CallRequest{Plan: 1, Called: "3412", Caller: "555"}, 6, []att{{4, "3412", "555"}}, nil},
		{CallRequest{Plan: 2, Called: "3412"}, 0, nil, ErrUnknownPlan},
	}
	for _, tt := range tests {
		tt.req.Now = monday
		d, err := state.Decide(tt.req)
		if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("%+v: err %v, want %v", tt.req, err, tt.wantErr)
			continue
		}
		routeID := 0
		if d.Route != nil {
			routeID = d.Route.ID
		}
		var got []att
		for _, a := range d.Attempts {
			got = append(got, att{a.Peer.ID, a.Called, a.CallerID})
		}
		if routeID != tt.wantRoute || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: route %d attempts %v, want %d %v", tt.req.Called, routeID, got, tt.wantRoute, tt.want)
		}
	}
	// No default peer configured: peer1 0 has nowhere to go.
	snap.Settings.DefaultPeer = 0
	state, _ = NewRoutingState(snap, costs)
	if _, err := state.Decide(CallRequest{Plan: 1, Called: "123"}); !errors.Is(err, ErrNoPeer) {
		t.Errorf("no default peer: err %v, want ErrNoPeer", err)
	}
	// The state owns its peers: changing the snapshot afterwards changes nothing.
	snap.Peers[3].Name = "changed"
	d, _ := state.Decide(CallRequest{Plan: 1, Called: "3412", Now: monday})
	if d.Attempts[0].Peer.Name != "backup" {
		t.Errorf("peer aliased the snapshot: %q", d.Attempts[0].Peer.Name)
	}
}

func TestRouterSwap(t *testing.T) {
	var r Router
	if _, err := r.Decide(CallRequest{Plan: 1, Called: "1"}); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("empty router: %v", err)
	}
	build := func(gen int) *RoutingState {
		snap := &Snapshot{
			Revision: int64(gen),
			Plans:    []Plan{{ID: 1}},
			Peers:    []Peer{{ID: 1}, {ID: 2}},
			Routes:   make([]Route, 0, 2000),
		}
		// Generation g routes every number to peer 1 + g%2: a lookup that
		// mixed two tables would see a route/peer pair of neither.
		for i := range 2000 {
			snap.Routes = append(snap.Routes, Route{ID: i + 1, Plan: 1, CalledPrefix: fmt.Sprint(i), Allow: 1, Media: "voice_fax", Peer1: 1 + gen%2, Description: fmt.Sprint(gen)})
		}
		s, err := NewRoutingState(snap, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	r.Swap(build(0))
	var stop atomic.Bool
	var wg sync.WaitGroup
	var lookups atomic.Int64
	for range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				d, err := r.Decide(CallRequest{Plan: 1, Called: fmt.Sprint(i%2000) + "55", Now: monday})
				if err != nil {
					t.Errorf("lookup during swap: %v", err)
					return
				}
				gen := 0
				fmt.Sscan(d.Route.Description, &gen)
				if d.Attempts[0].Peer.ID != 1+gen%2 {
					t.Errorf("route of generation %d with peer %d", gen, d.Attempts[0].Peer.ID)
					return
				}
				lookups.Add(1)
			}
		})
	}
	for gen := 1; gen <= 100; gen++ {
		old := r.Swap(build(gen))
		if old.Revision() != int64(gen-1) {
			t.Errorf("swap %d replaced revision %d", gen, old.Revision())
		}
	}
	stop.Store(true)
	wg.Wait()
	if lookups.Load() == 0 {
		t.Error("no lookups ran during the swaps")
	}
	if r.Load().Revision() != 100 {
		t.Errorf("final revision %d", r.Load().Revision())
	}
}

func BenchmarkDecide(b *testing.B) {
	snap, costs := decideSnapshot()
	state, err := NewRoutingState(snap, costs)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, called string }{{"fixed", "3412"}, {"leastcost", "4412"}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			req := CallRequest{Plan: 1, Called: bc.called, Caller: "555", Now: monday}
			for b.Loop() {
				if _, err := state.Decide(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A peer reserved for a customer (peers/create customer) carries the calls
// of that customer and the customers below it, nobody else's (issue 25: a
// carrier reserved for customer 2 carried customer 1's calls).
func TestDecideReservedPeers(t *testing.T) {
	snap := &Snapshot{
		Plans:     []Plan{{ID: 1}},
		Customers: []Customer{{ID: 1}, {ID: 2, Parent: 1}, {ID: 3, Parent: 2}, {ID: 4, Parent: 1}},
		Peers:     []Peer{{ID: 1, Name: "private", Customer: 2}, {ID: 2, Name: "public"}, {ID: 3, Name: "all", Customer: -1}},
		Routes:    []Route{{ID: 1, Plan: 1, Allow: 1, Media: MediaVoiceFax, Peer1: 1, Peer2: 2, Peer3: 3}},
	}
	state, err := NewRoutingState(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		line     *Phone
		want     []int
		reserved int
	}{
		{&Phone{Name: "a", Customer: 2}, []int{1, 2, 3}, 0},
		{&Phone{Name: "b", Customer: 3}, []int{1, 2, 3}, 0}, // below customer 2
		{&Phone{Name: "c", Customer: 1}, []int{2, 3}, 1},    // above it
		{&Phone{Name: "d", Customer: 4}, []int{2, 3}, 1},    // beside it
		{nil, []int{2, 3}, 1},                               // by plan alone: nobody's
	} {
		d, err := state.Decide(CallRequest{Plan: 1, Called: "441234", Line: tc.line})
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, a := range d.Attempts {
			got = append(got, a.Peer.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || len(d.Reserved) != tc.reserved {
			t.Errorf("line %+v: peers %v, %d reserved; want %v, %d", tc.line, got, len(d.Reserved), tc.want, tc.reserved)
		}
	}
}
