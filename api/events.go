package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/records"
)

// EventsPath is the live event stream: Server-Sent Events (HTML Living
// Standard, "Server-sent events") of registrations and calls appearing,
// changing and ending, for the lines the client may see (the live
// functions' scope, filters line and customer). Each event is named by
// its kind (call_start, call_update, call_end, registered, unregistered)
// and carries the row calls/active or registrations/list would show.
//
// INFERRED: the scope is taken when the stream opens (a line given to a
// user later shows from its next connection, as a session keeps the role
// it logged in with).
//
// Events are written in batches: a client woken by an event waits the
// flush interval (WithEventFlush, default DefaultEventFlush) for the
// others, then everything that gathered goes in one write. Each event is
// encoded once, by the publisher (EncodeEvent), and read by every client
// allowed to see it from the hub's ring (engine.LiveHub): the call path's
// cost does not grow with the clients, and a client's cost is one
// wake-up and one write per flush interval, not per event.
//
// Bounds: the hub keeps the last engine.DefaultLiveRing events for all
// clients. A client that falls further behind (its writes blocked by a
// reader that does not read) loses the oldest and is told: an event
// "resync" whose data is {"lost":N}, after which it should reload its
// lists (calls/active, registrations/list) as after reconnecting; a slow
// reader never holds up a call. The ring is every client's, so the count
// is of all the events it missed, including those it would not have been
// shown. Each write must complete within
// eventWriteTimeout, or the stream ends. At most WithEventClients
// streams are open at once; another is answered 503 with Retry-After.
const EventsPath = "/api/events"

// EventResync is the event that tells a client it lost events.
const EventResync = "resync"

// DefaultEventFlush is how long a client's events gather before one
// write (INFERRED: a live view a tenth of a second late is still live;
// at 1,000 calls a second a shorter one costs more writes than it shows).
const DefaultEventFlush = 100 * time.Millisecond

const (
	eventWriteTimeout = 10 * time.Second
	eventKeepAlive    = 15 * time.Second
	eventRetryMillis  = 2000
	// eventBufferKeep bounds the write buffer a client keeps between
	// flushes (a burst's buffer is let go).
	eventBufferKeep = 256 << 10
)

// EventsHandler serves EventsPath.
type EventsHandler struct {
	svc     *engine.Service
	live    engine.LiveState
	log     *slog.Logger
	flush   time.Duration
	max     int32
	open    atomic.Int32
	session func(r *http.Request) *engine.Actor
}

// EventsOption configures NewEventsHandler.
type EventsOption func(*EventsHandler)

// WithEventFlush sets how long a client's events gather before one write
// (default DefaultEventFlush; 0: written as soon as the client is woken).
func WithEventFlush(d time.Duration) EventsOption {
	return func(h *EventsHandler) { h.flush = max(d, 0) }
}

// WithEventClients sets how many streams may be open at once (default 64).
func WithEventClients(n int) EventsOption { return func(h *EventsHandler) { h.max = int32(max(n, 1)) } }

// WithEventSession authenticates a request by a session (the console's
// cookie) before HTTP basic authentication is tried.
func WithEventSession(f func(r *http.Request) *engine.Actor) EventsOption {
	return func(h *EventsHandler) { h.session = f }
}

// WithEventLogger sets the logger.
func WithEventLogger(l *slog.Logger) EventsOption { return func(h *EventsHandler) { h.log = l } }

