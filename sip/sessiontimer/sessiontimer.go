package sessiontimer

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Header names, with the compact forms RFC 4028 (x) and RFC 3261 (k)
// define, the option tag and the refresher roles.
const (
	hdrSessionExpires = "Session-Expires"
	hdrSessionCompact = "x"
	hdrMinSE          = "Min-SE"
	HdrSupported      = "Supported"
	hdrSupportedShort = "k"
	hdrRequire        = "Require"
	hdrAllow          = "Allow"
	OptionTag         = "timer"
	refresherUAC      = "uac"
	refresherUAS      = "uas"
)

// Timer is one leg's negotiated session timer. Interval, WeRefresh,
// UseUpdate and Supported are set when it is negotiated and never change.
type Timer struct {
	Interval  time.Duration
	WeRefresh bool // the switch sends the refreshes on this leg
	UseUpdate bool // the leg allows UPDATE: refresh without an offer
	Supported bool // the leg supports the timer option (Require: timer in answers)
	last      atomic.Int64
	// InFlight is set while a refresh of the switch's is outstanding.
	InFlight atomic.Bool
}

// newTimer is a timer negotiated now.
func newTimer(interval time.Duration, weRefresh, useUpdate, supported bool, now time.Time) *Timer {
	t := &Timer{Interval: interval, WeRefresh: weRefresh, UseUpdate: useUpdate, Supported: supported}
	t.Touch(now)
	return t
}

// Touch records a refresh of the session on this leg (nil: no timer).
func (t *Timer) Touch(now time.Time) {
	if t != nil {
		t.last.Store(now.UnixNano())
	}
}

// Due is when this leg next needs attention: our refresh at half the
// interval, or, when the far end refreshes, the point past which the
// session counts as expired (RFC 4028 10: interval minus the lesser of 32
// s and a third of it, so that our BYE goes out before the far end's own
// timer fires).
func (t *Timer) Due() time.Time {
	last := time.Unix(0, t.last.Load())
	if t.WeRefresh {
		return last.Add(t.Interval / 2)
	}
	return last.Add(t.Interval - min(32*time.Second, t.Interval/3))
}

// The refresher parameter names a role in the transaction that carries
// it (RFC 4028 7.4, 9): in the switch's answers on a leg (the initial 2xx
// to the caller, 2xx to the far end's refreshes) the switch is the UAS; in
// its own refresh requests it is the UAC, and the refresher.

// answerHeader is the Session-Expires of the switch's 2xx on this leg.
func (t *Timer) answerHeader() sip.Header {
	r := refresherUAC
	if t.WeRefresh {
		r = refresherUAS
	}
	return sip.NewHeader(hdrSessionExpires, strconv.Itoa(int(t.Interval/time.Second))+";refresher="+r)
}

// RequestHeader is the Session-Expires of the switch's refresh requests.
func (t *Timer) RequestHeader() sip.Header {
	return sip.NewHeader(hdrSessionExpires, strconv.Itoa(int(t.Interval/time.Second))+";refresher="+refresherUAC)
}

// AddAnswerHeaders puts the timer on a 2xx to this leg (nil: no timer).
func (t *Timer) AddAnswerHeaders(res *sip.Response) {
	if t == nil {
		return
	}
	res.AppendHeader(t.answerHeader())
	if t.Supported {
		res.AppendHeader(sip.NewHeader(hdrRequire, OptionTag))
	}
}

// RefreshTimeout bounds one refresh of ours: past it the far end counts as
// gone (RFC 4028 10 treats a timed-out refresh like a 408).
func RefreshTimeout(interval time.Duration) time.Duration {
	return min(32*time.Second, max(interval/3, 200*time.Millisecond))
}
