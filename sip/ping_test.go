package sip

import (
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/sip/siptest"
)

func TestPingSkipsVanishedContacts(t *testing.T) {
	f, ctx := newFixture(t, WithPing(150*time.Millisecond, 100*time.Millisecond))
	// 1002 pings its phone; when it is not reachable the call goes to its
	// unregistered destination (the carrier), not into its ring time.
	f.dir.edit(func() {
		p := f.dir.phones["1002"]
		p.Ping, p.RingTime, p.UType, p.UNumber = 1, 3, "number", "4412"
	})
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	callee := siptest.NewAgent(t, "callee", "127.0.0.1")
	callee.Handle(siptest.AnswerWith(carrierSDP))
	registerLine(t, ctx, f, callee, "1002", "secret1002")
	quiet := siptest.NewAgent(t, "quiet", "127.0.0.1")
	registerLine(t, ctx, f, quiet, "1001", "secret1001") // ping=0: never pinged

	eventually(t, "pings of the line", func() bool { return callee.Options.Load() >= 2 })
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "1002", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call to a reachable line: %v", err)
	}
	if callee.Invites.Load() != 1 {
		t.Fatalf("reachable contact got %d INVITEs", callee.Invites.Load())
	}
	_ = d.Bye(ctx)

	callee.Stop()
	eventually(t, "contact unreachable", func() bool { return f.s.Stats().UnreachableContacts == 1 })
	d, err = f.phone.Call(ctx, f.s.Addrs()[0], "1002", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call to a line whose contact vanished: %v", err)
	}
	if f.carrier1.Invites.Load() != 1 || f.carrier1.Last.Load().Recipient.User != "4412" {
		t.Fatalf("call not sent to the unregistered destination: carrier INVITEs %d", f.carrier1.Invites.Load())
	}
	_ = d.Bye(ctx)

	// The phone comes back (a new contact) and registers: rung at once,
	// while its old contact stays skipped until it lapses.
	back := siptest.NewAgent(t, "back", "127.0.0.1")
	back.Handle(siptest.AnswerWith(carrierSDP))
	registerLine(t, ctx, f, back, "1002", "secret1002")
	if n := f.s.Stats().UnreachableContacts; n != 1 {
		t.Errorf("unreachable contacts %d after a new contact registered, want the old one", n)
	}
	d, err = f.phone.Call(ctx, f.s.Addrs()[0], "1002", "1001", "secret1001", callerSDP)
	if err != nil || back.Invites.Load() != 1 {
		t.Fatalf("call after the phone came back: %v, its INVITEs %d", err, back.Invites.Load())
	}
	_ = d.Bye(ctx)
	if n := quiet.Options.Load(); n != 0 {
		t.Errorf("a ping=0 line was pinged %d times", n)
	}
}
