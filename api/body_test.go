package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/api"
)

// filler is a body of n bytes of 'x' that counts what was taken from it:
// how much of a body the server made the client send.
type filler struct {
	left int64
	sent atomic.Int64
}

func (f *filler) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), f.left))
	for i := range n {
		p[i] = 'x'
	}
	f.left -= int64(n)
	f.sent.Add(int64(n))
	return n, nil
}

// postBody POSTs body to url and returns the HTTP status, the Retry-After
// header and the envelope. contentLength -1 sends the body chunked.
func postBody(t testing.TB, client *http.Client, rawURL, contentType string, body io.Reader, contentLength int64) (int, string, result) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = contentLength
	req.Header.Set("Content-Type", contentType)
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	var r result
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Responses) == 0 {
		t.Fatalf("POST %s: HTTP %d, no envelope (%v)", rawURL, resp.StatusCode, err)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), r
}

// rawPost sends body to path over a TCP connection of its own, as an
// attacker's client would: the body written while the answer is read, so
// a server that answers without reading the body is seen to (Go's client
// reports its write error instead, at random). contentLength -1 sends the
// body chunked. It returns the HTTP status, the Retry-After header and
// the envelope.
func rawPost(t testing.TB, baseURL, path, contentType string, body io.Reader, contentLength int64) (int, string, result) {
	t.Helper()
	resp, answer := rawExchange(t, baseURL, path, http.Header{"Content-Type": {contentType}}, body, contentLength)
	var r result
	if err := json.Unmarshal(answer, &r); err != nil || len(r.Responses) == 0 {
		t.Fatalf("POST %s: HTTP %d, no envelope (%v)", path, resp.StatusCode, err)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), r
}

// rawExchange is rawPost with any headers, returning the response and
// its body.
func rawExchange(t testing.TB, baseURL, path string, header http.Header, body io.Reader, contentLength int64) (*http.Response, []byte) {
	t.Helper()
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var head strings.Builder
	fmt.Fprintf(&head, "POST %s%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", strings.TrimSuffix(u.Path, "/")+"/", strings.TrimPrefix(path, "/"), u.Host)
	header.Write(&head)
	if contentLength >= 0 {
		fmt.Fprintf(&head, "Content-Length: %d\r\n\r\n", contentLength)
	} else {
		head.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	}
	written := make(chan struct{})
	go func() {
		defer close(written)
		if _, err := io.WriteString(conn, head.String()); err != nil {
			return
		}
		if contentLength >= 0 {
			io.Copy(conn, body)
			return
		}
		cw := httputil.NewChunkedWriter(conn)
		if _, err := io.Copy(cw, body); err == nil {
			cw.Close()
			io.WriteString(conn, "\r\n")
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	conn.Close()
	<-written
	return resp, answer
}

// peakHeap samples the heap in use until stop is called and returns the
// highest figure over the one at the start.
func peakHeap() (stop func() int64) {
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(done)
		<-finished
		return int64(peak.Load()) - int64(base.HeapInuse)
	}
}

// Issue 23, finding 4: eight parallel 60 MiB bodies with wrong
// credentials were each read whole (the daemon went from 39 to 1,413 MiB)
// before the 401. Now none is read: the credentials in the query string
// are checked first, and a form body is read no further than maxBody.
func TestUnauthenticatedLargeBodiesAreNotRead(t *testing.T) {
	const parallel, size = 8, 60 << 20
	for _, tc := range []struct {
		name, path, contentType string
		known                   bool // send Content-Length
		status                  int
		code                    string
	}{
		{"deck, wrong password in the query", "peers/costs/import/?auth_username=admin;auth_password=wrong;peer=1", "text/csv", false, 200, "401"},
		{"deck, wrong password in the query, length known", "peers/costs/import/?auth_username=admin;auth_password=wrong;peer=1", "text/csv", true, 200, "401"},
		{"deck, no credentials", "peers/costs/import/?peer=1", "text/csv", false, 200, "401"},
		{"form, password in the body", "plans/create/", "application/x-www-form-urlencoded", false, 413, "400"},
		{"form, password in the body, length known", "plans/create/", "application/x-www-form-urlencoded", true, 413, "400"},
		{"JSON, right password in the query", "plans/create/?auth_username=admin;auth_password=" + adminPassword, "application/json", false, 413, "400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A switch of its own: the failed logins of one case block
			// the address for the next.
			ts := newTestSwitch(t)
			// One login first: eight at once on a store that has not
			// prepared the user query deadlock in storage (DB.prepared
			// holds its lock while waiting for a connection that the
			// other seven hold), whatever the bodies.
			ts.callAs("admin", "warm-up", "plans/list", nil)
			stop := peakHeap()
			var wg sync.WaitGroup
			bodies := make([]*filler, parallel)
			for i := range bodies {
				bodies[i] = &filler{left: size}
				length := int64(-1)
				if tc.known {
					length = size
				}
				wg.Go(func() {
					status, _, r := rawPost(t, ts.url, tc.path, tc.contentType, bodies[i], length)
					if status != tc.status || r.code() != tc.code {
						t.Errorf("HTTP %d %+v, want HTTP %d code %s", status, r.Responses, tc.status, tc.code)
					}
				})
			}
			wg.Wait()
			grown := stop()
			var sent int64
			for _, b := range bodies {
				sent += b.sent.Load()
			}
			t.Logf("%d x %d MiB: the server made the clients send %.1f MiB in all; heap peak +%.1f MiB", parallel, size>>20, float64(sent)/(1<<20), float64(grown)/(1<<20))
			// What the kernel's socket buffers take before the server
			// closes the connection, at most a few MiB each; the whole
			// body before.
			if sent > parallel*(8<<20) {
				t.Errorf("the server read %d MiB of %d unauthenticated bodies", sent>>20, parallel)
			}
			if grown > 64<<20 {
				t.Errorf("the heap grew by %d MiB", grown>>20)
			}
			if ts.count("plans") != 0 || ts.count("peer_costs") != 0 {
				t.Fatal("a refused request wrote")
			}
		})
	}
}

