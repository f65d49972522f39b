package sip

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/engine"
)

const (
	callerSDP  = "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	carrierSDP = "v=0\r\no=carrier 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
)

type fixture struct {
	dir      *testDirectory
	s        *Server
	sw       interface{ String() string }
	phone    *agent
	carrier1 *agent
	carrier2 *agent
	peer1    *engine.Peer
	peer2    *engine.Peer
}

func newFixture(t *testing.T, opts ...Option) (*fixture, context.Context) {
	t.Helper()
	dir := newTestDirectory()
	dir.addPhone(engine.Phone{ID: 1, Name: "1001", Password: "secret1001", Plan: 1})
	dir.addPhone(engine.Phone{ID: 2, Name: "1002", Password: "secret1002", Plan: 1, RingTime: 1})
	c1 := newAgent(t, "carrier1", "127.0.0.2")
	c2 := newAgent(t, "carrier2", "127.0.0.3")
	p1 := &engine.Peer{ID: 11, Name: "peer1", Type: engine.PeerSIP, Destination: c1.host + ":" + itoa(c1.port)}
	p2 := &engine.Peer{ID: 12, Name: "peer2", Type: engine.PeerSIP, Destination: c2.host + ":" + itoa(c2.port)}
	dir.addPeer(p1)
	dir.addPeer(p2)
	dir.addRoute("44", 7, p1, p2)
	s, _ := startSwitch(t, dir, append([]Option{WithPeerTimeout(400 * time.Millisecond)}, opts...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return &fixture{dir: dir, s: s, phone: newAgent(t, "phone", "127.0.0.1"), carrier1: c1, carrier2: c2, peer1: p1, peer2: p2}, ctx
}

func TestOutboundCallAnsweredAndHungUpByCaller(t *testing.T) {
	f, ctx := newFixture(t)
	f.carrier1.handle(answerWith(carrierSDP))
	d, err := f.phone.call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if got := string(d.InviteResponse.Body()); got != carrierSDP {
		t.Errorf("caller got SDP %q, want the carrier's", got)
	}
	inv := f.carrier1.last.Load()
	if got := string(inv.Body()); got != callerSDP {
		t.Errorf("carrier got SDP %q, want the caller's", got)
	}
	if inv.Recipient.User != "441234" {
		t.Errorf("carrier request-uri user %q", inv.Recipient.User)
	}
	if inv.CallID().Value() == d.InviteRequest.CallID().Value() {
		t.Error("B-leg reuses the A-leg Call-ID")
	}
	if f.carrier2.invites.Load() != 0 {
		t.Error("peer2 tried although peer1 answered")
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatalf("bye: %v", err)
	}
	eventually(t, "carrier BYE", func() bool { return f.carrier1.byes.Load() == 1 })
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
	st := f.s.Stats()
	if st.CallsAnswered != 1 || st.CallsAttempted != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestUnauthenticatedInviteNeverReachesCarrier(t *testing.T) {
	f, ctx := newFixture(t)
	f.carrier1.handle(answerWith(carrierSDP))
	tests := []struct {
		name, user, pass string
		want             int
	}{
		{"no credentials", "1001", "", 407},
		{"wrong password", "1001", "guess", 403},
		{"unknown user", "9999", "guess", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.phone.call(ctx, f.s.Addrs()[0], "441234", tc.user, tc.pass, callerSDP)
			if got := statusOf(err); got != tc.want {
				t.Fatalf("status %d (%v), want %d", got, err, tc.want)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	if n := f.carrier1.invites.Load() + f.carrier2.invites.Load(); n != 0 {
		t.Fatalf("carriers saw %d INVITEs", n)
	}
	if f.s.Stats().AuthFailures < 2 {
		t.Errorf("auth failures %d", f.s.Stats().AuthFailures)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
