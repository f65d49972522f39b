package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

// bothAPIs serves the Enswitch API and the gateway API of one service, as
// the daemon does, to clients on several loopback source addresses.
type bothAPIs struct {
	t    *testing.T
	base string
	svc  *engine.Service
}

func newBothAPIs(t *testing.T) *bothAPIs {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, storagetest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	svc := engine.NewService(db, engine.WithPasswordCost(bcrypt.MinCost))
	if _, _, err := svc.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/json/", api.NewHandler(svc))
	gw := api.NewGatewayHandler(svc)
	mux.Handle(api.GatewayLoginPath, gw)
	mux.Handle(api.GatewayJSONPath, gw)
	srv := httptest.NewUnstartedServer(mux)
	// Listen on every loopback address, so clients can come from 127.0.0.N.
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(func() { srv.Close(); db.Close() })
	port := l.Addr().(*net.TCPAddr).Port
	return &bothAPIs{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port), svc: svc}
}

// client connects from the loopback address 127.0.0.n.
func client(n int) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(n))}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// enswitch logs in to the Enswitch API from 127.0.0.n and returns the code
// and message of plans/list.
func (b *bothAPIs) enswitch(n int, user, pw string) (code, message string) {
	b.t.Helper()
	q := "auth_username=" + url.QueryEscape(user) + ";auth_password=" + url.QueryEscape(pw)
	resp, err := client(n).Get(b.base + "/api/json/plans/list/?" + q)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r result
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Responses) == 0 {
		b.t.Fatalf("envelope: %v", err)
	}
	return r.code(), r.Responses[0].Message
}

// gateway logs in to the gateway API from 127.0.0.n and returns its
// error_key ("" on success).
func (b *bothAPIs) gateway(n int, user, pw string) string {
	b.t.Helper()
	form := url.Values{"admin_uid": {user}, "admin_password": {pw}}
	resp, err := client(n).Post(b.base+api.GatewayLoginPath, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		b.t.Fatal(err)
	}
	return a.key()
}

var limit = engine.DefaultLoginLimits().Failures

// An address blocked on one API must not go on guessing through the other
// (issue 12: each API kept its own counter).
func TestAddressBlockedOnOneAPIIsBlockedOnTheOther(t *testing.T) {
	b := newBothAPIs(t)
	// Guess distinct usernames, so only the address's count reaches the
	// limit.
	for i := range limit {
		b.enswitch(2, fmt.Sprintf("guess%d", i), "password")
	}
	if key := b.gateway(2, "admin", adminPassword); key != "LOGIN_BLOCKED" {
		t.Fatalf("gateway login from an address the Enswitch API blocked: %q, want LOGIN_BLOCKED", key)
	}

	b = newBothAPIs(t)
	for i := range limit {
		b.gateway(3, fmt.Sprintf("guess%d", i), "password")
	}
	if code, msg := b.enswitch(3, "admin", adminPassword); code != "401" || !strings.Contains(msg, "Too many") {
		t.Fatalf("Enswitch login from an address the gateway blocked: %s %q, want 401 Too many", code, msg)
	}
}

// One username guessed from many addresses, a few guesses each, is
// blocked wherever it has not logged in from before; the address it works
// from keeps working.
func TestUsernameGuessedFromManyAddressesIsBlocked(t *testing.T) {
	b := newBothAPIs(t)
	if code, _ := b.enswitch(1, "admin", adminPassword); code != "200" {
		t.Fatalf("admin's own login: %s", code)
	}
	for i := range limit {
		if i%2 == 0 {
			b.enswitch(10+i, "admin", "guess")
		} else {
			b.gateway(10+i, "admin", "guess")
		}
	}
	if code, msg := b.enswitch(50, "admin", adminPassword); code != "401" || !strings.Contains(msg, "Too many") {
		t.Errorf("Enswitch login as admin from a new address: %s %q, want 401 Too many", code, msg)
	}
	if key := b.gateway(51, "admin", adminPassword); key != "LOGIN_BLOCKED" {
		t.Errorf("gateway login as admin from a new address: %q, want LOGIN_BLOCKED", key)
	}
	if code, _ := b.enswitch(1, "admin", adminPassword); code != "200" {
		t.Errorf("admin locked out of the address it logged in from: %s", code)
	}
	if key := b.gateway(1, "admin", adminPassword); key != "" {
		t.Errorf("admin locked out of the gateway at its own address: %q", key)
	}
}

// A client with one valid account logs in between its guesses at others:
// that must not wipe out its count of failures.
func TestValidLoginDoesNotWashOutGuesses(t *testing.T) {
	b := newBothAPIs(t)
	if err := b.svc.AddUser(context.Background(), "mallory", "mallory-password", "user", 1); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for i := 0; i < limit-1; i++ {
			b.enswitch(7, fmt.Sprintf("victim%d-%d", round, i), "guess")
		}
		// plans/list is not a user's (402), but the login succeeded.
		if code, _ := b.enswitch(7, "mallory", "mallory-password"); code != "402" && round == 0 {
			t.Fatalf("mallory's own login: %s", code)
		}
	}
	if code, msg := b.enswitch(7, "mallory", "mallory-password"); code != "401" || !strings.Contains(msg, "Too many") {
		t.Fatalf("after %d guesses in a minute the address is still let in: %s %q", 2*(limit-1), code, msg)
	}
}
