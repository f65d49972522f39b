package sessiontimer

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The caller's leg as UAS (RFC 4028 9): under Min-SE is 422 with ours,
// the caller's shorter interval is taken, a caller without the extension
// is refreshed by the switch, one with it refreshes itself.
func TestCallerNegotiation(t *testing.T) {
	p := Policy{Expires: 1800 * time.Second, MinSE: 90 * time.Second}
	now := time.Unix(1000, 0)
	for _, c := range []struct {
		name      string
		th        Headers
		code      int
		interval  time.Duration
		weRefresh bool
	}{
		{"no timer asked, no support", Headers{}, 0, 1800 * time.Second, true},
		{"supported, no refresher", Headers{Supported: true}, 0, 1800 * time.Second, false},
		{"shorter interval", Headers{Seconds: 600, Supported: true, Refresher: refresherUAS}, 0, 600 * time.Second, true},
		{"under Min-SE", Headers{Seconds: 60}, 422, 0, false},
		{"caller's Min-SE raises ours", Headers{Seconds: 100, MinSE: 300, Supported: true}, 0, 300 * time.Second, false},
	} {
		tm, rej := p.Caller(&c.th, now)
		switch {
		case c.code != 0:
			if rej == nil || rej.Code != c.code || len(rej.Headers) != 1 || rej.Headers[0].Value() != "90" {
				t.Errorf("%s: rejection %+v, want %d with Min-SE 90", c.name, rej, c.code)
			}
		case rej != nil || tm == nil:
			t.Errorf("%s: rejected %+v", c.name, rej)
		case tm.Interval != c.interval || tm.WeRefresh != c.weRefresh:
			t.Errorf("%s: interval %s refresher-is-us %v, want %s %v", c.name, tm.Interval, tm.WeRefresh, c.interval, c.weRefresh)
		}
	}
	if tm, rej := (Policy{}).Caller(&Headers{Seconds: 600}, now); tm != nil || rej != nil {
		t.Error("timers off still negotiated")
	}
}

// Due: half the interval for the refresher, interval - min(32 s,
// interval/3) for the side that waits (RFC 4028 10).
func TestDue(t *testing.T) {
	now := time.Unix(1000, 0)
	if got := newTimer(1800*time.Second, true, false, true, now).Due(); !got.Equal(now.Add(900 * time.Second)) {
		t.Errorf("refresher due %s", got.Sub(now))
	}
	if got := newTimer(1800*time.Second, false, false, true, now).Due(); !got.Equal(now.Add(1768 * time.Second)) {
		t.Errorf("waiting side due %s", got.Sub(now))
	}
	if got := newTimer(90*time.Second, false, false, true, now).Due(); !got.Equal(now.Add(60 * time.Second)) {
		t.Errorf("short interval due %s", got.Sub(now))
	}
	// In the callee's 2xx the switch is the UAC: refresher=uas leaves the
	// refreshes to the callee (compact form x).
	res := sip.NewResponse(200, "OK")
	res.AppendHeader(sip.NewHeader("x", "120;refresher=uas"))
	if tm := (Policy{Expires: time.Hour}).Callee(res, now); tm == nil || tm.Interval != 120*time.Second || tm.WeRefresh {
		t.Errorf("callee timer %+v", tm)
	}
}
