package engine

import (
	"sync"
	"sync/atomic"

	"github.com/sipswitch/sipswitch/records"
)

// LiveHub fans live events out to subscribers (the event stream's
// clients) without ever holding up the publisher, which is the SIP core's
// call or REGISTER path.
//
// The events go into one ring that every subscriber reads at its own
// pace through a cursor: a publish is a short lock and a copy of the
// event into the ring's next slot, whatever the number of subscribers
// (no queue per subscriber, no wake-up per event), and with no
// subscriber it is one atomic load. A subscriber that waits is woken
// once, by the first event after it began waiting; it then reads
// everything that gathered in one go. A subscriber that falls more than
// the ring behind (a reader that does not read) loses the oldest events
// and is told how many (LiveSubscription.Read), never waited for.
type LiveHub struct {
	n  atomic.Int32 // subscribers
	mu sync.Mutex
	// ring holds the last len(ring) events; the one of sequence number
	// s is at s & mask.
	ring []records.LiveEvent
	mask uint64
	next uint64 // sequence number of the next event
	// wake is closed by the next publish (nil: nobody waits).
	wake chan struct{}
	// lost counts events subscribers lost for falling behind.
	lost atomic.Int64
}

// DefaultLiveRing is how many events the hub keeps for its subscribers:
// at 1,000 calls a second (some 4,000 events) a subscriber may fall a
// second behind before it loses any.
const DefaultLiveRing = 4096

// liveReadChunk bounds the events a reader copies under the hub's lock
// at a time, and so how long a publisher may wait for it.
const liveReadChunk = 256

// NewLiveHub makes an empty hub whose ring holds size events (rounded up
// to a power of two; DefaultLiveRing when size < 1).
func NewLiveHub(size int) *LiveHub {
	if size < 1 {
		size = DefaultLiveRing
	}
	n := 1
	for n < size {
		n <<= 1
	}
	return &LiveHub{ring: make([]records.LiveEvent, n), mask: uint64(n - 1)}
}

// Publish appends ev to the ring. It never blocks on a subscriber.
func (h *LiveHub) Publish(ev records.LiveEvent) {
	if h.n.Load() == 0 {
		return
	}
	h.mu.Lock()
	h.ring[h.next&h.mask] = ev
	h.next++
	wake := h.wake
	h.wake = nil
	h.mu.Unlock()
	if wake != nil {
		close(wake)
	}
}

// LiveSubscription reads the hub's events from when it subscribed. One
// goroutine at a time may use it.
type LiveSubscription struct {
	h      *LiveHub
	keep   func(records.LiveEvent) bool
	cursor uint64 // sequence number of the next event to read
	buf    []records.LiveEvent
	closed bool
}

// Subscribe starts a subscription to the events keep accepts (nil: all),
// from the next one published. keep runs on the subscriber's goroutine
// (Read), not the publisher's.
func (h *LiveHub) Subscribe(keep func(records.LiveEvent) bool) *LiveSubscription {
	h.mu.Lock()
	s := &LiveSubscription{h: h, keep: keep, cursor: h.next}
	h.n.Add(1)
	h.mu.Unlock()
	return s
}

// Wait is a channel closed once an event the subscription has not read
// exists (at once when one does).
func (s *LiveSubscription) Wait() <-chan struct{} {
	h := s.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.next != s.cursor {
		return closedChan
	}
	if h.wake == nil {
		h.wake = make(chan struct{})
	}
	return h.wake
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Read returns the events published since the last Read that keep
// accepts, oldest first, and how many events (accepted or not) were lost
// because the subscription fell more than the ring behind. The slice is
// the subscription's own, valid until the next Read.
func (s *LiveSubscription) Read() (events []records.LiveEvent, lost uint64) {
	h := s.h
	s.buf = s.buf[:0]
	for {
		h.mu.Lock()
		head := h.next
		if size := uint64(len(h.ring)); head-s.cursor > size {
			lost += head - s.cursor - size
			s.cursor = head - size
		}
		n := min(head-s.cursor, liveReadChunk)
		from := len(s.buf)
		for i := range n {
			s.buf = append(s.buf, h.ring[(s.cursor+i)&h.mask])
		}
		s.cursor += n
		more := s.cursor != head
		h.mu.Unlock()
		if s.keep != nil {
			kept := s.buf[:from]
			for _, ev := range s.buf[from:] {
				if s.keep(ev) {
					kept = append(kept, ev)
				}
			}
			clear(s.buf[len(kept):])
			s.buf = kept
		}
		if !more {
			break
		}
	}
	if lost > 0 {
		h.lost.Add(int64(lost))
	}
	return s.buf, lost
}

// Close ends the subscription.
func (s *LiveSubscription) Close() {
	h := s.h
	h.mu.Lock()
	if !s.closed {
		s.closed = true
		if h.n.Add(-1) == 0 {
			// Nobody reads the ring: the calls and rows it holds may go.
			clear(h.ring)
		}
	}
	h.mu.Unlock()
	clear(s.buf)
}

// Subscribers is how many subscribers the hub has.
func (h *LiveHub) Subscribers() int { return int(h.n.Load()) }

// Lost is how many events subscribers lost for falling behind (counted
// once per subscriber).
func (h *LiveHub) Lost() int64 { return h.lost.Load() }
