package routing

import (
	"context"
	"testing"
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