// A user whose role may not import sends its deck with the right
// password: it is refused before the deck is read, as the engine
// authorizes before it reads.
func TestDeckOfAUserWhoMayNotImportIsNotRead(t *testing.T) {
	ts := newTestSwitch(t)
	seedFixture(ts)
	if err := ts.svc.AddUser(context.Background(), "clerk", "clerk-password", "administrator", 1); err != nil {
		t.Fatal(err)
	}
	deck := &filler{left: 60 << 20}
	status, _, r := rawPost(t, ts.url, "peers/costs/import/?auth_username=clerk;auth_password=clerk-password;peer=1", "text/csv", deck, -1)
	if status != 200 || r.code() != "402" {
		t.Fatalf("HTTP %d %+v, want 402", status, r.Responses)
	}
	if sent := deck.sent.Load(); sent > 8<<20 {
		t.Fatalf("%d MiB of a deck the user may not import was read", sent>>20)
	}
}

// A deck over maxUploadBody is refused 413, unread when its length is
// known; a text/csv body to any other function is refused naming body.
func TestDeckLimits(t *testing.T) {
	ts := newTestSwitch(t)
	seedFixture(ts)
	auth := "?auth_username=admin;auth_password=" + adminPassword
	const over = 64<<20 + 1
	for _, length := range []int64{over, -1} {
		deck := io.MultiReader(strings.NewReader("called_prefix,cost\n"), &filler{left: over})
		status, _, r := rawPost(t, ts.url, "peers/costs/import/"+auth+";peer=1", "text/csv", deck, length)
		if status != http.StatusRequestEntityTooLarge || r.code() != "400" || !hasKey(r, "body") {
			t.Fatalf("Content-Length %d: HTTP %d %+v, want 413 with key body", length, status, r.Responses)
		}
	}
	status, _, r := postBody(t, nil, ts.url+"plans/create/"+auth, "text/csv", strings.NewReader("name\nx\n"), -1)
	if status != 200 || r.code() != "400" || !hasKey(r, "body") {
		t.Fatalf("text/csv to plans/create: HTTP %d %+v", status, r.Responses)
	}
	if ts.count("peer_costs") != 0 || ts.count("plans") != 1 {
		t.Fatal("a refused request wrote")
	}
}

