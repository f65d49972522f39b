package sip

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// Session timers (RFC 4028) are how a B2BUA learns that a leg vanished
// without a BYE: a phone that lost its network or a carrier that
// restarted. Without them the call, and the peer's outmaximum slot, would
// last until the maximum call duration. Each leg negotiates its own timer:
// the caller's with the switch as UAS, the callee's with the switch as UAC.

// Header names, with the compact forms RFC 4028 (x) and RFC 3261 (k)
// define.
const (
	hdrSessionExpires = "Session-Expires"
	hdrSessionCompact = "x"
	hdrMinSE          = "Min-SE"
	hdrSupported      = "Supported"
	hdrSupportedShort = "k"
	hdrRequire        = "Require"
	hdrAllow          = "Allow"
	timerOption       = "timer"
	refresherUAC      = "uac"
	refresherUAS      = "uas"
)

// sessionTimer is one leg's negotiated session timer.
type sessionTimer struct {
	interval  time.Duration
	weRefresh bool // the switch sends the refreshes on this leg
	useUpdate bool // the leg allows UPDATE: refresh without an offer
	supported bool // the leg supports the timer option (Require: timer in answers)
	last      atomic.Int64
	inFlight  atomic.Bool // a refresh of ours is outstanding
}

func newSessionTimer(interval time.Duration, weRefresh, useUpdate, supported bool, now time.Time) *sessionTimer {
	t := &sessionTimer{interval: interval, weRefresh: weRefresh, useUpdate: useUpdate, supported: supported}
	t.touch(now)
	return t
}

// touch records a refresh of the session on this leg.
func (t *sessionTimer) touch(now time.Time) {
	if t != nil {
		t.last.Store(now.UnixNano())
	}
}

// due is when this leg next needs attention: our refresh at half the
// interval, or, when the far end refreshes, the point past which the
// session counts as expired (RFC 4028 10: interval minus the lesser of 32
// s and a third of it, so that our BYE goes out before the far end's own
// timer fires).
func (t *sessionTimer) due() time.Time {
	last := time.Unix(0, t.last.Load())
	if t.weRefresh {
		return last.Add(t.interval / 2)
	}
	return last.Add(t.interval - min(32*time.Second, t.interval/3))
}

// The refresher parameter names a role in the transaction that carries
// it (RFC 4028 7.4, 9): in the switch's answers on a leg (the initial 2xx
// to the caller, 2xx to the far end's refreshes) the switch is the UAS; in
// its own refresh requests it is the UAC, and the refresher.

// answerHeader is the Session-Expires of the switch's 2xx on this leg.
func (t *sessionTimer) answerHeader() sip.Header {
	r := refresherUAC
	if t.weRefresh {
		r = refresherUAS
	}
	return sip.NewHeader(hdrSessionExpires, strconv.Itoa(int(t.interval/time.Second))+";refresher="+r)
}

// requestHeader is the Session-Expires of the switch's refresh requests.
func (t *sessionTimer) requestHeader() sip.Header {
	return sip.NewHeader(hdrSessionExpires, strconv.Itoa(int(t.interval/time.Second))+";refresher="+refresherUAC)
}

// addAnswerHeaders puts the timer on a 2xx to this leg.
func (t *sessionTimer) addAnswerHeaders(res *sip.Response) {
	if t == nil {
		return
	}
	res.AppendHeader(t.answerHeader())
	if t.supported {
		res.AppendHeader(sip.NewHeader(hdrRequire, timerOption))
	}
}

// timerHeaders are the headers of a message that bear on session timers,
// read in one pass: the INVITE path cannot afford a scan per header name.
type timerHeaders struct {
	seconds      int    // Session-Expires delta-seconds; 0 when absent or malformed
	refresher    string // "uac", "uas" or ""
	minSE        int    // Min-SE; 0 when absent or malformed
	supported    bool   // "timer" in Supported or Require
	allowsUpdate bool   // "UPDATE" in Allow
	require      []string
}

// timerHeadersOf reads a request's or response's timer headers, the
// compact forms (x, k) included. Header names are compared without
// lowering them (sipgo's GetHeader allocates for every mixed-case name).
func timerHeadersOf(m interface{ Headers() []sip.Header }) timerHeaders {
	var th timerHeaders
	for _, h := range m.Headers() {
		name := h.Name()
		switch {
		case strings.EqualFold(name, hdrSessionExpires) || strings.EqualFold(name, hdrSessionCompact):
			if th.seconds == 0 {
				th.seconds, th.refresher = parseSessionExpires(h.Value())
			}
		case strings.EqualFold(name, hdrMinSE):
			th.minSE = parseMinSE(h.Value())
		case strings.EqualFold(name, hdrSupported) || strings.EqualFold(name, hdrSupportedShort):
			th.supported = th.supported || sipmsg.ListHas(h.Value(), timerOption)
		case strings.EqualFold(name, hdrRequire):
			th.supported = th.supported || sipmsg.ListHas(h.Value(), timerOption)
			th.require = append(th.require, h.Value())
		case strings.EqualFold(name, hdrAllow):
			th.allowsUpdate = th.allowsUpdate || sipmsg.ListHas(h.Value(), "UPDATE")
		}
	}
	return th
}

// parseSessionExpires reads "delta-seconds *(;param)"; 0 when the number
// is missing, not positive or out of range.
func parseSessionExpires(v string) (secs int, refresher string) {
	num, params, _ := strings.Cut(v, ";")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n <= 0 || n > maxSessionSeconds {
		return 0, ""
	}
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, val, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "refresher") {
			switch val = strings.TrimSpace(val); {
			case strings.EqualFold(val, refresherUAC):
				refresher = refresherUAC
			case strings.EqualFold(val, refresherUAS):
				refresher = refresherUAS
			}
		}
	}
	return n, refresher
}

