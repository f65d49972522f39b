package sip

import (
	"github.com/sipswitch/sipswitch/routing"
	"golang.org/x/time/rate"
)

// SetCallAdmission changes the call admission limits of a running switch
// (see WithCallAdmission); calls already admitted are not affected.
// Negative values are taken as 0, no limit.
func (s *Server) SetCallAdmission(maxCalls, maxCPS int) {
	s.maxCalls.Store(int64(max(maxCalls, 0)))
	if maxCPS <= 0 {
		s.callRate.Store(nil)
		return
	}
	s.callRate.Store(rate.NewLimiter(rate.Limit(maxCPS), max(1, maxCPS/10)))
}

// callLimitReached says, without taking anything, whether admitCall
// would refuse a call now: the call-rate bucket is empty or the concurrent
// calls are at the limit. The slot itself is taken after authentication,
// so that requests failing it never use one.
func (s *Server) callLimitReached() bool {
	if r := s.callRate.Load(); r != nil && r.Tokens() < 1 {
		return true
	}
	limit := s.maxCalls.Load()
	return limit > 0 && s.stats.activeCalls.Load() >= limit
}

// admitCall takes a slot for a new call under the call-rate and
// concurrent-call limits; the caller gives it back with activeCalls.Add(-1).
func (s *Server) admitCall() bool {
	if r := s.callRate.Load(); r != nil && !r.Allow() {
		return false
	}
	max := s.maxCalls.Load()
	if max == 0 {
		max = routing.Unlimited
	}
	return routing.AcquireUnder(&s.stats.activeCalls, max)
}
