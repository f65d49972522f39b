package engine

import (
	"sync"
	"sync/atomic"

	"github.com/sipswitch/sipswitch/records"
)

// LiveHub fans live events out to subscribers (the event stream's
// clients) without ever holding up the publisher, which is the SIP core's
// call or REGISTER path: each subscriber has a bounded queue, and one
// whose queue is full is dropped (its channel closed; an EventSource
// reconnects and reloads). With no subscriber a publish is one atomic
// load.
type LiveHub struct {
	n    atomic.Int32
	mu   sync.Mutex
	subs map[*liveSub]struct{}
	// dropped counts subscribers dropped for falling behind.
	dropped atomic.Int64
}

type liveSub struct {
	keep   func(records.LiveEvent) bool
	ch     chan records.LiveEvent
	closed bool
}

// NewLiveHub makes an empty hub.
func NewLiveHub() *LiveHub { return &LiveHub{subs: map[*liveSub]struct{}{}} }

// Publish hands ev to every subscriber that has room for it.
func (h *LiveHub) Publish(ev records.LiveEvent) {
	if h.n.Load() == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.keep != nil && !s.keep(ev) {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			h.dropLocked(s)
			h.dropped.Add(1)
		}
	}
}

// Subscribe adds a subscriber whose queue holds buffer of the events keep
// accepts (nil: all); keep runs under the hub's lock.
func (h *LiveHub) Subscribe(buffer int, keep func(records.LiveEvent) bool) (<-chan records.LiveEvent, func()) {
	s := &liveSub{keep: keep, ch: make(chan records.LiveEvent, max(buffer, 1))}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.n.Store(int32(len(h.subs)))
	h.mu.Unlock()
	return s.ch, func() {
		h.mu.Lock()
		h.dropLocked(s)
		h.mu.Unlock()
	}
}

func (h *LiveHub) dropLocked(s *liveSub) {
	if s.closed {
		return
	}
	s.closed = true
	close(s.ch)
	delete(h.subs, s)
	h.n.Store(int32(len(h.subs)))
}

// Subscribers is how many subscribers the hub has.
func (h *LiveHub) Subscribers() int { return int(h.n.Load()) }

// Dropped is how many subscribers were dropped for falling behind.
func (h *LiveHub) Dropped() int64 { return h.dropped.Load() }
