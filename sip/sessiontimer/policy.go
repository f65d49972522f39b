package sessiontimer

import (
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Policy is the switch's side of the negotiation: the interval it offers
// and accepts (Expires; 0 turns session timers off) and the shortest it
// accepts (MinSE).
type Policy struct {
	Expires, MinSE time.Duration
}

// On says whether session timers are on.
func (p Policy) On() bool { return p.Expires > 0 }

// Unsupported lists the option tags of a Require header that the switch
// does not implement (RFC 3261 8.2.2.3: answered 420).
func (p Policy) Unsupported(th *Headers) []string {
	var out []string
	for _, v := range th.Require {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			t = strings.TrimSpace(t)
			if t == "" || (strings.EqualFold(t, OptionTag) && p.On()) {
				continue
			}
			out = append(out, t)
		}
	}
	return out
}

// Rejection is a refusal of an INVITE's session timer.
type Rejection struct {
	Code    int
	Reason  string
	Headers []sip.Header
}

// Caller negotiates the caller's leg as UAS (RFC 4028 9). It returns nil
// without a rejection when session timers are off.
func (p Policy) Caller(th *Headers, now time.Time) (*Timer, *Rejection) {
	ours := p.Expires
	if ours <= 0 {
		return nil, nil
	}
	secs, refresher, has := th.Seconds, th.Refresher, th.Seconds > 0
	if has && time.Duration(secs)*time.Second < p.MinSE {
		return nil, &Rejection{422, "Session Interval Too Small",
			[]sip.Header{sip.NewHeader(hdrMinSE, strconv.Itoa(int(p.MinSE/time.Second)))}}
	}
	interval := ours
	if has {
		interval = min(interval, time.Duration(secs)*time.Second)
	}
	// The interval may be shortened, never below what the caller's Min-SE
	// allows.
	interval = max(interval, time.Duration(th.MinSE)*time.Second)
	supported := th.Supported
	switch {
	case !supported:
		// A caller without the extension cannot refresh (RFC 4028 9).
		refresher = refresherUAS
	case refresher == "":
		// Let the phone do the work: the switch has thousands of calls.
		refresher = refresherUAC
	}
	return newTimer(interval, refresher == refresherUAS, th.AllowsUpdate, supported, now), nil
}

// AddOffer puts the switch's session timer offer on a B-leg INVITE:
// Supported: timer, Session-Expires secs and Min-SE (RFC 4028 7.1).
func (p Policy) AddOffer(req *sip.Request, secs int) {
	if !p.On() {
		return
	}
	req.AppendHeader(sip.NewHeader(HdrSupported, OptionTag))
	req.AppendHeader(sip.NewHeader(hdrSessionExpires, strconv.Itoa(secs)))
	req.AppendHeader(sip.NewHeader(hdrMinSE, strconv.Itoa(int(p.MinSE/time.Second))))
}

// OfferSeconds is the Session-Expires the switch asks of a callee.
func (p Policy) OfferSeconds() int { return int(p.Expires / time.Second) }

// Callee reads the timer the callee's 2xx settled (RFC 4028 7.2): none
// when the answer carries no Session-Expires.
func (p Policy) Callee(res *sip.Response, now time.Time) *Timer {
	if !p.On() || res == nil {
		return nil
	}
	th := Read(res)
	if th.Seconds == 0 {
		return nil
	}
	// The refresher is mandatory in a 2xx; without one the switch, the
	// UAC, refreshes rather than risk nobody doing it.
	return newTimer(time.Duration(th.Seconds)*time.Second, th.Refresher != refresherUAS, th.AllowsUpdate, true, now)
}