// NewEventsHandler streams live's events.
func NewEventsHandler(svc *engine.Service, live engine.LiveState, opts ...EventsOption) *EventsHandler {
	h := &EventsHandler{svc: svc, live: live, log: slog.Default(), flush: DefaultEventFlush, max: 64}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Open is how many streams are open.
func (h *EventsHandler) Open() int { return int(h.open.Load()) }

func (h *EventsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, env Envelope) {
		writeEnvelope(w, status, env)
	}
	if r.Method != http.MethodGet {
		refuse(http.StatusMethodNotAllowed, failure(CodeBadInput, "", "Use GET."))
		return
	}
	var actor *engine.Actor
	if h.session != nil {
		actor = h.session(r)
	}
	if actor == nil {
		user, pw, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="sipswitch"`)
			refuse(http.StatusUnauthorized, failure(CodeBadAuth, "auth_username", "Log in to the console, or use HTTP basic authentication."))
			return
		}
		a, err := h.svc.Login(r.Context(), remoteAddr(r), user, pw)
		if err != nil {
			env, _ := envelopeForError(h.log, "events", err)
			refuse(http.StatusUnauthorized, env)
			return
		}
		actor = a
	}
	q := r.URL.Query()
	sc, err := h.svc.LiveScope(r.Context(), actor, q.Get("line"), q.Get("customer"))
	if err != nil {
		env, code := envelopeForError(h.log, "events", err)
		status := http.StatusBadRequest
		if code == CodeRoleForbids {
			status = http.StatusForbidden
		}
		refuse(status, env)
		return
	}
	if h.live == nil {
		refuse(http.StatusServiceUnavailable, failure(CodeBadInput, "", "This server carries no calls."))
		return
	}
	if h.open.Add(1) > h.max {
		h.open.Add(-1)
		w.Header().Set("Retry-After", "5")
		refuse(http.StatusServiceUnavailable, failure(CodeBadInput, "", "Too many event streams are open; retry later."))
		return
	}
	defer h.open.Add(-1)
	// Only the events the client may see are read.
	sub := h.live.Subscribe(func(ev records.LiveEvent) bool {
		return (ev.Call != nil && sc.AllowsCall(ev.Call)) || (ev.Registration != nil && sc.Allows(ev.Registration.Phone))
	})
	defer sub.Close()

	rc := http.NewResponseController(w)
	// The stream outlives the server's read timeout: nothing more is read.
	_ = rc.SetReadDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(fmt.Appendf(nil, "retry: %d\n: sipswitch live events\n\n", eventRetryMillis)) {
		return
	}
	keep := time.NewTicker(eventKeepAlive)
	defer keep.Stop()
	gather := time.NewTimer(time.Hour)
	gather.Stop()
	defer gather.Stop()
	var buf []byte
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keep.C:
			if !write([]byte(": keep-alive\n\n")) {
				return
			}
		case <-sub.Wait():
			// The first event of a batch: the others of the next flush
			// interval gather in the hub's ring without waking this
			// goroutine, and go out in one write (a busy switch makes
			// thousands of events a second; a write each, to each client,
			// cost more than the calls).
			if h.flush > 0 {
				gather.Reset(h.flush)
				select {
				case <-gather.C:
				case <-r.Context().Done():
					return
				}
			}
			events, lost := sub.Read()
			buf = buf[:0]
			if lost > 0 {
				buf = fmt.Appendf(buf, "event: %s\ndata: {\"lost\":%d}\n\n", EventResync, lost)
			}
			for i := range events {
				buf = AppendEvent(buf, &events[i])
			}
			if len(buf) > 0 && !write(buf) {
				return
			}
			if cap(buf) > eventBufferKeep {
				buf = nil
			}
		}
	}
}

// AppendEvent appends the event's Server-Sent Events frame: as the
// publisher encoded it (LiveEvent.Data), or encoded here.
func AppendEvent(b []byte, ev *records.LiveEvent) []byte {
	if ev.Data != nil {
		return append(b, ev.Data...)
	}
	switch {
	case ev.Call != nil:
		b = append(append(append(b, "event: "...), ev.Kind...), "\ndata: "...)
		b = AppendCallRow(b, ev.Call)
	case ev.Registration != nil:
		b = append(append(append(b, "event: "...), ev.Kind...), "\ndata: "...)
		b = AppendRegistrationRow(b, &engine.LiveRegistration{Registration: *ev.Registration, Since: ev.At})
	default:
		return b
	}
	return append(b, "\n\n"...)
}

// EncodeEvent is the event's frame on the stream: its kind and the row
// calls/active or registrations/list would show. A publisher with many
// stream clients sets LiveEvent.Data to it once, rather than each client
// encoding it.
func EncodeEvent(ev records.LiveEvent) []byte {
	ev.Data = nil
	// Room for a call's frame, so that it is one allocation.
	return AppendEvent(make([]byte, 0, 512), &ev)
}
