package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/records"
)

// idFrame is a test encoder: the call's id and a space.
func idFrame(b []byte, ev *records.LiveEvent) []byte { return append(append(b, ev.Call.ID...), ' ') }

// newTestHub seals only when the test says (h.seal), never by its timer.
func newTestHub(ring int) *LiveHub {
	return NewLiveHub(idFrame, WithLiveFlush(time.Hour), WithLiveRing(ring))
}

func callEvent(id, line string) records.LiveEvent {
	return records.LiveEvent{Kind: records.EventCallStart, Call: &records.LiveCall{ID: id, Line: line}}
}

func chunkData(chunks []*LiveChunk) string {
	s := ""
	for _, c := range chunks {
		s += string(c.Data())
	}
	return s
}

// Every subscriber reads the same chunks at its own pace: one that reads
// gets every event in order, encoded once, one that does not loses the
// oldest chunks and is told how many events they held, and the publisher
// never waits for either.
func TestLiveHubSubscribersReadAtTheirPace(t *testing.T) {
	h := newTestHub(8)
	fast := h.Subscribe()
	defer fast.Close()
	slow := h.Subscribe()
	defer slow.Close()
	var got string
	for i := range 20 {
		h.Publish(callEvent(fmt.Sprint(i), "l"))
		if i%4 == 3 {
			h.seal()
			chunks, lost := fast.Read()
			if lost != 0 || len(chunks) != 1 || chunks[0].Len() != 4 {
				t.Fatalf("a subscriber that keeps up: %d chunks, %d lost", len(chunks), lost)
			}
			got += chunkData(chunks)
		}
	}
	if want := "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 "; got != want {
		t.Errorf("fast subscriber read %q, want %q", got, want)
	}
	// The ring keeps 8 events: the last two chunks.
	chunks, lost := slow.Read()
	if lost != 12 || chunkData(chunks) != "12 13 14 15 16 17 18 19 " {
		t.Errorf("slow subscriber: lost %d, then read %q; want 12 lost, the last 8", lost, chunkData(chunks))
	}
	if h.Lost() != 12 {
		t.Errorf("hub counts %d lost", h.Lost())
	}
	c := chunks[0]
	if chunks, lost := slow.Read(); len(chunks) != 0 || lost != 0 {
		t.Errorf("second read: %d chunks, %d lost", len(chunks), lost)
	}
	if c.Len() != 4 || string(c.Frame(0)) != "12 " || string(c.Frame(3)) != "15 " || c.Event(2).Call.ID != "14" {
		t.Errorf("chunk: %d events, frames %q %q", c.Len(), c.Frame(0), c.Frame(3))
	}
}

// A call's updates are folded into its previous event of the chunk,
// which keeps its kind and takes the latest row; an end, a registration
// and an update with nothing of its call before it in the chunk stay.
func TestLiveHubFoldsCallUpdates(t *testing.T) {
	h := NewLiveHub(func(b []byte, ev *records.LiveEvent) []byte {
		if ev.Call == nil {
			return append(b, ev.Kind+" "+ev.Registration.Phone+"\n"...)
		}
		return append(b, ev.Kind+" "+ev.Call.ID+" "+ev.Call.State+"\n"...)
	}, WithLiveFlush(time.Hour))
	s := h.Subscribe()
	defer s.Close()
	call := func(kind, id, state string) records.LiveEvent {
		return records.LiveEvent{Kind: kind, Call: &records.LiveCall{ID: id, State: state}}
	}
	for _, ev := range []records.LiveEvent{
		call(records.EventCallStart, "a", "ringing"),
		call(records.EventCallUpdate, "a", "tried"),
		call(records.EventCallStart, "b", "ringing"),
		call(records.EventCallUpdate, "a", "up"),
		{Kind: records.EventRegistered, Registration: &records.Registration{Phone: "x"}},
		call(records.EventCallEnd, "a", "up"),
		call(records.EventCallUpdate, "a", "late"),
		call(records.EventCallUpdate, "b", "up"),
		call(records.EventCallUpdate, "c", "up"),
		call(records.EventCallUpdate, "c", "held"),
	} {
		h.Publish(ev)
	}
	h.Flush()
	chunks, _ := s.Read()
	want := "call_start a up\ncall_start b up\nregistered x\ncall_end a up\ncall_update a late\ncall_update c held\n"
	if got := chunkData(chunks); got != want {
		t.Fatalf("chunk:\n%s\nwant:\n%s", got, want)
	}
}

