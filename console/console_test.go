package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/console"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

const adminPassword = "admin-console-pw"

type site struct {
	t   *testing.T
	srv *httptest.Server
	svc *engine.Service
}

func newSite(t *testing.T, tls bool) *site {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, storagetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	svc := engine.NewService(db, engine.WithPasswordCost(bcrypt.MinCost))
	if _, _, err := svc.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	c, err := console.New(svc, api.NewHandler(svc))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(c)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(func() { srv.Close(); db.Close() })
	return &site{t: t, srv: srv, svc: svc}
}

// browser is a client that keeps cookies and does not follow redirects.
type browser struct {
	s    *site
	c    *http.Client
	csrf string
}

func (s *site) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := s.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{s: s, c: c}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) get(path string) (*http.Response, string) {
	b.s.t.Helper()
	resp, err := b.c.Get(b.s.srv.URL + path)
	if err != nil {
		b.s.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := csrfField.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	return resp, string(body)
}

func (b *browser) post(path string, form url.Values, header ...string) (*http.Response, string) {
	b.s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.s.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func (b *browser) login(user, pw string) *http.Response {
	b.s.t.Helper()
	b.get("/login")
	resp, _ := b.post("/login", url.Values{"csrf": {b.csrf}, "username": {user}, "password": {pw}})
	return resp
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == console.SessionCookie && c.Value != "" {
			return c
		}
	}
	return nil
}

// Login, the session cookie's attributes, and the CSRF defences, tried
// as an attacker would: a form posted from elsewhere changes nothing.
func TestConsoleLoginAndCSRF(t *testing.T) {
	s := newSite(t, false)
	b := s.browser()
	if resp, _ := b.get("/phones"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("unauthenticated page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A login form posted without the form's own token (login CSRF).
	if resp, body := b.post("/login", url.Values{"username": {"admin"}, "password": {adminPassword}}); sessionCookie(resp) != nil || !strings.Contains(body, "expired") {
		t.Fatalf("login without the form token: %d %v", resp.StatusCode, resp.Cookies())
	}
	if resp := b.login("admin", "wrong"); sessionCookie(resp) != nil {
		t.Fatal("wrong password logged in")
	}
	resp := b.login("admin", adminPassword)
	ck := sessionCookie(resp)
	if resp.StatusCode != http.StatusSeeOther || ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure {
		t.Fatalf("login: %d cookie %+v", resp.StatusCode, ck)
	}
	resp, body := b.get("/phones/new")
	if resp.StatusCode != 200 || b.csrf == "" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("form page: %d", resp.StatusCode)
	}
	_ = body
	phone := url.Values{"name": {"3001"}, "password": {"pw-3001-long-enough"}}
	// No token; a wrong token; the right token from another origin.
	for _, tc := range []struct {
		form   url.Values
		header []string
	}{
		{phone, nil},
		{with(phone, "csrf", "forged"), nil},
		{with(phone, "csrf", b.csrf), []string{"Origin", "https://evil.example"}},
	} {
		if resp, _ := b.post("/phones/new", tc.form, tc.header...); resp.StatusCode != http.StatusForbidden {
			t.Errorf("forged POST %v %v: %d", tc.form, tc.header, resp.StatusCode)
		}
	}
	if _, err := s.svc.Get(context.Background(), engine.SystemActor(), s.svc.Kinds()["phones"], "3001", engine.ListOptions{}); err == nil {
		t.Fatal("a forged form created the phone")
	}
	// The API's error beside the field it names.
	_, body = b.post("/phones/new", url.Values{"csrf": {b.csrf}, "name": {"3001"}, "password": {"3001"}})
	if !strings.Contains(body, `id="e-password"`) {
		t.Fatalf("password error not beside the field:\n%s", body)
	}
	if resp, _ := b.post("/phones/new", with(phone, "csrf", b.csrf), "Origin", s.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	if _, body := b.get("/phones?name=30"); !strings.Contains(body, "<td>3001</td>") {
		t.Fatalf("phone not listed:\n%s", body)
	}
	// Logging out ends the session server-side: the old cookie is dead.
	old := ck.Value
	b.post("/logout", url.Values{"csrf": {b.csrf}})
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/phones", nil)
	req.AddCookie(&http.Cookie{Name: console.SessionCookie, Value: old})
	if resp, err := b.c.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cookie after logout: %v %v", resp.StatusCode, err)
	}
}

func with(v url.Values, k, val string) url.Values {
	out := url.Values{}
	for kk, vv := range v {
		out[kk] = vv
	}
	out.Set(k, val)
	return out
}

// Over HTTPS the cookie is Secure; a user-role login sees only its own
// line and no page its role may not use.
func TestConsoleSecureCookieAndUserScope(t *testing.T) {
	s := newSite(t, true)
	ctx := context.Background()
	if err := s.svc.AddUser(ctx, "alice", "alice-password", "user", 0); err != nil {
		t.Fatal(err)
	}
	alice, err := s.svc.Login(ctx, netip.Addr{}, "alice", "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	admin := s.browser()
	if ck := sessionCookie(admin.login("admin", adminPassword)); ck == nil || !ck.Secure {
		t.Fatalf("cookie over TLS: %+v", ck)
	}
	admin.get("/phones/new")
	for _, p := range []url.Values{
		{"name": {"4001"}, "password": {"pw-4001-long-enough"}, "owner": {strconv.Itoa(alice.User.ID)}},
		{"name": {"4002"}, "password": {"pw-4002-long-enough"}},
	} {
		if resp, body := admin.post("/phones/new", with(p, "csrf", admin.csrf)); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("create %v: %d\n%s", p, resp.StatusCode, body)
		}
	}
	b := s.browser()
	b.login("alice", "alice-password")
	_, body := b.get("/phones")
	if !strings.Contains(body, "<td>4001</td>") || strings.Contains(body, "4002") {
		t.Fatalf("alice's phones:\n%s", body)
	}
	if strings.Contains(body, `href="/records"`) || strings.Contains(body, `href="/simulate"`) {
		t.Error("alice is offered pages her role may not use")
	}
	if _, body := b.get("/records"); !strings.Contains(body, "role does not allow") {
		t.Errorf("alice's /records: %s", body)
	}
}

// Lists page through the API: a plan of 120 routes shows 50 a page, with
// the count from the API, and a prefix search narrows it in the store.
func TestConsoleListsPageThroughTheAPI(t *testing.T) {
	s := newSite(t, false)
	ctx := context.Background()
	sys := engine.SystemActor()
	kinds := s.svc.Kinds()
	id, err := s.svc.Create(ctx, sys, kinds["plans"], engine.Values{"name": "big"}, false)
	if err != nil {
		t.Fatal(err)
	}
	plan := int(id)
	for i := range 120 {
		if _, err := s.svc.Create(ctx, sys, kinds["plans/routes"], engine.Values{"plan": strconv.Itoa(plan), "called_prefix": strconv.Itoa(4400 + i)}, false); err != nil {
			t.Fatal(err)
		}
	}
	b := s.browser()
	b.login("admin", adminPassword)
	rows := func(body string) int { return strings.Count(body, `href="/routes/edit?id=`) }
	_, body := b.get("/routes?plan=" + strconv.Itoa(plan))
	if n := rows(body); n != 50 || !strings.Contains(body, "Page 1 of 3") || !strings.Contains(body, "120 in all") {
		t.Fatalf("first page: %d rows\n%s", n, body)
	}
	if _, body := b.get("/routes?plan=" + strconv.Itoa(plan) + "&page=3"); rows(body) != 20 {
		t.Errorf("last page: %d rows", rows(body))
	}
	if _, body := b.get("/routes?plan=" + strconv.Itoa(plan) + "&called_prefix=441"); rows(body) != 10 || !strings.Contains(body, "10 in all") {
		t.Errorf("search 441: %d rows", rows(body))
	}
}
