package routing

import "math/rand/v2"

// FailoverPolicy says when a call moves on to the route's next peer. A peer
// is only passed over when it could not take the call (Enswitch: "backup
// used only if the previous peer refuses the call"); an answer from the
// called party (busy, not found, incomplete number, cancelled) is final,
// so the caller is never rung through every carrier in turn.
type FailoverPolicy struct {
	codes        [10]uint64 // bit c set: SIP final status c moves on (c < 640)
	onTimeout    bool
	onLimit      bool
	onNoResponse bool
}

// DefaultFailoverPolicy moves to the next peer on: no answer within the
// peer's timeout, 408, every 5xx but 501, every 6xx but 600 and 603, the
// peer's outmaximum reached, and no response at all (transport error).
// Everything else (2xx, 404, 484, 486, 487 and every other 4xx, 501, 600,
// 603) ends the call with that answer.
func DefaultFailoverPolicy() FailoverPolicy {
	p := FailoverPolicy{onTimeout: true, onLimit: true, onNoResponse: true}
	p.codes = setBit(p.codes, 408)
	for c := 500; c < 700; c++ {
		if c != 501 && c != 600 && c != 603 {
			p.codes = setBit(p.codes, c)
		}
	}
	return p
}

func setBit(b [10]uint64, c int) [10]uint64 {
	if c >= 0 && c < len(b)*64 {
		b[c/64] |= 1 << (c % 64)
	}
	return b
}

// WithCode returns a copy of p that moves on (next=true) or stops on code.
func (p FailoverPolicy) WithCode(code int, next bool) FailoverPolicy {
	if code < 0 || code >= len(p.codes)*64 {
		return p
	}
	if next {
		p.codes[code/64] |= 1 << (code % 64)
	} else {
		p.codes[code/64] &^= 1 << (code % 64)
	}
	return p
}

// ContinueOnCode reports whether a final SIP status code moves on.
func (p FailoverPolicy) ContinueOnCode(code int) bool {
	if code <= 0 || code >= len(p.codes)*64 {
		return false
	}
	return p.codes[code/64]&(1<<(code%64)) != 0
}

// ShouldTryNext reports whether the call moves on after outcome.
func (p FailoverPolicy) ShouldTryNext(o AttemptOutcome) bool {
	switch {
	case o.LimitReached:
		return p.onLimit
	case o.TimedOut:
		return p.onTimeout
	case o.Code == 0:
		return p.onNoResponse
	}
	return p.ContinueOnCode(o.Code)
}

// Asterisk DIALSTATUS values, as Dial() sets them.
const (
	DialStatusChanUnavail = "CHANUNAVAIL"
	DialStatusCongestion  = "CONGESTION"
	DialStatusBusy        = "BUSY"
	DialStatusNoAnswer    = "NOANSWER"
	DialStatusAnswer      = "ANSWER"
	DialStatusCancel      = "CANCEL"
	DialStatusDontCall    = "DONTCALL"
	DialStatusTorture     = "TORTURE"
	DialStatusInvalidArgs = "INVALIDARGS"
)

// ContinueDialStatuses are the DIALSTATUS values after which the rendered
// dialplan tries the next peer: the Asterisk form of DefaultFailoverPolicy
// (CHANUNAVAIL: no response, transport error, limit; CONGESTION: 5xx/6xx
// and 408). NOANSWER is the called party's ring time running out, which
// stops like a busy callee; the SIP core's TimedOut is the peer not
// answering the INVITE at all, which Asterisk reports as CHANUNAVAIL.
var ContinueDialStatuses = []string{DialStatusChanUnavail, DialStatusCongestion}

// ContinueOnDialStatus reports whether the dialplan moves to the next peer
// after Dial() ended with status. Unknown statuses stop.
func (p FailoverPolicy) ContinueOnDialStatus(status string) bool {
	switch status {
	case DialStatusChanUnavail:
		return p.onNoResponse
	case DialStatusCongestion:
		return p.ContinueOnCode(503)
	}
	return false
}

// FailureInjector makes a peer's fail_percent share of attempts fail as if
// the peer refused them with 503, to test failover in production.
type FailureInjector struct {
	random func() uint32
}

// InjectorOption configures a FailureInjector.
type InjectorOption func(*FailureInjector)

// WithRandomSource replaces math/rand/v2 as the source of the draw; tests
// pass a deterministic one. It must be safe for concurrent use if the
// injector is shared.
func WithRandomSource(random func() uint32) InjectorOption {
	return func(f *FailureInjector) { f.random = random }
}

// NewFailureInjector returns an injector drawing from math/rand/v2 unless
// WithRandomSource says otherwise.
func NewFailureInjector(opts ...InjectorOption) *FailureInjector {
	f := &FailureInjector{random: rand.Uint32}
	for _, o := range opts {
		o(f)
	}
	return f
}

// InjectedFailureCode is the status an injected failure stands for.
const InjectedFailureCode = 503

// ShouldFail reports whether this attempt to peer is to fail as refused.
// fail_percent 0 never fails and draws nothing; 100 always fails.
func (f *FailureInjector) ShouldFail(peer *Peer) bool {
	switch {
	case peer.FailPercent <= 0:
		return false
	case peer.FailPercent >= 100:
		return true
	}
	return f.random()%100 < uint32(peer.FailPercent)
}