// Wait is closed by the first chunk after it was asked for, at once when
// an unread chunk exists; the timer seals what was published within the
// flush interval; a subscription starts after what was sealed before it,
// and with nobody subscribed nothing is kept.
func TestLiveHubWaitAndFlush(t *testing.T) {
	h := NewLiveHub(idFrame, WithLiveFlush(10*time.Millisecond))
	h.Publish(callEvent("before anyone", ""))
	s := h.Subscribe()
	defer s.Close()
	w := s.Wait()
	select {
	case <-w:
		t.Fatal("Wait closed with nothing published")
	default:
	}
	start := time.Now()
	h.Publish(callEvent("a", ""))
	h.Publish(callEvent("b", ""))
	select {
	case <-w:
	case <-time.After(5 * time.Second):
		t.Fatal("no chunk sealed")
	}
	t.Logf("sealed %v after the first publish", time.Since(start))
	select {
	case <-s.Wait():
	default:
		t.Fatal("Wait not closed with an unread chunk")
	}
	if chunks, _ := s.Read(); chunkData(chunks) != "a b " {
		t.Fatalf("read %q", chunkData(chunks))
	}
	// The next interval's events are sealed by the timer again.
	w = s.Wait()
	h.Publish(callEvent("c", ""))
	select {
	case <-w:
	case <-time.After(5 * time.Second):
		t.Fatal("no second chunk sealed")
	}
	if chunks, _ := s.Read(); chunkData(chunks) != "c " {
		t.Fatalf("read %q", chunkData(chunks))
	}
	s.Close()
	s.Close()
	if h.Subscribers() != 0 || len(h.chunks) != 0 {
		t.Fatalf("%d subscribers, %d chunks kept after Close", h.Subscribers(), len(h.chunks))
	}
	h.Publish(callEvent("nobody", ""))
	if len(h.pending) != 0 {
		t.Fatal("an event with no subscriber was kept")
	}
}

// The publisher is told when the first subscriber comes and the last
// goes (WithLiveListening), once each, in order: between them it may
// make no events at all.
func TestLiveHubListening(t *testing.T) {
	var told []bool
	h := NewLiveHub(idFrame, WithLiveFlush(time.Hour), WithLiveListening(func(on bool) { told = append(told, on) }))
	a := h.Subscribe()
	b := h.Subscribe()
	a.Close()
	a.Close()
	if fmt.Sprint(told) != "[true]" {
		t.Fatalf("two subscribers, one gone: told %v, want [true]", told)
	}
	b.Close()
	c := h.Subscribe()
	c.Close()
	if want := "[true false true false]"; fmt.Sprint(told) != want {
		t.Fatalf("told %v, want %s", told, want)
	}
}

// The cost an event adds on the SIP core's path, with no stream client
// and with 20: the same, since the hub encodes the chunk and the clients
// read it on their own goroutines (here off the clock, every 256 events).
func BenchmarkLiveHubPublish(b *testing.B) {
	for _, n := range []int{0, 20} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			h := newTestHub(DefaultLiveRing)
			var subs []*LiveSubscription
			for range n {
				s := h.Subscribe()
				defer s.Close()
				subs = append(subs, s)
			}
			ev := records.LiveEvent{Kind: records.EventCallUpdate, Call: &records.LiveCall{ID: "c"}}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				h.Publish(ev)
				if i++; i%256 == 0 && n > 0 {
					b.StopTimer()
					h.seal()
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
