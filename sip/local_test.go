package sip

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// registerLine registers a as phone name with the switch.
func registerLine(t *testing.T, ctx context.Context, f *fixture, a *siptest.Agent, name, password string) {
	t.Helper()
	res, _, err := a.Register(ctx, f.s.Addrs()[0], name, password, 300)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("register %s: %v %v", name, res, err)
	}
}

func TestPhoneToPhone(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(f *fixture, callee, callee2 *siptest.Agent)
		want   int    // 0: answered
		wantBy string // who answered: "callee", "callee2", "carrier1"
		unreg  bool   // callee not registered
	}{
		{"answered by the line", func(f *fixture, c, c2 *siptest.Agent) { c.Handle(siptest.AnswerWith(carrierSDP)) }, 0, "callee", false},
		{"forked to both contacts", func(f *fixture, c, c2 *siptest.Agent) {
			c.Handle(siptest.RingForever)
			c2.Handle(siptest.AnswerWith(carrierSDP))
		}, 0, "callee2", false},
		{"busy", func(f *fixture, c, c2 *siptest.Agent) { c.Handle(siptest.RejectWith(486)) }, 486, "", false},
		{"no answer hangs up", func(f *fixture, c, c2 *siptest.Agent) { c.Handle(siptest.RingForever) }, 480, "", false},
		{"no answer goes to dnumber", func(f *fixture, c, c2 *siptest.Agent) {
			c.Handle(siptest.RingForever)
			f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
			f.dir.edit(func() { p := f.dir.phones["1002"]; p.DType, p.DNumber = "number", "4412" })
		}, 0, "carrier1", false},
		{"busy goes to bnumber", func(f *fixture, c, c2 *siptest.Agent) {
			c.Handle(siptest.RejectWith(486))
			f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
			f.dir.edit(func() { p := f.dir.phones["1002"]; p.BType, p.BNumber = "number", "4412" })
		}, 0, "carrier1", false},
		{"unregistered hangs up", nil, 480, "", true},
		{"unregistered goes to unumber", func(f *fixture, c, c2 *siptest.Agent) {
			f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
			f.dir.edit(func() { p := f.dir.phones["1002"]; p.UType, p.UNumber = "number", "4412" })
		}, 0, "carrier1", true},
		{"dnd", func(f *fixture, c, c2 *siptest.Agent) { f.dir.edit(func() { f.dir.phones["1002"].DND = 1 }) }, 486, "", false},
		{"forwarding", func(f *fixture, c, c2 *siptest.Agent) {
			f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
			f.dir.edit(func() { p := f.dir.phones["1002"]; p.Forwarding, p.UseForwarding = "4499", 1 })
		}, 0, "carrier1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ctx := newFixture(t)
			callee := siptest.NewAgent(t, "callee", "127.0.0.1")
			callee2 := siptest.NewAgent(t, "callee2", "127.0.0.1")
			if !tc.unreg {
				registerLine(t, ctx, f, callee, "1002", "secret1002")
				registerLine(t, ctx, f, callee2, "1002", "secret1002")
			}
			if tc.setup != nil {
				tc.setup(f, callee, callee2)
			}
			d, err := f.phone.Call(ctx, f.s.Addrs()[0], "1002", "1001", "secret1001", callerSDP)
			if tc.want != 0 {
				if got := siptest.StatusOf(err); got != tc.want {
					t.Fatalf("status %d (%v), want %d", got, err, tc.want)
				}
			} else {
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				var by *siptest.Agent
				switch tc.wantBy {
				case "callee":
					by = callee
				case "callee2":
					by = callee2
				case "carrier1":
					by = f.carrier1
				}
				if by.Invites.Load() == 0 {
					t.Errorf("%s was not called", tc.wantBy)
				}
				if string(by.Last.Load().Body()) != callerSDP {
					t.Error("caller SDP not passed on")
				}
				if err := d.Bye(ctx); err != nil {
					t.Fatalf("bye: %v", err)
				}
				eventually(t, "callee BYE", func() bool { return by.Byes.Load() == 1 })
			}
			eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
		})
	}
}

func TestAnonymousCallerRejectedByACR(t *testing.T) {
	f, ctx := newFixture(t)
	callee := siptest.NewAgent(t, "callee", "127.0.0.1")
	registerLine(t, ctx, f, callee, "1002", "secret1002")
	callee.Handle(siptest.AnswerWith(carrierSDP))
	f.dir.edit(func() { f.dir.phones["1002"].ACR = 1 })
	// Inbound from a peer with a withheld number.
	req := sip.NewRequest(sip.INVITE, f.carrier1.URI("1002", f.s.Addrs()[0]))
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "anonymous", Host: "anonymous.invalid"}}
	from.Params.Add("tag", "t1")
	req.AppendHeader(from)
	d, err := f.carrier1.Callers.WriteInvite(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	err = d.WaitAnswer(ctx, sipgo.AnswerOptions{})
	if got := siptest.StatusOf(err); got != 433 {
		t.Fatalf("status %d (%v), want 433", got, err)
	}
	if callee.Invites.Load() != 0 {
		t.Error("callee rang for an anonymous caller")
	}
}

func TestInboundFromPeer(t *testing.T) {
	f, ctx := newFixture(t)
	callee := siptest.NewAgent(t, "callee", "127.0.0.1")
	registerLine(t, ctx, f, callee, "1002", "secret1002")
	callee.Handle(siptest.AnswerWith(carrierSDP))
	f.carrier2.Handle(siptest.AnswerWith(carrierSDP))

	// To a local line: rings it without any authentication.
	d, err := f.carrier1.Call(ctx, f.s.Addrs()[0], "1002", "447700900123", "", callerSDP)
	if err != nil {
		t.Fatalf("inbound call: %v", err)
	}
	if got := callee.Last.Load().From().Address.User; got != "447700900123" {
		t.Errorf("callee sees caller %q", got)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}

	// To an outside number: never relayed.
	_, err = f.carrier1.Call(ctx, f.s.Addrs()[0], "449999", "447700900123", "", callerSDP)
	if got := siptest.StatusOf(err); got != 404 {
		t.Fatalf("relay attempt got %d (%v), want 404", got, err)
	}
	if f.carrier2.Invites.Load() != 0 {
		t.Error("peer call relayed to another peer")
	}

	// From an address that is no peer: challenged, never routed.
	stranger := siptest.NewAgent(t, "stranger", "127.0.0.5")
	_, err = stranger.Call(ctx, f.s.Addrs()[0], "1002", "x", "", callerSDP)
	if got := siptest.StatusOf(err); got != 407 {
		t.Fatalf("stranger got %d (%v), want 407", got, err)
	}
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
	_ = time.Second
}

func TestDeliveryToLine(t *testing.T) {
	for _, tc := range []struct{ delivery, wantUser string }{
		{"register", "callee"}, // the registered contact as it is
		{"last_number", "1002"},
	} {
		t.Run(tc.delivery, func(t *testing.T) {
			f, ctx := newFixture(t)
			f.dir.edit(func() { f.dir.phones["1002"].Delivery = tc.delivery })
			callee := siptest.NewAgent(t, "callee", "127.0.0.1")
			callee.Handle(siptest.AnswerWith(carrierSDP))
			registerLine(t, ctx, f, callee, "1002", "secret1002")
			d, err := f.phone.Call(ctx, f.s.Addrs()[0], "1002", "1001", "secret1001", callerSDP)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			defer d.Bye(ctx)
			if got := callee.Last.Load().Recipient.User; got != tc.wantUser {
				t.Errorf("Request-URI user %q, want %q", got, tc.wantUser)
			}
		})
	}
}
