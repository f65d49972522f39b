package sip

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// memStore is an in-memory RegistrationStore.
type memStore struct {
	mu   sync.Mutex
	regs map[string]engine.Registration
}

func newMemStore() *memStore { return &memStore{regs: map[string]engine.Registration{}} }

func (m *memStore) SaveRegistration(_ context.Context, r engine.Registration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.regs[r.Phone+" "+r.Contact] = r
	return nil
}

func (m *memStore) DeleteRegistration(_ context.Context, phone, contact string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.regs, phone+" "+contact)
	return nil
}

func (m *memStore) LoadRegistrations(context.Context) ([]engine.Registration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []engine.Registration
	for _, r := range m.regs {
		out = append(out, r)
	}
	return out, nil
}

func (m *memStore) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.regs)
}

// fakeClock is a settable clock, starting at the real time.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.offset.Add(int64(d)) }
func registrarDir() *testDirectory {
	dir := newTestDirectory()
	dir.addPhone(routing.Phone{PresentationExternal: 1, PresentationInternal: 1, ID: 1, Name: "1001", Password: "secret1001"})
	dir.addPhone(routing.Phone{PresentationExternal: 1, PresentationInternal: 1, ID: 2, Name: "1002", Password: "secret1002", Source: "127.0.0.9, 10.0.0.0/8"})
	dir.addPhone(routing.Phone{PresentationExternal: 1, PresentationInternal: 1, ID: 3, Name: "1003", Password: "secret1003", AllowedUA: "Yealink, Grandstream"})
	dir.addPhone(routing.Phone{PresentationExternal: 1, PresentationInternal: 1, ID: 4, Name: "1004", Password: "secret1004", Source: "127.0.0.0/8"})
	return dir
}

func TestRegister(t *testing.T) {
	ua := func(v string) sip.Header { return sip.NewHeader("User-Agent", v) }
	tests := []struct {
		name     string
		opts     []Option
		user     string
		password string
		expires  int
		hdrs     []sip.Header
		want     int
		wantRegs int64
	}{
		{"right credentials", nil, "1001", "secret1001", 300, nil, 200, 1},
		{"wrong password", nil, "1001", "nope", 300, nil, 403, 0},
		{"unknown user", nil, "7777", "nope", 300, nil, 403, 0},
		{"no credentials", nil, "1001", "", 300, nil, 401, 0},
		{"source not allowed", nil, "1002", "secret1002", 300, nil, 403, 0},
		{"source prefix allowed", nil, "1004", "secret1004", 300, nil, 200, 1},
		{"user agent not allowed", nil, "1003", "secret1003", 300, []sip.Header{ua("Evil/1.0")}, 403, 0},
		{"user agent allowed", nil, "1003", "secret1003", 300, []sip.Header{ua("yealink SIP-T46S 66.86")}, 200, 1},
		{"expiry too brief", nil, "1001", "secret1001", 10, nil, 423, 0},
		{"expiry clamped", nil, "1001", "secret1001", 999999, nil, 200, 1},
		{"md5 only", []Option{WithDigestAlgorithms("MD5")}, "1001", "secret1001", 300, nil, 200, 1},
		{"sha-256 only", []Option{WithDigestAlgorithms("SHA-256")}, "1001", "secret1001", 300, nil, 200, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, sw := startSwitch(t, registrarDir(), tc.opts...)
			phone := siptest.NewAgent(t, "phone", "127.0.0.1")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			res, _, err := phone.Register(ctx, sw, tc.user, tc.password, tc.expires, tc.hdrs...)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.want {
				t.Fatalf("status %d %s, want %d", res.StatusCode, res.Reason, tc.want)
			}
			if got := s.Stats().Registrations; got != tc.wantRegs {
				t.Errorf("registrations %d, want %d", got, tc.wantRegs)
			}
			switch tc.want {
			case 423:
				if h := res.GetHeader("Min-Expires"); h == nil || h.Value() != "60" {
					t.Errorf("Min-Expires %v", h)
				}
			case 200:
				c := res.Contact()
				if c == nil {
					t.Fatal("200 without Contact")
				}
				exp, _ := c.Params.Get("expires")
				if want := map[int]string{300: "300", 999999: "3600"}[tc.expires]; exp != want && exp != itoa(atoi(want)-1) {
					t.Errorf("contact expires %q, want %q", exp, want)
				}
			}
		})
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestRegisterChallengeOffersBothAlgorithms(t *testing.T) {
	_, sw := startSwitch(t, registrarDir(), WithDigestAlgorithms("SHA-256", "MD5"))
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, _, err := phone.Register(ctx, sw, "1001", "", 300)
	if err != nil {
		t.Fatal(err)
	}
	var algs []string
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		v := h.Value()
		if !strings.Contains(v, `realm="test"`) || !strings.Contains(v, `qop="auth"`) {
			t.Errorf("challenge %q", v)
		}
		_, after, _ := strings.Cut(v, "algorithm=")
		algs = append(algs, strings.SplitN(after, ",", 2)[0])
	}
	if strings.Join(algs, " ") != "SHA-256 MD5" {
		t.Errorf("algorithms %v, want SHA-256 then MD5", algs)
	}
}

