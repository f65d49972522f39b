package auth

import (
	"net/netip"
	"sync"
	"time"
)

// Reason is why a phone did not get in: the reason label of
// sipswitch_sip_auth_failures_total and the cause the log names.
type Reason uint8

// The reasons an authentication fails. Unanswered is the silent one:
// the switch challenged and no answer came, which is how a phone that
// cannot use any offered challenge behaves (it gives up without a word).
const (
	WrongPassword Reason = iota
	UnknownUser
	BadAlgorithm
	BadRealm
	BadURI
	BadQop
	Malformed
	BadNonce
	Unanswered
	NumReasons
)

var reasonNames = [NumReasons]string{
	WrongPassword: "password",
	UnknownUser:   "unknown_user",
	BadAlgorithm:  "algorithm",
	BadRealm:      "realm",
	BadURI:        "uri",
	BadQop:        "qop",
	Malformed:     "malformed",
	BadNonce:      "nonce",
	Unanswered:    "unanswered",
}

func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// maxPendingChallenges bounds the challenges watched for an answer: a
// flood of unauthenticated requests from many sources must not grow the
// table without end. Past it new challenges go unwatched.
const maxPendingChallenges = 20000

// watch notices the failures a phone does not report: challenges
// never answered, and it keeps the failure log to one line per source
// address and reason an interval, so one misconfigured phone retrying
// every few seconds names its problem once instead of flooding the log.
type watch struct {
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
	reason Reason
}

type logState struct {
	last       time.Time
	suppressed int
}

func newWatch(window, logEvery time.Duration) *watch {
	return &watch{window: window, logEvery: logEvery,
		pending: make(map[challengeKey]*pendingChallenge), logged: make(map[logKey]*logState)}
}

// challenged notes a challenge sent to k.
func (w *watch) challenged(k challengeKey, method, userAgent string, now time.Time) {
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
func (w *watch) answered(k challengeKey) {
	w.mu.Lock()
	if len(w.pending) > 0 {
		delete(w.pending, k)
	}
	w.mu.Unlock()
}

// expire removes and returns the challenges unanswered for the window.
func (w *watch) expire(now time.Time) []unansweredChallenge {
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
func (w *watch) shouldLog(src netip.Addr, reason Reason, now time.Time) (bool, int) {
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
func (w *watch) sweep(now time.Time) []leftOut {
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
