package sip

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// Session intervals in these tests are seconds, not the half hour of a real
// switch: WithSessionTimers takes any whole seconds, only the daemon's
// configuration holds Min-SE to RFC 4028's 90 s.

func headerOf(m interface{ GetHeader(string) sip.Header }, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// answerWithHeaders answers 180 then 200 with sdp and hdrs, and holds the
// call until it ends.
func answerWithHeaders(sdp string, hdrs ...sip.Header) func(d *sipgo.DialogServerSession, req *sip.Request) {
	return func(d *sipgo.DialogServerSession, req *sip.Request) {
		d.Respond(180, "Ringing", nil)
		all := append([]sip.Header{sip.NewHeader("Content-Type", "application/sdp")}, hdrs...)
		d.Respond(200, "OK", []byte(sdp), all...)
		<-d.Context().Done()
	}
}

func TestSessionTimerCallerRefreshesThenVanishes(t *testing.T) {
	f, ctx := newFixture(t, WithSessionTimers(2*time.Second, time.Second))
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP,
		sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "2;refresher=uac"))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if got := headerOf(d.InviteResponse, "Session-Expires"); got != "2;refresher=uac" {
		t.Errorf("200 Session-Expires %q, want 2;refresher=uac", got)
	}
	if got := headerOf(d.InviteResponse, "Require"); got != "timer" {
		t.Errorf("200 Require %q, want timer", got)
	}
	inv := f.carrier1.Last.Load()
	if headerOf(inv, "Supported") != "timer" || headerOf(inv, "Session-Expires") != "2" || headerOf(inv, "Min-SE") != "1" {
		t.Errorf("B-leg timer offer: Supported %q Session-Expires %q Min-SE %q", headerOf(inv, "Supported"), headerOf(inv, "Session-Expires"), headerOf(inv, "Min-SE"))
	}

	// Refreshed every 0.8 s (UPDATE without a body, answered by the switch
	// itself), the call outlives its 2 s interval.
	for i := range 3 {
		time.Sleep(800 * time.Millisecond)
		upd := sip.NewRequest(sip.UPDATE, d.InviteResponse.Contact().Address)
		upd.AppendHeader(sip.NewHeader("Session-Expires", "2;refresher=uac"))
		res, err := d.Do(ctx, upd)
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		if res.StatusCode != 200 || headerOf(res, "Session-Expires") != "2;refresher=uac" {
			t.Fatalf("refresh %d: %d Session-Expires %q", i, res.StatusCode, headerOf(res, "Session-Expires"))
		}
	}
	if f.carrier1.Byes.Load() != 0 || f.s.Stats().ActiveCalls != 1 {
		t.Fatalf("refreshed call ended: carrier BYEs %d, active %d", f.carrier1.Byes.Load(), f.s.Stats().ActiveCalls)
	}
	if f.carrier1.Reinvites.Load() != 0 {
		t.Error("a bodiless refresh UPDATE was passed to the carrier")
	}

	// No more refreshes: expired at 2 s - 2/3 s after the last one, both
	// legs get BYE and every slot is free.
	stopped := time.Now()
	eventually(t, "carrier BYE after expiry", func() bool { return f.carrier1.Byes.Load() == 1 })
	if waited := time.Since(stopped); waited < time.Second {
		t.Errorf("call ended %s after the last refresh, before the session could expire", waited)
	}
	eventually(t, "caller BYE after expiry", func() bool { return f.phone.Byes.Load() == 1 })
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
	if st := f.s.Stats(); st.SessionTimeouts != 1 || st.CallsAnswered != 1 {
		t.Errorf("stats: session timeouts %d answered %d, want 1 and 1", st.SessionTimeouts, st.CallsAnswered)
	}
}

func TestSessionTimerSwitchRefreshesCallerUntilItVanishes(t *testing.T) {
	f, ctx := newFixture(t, WithSessionTimers(2*time.Second, time.Second))
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	// No Supported: timer: the switch grants the interval and refreshes
	// itself (RFC 4028 9: refresher uas, no Require).
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if got := headerOf(d.InviteResponse, "Session-Expires"); got != "2;refresher=uas" {
		t.Errorf("200 Session-Expires %q, want 2;refresher=uas", got)
	}
	if got := headerOf(d.InviteResponse, "Require"); got != "" {
		t.Errorf("200 Require %q to a caller without the timer extension", got)
	}
	// Refreshes at half the interval; the phone does not list UPDATE in
	// Allow, so they are re-INVITEs repeating the carrier's SDP.
	eventually(t, "two refreshes", func() bool { return f.phone.Reinvites.Load() >= 2 })
	ref := f.phone.Last.Load()
	if string(ref.Body()) != carrierSDP || headerOf(ref, "Session-Expires") != "2;refresher=uac" {
		t.Errorf("refresh re-INVITE: body %q Session-Expires %q", ref.Body(), headerOf(ref, "Session-Expires"))
	}
	if f.carrier1.Byes.Load() != 0 || f.carrier1.Reinvites.Load() != 0 {
		t.Fatalf("carrier saw BYE %d / re-INVITE %d during refreshes", f.carrier1.Byes.Load(), f.carrier1.Reinvites.Load())
	}

	// The phone loses its network: the next refresh goes unanswered and
	// the carrier leg is ended.
	f.phone.Stop()
	eventually(t, "carrier BYE after a failed refresh", func() bool { return f.carrier1.Byes.Load() == 1 })
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
	if st := f.s.Stats(); st.SessionTimeouts != 1 {
		t.Errorf("session timeouts %d, want 1", st.SessionTimeouts)
	}
}

