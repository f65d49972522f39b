package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipswitch/sipswitch/records"
)

// LiveHub fans live events out to subscribers (the event stream's
// clients) without ever holding up the publisher, which is the SIP core's
// call or REGISTER path.
//
// A publish appends the event to the hub's pending list under a short
// lock, whatever the number of subscribers: no encoding, no queue per
// subscriber, no wake-up (with no subscriber it is one atomic load). The
// first event after a flush arms a timer; when it fires, a goroutine of
// the hub seals what gathered into a chunk (a call's updates folded into
// its previous event of the chunk: fold): the events and their frames
// (the bytes the event stream writes, by the hub's encoder) one after the
// other in one immutable buffer, encoded once for every subscriber. The
// subscribers are woken once per chunk and read the chunks from their
// cursor at their own pace: one that may see every event of a chunk
// writes its buffer as it is (no copy per subscriber), one that may see
// some copies their frames (LiveChunk.Frame).
//
// The hub keeps the last chunks up to WithLiveRing events. A subscriber
// that falls further behind (its writes blocked by a reader that does
// not read) loses the oldest chunks and is told how many events they held
// (LiveSubscription.Read), never waited for.
type LiveHub struct {
	n         atomic.Int32 // subscribers
	encode    func(b []byte, ev *records.LiveEvent) []byte
	flush     time.Duration
	limit     int        // events the ring keeps
	listening func(bool) // WithLiveListening (nil: none)

	mu      sync.Mutex
	pending []records.LiveEvent
	armed   bool        // a seal is due
	timer   *time.Timer // seals when armed (made by the first Publish)
	// chunks are the ring: chunks[i] has sequence number base+i.
	chunks []*LiveChunk
	base   uint64
	events int    // events in chunks
	total  uint64 // events sealed since the hub began
	// wake is closed by the next seal (nil: nobody waits).
	wake chan struct{}

	// sealMu keeps seals in order (one may start while another encodes).
	sealMu  sync.Mutex
	lastLen int            // events in the last chunk (under sealMu)
	open    map[string]int // fold's calls (under sealMu)
	// lost counts events subscribers lost for falling behind.
	lost atomic.Int64
}

// LiveChunk is the events one flush interval gathered and their frames,
// immutable once sealed.
type LiveChunk struct {
	events []records.LiveEvent
	data   []byte
	ends   []int // event i's frame is data[ends[i-1]:ends[i]]
	first  uint64
}

// Len is how many events the chunk holds.
func (c *LiveChunk) Len() int { return len(c.events) }

// Event is the chunk's event i.
func (c *LiveChunk) Event(i int) *records.LiveEvent { return &c.events[i] }

// Frame is event i's frame; callers must not change it.
func (c *LiveChunk) Frame(i int) []byte {
	from := 0
	if i > 0 {
		from = c.ends[i-1]
	}
	return c.data[from:c.ends[i]:c.ends[i]]
}

// Data is every frame of the chunk in order; callers must not change it.
func (c *LiveChunk) Data() []byte { return c.data[:len(c.data):len(c.data)] }

// Defaults of a LiveHub.
const (
	// DefaultLiveFlush is how long events gather before a chunk is
	// sealed: a live view a tenth of a second late is still live, and a
	// subscriber costs a wake-up and a write per chunk, not per event.
	DefaultLiveFlush = 100 * time.Millisecond
	// DefaultLiveRing is how many events the hub keeps for subscribers
	// behind: at 1,000 calls a second (some 5,000 events) one may fall
	// more than a second and a half behind before it loses any.
	DefaultLiveRing = 8192
)

// LiveHubOption configures NewLiveHub.
type LiveHubOption func(*LiveHub)

// WithLiveFlush sets how long events gather before a chunk is sealed
// (default DefaultLiveFlush; at least a millisecond).
func WithLiveFlush(d time.Duration) LiveHubOption {
	return func(h *LiveHub) { h.flush = max(d, time.Millisecond) }
}

// WithLiveRing sets how many events the hub keeps (default
// DefaultLiveRing); the newest chunk is kept whatever its size.
func WithLiveRing(events int) LiveHubOption {
	return func(h *LiveHub) { h.limit = max(events, 1) }
}

// WithLiveListening tells f, under the hub's lock, when the first
// subscriber comes (true) and when the last goes (false): the publisher
// may then make no events while nobody would read them (the SIP core
// copies a call's row and reads the clock for each). The calls are in
// the order the subscribers came and went. f must be quick and must not
// call the hub.
func WithLiveListening(f func(listening bool)) LiveHubOption {
	return func(h *LiveHub) { h.listening = f }
}

