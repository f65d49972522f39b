package sip

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

func TestExpectRegisteredAlerts(t *testing.T) {
	dir := newTestDirectory()
	dir.addPhone(routing.Phone{PresentationExternal: 1, PresentationInternal: 1, ID: 1, Name: "2001", Password: "pw2001", ExpectRegistered: 1})
	dir.addPhone(routing.Phone{PresentationExternal: 1, PresentationInternal: 1, ID: 2, Name: "2002", Password: "pw2002", ExpectRegistered: 0})
	dir.addPhone(routing.Phone{PresentationExternal: 1, PresentationInternal: 1, ID: 3, Name: "2003", Password: "pw2003", ExpectRegistered: 2})
	clock := &fakeClock{}
	logs := &syncBuffer{}
	store := newMemStore()
	s, sw := startSwitch(t, dir, withClock(clock.now), WithRegistrationStore(store),
		WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	moved := siptest.NewAgent(t, "moved", "127.0.0.5")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	register := func(a *siptest.Agent, user, password string, expires int) {
		t.Helper()
		res, _, err := a.Register(ctx, sw, user, password, expires)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("register %s expires %d: %v %v", user, expires, res, err)
		}
	}
	alerts := func() (uint64, uint64) {
		st := s.Stats()
		return st.UnregisteredAlerts, st.AddressChangeAlerts
	}

	// Registrations that lapse: only the line expected to be registered
	// is alerted.
	register(phone, "2001", "pw2001", 60)
	register(phone, "2002", "pw2002", 60)
	clock.advance(61 * time.Second)
	s.reg.Sweep(ctx)
	if u, _ := alerts(); u != 1 {
		t.Fatalf("unregistered alerts after expiry: %d, want 1 (2001 only)", u)
	}
	if l := logs.String(); !strings.Contains(l, `msg="sip phone unregistered" phone=2001 reason=expired`) || strings.Contains(l, "phone=2002") {
		t.Errorf("alert log:\n%s", l)
	}

	// Deregistration (Expires: 0) of the last contact is alerted too; a
	// refresh is not.
	register(phone, "2001", "pw2001", 300)
	register(phone, "2001", "pw2001", 300)
	if u, _ := alerts(); u != 1 {
		t.Fatalf("alerts after a refresh: %d", u)
	}
	register(phone, "2001", "pw2001", 0)
	if u, _ := alerts(); u != 2 || !strings.Contains(logs.String(), "phone=2001 reason=deregistered") {
		t.Fatalf("unregistered alerts after Expires 0: %d\n%s", u, logs.String())
	}

	// Address changes: alerted for expect_registered 2 only.
	register(phone, "2001", "pw2001", 300)
	register(moved, "2001", "pw2001", 300)
	register(phone, "2003", "pw2003", 300)
	register(phone, "2003", "pw2003", 300) // same address: no alert
	if _, a := alerts(); a != 0 {
		t.Fatalf("address alerts before any move of 2003: %d", a)
	}
	register(moved, "2003", "pw2003", 300)
	if _, a := alerts(); a != 1 {
		t.Fatalf("address alerts after 2003 moved: %d, want 1", a)
	}
	if l := logs.String(); !strings.Contains(l, `msg="sip phone address changed" phone=2003`) || !strings.Contains(l, "new_source=127.0.0.5:") {
		t.Errorf("address change log:\n%s", l)
	}

	// A restart after the registrations lapsed: each line left without a
	// binding is alerted once, and the store forgets them.
	if store.len() == 0 {
		t.Fatal("nothing persisted")
	}
	s.Close()
	later := &fakeClock{}
	later.advance(time.Duration(clock.offset.Load()) + time.Hour)
	s2, _ := startSwitch(t, dir, withClock(later.now), WithRegistrationStore(store),
		WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if st := s2.Stats(); st.UnregisteredAlerts != 2 || st.Registrations != 0 {
		t.Errorf("after restart: unregistered alerts %d (want 2: 2001 and 2003), registrations %d", st.UnregisteredAlerts, st.Registrations)
	}
	if !strings.Contains(logs.String(), "reason=expired_while_down") {
		t.Errorf("no expired_while_down alert:\n%s", logs.String())
	}
	if n := store.len(); n != 0 {
		t.Errorf("store keeps %d lapsed registrations", n)
	}
}