// maxSessionSeconds bounds the intervals read from the wire (a day): a
// larger one is no timer at all, and keeps durations far from overflow.
const maxSessionSeconds = 86400

// parseMinSE reads Min-SE's delta-seconds (0 when malformed).
func parseMinSE(v string) int {
	num, _, _ := strings.Cut(v, ";")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 0 || n > maxSessionSeconds {
		return 0
	}
	return n
}

// unsupportedRequire lists the option tags of a Require header that the
// switch does not implement (RFC 3261 8.2.2.3: answered 420).
func (s *Server) unsupportedRequire(th *timerHeaders) []string {
	var out []string
	for _, v := range th.require {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			t = strings.TrimSpace(t)
			if t == "" || (strings.EqualFold(t, timerOption) && s.cfg.sessionExpires > 0) {
				continue
			}
			out = append(out, t)
		}
	}
	return out
}

// timerRejection is a refusal of an INVITE's session timer.
type timerRejection struct {
	code   int
	reason string
	hdrs   []sip.Header
}

// callerSessionTimer negotiates the caller's leg as UAS (RFC 4028 9). It
// returns nil without a rejection when session timers are off.
func (s *Server) callerSessionTimer(th *timerHeaders) (*sessionTimer, *timerRejection) {
	ours := s.cfg.sessionExpires
	if ours <= 0 {
		return nil, nil
	}
	minSE := s.cfg.minSE
	secs, refresher, has := th.seconds, th.refresher, th.seconds > 0
	if has && time.Duration(secs)*time.Second < minSE {
		return nil, &timerRejection{422, "Session Interval Too Small",
			[]sip.Header{sip.NewHeader(hdrMinSE, strconv.Itoa(int(minSE/time.Second)))}}
	}
	interval := ours
	if has {
		interval = min(interval, time.Duration(secs)*time.Second)
	}
	// The interval may be shortened, never below what the caller's Min-SE
	// allows.
	interval = max(interval, time.Duration(th.minSE)*time.Second)
	supported := th.supported
	switch {
	case !supported:
		// A caller without the extension cannot refresh (RFC 4028 9).
		refresher = refresherUAS
	case refresher == "":
		// Let the phone do the work: the switch has thousands of calls.
		refresher = refresherUAC
	}
	return newSessionTimer(interval, refresher == refresherUAS, th.allowsUpdate, supported, s.cfg.now()), nil
}

// addTimerOffer puts the switch's session timer offer on a B-leg INVITE.
func (s *Server) addTimerOffer(req *sip.Request, secs int) {
	if s.cfg.sessionExpires <= 0 {
		return
	}
	req.AppendHeader(sip.NewHeader(hdrSupported, timerOption))
	req.AppendHeader(sip.NewHeader(hdrSessionExpires, strconv.Itoa(secs)))
	req.AppendHeader(sip.NewHeader(hdrMinSE, strconv.Itoa(int(s.cfg.minSE/time.Second))))
}

// offerSeconds is the Session-Expires the switch asks of a callee.
func (s *Server) offerSeconds() int { return int(s.cfg.sessionExpires / time.Second) }

// calleeSessionTimer reads the timer the callee's 2xx settled (RFC 4028
// 7.2): none when the answer carries no Session-Expires.
func (s *Server) calleeSessionTimer(res *sip.Response) *sessionTimer {
	if s.cfg.sessionExpires <= 0 || res == nil {
		return nil
	}
	th := timerHeadersOf(res)
	if th.seconds == 0 {
		return nil
	}
	// The refresher is mandatory in a 2xx; without one the switch, the
	// UAC, refreshes rather than risk nobody doing it.
	return newSessionTimer(time.Duration(th.seconds)*time.Second, th.refresher != refresherUAS, th.allowsUpdate, true, s.cfg.now())
}

// refreshTimeout bounds one refresh of ours: past it the far end counts as
// gone (RFC 4028 10 treats a timed-out refresh like a 408).
func refreshTimeout(interval time.Duration) time.Duration {
	return min(32*time.Second, max(interval/3, 200*time.Millisecond))
}

// refreshOutcome is how a refresh of ours on one leg ended.
type refreshOutcome struct {
	toA  bool
	dead bool
	code int
	err  error
}

// refresh sends a session refresh on one leg: UPDATE without a body when
// the leg allows it, else a re-INVITE repeating the SDP the leg last got
// from the switch (an unchanged offer, RFC 3264 8: the relay's rewrite on
// a relayed call, the held description on a held one). Its answer is the
// party's SDP unchanged, so the relay is not told. A timeout, a transport
// error, 408 or 481 means the leg is gone (RFC 4028 10); any other answer
// shows the far end alive.
func (c *call) refresh(b *leg, toA bool) refreshOutcome {
	t, body := b.timer, b.sent.load()
	if toA {
		t, body = c.aTimer, c.sentA.load()
	}
	ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout(t.interval))
	defer cancel()
	method := sip.INVITE
	if t.useUpdate || len(body) == 0 {
		method, body = sip.UPDATE, nil
	}
	req := sip.NewRequest(method, c.remoteTarget(b, toA))
	req.AppendHeader(t.requestHeader())
	req.AppendHeader(sip.NewHeader(hdrSupported, timerOption))
	if len(body) > 0 {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(body)
	}
	res, err := c.sendInDialog(ctx, b, toA, req)
	switch {
	case err != nil:
		return refreshOutcome{toA: toA, dead: true, err: err}
	case res.StatusCode == 408 || res.StatusCode == 481:
		return refreshOutcome{toA: toA, dead: true, code: res.StatusCode}
	}
	return refreshOutcome{toA: toA, code: res.StatusCode}
}