func TestSessionTimerCalleeRefresher(t *testing.T) {
	f, ctx := newFixture(t, WithSessionTimers(2*time.Second, time.Second))
	// The carrier takes the timer and leaves the refreshing to the switch.
	f.carrier1.Handle(answerWithHeaders(carrierSDP, sip.NewHeader("Session-Expires", "2;refresher=uac"), sip.NewHeader("Require", "timer")))
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP,
		sip.NewHeader("Supported", "timer"))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	eventually(t, "a refresh toward the carrier", func() bool { return f.carrier1.Reinvites.Load() >= 1 })
	ref := f.carrier1.Last.Load()
	if string(ref.Body()) != callerSDP || headerOf(ref, "Session-Expires") != "2;refresher=uac" {
		t.Errorf("refresh re-INVITE: body %q Session-Expires %q", ref.Body(), headerOf(ref, "Session-Expires"))
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatalf("bye: %v", err)
	}
	eventually(t, "carrier BYE", func() bool { return f.carrier1.Byes.Load() == 1 })
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
	if st := f.s.Stats(); st.SessionTimeouts != 0 {
		t.Errorf("session timeouts %d on a call the caller hung up", st.SessionTimeouts)
	}
}

func TestSessionTimerCalleeVanishes(t *testing.T) {
	f, ctx := newFixture(t, WithSessionTimers(2*time.Second, time.Second))
	f.carrier1.Handle(answerWithHeaders(carrierSDP, sip.NewHeader("Session-Expires", "2;refresher=uac"), sip.NewHeader("Require", "timer")))
	// The caller without the extension is refreshed by the switch and
	// answers; only the carrier goes away.
	if _, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP); err != nil {
		t.Fatalf("call: %v", err)
	}
	f.carrier1.Stop()
	eventually(t, "caller BYE after the carrier vanished", func() bool { return f.phone.Byes.Load() == 1 })
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
	if st := f.s.Stats(); st.SessionTimeouts != 1 {
		t.Errorf("session timeouts %d, want 1", st.SessionTimeouts)
	}
}

func TestSessionTimerRetriesCallee422(t *testing.T) {
	f, ctx := newFixture(t, WithSessionTimers(2*time.Second, time.Second))
	var mu sync.Mutex
	var asked []string
	f.carrier1.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		mu.Lock()
		asked = append(asked, headerOf(req, "Session-Expires"))
		mu.Unlock()
		if headerOf(req, "Session-Expires") == "2" {
			d.Respond(422, "Session Interval Too Small", nil, sip.NewHeader("Min-SE", "5"))
			return
		}
		siptest.AnswerWith(carrierSDP)(d, req)
	})
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	mu.Lock()
	if strings.Join(asked, ",") != "2,5" {
		t.Errorf("carrier asked with Session-Expires %q, want 2 then 5", asked)
	}
	mu.Unlock()
	if f.carrier2.Invites.Load() != 0 {
		t.Error("a 422 failed over instead of being retried")
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatalf("bye: %v", err)
	}
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
}

// A callee that wants more than it says (422 again after the retry) fails
// the attempt as 503: the caller never sees a 422 it did not ask for.
func TestSessionTimerCallee422TwiceIsNotPassedOn(t *testing.T) {
	f, ctx := newFixture(t, WithSessionTimers(2*time.Second, time.Second))
	f.carrier1.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		d.Respond(422, "Session Interval Too Small", nil, sip.NewHeader("Min-SE", "5"))
	})
	f.carrier2.Handle(siptest.RejectWith(404))
	_, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if res := responseOf(err); res == nil || res.StatusCode == 422 {
		t.Fatalf("caller got %v", err)
	}
	if n := f.carrier1.Invites.Load(); n != 2 {
		t.Errorf("carrier1 got %d INVITEs, want the first and one retry", n)
	}
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
}

func TestSessionTimerRejections(t *testing.T) {
	f, ctx := newFixture(t, WithSessionTimers(4*time.Second, 3*time.Second))
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	cases := []struct {
		name       string
		hdrs       []sip.Header
		code       int
		header     string
		headerWant string
	}{
		{"interval under Min-SE", []sip.Header{sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "2")}, 422, "Min-SE", "3"},
		{"compact form under Min-SE", []sip.Header{sip.NewHeader("k", "timer"), sip.NewHeader("x", "1;refresher=uac")}, 422, "Min-SE", "3"},
		{"unsupported extension required", []sip.Header{sip.NewHeader("Require", "100rel, timer")}, 420, "Unsupported", "100rel"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP, c.hdrs...)
			res := responseOf(err)
			if res == nil || res.StatusCode != c.code {
				t.Fatalf("got %v, want %d", err, c.code)
			}
			if got := headerOf(res, c.header); got != c.headerWant {
				t.Errorf("%s %q, want %q", c.header, got, c.headerWant)
			}
		})
	}
	if n := f.carrier1.Invites.Load(); n != 0 {
		t.Errorf("carrier got %d INVITEs of refused calls", n)
	}
	// With timers off, Require: timer is an unsupported extension too.
	g, gctx := newFixture(t, WithSessionTimers(0, 0))
	g.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	_, err := g.phone.Call(gctx, g.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP, sip.NewHeader("Require", "timer"))
	if res := responseOf(err); res == nil || res.StatusCode != 420 || headerOf(res, "Unsupported") != "timer" {
		t.Fatalf("Require: timer with timers off: %v", err)
	}
	d, err := g.phone.Call(gctx, g.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call with timers off: %v", err)
	}
	if got := headerOf(d.InviteResponse, "Session-Expires"); got != "" {
		t.Errorf("timers off, yet 200 carries Session-Expires %q", got)
	}
	if inv := g.carrier1.Last.Load(); headerOf(inv, "Session-Expires") != "" || headerOf(inv, "Supported") != "" {
		t.Errorf("timers off, yet the B-leg offers a timer")
	}
	_ = d.Bye(context.Background())
}