// Only WithUploadLimit decks are read at once; the next is answered 503
// with Retry-After, unread, and once the first is done a deck is taken
// again.
func TestConcurrentDecksAreBounded(t *testing.T) {
	ts := newTestSwitch(t, api.WithUploadLimit(1))
	seedFixture(ts)
	path := "peers/costs/import/?auth_username=admin;auth_password=" + adminPassword + ";peer=1"
	u, _ := url.Parse(ts.url)
	// The first deck asks to continue (RFC 9110 10.1.1): the server's
	// 100 says it has begun reading the deck, so holds its place.
	first, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	const deck = "called_prefix,cost\n44,0.01\n"
	fmt.Fprintf(first, "POST %s%s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/csv\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", u.Path, path, u.Host, len(deck))
	answers := bufio.NewReader(first)
	if line, err := answers.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("first deck: %q %v, want 100 Continue", line, err)
	}
	if _, err := answers.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	second := &filler{left: 32 << 20}
	status, retry, r := rawPost(t, ts.url, path, "text/csv", second, -1)
	if status != http.StatusServiceUnavailable || retry == "" || r.code() != "400" {
		t.Fatalf("second deck while one is read: HTTP %d Retry-After %q %+v, want 503", status, retry, r.Responses)
	}
	if second.sent.Load() > 8<<20 {
		t.Fatalf("the refused deck was read: %d MiB", second.sent.Load()>>20)
	}
	io.WriteString(first, deck)
	resp, err := http.ReadResponse(answers, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"imported":1`) {
		t.Fatalf("first deck: HTTP %d %s", resp.StatusCode, body)
	}
	if _, _, r := postBody(t, nil, ts.url+path+";replace=1", "text/csv", strings.NewReader("called_prefix,cost\n1,0.5\n"), -1); r.code() != "200" {
		t.Fatalf("a deck after the first: %+v", r.Responses)
	}
}

// A deck of 20,000 rows is imported from the body with basic
// authentication, and the same deck with a bad last row writes nothing
// and names the row. (scripts/bodyflood.sh imports 200,000 rows into the
// daemon and reports its peak RSS.)
func TestLargeDeckImport(t *testing.T) {
	ts := newTestSwitch(t)
	seedFixture(ts)
	ts.mustOK("peers/create", map[string]string{"name": "carrier-a", "type": "sip", "destination": "192.0.2.10"})
	const rows = 20_000
	var deck strings.Builder
	deck.WriteString("called_prefix,cost,connectfee,increment,description\n")
	for i := range rows {
		fmt.Fprintf(&deck, "%d,0.%04d,0.01,60,Destination %d\n", 440000000+i, i%10000, i)
	}
	post := func(body string) (int, result) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, ts.url+"peers/costs/import/?peer=1;replace=1", strings.NewReader(body))
		req.Header.Set("Content-Type", "text/csv")
		req.SetBasicAuth("admin", adminPassword)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r result
		json.NewDecoder(resp.Body).Decode(&r)
		return resp.StatusCode, r
	}
	stop := peakHeap()
	status, r := post(deck.String())
	grown := stop()
	t.Logf("%d rows (%.1f MiB): heap peak +%.1f MiB", rows, float64(deck.Len())/(1<<20), float64(grown)/(1<<20))
	if status != 200 || r.code() != "200" || string(r.Data) != fmt.Sprintf(`{"imported":%d}`, rows) {
		t.Fatalf("import: HTTP %d %+v %s", status, r.Responses, r.Data)
	}
	if ts.count("peer_costs") != rows {
		t.Fatalf("%d rows stored", ts.count("peer_costs"))
	}
	rev := ts.db.Revision()
	_, r = post(deck.String() + "4x,0.2,0,60,bad\n")
	if r.code() != "400" || !hasKey(r, "csv") || !strings.Contains(r.Responses[0].Message, fmt.Sprintf("line %d", rows+2)) {
		t.Fatalf("bad last row: %+v", r.Responses)
	}
	if ts.db.Revision() != rev || ts.count("peer_costs") != rows {
		t.Fatal("a deck with a bad row changed the store")
	}
}

// The largest legitimate request that is not a deck fits maxBody:
// phones/create with every free-text parameter at its 1,024-byte maximum,
// in non-ASCII text percent-encoded as a form, credentials in the body.
func TestLargestLegitimateBodyFits(t *testing.T) {
	ts := newTestSwitch(t)
	seedFixture(ts)
	form := url.Values{}
	form.Set("auth_username", "admin")
	form.Set("auth_password", adminPassword)
	long := strings.Repeat("é", 512) // 1,024 bytes
	texts := 0
	for name, c := range phoneCases {
		form.Set(name, c.valid)
		if c.invalid == "" {
			form.Set(name, long)
			texts++
		}
	}
	form.Set("name", "3001")
	form.Set("password", "secret-3001")
	body := form.Encode()
	t.Logf("phones/create with %d text parameters of 1,024 bytes: a %d-byte form body", texts, len(body))
	status, _, r := postBody(t, nil, ts.url+"phones/create/", "application/x-www-form-urlencoded", strings.NewReader(body), int64(len(body)))
	if status != 200 || r.code() != "204" {
		t.Fatalf("HTTP %d %+v", status, r.Responses)
	}
}
