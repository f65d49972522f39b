package sip

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

type liveEvents struct {
	mu  sync.Mutex
	evs []records.LiveEvent
}

func (l *liveEvents) add(ev records.LiveEvent) {
	l.mu.Lock()
	l.evs = append(l.evs, ev)
	l.mu.Unlock()
}

func (l *liveEvents) kinds() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ev := range l.evs {
		out = append(out, ev.Kind)
	}
	return out
}

// A call is listed from its INVITE to its end, up once answered, held
// while a re-INVITE holds it, and calls/hangup's Hangup ends it with BYE
// on both legs and "operator" in its record.
func TestLiveCallListedHeldAndHungUp(t *testing.T) {
	sink := &recordSink{}
	f, ctx := newFixture(t, WithCallRecords(sink.record))
	evs := &liveEvents{}
	f.s.SetLiveObserver(evs.add)
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	id := d.InviteRequest.CallID().Value()
	var live records.LiveCall
	eventually(t, "call up", func() bool {
		calls := f.s.ActiveCalls()
		if len(calls) == 1 {
			live = calls[0]
		}
		return live.State == records.CallUp
	})
	if live.ID != id || live.Line != "1001" || live.Called != "441234" || live.Peer != "peer1" || live.Attempt != 1 ||
		live.Direction != records.Outbound || live.Answer == 0 || live.Route != 7 || live.Relayed {
		t.Errorf("live call %+v", live)
	}
	const hold = "v=0\r\no=caller 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n"
	re := sip.NewRequest(sip.INVITE, d.InviteResponse.Contact().Address)
	re.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	re.SetBody([]byte(hold))
	if res, err := d.Do(ctx, re); err != nil || res.StatusCode != 200 {
		t.Fatalf("hold re-INVITE: %v %v", res, err)
	}
	if calls := f.s.ActiveCalls(); len(calls) != 1 || calls[0].State != records.CallHeld {
		t.Fatalf("held call listed as %+v", calls)
	}
	if err := f.s.Hangup("no-such-call"); !errors.Is(err, ErrNoSuchCall) {
		t.Errorf("hangup of an unknown call: %v", err)
	}
	if err := f.s.Hangup(id); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	eventually(t, "BYE to both legs", func() bool { return f.phone.Byes.Load() == 1 && f.carrier1.Byes.Load() == 1 })
	eventually(t, "call gone", func() bool { return len(f.s.ActiveCalls()) == 0 && f.s.Stats().ActiveCalls == 0 })
	eventually(t, "record", func() bool { return len(sink.all()) == 1 })
	if r := sink.all()[0]; r.Hangup != records.HangupOperator || r.Cause != 200 {
		t.Errorf("record hangup %q cause %d", r.Hangup, r.Cause)
	}
	got := evs.kinds()
	if len(got) < 3 || got[0] != records.EventCallStart || got[len(got)-1] != records.EventCallEnd {
		t.Errorf("events %v", got)
	}
	if err := f.s.Hangup(id); !errors.Is(err, ErrNoSuchCall) {
		t.Errorf("hangup of an ended call: %v", err)
	}
}

// calls/hangup of a call still ringing: the leg ringing is cancelled, no
// further peer is tried (peer2 would answer), the caller gets 487 and the
// record says the operator ended it.
func TestLiveHangupOfRingingCall(t *testing.T) {
	sink := &recordSink{}
	f, ctx := newFixture(t, WithCallRecords(sink.record))
	cancelled := make(chan struct{})
	f.carrier1.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		d.Respond(180, "Ringing", nil)
		<-d.Context().Done()
		close(cancelled)
	})
	f.carrier2.Handle(siptest.AnswerWith(carrierSDP))
	type outcome struct {
		d   *sipgo.DialogClientSession
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
		done <- outcome{d, err}
	}()
	var id string
	eventually(t, "call ringing at peer1", func() bool {
		calls := f.s.ActiveCalls()
		if len(calls) == 1 && calls[0].State == records.CallRinging && calls[0].Peer == "peer1" {
			id = calls[0].ID
		}
		return id != "" && f.carrier1.Invites.Load() == 1
	})
	if err := f.s.Hangup(id); err != nil {
		t.Fatalf("hangup of a ringing call: %v", err)
	}
	select {
	case <-cancelled:
	case <-ctx.Done():
		t.Fatal("peer1's leg was not cancelled")
	}
	var got outcome
	select {
	case got = <-done:
	case <-ctx.Done():
		t.Fatal("the caller got no final response")
	}
	if code := siptest.StatusOf(got.err); code != 487 {
		t.Errorf("caller got %v (status %d), want 487", got.err, code)
	}
	eventually(t, "call gone", func() bool { return len(f.s.ActiveCalls()) == 0 && f.s.Stats().ActiveCalls == 0 })
	eventually(t, "record", func() bool { return len(sink.all()) == 1 })
	if r := sink.all()[0]; r.Hangup != records.HangupOperator || r.Cause != 487 {
		t.Errorf("record hangup %q cause %d, want operator and 487", r.Hangup, r.Cause)
	}
	if n := f.carrier2.Invites.Load(); n != 0 {
		t.Errorf("peer2 got %d INVITEs after the operator ended the call", n)
	}
}

// Unregister removes a binding as Expires: 0 would.
func TestLiveUnregister(t *testing.T) {
	f, ctx := newFixture(t)
	if res, _, err := f.phone.Register(ctx, f.s.Addrs()[0], "1001", "secret1001", 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("register: %v %v", res, err)
	}
	regs := f.s.Registrations()
	if len(regs) != 1 {
		t.Fatalf("registrations %v", regs)
	}
	if f.s.Unregister(context.Background(), "1001", "sip:nobody@192.0.2.1") {
		t.Error("unknown contact unregistered")
	}
	if !f.s.Unregister(context.Background(), "1001", regs[0].Contact) {
		t.Fatal("binding not found")
	}
	if n := len(f.s.Registrations()); n != 0 || f.s.Stats().Registrations != 0 {
		t.Errorf("after unregister: %d bindings, stats %d", n, f.s.Stats().Registrations)
	}
}
