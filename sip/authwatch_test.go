package sip

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/auth"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// Every way an answer to a challenge can be unusable is refused 403,
// counted under its own reason and logged with its cause; only the
// reasons that say something about the password count towards a block.
func TestAuthFailureReasons(t *testing.T) {
	authz := func(v string) sip.Header { return sip.NewHeader("Authorization", v) }
	tests := []struct {
		name     string
		user     string
		password string
		hdrs     []sip.Header
		reason   AuthReason
		cause    string
		guessing bool
	}{
		{"wrong password", "1001", "nope", nil, auth.WrongPassword, "wrong password", true},
		{"unknown user", "7777", "nope", nil, auth.UnknownUser, "no line", true},
		{"other realm", "1001", "", []sip.Header{authz(`Digest username="1001", realm="asterisk", nonce="n", uri="sip:127.0.0.1", response="00"`)}, auth.BadRealm, `asterisk`, false},
		{"algorithm not offered", "1001", "", []sip.Header{authz(`Digest username="1001", realm="test", nonce="n", uri="sip:127.0.0.1", response="00", algorithm=SHA-512-256`)}, auth.BadAlgorithm, "offers MD5", false},
		{"qop auth-int", "1001", "", []sip.Header{authz(`Digest username="1001", realm="test", nonce="n", uri="sip:127.0.0.1", response="00", qop=auth-int, nc=00000001, cnonce="c"`)}, auth.BadQop, "qop=auth-int", false},
		{"uri of another request", "1001", "", []sip.Header{authz(`Digest username="1001", realm="test", nonce="n", uri="sip:4400000001@127.0.0.1", response="00"`)}, auth.BadURI, "sip:4400000001@127.0.0.1", true},
		{"malformed", "1001", "", []sip.Header{authz(`Digest username="1001", realm="test`)}, auth.Malformed, "unterminated", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuffer{}
			// A block after one guess shows which reasons count towards it.
			s, sw := startSwitch(t, registrarDir(), withAuthBlock(1, time.Minute, time.Minute),
				WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
			phone := siptest.NewAgent(t, "phone", "127.0.0.1")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			res, _, err := phone.Register(ctx, sw, tc.user, tc.password, 300, tc.hdrs...)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 403 {
				t.Fatalf("status %d %s, want 403", res.StatusCode, res.Reason)
			}
			st := s.Stats()
			if st.AuthFailuresBy[tc.reason] != 1 || st.AuthFailures != 1 {
				t.Errorf("failures by reason %v (total %d), want one %s", st.AuthFailuresBy, st.AuthFailures, tc.reason)
			}
			line := logLine(logs.String(), "sip auth failed")
			if !strings.Contains(line, "reason="+tc.reason.String()) || !strings.Contains(line, tc.cause) {
				t.Errorf("log line %q, want reason %s and cause containing %q", line, tc.reason, tc.cause)
			}
			blocked := strings.Contains(logs.String(), "sip address blocked")
			if blocked != tc.guessing {
				t.Errorf("address blocked %v, want %v", blocked, tc.guessing)
			}
		})
	}
}

// logLine is the first line of logs containing msg, or "".
func logLine(logs, msg string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, msg) {
			return l
		}
	}
	return ""
}

// A phone that cannot use any challenge gives up without a word: the
// switch notices the missing answer, counts it and names the likely cause
// once, while a phone beside it (same address, another port) that answers
// is not reported.
func TestUnansweredChallengeIsReported(t *testing.T) {
	logs := &syncBuffer{}
	s, sw := startSwitch(t, registrarDir(), WithDigestAlgorithms("SHA-256", "MD5"),
		// The window outlasts the three registrations on a loaded machine.
		withAuthWatch(time.Second, time.Minute),
		WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	silent := siptest.NewAgent(t, "silent", "127.0.0.1")
	good := siptest.NewAgent(t, "good", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ua := sip.NewHeader("User-Agent", "baresip v1.0.0 (x86_64/linux)")
	for range 3 { // a phone retrying its registration
		res, _, err := silent.Register(ctx, sw, "1001", "", 300, ua)
		if err != nil || res.StatusCode != 401 {
			t.Fatalf("register: %v %v", res, err)
		}
	}
	if res, _, err := good.Register(ctx, sw, "1004", "secret1004", 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("register of the answering phone: %v %v", res, err)
	}
	eventually(t, "unanswered challenge counted", func() bool { return s.Stats().AuthFailuresBy[auth.Unanswered] > 0 })
	time.Sleep(1200 * time.Millisecond) // more sweeps: nothing else to report
	if n := s.Stats().AuthFailuresBy[auth.Unanswered]; n != 1 {
		t.Fatalf("unanswered challenges %d, want 1 (the silent phone only); log:\n%s", n, logs.String())
	}
	line := logLine(logs.String(), "sip challenge never answered")
	for _, want := range []string{"user=1001", "challenges=3", "SHA-256, MD5", "digest_algorithms: [MD5]", "baresip"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
	if n := strings.Count(logs.String(), "sip challenge never answered"); n != 1 {
		t.Errorf("%d log lines, want 1", n)
	}
}

// A phone retrying with a wrong password every few seconds names its
// problem once an interval, with the count of the repeats left out.
func TestAuthFailureLogOncePerSourceAndInterval(t *testing.T) {
	logs := &syncBuffer{}
	clock := &fakeClock{}
	s, sw := startSwitch(t, registrarDir(), withClock(clock.now), withAuthWatch(time.Hour, time.Minute),
		WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	register := func() {
		t.Helper()
		res, _, err := phone.Register(ctx, sw, "1001", "wrong", 300)
		if err != nil || res.StatusCode != 403 {
			t.Fatalf("register: %v %v", res, err)
		}
	}
	for range 5 {
		register()
	}
	if n := strings.Count(logs.String(), "sip auth failed"); n != 1 {
		t.Fatalf("%d log lines for 5 failures within the interval, want 1", n)
	}
	clock.advance(61 * time.Second)
	register()
	if n := strings.Count(logs.String(), "sip auth failed"); n != 2 {
		t.Fatalf("%d log lines after the interval, want 2", n)
	}
	if !strings.Contains(logs.String(), "same_since_last_log=4") {
		t.Errorf("second line does not count the 4 left out:\n%s", logs.String())
	}
	if got := s.Stats().AuthFailuresBy[auth.WrongPassword]; got != 6 {
		t.Errorf("counted %d wrong passwords, want 6: the log is thinned, the count is not", got)
	}
}