// NewLiveHub makes an empty hub whose chunks hold each event's frame as
// encode appends it.
func NewLiveHub(encode func(b []byte, ev *records.LiveEvent) []byte, opts ...LiveHubOption) *LiveHub {
	h := &LiveHub{encode: encode, flush: DefaultLiveFlush, limit: DefaultLiveRing}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Publish adds ev to the next chunk. It never blocks on a subscriber.
func (h *LiveHub) Publish(ev records.LiveEvent) {
	if h.n.Load() == 0 {
		return
	}
	h.mu.Lock()
	h.pending = append(h.pending, ev)
	if !h.armed {
		// One timer, reset each flush interval, not one made each.
		h.armed = true
		if h.timer == nil {
			h.timer = time.AfterFunc(h.flush, h.seal)
		} else {
			h.timer.Reset(h.flush)
		}
	}
	h.mu.Unlock()
}

// Flush seals the pending events into a chunk now rather than at the end
// of the flush interval.
func (h *LiveHub) Flush() { h.seal() }

// seal makes a chunk of the pending events and wakes the subscribers.
func (h *LiveHub) seal() {
	h.sealMu.Lock()
	defer h.sealMu.Unlock()
	// The next chunk's list, sized as the last one was: the publisher
	// appends without growing it.
	next := make([]records.LiveEvent, 0, h.lastLen)
	h.mu.Lock()
	evs := h.pending
	h.pending, h.armed = next, false
	h.mu.Unlock()
	h.lastLen = len(evs)
	if len(evs) == 0 {
		return
	}
	evs = h.fold(evs)
	c := &LiveChunk{events: evs, ends: make([]int, len(evs))}
	// Room for a call's frame each (some 360 bytes): one allocation.
	c.data = make([]byte, 0, 400*len(evs))
	for i := range evs {
		c.data = h.encode(c.data, &evs[i])
		c.ends[i] = len(c.data)
	}
	h.mu.Lock()
	if h.n.Load() == 0 {
		// The last subscriber left while it was sealed.
		h.mu.Unlock()
		return
	}
	c.first = h.total
	h.total += uint64(len(evs))
	h.chunks = append(h.chunks, c)
	h.events += len(evs)
	for h.events > h.limit && len(h.chunks) > 1 {
		h.events -= len(h.chunks[0].events)
		h.chunks[0] = nil
		h.chunks = h.chunks[1:]
		h.base++
	}
	wake := h.wake
	h.wake = nil
	h.mu.Unlock()
	if wake != nil {
		close(wake)
	}
}

// fold folds each call_update into the same call's previous event of the
// chunk (a call_start or call_update, which takes the newer row and keeps
// its kind): a subscriber applying the chunk in order ends where it would
// have, and a call that starts, is routed and answered within one flush
// interval costs every client one event instead of three. call_end and
// registrations are never folded. In place; the folded slice is returned.
func (h *LiveHub) fold(evs []records.LiveEvent) []records.LiveEvent {
	clear(h.open)
	if h.open == nil {
		h.open = map[string]int{}
	}
	out := evs[:0]
	for _, ev := range evs {
		if ev.Call == nil {
			out = append(out, ev)
			continue
		}
		if i, ok := h.open[ev.Call.ID]; ok && ev.Kind == records.EventCallUpdate {
			out[i].Call, out[i].At = ev.Call, ev.At
			continue
		}
		out = append(out, ev)
		switch ev.Kind {
		case records.EventCallStart, records.EventCallUpdate:
			h.open[ev.Call.ID] = len(out) - 1
		default:
			delete(h.open, ev.Call.ID)
		}
	}
	clear(evs[len(out):])
	return out
}

// LiveSubscription reads the hub's chunks from when it subscribed. One
// goroutine at a time may use it.
type LiveSubscription struct {
	h      *LiveHub
	cursor uint64 // sequence number of the next chunk to read
	next   uint64 // the event the next chunk should start with
	buf    []*LiveChunk
	closed bool
}

// Subscribe starts a subscription from the next chunk sealed.
func (h *LiveHub) Subscribe() *LiveSubscription {
	h.mu.Lock()
	s := &LiveSubscription{h: h, cursor: h.base + uint64(len(h.chunks)), next: h.total}
	if h.n.Add(1) == 1 && h.listening != nil {
		h.listening(true)
	}
	h.mu.Unlock()
	return s
}

// Wait is a channel closed once a chunk the subscription has not read
// exists (at once when one does).
func (s *LiveSubscription) Wait() <-chan struct{} {
	h := s.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.cursor != h.base+uint64(len(h.chunks)) {
		return closedChan
	}
	if h.wake == nil {
		h.wake = make(chan struct{})
	}
	return h.wake
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Read returns the chunks sealed since the last Read, oldest first, and
// how many events were lost because the subscription fell more than the
// ring behind. The slice is the subscription's own, valid until the next
// Read; the chunks are immutable.
func (s *LiveSubscription) Read() (chunks []*LiveChunk, lost uint64) {
	h := s.h
	h.mu.Lock()
	if s.cursor < h.base {
		s.cursor = h.base
	}
	from := int(s.cursor - h.base)
	clear(s.buf)
	s.buf = append(s.buf[:0], h.chunks[from:]...)
	s.cursor = h.base + uint64(len(h.chunks))
	h.mu.Unlock()
	if len(s.buf) > 0 {
		first, last := s.buf[0], s.buf[len(s.buf)-1]
		lost = first.first - s.next
		s.next = last.first + uint64(len(last.events))
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
			// Nobody reads: the events and frames held may go.
			clear(h.chunks)
			h.base += uint64(len(h.chunks))
			h.chunks, h.events, h.pending = nil, 0, nil
			if h.listening != nil {
				h.listening(false)
			}
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
