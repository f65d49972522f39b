package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/api"
)

// gatewayLogin logs in with client (no cookie jar) and returns the
// answer and the session cookie ("" when none was set).
func (g *gateway) gatewayLogin(client *http.Client, user, pw string) (answer, string) {
	g.t.Helper()
	resp, err := client.PostForm(g.base+api.GatewayLoginPath, url.Values{"admin_uid": {user}, "admin_password": {pw}})
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		g.t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == api.SessionCookie {
			return a, c.Value
		}
	}
	return a, ""
}

// withSession lists SIP endpoints with a session cookie and returns the
// error key ("" on success).
func (g *gateway) withSession(client *http.Client, token string) string {
	g.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.base+api.GatewayJSONPath, strings.NewReader(`{"method":"sip_endpoints.list","parameters":{}}`))
	req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: token})
	return g.do(client, req).key()
}

// Issue 23, finding 9: one account made 19,999 sessions in 8 s, each kept
// 30 minutes. Now a user holds at most 10: a login past them ends the
// oldest, whose cookie stops working.
func TestGatewaySessionsPerUserAreCapped(t *testing.T) {
	var tick time.Duration
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	// A clock that moves a microsecond a reading, so every session has
	// its own creation time and "oldest" is well defined.
	clock := func() time.Time { tick += time.Microsecond; return start.Add(tick) }
	g := newGateway(t, api.WithGatewayClock(clock))
	client := &http.Client{}
	const logins, limit = 20_000, 10
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	tokens := make([]string, 0, logins)
	for i := range logins {
		a, token := g.gatewayLogin(client, "admin", adminPassword)
		if !a.ok() || token == "" {
			t.Fatalf("login %d: %v", i, a)
		}
		tokens = append(tokens, token)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("%d logins of one user: heap +%.2f MB", logins, float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/1e6)
	for _, i := range []int{0, 1, logins / 2, logins - limit - 1} {
		if key := g.withSession(client, tokens[i]); key != "AUTH_REQUIRED" {
			t.Errorf("session %d of %d still works (%q): the user holds more than %d", i+1, logins, key, limit)
		}
	}
	for i := logins - limit; i < logins; i++ {
		if key := g.withSession(client, tokens[i]); key != "" {
			t.Errorf("session %d of %d, one of the last %d, refused: %q", i+1, logins, limit, key)
		}
	}
	// Another user's sessions are not ended by admin's logins.
	if err := g.svc.AddUser(context.Background(), "ops", "ops-password", "system", 1); err != nil {
		t.Fatal(err)
	}
	_, ops := g.gatewayLogin(client, "ops", "ops-password")
	for range limit + 5 {
		g.gatewayLogin(client, "admin", adminPassword)
	}
	if key := g.withSession(client, ops); key != "" {
		t.Errorf("admin's logins ended ops's session: %q", key)
	}
}

// A user whose role may call no method gets no session (every method
// needs the system role): a login is PERMISSION_DENIED and sets no
// cookie, so such accounts cannot fill the session table.
func TestGatewayLoginNeedsTheSystemRole(t *testing.T) {
	g := newGateway(t)
	if err := g.svc.AddUser(context.Background(), "clerk", "clerk-password", "user", 1); err != nil {
		t.Fatal(err)
	}
	a, token := g.gatewayLogin(&http.Client{}, "clerk", "clerk-password")
	if a.key() != "PERMISSION_DENIED" || token != "" {
		t.Fatalf("user-role login: %v, cookie %q", a, token)
	}
}

// The gateway reads no body from a client that has neither a session
// nor credentials, and no more than maxBody from anyone; a larger body is
// refused 413.
func TestGatewayBodiesAreBounded(t *testing.T) {
	g := newGateway(t)
	post := func(path string, header http.Header, size int64, length int64) (int, answer, int64) {
		t.Helper()
		body := &filler{left: size}
		resp, raw := rawExchange(t, g.base, path, header, body, length)
		var a answer
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("%s: HTTP %d %q", path, resp.StatusCode, raw)
		}
		return resp.StatusCode, a, body.sent.Load()
	}
	basic := func(user, pw string) http.Header {
		req, _ := http.NewRequest(http.MethodPost, "/", nil)
		req.SetBasicAuth(user, pw)
		req.Header.Set("Content-Type", "application/json")
		return req.Header
	}
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for _, tc := range []struct {
		name, path string
		header     http.Header
		length     int64
		status     int
		key        string
	}{
		{"no session, no credentials", api.GatewayJSONPath, http.Header{"Content-Type": {"application/json"}}, -1, 200, "AUTH_REQUIRED"},
		{"wrong basic password", api.GatewayJSONPath, basic("admin", "wrong"), -1, 200, "INVALID_LOGIN"},
		{"right basic password, too large", api.GatewayJSONPath, basic("admin", adminPassword), -1, 413, "INVALID_REQUEST"},
		{"right basic password, too large, length known", api.GatewayJSONPath, basic("admin", adminPassword), 60 << 20, 413, "INVALID_REQUEST"},
		{"login form, too large", api.GatewayLoginPath, form, -1, 413, "INVALID_REQUEST"},
		{"login form, too large, length known", api.GatewayLoginPath, form, 60 << 20, 413, "INVALID_REQUEST"},
	} {
		status, a, sent := post(tc.path, tc.header, 60<<20, tc.length)
		if status != tc.status || a.key() != tc.key {
			t.Errorf("%s: HTTP %d %v, want HTTP %d %s", tc.name, status, a, tc.status, tc.key)
		}
		if sent > 8<<20 {
			t.Errorf("%s: %d MiB of the body read", tc.name, sent>>20)
		}
	}
}
