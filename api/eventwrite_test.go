package api_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/records"
)

// countingListener counts the writes to the connections it accepts.
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.l.writes.Add(1)
	return c.Conn.Write(b)
}

// streamServer serves the event stream over HTTP/1.1 on a listener that
// counts its writes.
func streamServer(t testing.TB, h http.Handler) (*httptest.Server, *countingListener) {
	srv := httptest.NewUnstartedServer(h)
	cl := &countingListener{Listener: srv.Listener}
	srv.Listener = cl
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, cl
}

// A chunk of events (here 40 calls', 17 KB: past the server's 4 KiB
// buffer, as a busy switch's tenth of a second is) reaches a client in
// one write(2), whole and in order; the chunked encoding made it three.
func TestEventStreamChunkOneWrite(t *testing.T) {
	ts, live, _ := liveFixture(t)
	srv, cl := streamServer(t, api.NewEventsHandler(ts.svc, live))
	resp, lines := openStream(t, srv.URL, "admin", adminPassword)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for live.hub.Subscribers() != 1 {
		time.Sleep(time.Millisecond)
	}
	// The head and the preamble are written before the subscription's
	// first wait; what follows is the chunk.
	before := cl.writes.Load()
	const calls = 40
	for i := range calls {
		live.hub.Publish(records.LiveEvent{Kind: records.EventCallStart, Call: &records.LiveCall{ID: "call-" + strings.Repeat("x", 200) + fmt.Sprint(i), Line: "2002"}})
	}
	live.hub.Flush()
	for i := range calls {
		ev := nextEvent(t, lines)
		if want := `"id":"call-` + strings.Repeat("x", 200) + fmt.Sprint(i) + `"`; !strings.HasPrefix(ev, "call_start ") || !strings.Contains(ev, want) {
			t.Fatalf("event %d: %.80s…", i, ev)
		}
	}
	if n := cl.writes.Load() - before; n != 1 {
		t.Fatalf("the chunk took %d writes to the socket, want 1", n)
	}
}

// The stream's cost per chunk to the server, with 20 clients over
// HTTP/1.1 reading and discarding (the clients' reads, in the same
// process, are in cpu-ns/chunk too): a chunk of 200 events (a tenth of a second at
// 1,000 calls a second) sealed, and written to each client. writes/chunk
// counts the writes to the sockets.
func BenchmarkEventStream(b *testing.B) {
	const clients, events = 20, 200
	live := &liveState{hub: engine.NewLiveHub(api.AppendEvent, engine.WithLiveFlush(time.Hour))}
	ts := newTestSwitch(b, api.WithLiveState(live))
	srv, cl := streamServer(b, api.NewEventsHandler(ts.svc, live, api.WithEventClients(clients)))
	// The clients count the bytes they have read.
	var read atomic.Int64
	for range clients {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.SetBasicAuth("admin", adminPassword)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("client: %v %v", resp, err)
		}
		b.Cleanup(func() { resp.Body.Close() })
		go func() {
			buf := make([]byte, 256<<10)
			for {
				n, err := resp.Body.Read(buf)
				read.Add(int64(n))
				if err != nil {
					return
				}
			}
		}()
	}
	for live.hub.Subscribers() != clients {
		time.Sleep(time.Millisecond)
	}
	call := records.LiveCall{ID: "a84b4c76e66710@pc33.atlanta.example.com", Host: "sw1", Start: 1765000000, Answer: 1765000003,
		Direction: "outbound", Line: "2000001", Customer: 12, Caller: "2000001", Called: "15000123456", Route: 7, Peer: "carrier1",
		Attempt: 1, State: records.CallUp}
	rows := make([]records.LiveCall, events)
	for i := range rows {
		rows[i] = call
		rows[i].ID = strings.Repeat("x", i%7) + call.ID + string(rune('a'+i%26))
	}
	// Each client reads the chunk's frames, all of them (an admin's).
	var frames []byte
	for i := range rows {
		frames = api.AppendEvent(frames, &records.LiveEvent{Kind: records.EventCallStart, Call: &rows[i]})
	}
	for read.Load() == 0 { // the preambles
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
	base := read.Load()
	var ru0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	writes := cl.writes.Load()
	b.ResetTimer()
	for n := 1; n <= b.N; n++ {
		for i := range rows {
			live.hub.Publish(records.LiveEvent{Kind: records.EventCallStart, Call: &rows[i]})
		}
		live.hub.Flush()
		for read.Load()-base < int64(n*len(frames)*clients) {
			time.Sleep(50 * time.Microsecond)
		}
	}
	b.StopTimer()
	var ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/chunk")
	b.ReportMetric(float64(cl.writes.Load()-writes)/float64(b.N), "writes/chunk")
}
