package sip

import (
	"net/netip"
	"sync"
	"time"
)

// AuthReason is why a phone did not get in: the reason label of
// sipswitch_sip_auth_failures_total and the cause the log names.
type AuthReason uint8

// The reasons an authentication fails. AuthUnanswered is the silent one:
// the switch challenged and no answer came, which is how a phone that
// cannot use any offered challenge behaves (it gives up without a word).
const (
	AuthWrongPassword AuthReason = iota
	AuthUnknownUser
	AuthAlgorithm
	AuthRealm
	AuthURI
	AuthQop
	AuthMalformed
	AuthNonce
	AuthUnanswered
	NumAuthReasons
)

var authReasonNames = [NumAuthReasons]string{
	AuthWrongPassword: "password",
	AuthUnknownUser:   "unknown_user",
	AuthAlgorithm:     "algorithm",
	AuthRealm:         "realm",
	AuthURI:           "uri",
	AuthQop:           "qop",
	AuthMalformed:     "malformed",
	AuthNonce:         "nonce",
	AuthUnanswered:    "unanswered",
}

func (r AuthReason) String() string {
	if r < NumAuthReasons {
		return authReasonNames[r]
	}
	return "unknown"
}

// maxPendingChallenges bounds the challenges watched for an answer: a
// flood of unauthenticated requests from many sources must not grow the
// table without end. Past it new challenges go unwatched.
const maxPendingChallenges = 20000

// authWatch notices the failures a phone does not report: challenges
// never answered, and it keeps the failure log to one line per source
// address and reason an interval, so one misconfigured phone retrying
// every few seconds names its problem once instead of flooding the log.
type authWatch struct {
	window   time.Duration // a challenge unanswered this long is reported
	logEvery time.Duration // one log line per source and reason per this

	mu      sync.Mutex
	pending map[challengeKey]*pendingChallenge
	logged  map[logKey]*logState
}

// challengeKey is one phone: a source address and port (phones behind one
// NAT differ in port) and the From user, so one phone's answer does not
// clear another's challenge.
type challengeKey struct {
	src  netip.AddrPort
	user string
}

type pendingChallenge struct {
	first     time.Time
	count     int
	method    string
	userAgent string
}

// unansweredChallenge is a phone that was challenged and never answered.
type unansweredChallenge struct {
	challengeKey
	pendingChallenge
}

type logKey struct {
	src    netip.Addr
	reason AuthReason
}

type logState struct {
	last       time.Time
	suppressed int
}

func newAuthWatch(window, logEvery time.Duration) *authWatch {
	return &authWatch{window: window, logEvery: logEvery,
		pending: make(map[challengeKey]*pendingChallenge), logged: make(map[logKey]*logState)}
}

// challenged notes a challenge sent to k.
func (w *authWatch) challenged(k challengeKey, method, userAgent string, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.pending[k]
	if !ok {
		if len(w.pending) >= maxPendingChallenges {
			return
		}
		p = &pendingChallenge{first: now}
		w.pending[k] = p
	}
	p.count++
	p.method, p.userAgent = method, userAgent
}

// answered notes that k answered a challenge, right or wrong: a wrong
// answer is a failure of its own, logged as such.
func (w *authWatch) answered(k challengeKey) {
	w.mu.Lock()
	if len(w.pending) > 0 {
		delete(w.pending, k)
	}
	w.mu.Unlock()
}

// expire removes and returns the challenges unanswered for the window.
func (w *authWatch) expire(now time.Time) []unansweredChallenge {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []unansweredChallenge
	for k, p := range w.pending {
		if now.Sub(p.first) >= w.window {
			out = append(out, unansweredChallenge{k, *p})
			delete(w.pending, k)
		}
	}
	return out
}

// shouldLog reports whether a failure of reason from src is logged now,
// and how many of the same were left out since the last line.
func (w *authWatch) shouldLog(src netip.Addr, reason AuthReason, now time.Time) (bool, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := logKey{src, reason}
	st, ok := w.logged[k]
	if !ok {
		w.logged[k] = &logState{last: now}
		return true, 0
	}
	if now.Sub(st.last) < w.logEvery {
		st.suppressed++
		return false, 0
	}
	n := st.suppressed
	st.last, st.suppressed = now, 0
	return true, n
}

// leftOut is a count of failures not logged when their source went quiet.
type leftOut struct {
	logKey
	count int
}

// sweep forgets sources quiet for an interval and returns those whose
// last failures were never logged, so no failure goes unmentioned.
func (w *authWatch) sweep(now time.Time) []leftOut {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []leftOut
	for k, st := range w.logged {
		if now.Sub(st.last) < w.logEvery {
			continue
		}
		if st.suppressed > 0 {
			out = append(out, leftOut{k, st.suppressed})
		}
		delete(w.logged, k)
	}
	return out
}
