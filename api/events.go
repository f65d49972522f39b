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
// Events are written in batches: the hub (engine.LiveHub) gathers the
// events of a flush interval (events.flush, engine.DefaultLiveFlush
// 100 ms: a live view that late is still live) and seals them into a
// chunk, each event encoded once (AppendEvent) for every client, off the
// call path. Within a chunk a call's call_update is folded into its
// previous event (a call_start or call_update, which then carries the
// latest row): applied in order, the events leave a client where every
// event would have, and a call routed and answered within the interval
// is one event, not three. A client is woken once per chunk and writes it in one
// write: as it is when it may see every event in it (no copy per
// client), else the frames it may see. Over HTTP/1.x the body is not
// chunked (Transfer-Encoding: identity): it ends when the connection
// does, and a chunk is one write(2), not three. The call path's cost does not grow
// with the clients, and a client's cost is a wake-up and a write per
// flush interval, not per event.
//
// Bounds: the hub keeps the last engine.DefaultLiveRing events for all
// clients. A client that falls further behind (its writes blocked by a
// reader that does not read) loses the oldest and is told: an event
// "resync" whose data is {"lost":N}, after which it should reload its
// lists (calls/active, registrations/list) as after reconnecting; a slow
// reader never holds up a call. The ring is every client's, so the count
// is of all the events it missed, including those it would not have been
// shown. Each write must complete within eventWriteTimeout, or the
// stream ends. At most WithEventClients streams are open at once;
// another is answered 503 with Retry-After.
const EventsPath = "/api/events"

// EventResync is the event that tells a client it lost events.
const EventResync = "resync"

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
	max     int32
	open    atomic.Int32
	session func(r *http.Request) *engine.Actor
}

// EventsOption configures NewEventsHandler.
type EventsOption func(*EventsHandler)

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
	h := &EventsHandler{svc: svc, live: live, log: slog.Default(), max: 64}
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
	sub := h.live.Subscribe()
	defer sub.Close()
	// Only the events the client may see are written.
	shown := func(ev *records.LiveEvent) bool {
		return (ev.Call != nil && sc.AllowsCall(ev.Call)) || (ev.Registration != nil && sc.Allows(ev.Registration.Phone))
	}

	rc := http.NewResponseController(w)
	// The stream outlives the server's read timeout: nothing more is read.
	_ = rc.SetReadDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	if r.ProtoMajor == 1 {
		// The body runs until the connection closes (RFC 9112 6.3; the
		// setup the Server-Sent Events recommendation gives), not in
		// chunks: a chunk of events of the flush interval is one write(2)
		// to the client's socket, where the chunked encoding made a
		// large one three (its size line and the first bytes through
		// the server's 4 KiB buffer, the rest, then its CRLF at Flush),
		// for every client. The stream was never to be followed by
		// another request on its connection. HTTP/2 frames it anyway
		// (and leaves the header out).
		w.Header().Set("Transfer-Encoding", "identity")
	}
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
			chunks, lost := sub.Read()
			var out []byte
			if len(chunks) == 1 && lost == 0 {
				// The usual case: one chunk, most often written as the
				// hub sealed it (no copy).
				out = chunkShown(chunks[0], shown, &buf)
			} else {
				// Behind: the resync and the chunks in one write.
				out = buf[:0]
				if lost > 0 {
					out = fmt.Appendf(out, "event: %s\ndata: {\"lost\":%d}\n\n", EventResync, lost)
				}
				for _, c := range chunks {
					out = appendShown(out, c, shown)
				}
				buf = out
			}
			if len(out) > 0 && !write(out) {
				return
			}
			if cap(buf) > eventBufferKeep {
				buf = nil
			}
		}
	}
}

// chunkShown is what of c the client is shown: the chunk's own bytes when
// it may see every event (shared by every such client, never changed),
// else its events' frames copied into buf.
func chunkShown(c *engine.LiveChunk, shown func(*records.LiveEvent) bool, buf *[]byte) []byte {
	n := c.Len()
	i := 0
	for i < n && shown(c.Event(i)) {
		i++
	}
	if i == n {
		return c.Data()
	}
	b := (*buf)[:0]
	for j := range i {
		b = append(b, c.Frame(j)...)
	}
	for j := i + 1; j < n; j++ {
		if shown(c.Event(j)) {
			b = append(b, c.Frame(j)...)
		}
	}
	*buf = b
	return b
}

// appendShown appends what of c the client is shown to b.
func appendShown(b []byte, c *engine.LiveChunk, shown func(*records.LiveEvent) bool) []byte {
	for j := range c.Len() {
		if shown(c.Event(j)) {
			b = append(b, c.Frame(j)...)
		}
	}
	return b
}

// AppendEvent appends the event's Server-Sent Events frame: its kind and
// the row calls/active or registrations/list would show. It is the
// encoder of the live state's engine.LiveHub.
func AppendEvent(b []byte, ev *records.LiveEvent) []byte {
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
