package api_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/records"
)

// openStream connects to the event stream as user and returns its lines.
func openStream(t *testing.T, url, user, pw string) (*http.Response, <-chan string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.SetBasicAuth(user, pw)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return resp, lines
}

func nextEvent(t *testing.T, lines <-chan string) string {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return "(closed)"
			}
			if strings.HasPrefix(l, "event: ") {
				data := <-lines
				return strings.TrimPrefix(l, "event: ") + " " + data
			}
		case <-timeout:
			t.Fatal("no event within 5s")
		}
	}
}

// The stream shows a user only its lines' events, and a client that does
// not read never holds up the publisher.
func TestEventStreamFilteredAndBounded(t *testing.T) {
	ts, live, _ := liveFixture(t)
	srv := httptest.NewServer(api.NewEventsHandler(ts.svc, live, api.WithEventClients(2)))
	t.Cleanup(srv.Close)

	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credentials: %v %v", resp, err)
	}
	req.SetBasicAuth("commerce", "password-commerce")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("commerce role: %v %v", resp, err)
	}

	resp, lines := openStream(t, srv.URL, "owner", "password-owner")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The subscription exists once the headers are sent.
	for live.hub.Subscribers() != 1 {
		time.Sleep(time.Millisecond)
	}
	live.hub.Publish(records.LiveEvent{Kind: records.EventCallStart, Call: &records.LiveCall{ID: "not-yours", Line: "2002"}})
	live.hub.Publish(records.LiveEvent{Kind: records.EventRegistered, Registration: &records.Registration{Phone: "7003", Contact: "sip:x"}})
	live.hub.Publish(records.LiveEvent{Kind: records.EventCallStart, Call: &records.LiveCall{ID: "yours", Line: "7002"}})
	if ev := nextEvent(t, lines); !strings.HasPrefix(ev, "call_start ") || !strings.Contains(ev, `"id":"yours"`) {
		t.Fatalf("owner's first event: %s", ev)
	}

	// A second client that never reads: the publisher is never held
	// (the client's writes block once the socket is full; it falls
	// behind the hub's ring).
	req2, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req2.SetBasicAuth("admin", adminPassword)
	slow, err := http.DefaultClient.Do(req2)
	if err != nil || slow.StatusCode != 200 {
		t.Fatalf("slow client: %v %v", slow, err)
	}
	defer slow.Body.Close()
	// A third is over the limit of 2.
	req3, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req3.SetBasicAuth("admin", adminPassword)
	if resp, err := http.DefaultClient.Do(req3); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third stream: %v %v", resp, err)
	}
	for live.hub.Subscribers() != 2 {
		time.Sleep(time.Millisecond)
	}
	big := strings.Repeat("x", 4000)
	start := time.Now()
	for range 20000 {
		live.hub.Publish(records.LiveEvent{Kind: records.EventCallUpdate, Call: &records.LiveCall{ID: "flood", Line: "2002", Caller: big}})
	}
	t.Logf("20,000 events (80 MB) published past a client that does not read in %v", time.Since(start))
	// The owner's stream, which reads, is still there. The flood went
	// past the ring faster than it reads, so it may first be told to
	// resync (the ring is shared: what was lost cannot be known to have
	// been none of its), and none of the flood is shown to it.
	live.hub.Publish(records.LiveEvent{Kind: records.EventCallEnd, Call: &records.LiveCall{ID: "yours", Line: "7002"}})
	ev := nextEvent(t, lines)
	if strings.HasPrefix(ev, "resync ") {
		ev = nextEvent(t, lines)
	}
	if !strings.HasPrefix(ev, "call_end ") {
		t.Fatalf("owner's stream after the flood: %s", ev)
	}
}

// streamWriter is a ResponseWriter that hands each write of the stream
// to the test and, with gate set, holds every write after the first
// (the preamble) until gate is closed: a client whose socket is full.
type streamWriter struct {
	header http.Header
	writes chan string
	gate   chan struct{}
	n      int
}

func newStreamWriter() *streamWriter {
	return &streamWriter{header: http.Header{}, writes: make(chan string, 100)}
}

func (w *streamWriter) Header() http.Header { return w.header }
func (w *streamWriter) WriteHeader(int)     {}
func (w *streamWriter) Flush()              {}
func (w *streamWriter) Write(b []byte) (int, error) {
	w.writes <- string(b)
	if w.n++; w.n > 1 && w.gate != nil {
		<-w.gate
	}
	return len(b), nil
}

func (w *streamWriter) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-w.writes:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no write within 5s")
		return ""
	}
}

// serveStream runs the handler for user until the test ends.
func serveStream(t *testing.T, h http.Handler, w *streamWriter, user, pw string) {
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, api.EventsPath, nil)
	req.SetBasicAuth(user, pw)
	done := make(chan struct{})
	go func() { defer close(done); h.ServeHTTP(w, req) }()
	t.Cleanup(func() { cancel(); <-done })
	if pre := w.next(t); !strings.HasPrefix(pre, "retry: ") {
		t.Fatalf("preamble %q", pre)
	}
}

