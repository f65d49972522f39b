package api

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/sipswitch/sipswitch/engine"
)

// Sessions is a table of login sessions, kept in memory: the gateway
// API's (GATEWAY.md) and the web console's, each its own table with the
// same rules. A session is named by 256 random bits (the cookie's value),
// ends after idle without use or maxAge after login, whichever comes
// first, and a user holds at most perUser: a login past it ends the
// user's oldest session. A restart ends them all.
type Sessions struct {
	now     func() time.Time
	idle    time.Duration
	maxAge  time.Duration
	perUser int

	mu sync.Mutex
	m  map[string]*Session
}

// Session is one login. Actor is the user as it was at login; CSRF is a
// second secret, of the session, that forms and scripts send back (the
// console's synchronizer token).
type Session struct {
	Actor    *engine.Actor
	CSRF     string
	created  time.Time
	lastUsed time.Time
}

// NewSessions makes an empty table (now: time.Now when nil).
func NewSessions(idle, maxAge time.Duration, perUser int, now func() time.Time) *Sessions {
	if now == nil {
		now = time.Now
	}
	return &Sessions{now: now, idle: idle, maxAge: maxAge, perUser: max(perUser, 1), m: map[string]*Session{}}
}

// Token is 256 random bits, base64url.
func Token() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Start opens a session for actor and returns its token.
func (t *Sessions) Start(actor *engine.Actor) (string, *Session, error) {
	token, err := Token()
	if err != nil {
		return "", nil, err
	}
	csrf, err := Token()
	if err != nil {
		return "", nil, err
	}
	now := t.now()
	s := &Session{Actor: actor, CSRF: csrf, created: now, lastUsed: now}
	t.mu.Lock()
	t.admitLocked(actor.User.ID, now)
	t.m[token] = s
	t.mu.Unlock()
	return token, s, nil
}

// admitLocked makes room for a new session of user: it ends every expired
// session, then the user's oldest ones while it holds perUser.
func (t *Sessions) admitLocked(user int, now time.Time) {
	for {
		var oldest string
		n := 0
		for tok, s := range t.m {
			if t.expired(s, now) {
				delete(t.m, tok)
				continue
			}
			if s.Actor.User.ID != user {
				continue
			}
			n++
			if oldest == "" || s.created.Before(t.m[oldest].created) {
				oldest = tok
			}
		}
		if n < t.perUser {
			return
		}
		delete(t.m, oldest)
	}
}

func (t *Sessions) expired(s *Session, now time.Time) bool {
	return now.Sub(s.lastUsed) >= t.idle || now.Sub(s.created) >= t.maxAge
}

// Get returns the live session of token, refreshing its idle timer, or
// nil.
func (t *Sessions) Get(token string) *Session {
	if token == "" {
		return nil
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[token]
	if s == nil {
		return nil
	}
	if t.expired(s, now) {
		delete(t.m, token)
		return nil
	}
	s.lastUsed = now
	return s
}

// End ends the session of token (logout).
func (t *Sessions) End(token string) {
	t.mu.Lock()
	delete(t.m, token)
	t.mu.Unlock()
}
