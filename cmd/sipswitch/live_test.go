package main

import (
	"sync"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/records"
)

// fakeCore is the SIP core's observer slot.
type fakeCore struct {
	mu sync.Mutex
	f  func(records.LiveEvent)
}

func (c *fakeCore) SetLiveObserver(f func(records.LiveEvent)) {
	c.mu.Lock()
	c.f = f
	c.mu.Unlock()
}

func (c *fakeCore) observer() func(records.LiveEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.f
}

// The SIP core has an observer only while an event stream client
// listens: with none it makes no call's events (no row copied, no clock
// read per change), and what a client is told carries this host.
func TestLiveStateObservesCallsOnlyWhileListened(t *testing.T) {
	l := newLiveState("sw1", time.Hour)
	core := &fakeCore{}
	l.watch(core)
	if core.observer() != nil {
		t.Fatal("the core is observed with no client")
	}
	sub := l.Subscribe()
	f := core.observer()
	if f == nil {
		t.Fatal("a client listens and the core is not observed")
	}
	f(records.LiveEvent{Kind: records.EventCallStart, Call: &records.LiveCall{ID: "c1", Line: "2000"}})
	l.hub.Flush()
	chunks, _ := sub.Read()
	if len(chunks) != 1 || chunks[0].Len() != 1 || chunks[0].Event(0).Call.ID != "c1" || chunks[0].Event(0).Call.Host != "sw1" {
		t.Fatalf("the client read %d chunks, want the call's event from sw1", len(chunks))
	}
	second := l.Subscribe()
	sub.Close()
	if core.observer() == nil {
		t.Fatal("one client of two left and the core is no longer observed")
	}
	second.Close()
	if core.observer() != nil {
		t.Fatal("the last client left and the core is still observed")
	}
	// A client that comes back is told again.
	third := l.Subscribe()
	defer third.Close()
	if core.observer() == nil {
		t.Fatal("a client came back and the core is not observed")
	}
}