// The events of a flush interval go to a client in one write, in order,
// only those it may see: 100 published, 50 of them the owner's, one write
// of 50 frames for the owner and one of 100 for the administrator (the
// chunk as the hub encoded it).
func TestEventStreamCoalesces(t *testing.T) {
	ts, live, _ := liveFixture(t)
	live.hub = engine.NewLiveHub(api.AppendEvent, engine.WithLiveFlush(100*time.Millisecond))
	h := api.NewEventsHandler(ts.svc, live)
	owner, admin := newStreamWriter(), newStreamWriter()
	serveStream(t, h, owner, "owner", "password-owner")
	serveStream(t, h, admin, "admin", adminPassword)
	for i := range 50 {
		live.hub.Publish(records.LiveEvent{Kind: records.EventCallStart, Call: &records.LiveCall{ID: fmt.Sprint("not-yours-", i), Line: "2002"}})
		live.hub.Publish(records.LiveEvent{Kind: records.EventCallStart, Call: &records.LiveCall{ID: fmt.Sprint("yours-", i), Line: "7002"}})
	}
	for _, c := range []struct {
		w    *streamWriter
		want func(i int) string
		n    int
	}{
		{owner, func(i int) string { return fmt.Sprintf(`"id":"yours-%d"`, i) }, 50},
		{admin, func(i int) string {
			if i%2 == 0 {
				return fmt.Sprintf(`"id":"not-yours-%d"`, i/2)
			}
			return fmt.Sprintf(`"id":"yours-%d"`, i/2)
		}, 100},
	} {
		got := c.w.next(t)
		frames := strings.Split(strings.TrimSuffix(got, "\n\n"), "\n\n")
		if len(frames) != c.n {
			t.Fatalf("one write of %d frames, want %d:\n%.500s", len(frames), c.n, got)
		}
		for i, f := range frames {
			if want := c.want(i); !strings.HasPrefix(f, "event: call_start\ndata: {") || !strings.Contains(f, want) {
				t.Fatalf("frame %d is %q, want call_start with %s", i, f, want)
			}
		}
	}
	select {
	case more := <-owner.writes:
		t.Fatalf("a second write: %.200q", more)
	case <-time.After(300 * time.Millisecond):
	}
}

// A client whose writes are held (a reader that does not read) holds up
// nobody: the publisher goes on, the client falls behind the hub's ring
// and, once it writes again, is told how many events it lost ("resync")
// and gets the ones the ring still holds.
func TestEventStreamSlowClientResyncs(t *testing.T) {
	ts, live, _ := liveFixture(t)
	live.hub = engine.NewLiveHub(api.AppendEvent, engine.WithLiveFlush(5*time.Millisecond), engine.WithLiveRing(8))
	h := api.NewEventsHandler(ts.svc, live)
	w := newStreamWriter()
	w.gate = make(chan struct{})
	serveStream(t, h, w, "admin", adminPassword)
	// probe sees each chunk sealed.
	probe := live.hub.Subscribe()
	defer probe.Close()
	sealed := func() {
		t.Helper()
		select {
		case <-probe.Wait():
			probe.Read()
		case <-time.After(5 * time.Second):
			t.Fatal("no chunk sealed")
		}
	}
	call := func(i int) records.LiveEvent {
		return records.LiveEvent{Kind: records.EventCallUpdate, Call: &records.LiveCall{ID: fmt.Sprint("c", i), Line: "2002"}}
	}
	live.hub.Publish(call(0))
	sealed()
	if first := w.next(t); !strings.Contains(first, `"id":"c0"`) {
		t.Fatalf("first write %q", first)
	}
	// The client is inside its write, held: three chunks of 10 more
	// events, of which the ring (8) keeps the last.
	for burst := range 3 {
		for i := 1; i <= 10; i++ {
			live.hub.Publish(call(10*burst + i))
		}
		sealed()
	}
	close(w.gate)
	// The resync and what the ring held, in one write.
	const resync = "event: resync\ndata: {\"lost\":20}\n\n"
	got, ok := strings.CutPrefix(w.next(t), resync)
	if !ok {
		t.Fatalf("after the hold: %q, want resync with 20 lost first", got)
	}
	frames := strings.Split(strings.TrimSuffix(got, "\n\n"), "\n\n")
	if len(frames) != 10 {
		t.Fatalf("%d frames after the resync, want 10", len(frames))
	}
	for i, f := range frames {
		if want := fmt.Sprintf(`"id":"c%d"`, 21+i); !strings.Contains(f, want) {
			t.Fatalf("frame %d is %q, want %s", i, f, want)
		}
	}
	if live.hub.Lost() != 20 {
		t.Errorf("hub counts %d lost", live.hub.Lost())
	}
}
