package sip

import (
	"context"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

func TestCallAdmissionLimits(t *testing.T) {
	tests := []struct {
		name          string
		maxCalls, cps int
	}{
		{"max calls", 1, 0},
		{"calls per second", 0, 1}, // a bucket of one call, refilled after a second
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ctx := newFixture(t, WithCallAdmission(tc.maxCalls, tc.cps))
			f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
			first, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
			if err != nil {
				t.Fatalf("first call: %v", err)
			}
			_, err = f.phone.Call(ctx, f.s.Addrs()[0], "441235", "1001", "secret1001", callerSDP)
			if code := siptest.StatusOf(err); code != 503 {
				t.Fatalf("second call: status %d (%v), want 503", code, err)
			}
			// Refused before the digest round: no 407 to a call that
			// cannot be taken.
			bare := sip.NewRequest(sip.INVITE, f.phone.URI("441236", f.s.Addrs()[0]))
			bare.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			bare.SetBody([]byte(callerSDP))
			if res, err := f.phone.Client.Do(ctx, bare); err != nil || res.StatusCode != 503 {
				t.Fatalf("unauthenticated INVITE over the limit: %v %v, want 503 without a challenge", res, err)
			}
			if got := f.carrier1.Invites.Load(); got != 1 {
				t.Errorf("carrier saw %d INVITEs, want only the admitted call's", got)
			}
			if st := f.s.Stats(); st.RejectedOverload != 2 || st.ActiveCalls != 1 {
				t.Errorf("stats: rejected %d active %d, want 2 and 1", st.RejectedOverload, st.ActiveCalls)
			}
			if err := first.Bye(ctx); err != nil {
				t.Fatal(err)
			}
			eventually(t, "slots released", func() bool { return f.s.Stats().ActiveCalls == 0 })
		})
	}
	if _, err := New(newTestDirectory(), WithCallAdmission(-1, 0)); err == nil {
		t.Error("negative max calls accepted")
	}
}

// Limits set on a running switch apply to the next call, and lifting them
// lets calls in again.
func TestSetCallAdmissionLive(t *testing.T) {
	f, ctx := newFixture(t)
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	first, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	f.s.SetCallAdmission(1, 0)
	if _, err := f.phone.Call(ctx, f.s.Addrs()[0], "441235", "1001", "secret1001", callerSDP); siptest.StatusOf(err) != 503 {
		t.Fatalf("call over the new limit: %v, want 503", err)
	}
	f.s.SetCallAdmission(0, 0)
	second, err := f.phone.Call(ctx, f.s.Addrs()[0], "441236", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call after the limit was lifted: %v", err)
	}
	for _, d := range []interface{ Bye(context.Context) error }{first, second} {
		if err := d.Bye(ctx); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "slots released", func() bool { return f.s.Stats().ActiveCalls == 0 })
}
