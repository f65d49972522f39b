package api_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/api"
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
// not read is disconnected while the publisher goes on unblocked.
func TestEventStreamFilteredAndBounded(t *testing.T) {
	ts, live, _ := liveFixture(t)
	srv := httptest.NewServer(api.NewEventsHandler(ts.svc, live, api.WithEventBuffer(4), api.WithEventClients(2)))
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

	// A second client that never reads: the publisher is never held, and
	// the client is dropped once its queue (4) and the socket are full.
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
	for i := 0; i < 20000 && live.hub.Dropped() == 0; i++ {
		live.hub.Publish(records.LiveEvent{Kind: records.EventCallUpdate, Call: &records.LiveCall{ID: "flood", Line: "2002", Caller: big}})
	}
	if live.hub.Dropped() == 0 {
		t.Fatal("a client that does not read was never dropped")
	}
	t.Logf("slow client dropped after %v of publishing", time.Since(start))
	// The owner's stream, which reads, is still there (none of the flood
	// was its).
	live.hub.Publish(records.LiveEvent{Kind: records.EventCallEnd, Call: &records.LiveCall{ID: "yours", Line: "7002"}})
	if ev := nextEvent(t, lines); !strings.HasPrefix(ev, "call_end ") {
		t.Fatalf("owner's stream after the flood: %s", ev)
	}
}
