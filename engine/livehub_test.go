package engine

import (
	"fmt"
	"testing"

	"github.com/sipswitch/sipswitch/records"
)

func callEvent(id, line string) records.LiveEvent {
	return records.LiveEvent{Kind: records.EventCallStart, Call: &records.LiveCall{ID: id, Line: line}}
}

func ids(evs []records.LiveEvent) string {
	s := ""
	for _, ev := range evs {
		s += ev.Call.ID + " "
	}
	return s
}

// Every subscriber reads the same ring at its own pace: one that reads
// gets every event in order, one that does not loses the oldest and is
// told how many, and the publisher never waits for either; a filter
// leaves out what its subscriber may not see.
func TestLiveHubSubscribersReadAtTheirPace(t *testing.T) {
	h := NewLiveHub(8)
	fast := h.Subscribe(nil)
	defer fast.Close()
	slow := h.Subscribe(nil)
	defer slow.Close()
	mine := h.Subscribe(func(ev records.LiveEvent) bool { return ev.Call.Line == "mine" })
	defer mine.Close()
	var got, gotMine string
	for i := range 20 {
		line := "other"
		if i%5 == 0 {
			line = "mine"
		}
		h.Publish(callEvent(fmt.Sprint(i), line))
		if i%4 == 3 {
			evs, lost := fast.Read()
			if lost != 0 {
				t.Fatalf("a subscriber that keeps up lost %d", lost)
			}
			got += ids(evs)
			evs, _ = mine.Read()
			gotMine += ids(evs)
		}
	}
	if want := "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 "; got != want {
		t.Errorf("fast subscriber read %q, want %q", got, want)
	}
	if want := "0 5 10 15 "; gotMine != want {
		t.Errorf("filtered subscriber read %q, want %q", gotMine, want)
	}
	evs, lost := slow.Read()
	if lost != 12 || ids(evs) != "12 13 14 15 16 17 18 19 " {
		t.Errorf("slow subscriber: lost %d, then read %q; want 12 lost, the last 8", lost, ids(evs))
	}
	if h.Lost() != 12 {
		t.Errorf("hub counts %d lost", h.Lost())
	}
	// Caught up: nothing more, nothing lost.
	if evs, lost := slow.Read(); len(evs) != 0 || lost != 0 {
		t.Errorf("second read: %d events, %d lost", len(evs), lost)
	}
}

// Wait is closed by the first event after it was asked for, at once when
// an unread event exists; a subscription starts after the events
// published before it.
func TestLiveHubWait(t *testing.T) {
	h := NewLiveHub(4)
	h.Publish(callEvent("before anyone", ""))
	s := h.Subscribe(nil)
	defer s.Close()
	w := s.Wait()
	select {
	case <-w:
		t.Fatal("Wait closed with nothing published")
	default:
	}
	h.Publish(callEvent("a", ""))
	select {
	case <-w:
	default:
		t.Fatal("Wait not closed by a publish")
	}
	select {
	case <-s.Wait():
	default:
		t.Fatal("Wait not closed with an unread event")
	}
	if evs, _ := s.Read(); ids(evs) != "a " {
		t.Fatalf("read %q", ids(evs))
	}
	if h.Subscribers() != 1 {
		t.Fatalf("%d subscribers", h.Subscribers())
	}
	s.Close()
	s.Close()
	if h.Subscribers() != 0 {
		t.Fatalf("%d subscribers after Close", h.Subscribers())
	}
	// With nobody subscribed the ring lets go of the events.
	if h.ring[0].Call != nil || h.ring[1].Call != nil {
		t.Error("the ring still holds events with no subscriber")
	}
}

// The cost an event adds on the SIP core's path, with no stream client
// and with 20: the same, since the clients read the ring on their own
// goroutines (here off the clock, every 256 events).
func BenchmarkLiveHubPublish(b *testing.B) {
	for _, n := range []int{0, 20} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			h := NewLiveHub(DefaultLiveRing)
			var subs []*LiveSubscription
			for range n {
				s := h.Subscribe(func(ev records.LiveEvent) bool { return ev.Call != nil })
				defer s.Close()
				subs = append(subs, s)
			}
			ev := records.LiveEvent{Kind: records.EventCallUpdate, Call: &records.LiveCall{ID: "c"}}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				h.Publish(ev)
				if i++; i%256 == 0 {
					b.StopTimer()
					for _, s := range subs {
						s.Read()
					}
					b.StartTimer()
				}
			}
			if h.Lost() != 0 {
				b.Fatalf("%d events lost", h.Lost())
			}
		})
	}
}
