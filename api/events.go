package api

import (
	"bytes"
	"encoding/json"
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
// Events are written in batches: the first waits eventBatch for the
// others, which then go in one write.
//
// Bounds: each client has a queue of WithEventBuffer events; a client
// that falls that far behind is disconnected (an EventSource reconnects
// after the retry the stream sets, and reloads its lists), so a slow
// reader never holds up a call. Each write must complete within
// eventWriteTimeout. At most WithEventClients streams are open at once;
// another is answered 503 with Retry-After.
const EventsPath = "/api/events"

const (
	eventWriteTimeout = 10 * time.Second
	eventKeepAlive    = 15 * time.Second
	eventRetryMillis  = 2000
	// eventBatch is how long events gather before one write (INFERRED: a
	// live view a fifth of a second late is still live).
	eventBatch = 200 * time.Millisecond
)

// EventsHandler serves EventsPath.
type EventsHandler struct {
	svc     *engine.Service
	live    engine.LiveState
	log     *slog.Logger
	buffer  int
	max     int32
	open    atomic.Int32
	session func(r *http.Request) *engine.Actor
}

// EventsOption configures NewEventsHandler.
type EventsOption func(*EventsHandler)

// WithEventBuffer sets each client's queue (default 1024 events: at most
// 5,120 a second reach a client, some 1,000 calls a second).
func WithEventBuffer(n int) EventsOption { return func(h *EventsHandler) { h.buffer = max(n, 1) } }

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
	h := &EventsHandler{svc: svc, live: live, log: slog.Default(), buffer: 1024, max: 64}
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
	// Only the events the client may see take room in its queue.
	events, cancel := h.live.Subscribe(h.buffer, func(ev records.LiveEvent) bool {
		return (ev.Call != nil && sc.AllowsCall(ev.Call)) || (ev.Registration != nil && sc.Allows(ev.Registration.Phone))
	})
	defer cancel()

	rc := http.NewResponseController(w)
	// The stream outlives the server's read timeout: nothing more is read.
	_ = rc.SetReadDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(s string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
		if _, err := fmt.Fprint(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(fmt.Sprintf("retry: %d\n: sipswitch live events\n\n", eventRetryMillis)) {
		return
	}
	keep := time.NewTicker(eventKeepAlive)
	defer keep.Stop()
	batch := time.NewTimer(time.Hour)
	batch.Stop()
	defer batch.Stop()
	var buf bytes.Buffer
	add := func(ev records.LiveEvent) {
		if data, show := eventData(sc, ev); show {
			buf.WriteString("event: " + ev.Kind + "\ndata: ")
			buf.Write(data)
			buf.WriteString("\n\n")
		}
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keep.C:
			if !write(": keep-alive\n\n") {
				return
			}
		case ev, ok := <-events:
			if !ok {
				// Dropped for falling behind: the client reconnects.
				return
			}
			// The first event of a batch: the others of the next
			// eventBatch wait in the queue, without waking this
			// goroutine, and go out in one write (a busy switch makes
			// hundreds of events a second; one write each, to each
			// client, cost more than the calls).
			add(ev)
			batch.Reset(eventBatch)
			select {
			case <-batch.C:
			case <-r.Context().Done():
				return
			}
			closed := false
		drain:
			for {
				select {
				case ev, ok := <-events:
					if !ok {
						closed = true
						break drain
					}
					add(ev)
				default:
					break drain
				}
			}
			if buf.Len() > 0 && !write(buf.String()) {
				return
			}
			buf.Reset()
			if closed {
				return
			}
		}
	}
}

// eventData is an event's row when the scope shows it: as the publisher
// encoded it (EncodeEvent), or encoded here.
func eventData(sc *engine.LineScope, ev records.LiveEvent) ([]byte, bool) {
	switch {
	case ev.Call != nil && sc.AllowsCall(ev.Call):
	case ev.Registration != nil && sc.Allows(ev.Registration.Phone):
	default:
		return nil, false
	}
	if ev.Data != nil {
		return ev.Data, true
	}
	data := EncodeEvent(ev)
	return data, data != nil
}

// EncodeEvent is the row an event carries on the stream: calls/active's
// or registrations/list's. A publisher with many stream clients sets
// LiveEvent.Data to it once, rather than each client encoding it.
func EncodeEvent(ev records.LiveEvent) []byte {
	var row map[string]any
	switch {
	case ev.Call != nil:
		row = CallRow(*ev.Call)
	case ev.Registration != nil:
		row = RegistrationRow(engine.LiveRegistration{Registration: *ev.Registration, Since: ev.At})
	default:
		return nil
	}
	data, err := json.Marshal(row)
	if err != nil {
		return nil
	}
	return data
}
