package sip

import (
	"time"
)

// DelayStage names a span of wall time on the call path that the SIP core
// measures for WithDelayObserver. Together with the caller's own view
// (INVITE to 200 at the phone) they say where post-dial delay is spent:
// waiting to be read, deciding, or passing the answer on.
type DelayStage int

// Stages of WithDelayObserver.
const (
	// DelayRead is one datagram's time in a UDP socket's read loop, from
	// its read returning to the next read: sipgo parses it and hands it
	// on there, one datagram at a time per socket, so every datagram
	// queued behind it waits this long.
	DelayRead DelayStage = iota
	// DelayRoute runs from the start of the handler of a call's
	// (authenticated) INVITE to its first B-leg INVITE written: the
	// switch's own post-dial delay.
	DelayRoute
	// DelayAnswer runs from the callee's 2xx received to the 2xx handed
	// to the caller's transaction (the callee's ACK sent before it).
	DelayAnswer
	// DelayQueue runs from the read loop handing a new INVITE up to its
	// handler starting: the time its goroutine waited for a core behind
	// the others. A standing wait past calls.overload_delay sheds new
	// calls (overload.go).
	DelayQueue
	// NumDelayStages counts the stages above.
	NumDelayStages
)

func (s DelayStage) String() string {
	switch s {
	case DelayRead:
		return "read"
	case DelayRoute:
		return "route"
	case DelayAnswer:
		return "answer"
	case DelayQueue:
		return "queue"
	}
	return "unknown"
}

// WithDelayObserver is told every DelayStage span as it ends (for
// histograms). It runs on the call path, the read loop included, and must
// not block. Without it nothing is timed.
func WithDelayObserver(f func(DelayStage, time.Duration)) Option {
	return func(c *config) error {
		c.observeDelay = f
		return nil
	}
}

// timeDelay reports a span that began at since, when someone listens.
func (s *Server) timeDelay(stage DelayStage, since time.Time) {
	if s.cfg.observeDelay != nil && !since.IsZero() {
		s.cfg.observeDelay(stage, time.Since(since))
	}
}