func TestRegisterReplayedNonce(t *testing.T) {
	s, sw := startSwitch(t, registrarDir())
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, req, err := phone.Register(ctx, sw, "1001", "secret1001", 300)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("register: %v %v", res, err)
	}
	replay := req.Clone()
	replay.RemoveHeader("Via")
	replay.CSeq().SeqNo++
	res, err = phone.Client.Do(ctx, replay, sipgo.ClientRequestAddVia)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 401 {
		t.Fatalf("replay got %d, want 401", res.StatusCode)
	}
	if s.Stats().AuthFailures != 1 {
		t.Errorf("auth failures %d, want 1", s.Stats().AuthFailures)
	}
}

func TestRegisterStaleNonce(t *testing.T) {
	clock := &fakeClock{}
	_, sw := startSwitch(t, registrarDir(), withClock(clock.now), withNonceTTL(time.Minute))
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, req, err := phone.Register(ctx, sw, "1001", "", 300)
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("challenge: %v %v", res, err)
	}
	clock.advance(2 * time.Minute)
	res, err = phone.Client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: "1001", Password: "secret1001"})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 401 || !strings.Contains(res.GetHeader("WWW-Authenticate").Value(), "stale=true") {
		t.Fatalf("got %d %v, want 401 stale=true", res.StatusCode, res.GetHeader("WWW-Authenticate"))
	}
	// The fresh nonce works.
	res, err = phone.Client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: "1001", Password: "secret1001"})
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("after stale: %v %v", res, err)
	}
}

func TestRegisterUnregisterAndPersistence(t *testing.T) {
	store := newMemStore()
	dir := registrarDir()
	s, sw := startSwitch(t, dir, WithRegistrationStore(store))
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	phone2 := siptest.NewAgent(t, "phone2", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, p := range []*siptest.Agent{phone, phone2} {
		if res, _, err := p.Register(ctx, sw, "1001", "secret1001", 300); err != nil || res.StatusCode != 200 {
			t.Fatalf("register: %v %v", res, err)
		}
	}
	if s.Stats().Registrations != 2 || store.len() != 2 {
		t.Fatalf("registrations %d stored %d, want 2", s.Stats().Registrations, store.len())
	}
	regs := s.Registrations()
	if len(regs) != 2 || regs[0].Phone != "1001" || regs[0].Source == "" || !regs[0].ExpiresAt.After(time.Now()) {
		t.Fatalf("Registrations() = %+v", regs)
	}

	// A restarted switch reloads them.
	s2, _ := startSwitch(t, dir, WithRegistrationStore(store))
	if s2.Stats().Registrations != 2 {
		t.Errorf("reloaded %d registrations, want 2", s2.Stats().Registrations)
	}

	// Expires: 0 removes one contact.
	if res, _, err := phone.Register(ctx, sw, "1001", "secret1001", 0); err != nil || res.StatusCode != 200 {
		t.Fatalf("unregister: %v %v", res, err)
	}
	if s.Stats().Registrations != 1 || store.len() != 1 {
		t.Fatalf("after unregister: registrations %d stored %d, want 1", s.Stats().Registrations, store.len())
	}

	// Contact: * with Expires: 0 removes them all.
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: phone.URI("", sw).Port})
	aor := phone.URI("1001", sw)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	from := &sip.FromHeader{Address: aor}
	from.Params.Add("tag", "x1")
	req.AppendHeader(from)
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Wildcard: true}})
	req.AppendHeader(sip.NewHeader("Expires", "0"))
	res, err := phone.Client.Do(ctx, req)
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("wildcard challenge: %v %v", res, err)
	}
	res, err = phone.Client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: "1001", Password: "secret1001"})
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("wildcard: %v %v", res, err)
	}
	if s.Stats().Registrations != 0 || store.len() != 0 {
		t.Fatalf("after wildcard: registrations %d stored %d, want 0", s.Stats().Registrations, store.len())
	}
}

func TestAuthFailuresBlockAddress(t *testing.T) {
	s, sw := startSwitch(t, registrarDir(), withAuthBlock(3, time.Minute, time.Minute))
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 3 {
		if res, _, _ := phone.Register(ctx, sw, "1001", "wrong", 300); res == nil || res.StatusCode != 403 {
			t.Fatalf("attempt %d: %v", i, res)
		}
	}
	// Now even the right password is refused, without a challenge.
	res, _, err := phone.Register(ctx, sw, "1001", "secret1001", 300)
	if err != nil || res.StatusCode != 403 {
		t.Fatalf("blocked address got %v %v, want 403", res, err)
	}
	if s.Stats().BlockedRequests == 0 {
		t.Error("blocked request not counted")
	}
}
