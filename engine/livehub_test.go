package engine

import (
	"fmt"
	"testing"

	"github.com/sipswitch/sipswitch/records"
)

// A subscriber that never reads is dropped, and Publish never waits for
// it; the others keep their events.
func TestLiveHubDropsSlowSubscriber(t *testing.T) {
	h := NewLiveHub()
	slow, _ := h.Subscribe(2, nil)
	fast, cancelFast := h.Subscribe(100, nil)
	defer cancelFast()
	onlyMine, cancelMine := h.Subscribe(1, func(ev records.LiveEvent) bool { return ev.Call.Line == "mine" })
	defer cancelMine()
	for i := range 5 {
		h.Publish(records.LiveEvent{Kind: records.EventCallStart, Call: &records.LiveCall{ID: fmt.Sprint(i)}})
	}
	n := 0
	for range slow {
		n++
	}
	if n != 2 || h.Dropped() != 1 || h.Subscribers() != 2 {
		t.Fatalf("slow subscriber got %d before its channel closed; dropped %d, left %d", n, h.Dropped(), h.Subscribers())
	}
	if len(fast) != 5 {
		t.Errorf("fast subscriber has %d of 5", len(fast))
	}
	// Filtered-out events take no room: the 1-event queue is still free.
	h.Publish(records.LiveEvent{Kind: records.EventCallStart, Call: &records.LiveCall{ID: "x", Line: "mine"}})
	if ev := <-onlyMine; ev.Call.ID != "x" {
		t.Errorf("filtered subscriber got %+v", ev)
	}
}

// The cost a call event adds on the SIP core's path, with no stream
// client and with 20 whose queues have room (they are drained, off the
// clock, every 128 events, so none is dropped).
func BenchmarkLiveHubPublish(b *testing.B) {
	for _, n := range []int{0, 20} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			h := NewLiveHub()
			var subs []<-chan records.LiveEvent
			for range n {
				ch, cancel := h.Subscribe(256, func(ev records.LiveEvent) bool { return ev.Call != nil })
				defer cancel()
				subs = append(subs, ch)
			}
			ev := records.LiveEvent{Kind: records.EventCallUpdate, Call: &records.LiveCall{ID: "c"}}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				h.Publish(ev)
				if i++; i%128 == 0 {
					b.StopTimer()
					for _, ch := range subs {
						for len(ch) > 0 {
							<-ch
						}
					}
					b.StartTimer()
				}
			}
			if h.Dropped() != 0 {
				b.Fatalf("%d subscribers dropped", h.Dropped())
			}
		})
	}
}
