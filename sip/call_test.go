package sip

import (
	"context"
	"crypto/md5"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/auth"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

const (
	callerSDP  = "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	carrierSDP = "v=0\r\no=carrier 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
)

type fixture struct {
	dir      *testDirectory
	s        *Server
	phone    *siptest.Agent
	carrier1 *siptest.Agent
	carrier2 *siptest.Agent
	peer1    *routing.Peer
	peer2    *routing.Peer
}

func newFixture(t *testing.T, opts ...Option) (*fixture, context.Context) {
	t.Helper()
	dir := newTestDirectory()
	dir.addPhone(routing.Phone{PresentationExternal: 1, PresentationInternal: 1, ID: 1, Name: "1001", Password: "secret1001", Plan: 1})
	dir.addPhone(routing.Phone{PresentationExternal: 1, PresentationInternal: 1, ID: 2, Name: "1002", Password: "secret1002", Plan: 1, RingTime: 1})
	c1 := siptest.NewAgent(t, "carrier1", "127.0.0.2")
	c2 := siptest.NewAgent(t, "carrier2", "127.0.0.3")
	p1 := &routing.Peer{ID: 11, Name: "peer1", Type: routing.PeerSIP, Destination: c1.Host + ":" + itoa(c1.Port)}
	p2 := &routing.Peer{ID: 12, Name: "peer2", Type: routing.PeerSIP, Destination: c2.Host + ":" + itoa(c2.Port)}
	dir.addPeer(p1)
	dir.addPeer(p2)
	dir.addRoute("44", 7, p1, p2)
	s, _ := startSwitch(t, dir, append([]Option{WithPeerTimeout(400 * time.Millisecond)}, opts...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return &fixture{dir: dir, s: s, phone: siptest.NewAgent(t, "phone", "127.0.0.1"), carrier1: c1, carrier2: c2, peer1: p1, peer2: p2}, ctx
}

func TestOutboundCallAnsweredAndHungUpByCaller(t *testing.T) {
	f, ctx := newFixture(t)
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	began := time.Now()
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if got := string(d.InviteResponse.Body()); got != carrierSDP {
		t.Errorf("caller got SDP %q, want the carrier's", got)
	}
	inv := f.carrier1.Last.Load()
	if got := string(inv.Body()); got != callerSDP {
		t.Errorf("carrier got SDP %q, want the caller's", got)
	}
	if ua := inv.GetHeader("User-Agent"); ua == nil || ua.Value() != "sipswitch" {
		t.Errorf("B-leg User-Agent %v", ua)
	}
	// Phones decide on UPDATE refreshes and session timers from Allow
	// and Supported in the answer; carriers from the INVITE.
	for what, m := range map[string]interface{ GetHeader(string) sip.Header }{"caller's 200": d.InviteResponse, "B-leg INVITE": inv} {
		if h := m.GetHeader("Allow"); h == nil || !strings.Contains(h.Value(), "UPDATE") || !strings.Contains(h.Value(), "BYE") {
			t.Errorf("%s: Allow %v", what, h)
		}
		if h := m.GetHeader("Supported"); h == nil || !strings.Contains(h.Value(), "timer") {
			t.Errorf("%s: Supported %v", what, h)
		}
	}
	if inv.Recipient.User != "441234" {
		t.Errorf("carrier request-uri user %q", inv.Recipient.User)
	}
	if inv.CallID().Value() == d.InviteRequest.CallID().Value() {
		t.Error("B-leg reuses the A-leg Call-ID")
	}
	if f.carrier2.Invites.Load() != 0 {
		t.Error("peer2 tried although peer1 answered")
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatalf("bye: %v", err)
	}
	eventually(t, "carrier BYE", func() bool { return f.carrier1.Byes.Load() == 1 })
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
	st := f.s.Stats()
	if st.CallsAnswered != 1 || st.CallsAttempted != 1 {
		t.Errorf("stats %+v", st)
	}
	// The talk time counted is the call's, within what this test lasted.
	if st.CallsCompleted != 1 || st.TalkMillis > uint64(time.Since(began).Milliseconds()) {
		t.Errorf("completed %d, talk %d ms within %v", st.CallsCompleted, st.TalkMillis, time.Since(began))
	}
}

func TestUnauthenticatedInviteNeverReachesCarrier(t *testing.T) {
	f, ctx := newFixture(t)
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
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
			_, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", tc.user, tc.pass, callerSDP)
			if got := siptest.StatusOf(err); got != tc.want {
				t.Fatalf("status %d (%v), want %d", got, err, tc.want)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	if n := f.carrier1.Invites.Load() + f.carrier2.Invites.Load(); n != 0 {
		t.Fatalf("carriers saw %d INVITEs", n)
	}
	if f.s.Stats().AuthFailures < 2 {
		t.Errorf("auth failures %d", f.s.Stats().AuthFailures)
	}
}

func phoneFixture(name, password string) routing.Phone {
	return routing.Phone{PresentationExternal: 1, PresentationInternal: 1, Name: name, Password: password, Plan: 1}
}

func peerFor(a *siptest.Agent, id int) *routing.Peer {
	return &routing.Peer{ID: id, Name: a.Name, Type: routing.PeerSIP, Destination: a.Host + ":" + itoa(a.Port)}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestFailover(t *testing.T) {
	tests := []struct {
		name       string
		peer1      func(*fixture)
		wantStatus int // 0: answered
		wantPeer2  bool
	}{
		{"peer1 503 then peer2 answers", func(f *fixture) { f.carrier1.Handle(siptest.RejectWith(503)) }, 0, true},
		{"peer1 486 is final", func(f *fixture) { f.carrier1.Handle(siptest.RejectWith(486)) }, 486, false},
		{"peer1 silent then peer2 after timeout", func(f *fixture) { f.carrier1.Handle(siptest.Silent) }, 0, true},
		{"peer1 at fail_percent", func(f *fixture) {
			f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
			f.dir.edit(func() { f.dir.failPct[f.peer1.ID] = true })
		}, 0, true},
		{"peer1 not sip is skipped", func(f *fixture) {
			f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
			f.dir.edit(func() { f.peer1.Type = routing.PeerIAX })
		}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ctx := newFixture(t)
			f.carrier2.Handle(siptest.AnswerWith(carrierSDP))
			tc.peer1(f)
			d, err := f.phone.Call(ctx, f.s.Addrs()[0], "449876", "1001", "secret1001", callerSDP)
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				if string(d.InviteResponse.Body()) != carrierSDP {
					t.Error("answer SDP not relayed")
				}
				if err := d.Bye(ctx); err != nil {
					t.Fatalf("bye: %v", err)
				}
			} else if got := siptest.StatusOf(err); got != tc.wantStatus {
				t.Fatalf("status %d (%v), want %d", got, err, tc.wantStatus)
			}
			if got := f.carrier2.Invites.Load() > 0; got != tc.wantPeer2 {
				t.Errorf("peer2 tried = %v, want %v", got, tc.wantPeer2)
			}
			eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
		})
	}
}

func TestCancelWhileRinging(t *testing.T) {
	f, ctx := newFixture(t)
	f.carrier1.Handle(siptest.RingForever)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := f.phone.Call(cctx, f.s.Addrs()[0], "445555", "1001", "secret1001", callerSDP)
		done <- err
	}()
	eventually(t, "carrier ringing", func() bool { return f.carrier1.Invites.Load() == 1 })
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("cancelled call was answered")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancel hung")
	}
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
	if f.carrier2.Invites.Load() != 0 {
		t.Error("peer2 tried after caller cancelled")
	}
	if st := f.s.Stats(); st.FailedCanceled != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestByeFromCallee(t *testing.T) {
	f, ctx := newFixture(t)
	hangup := make(chan struct{})
	f.carrier1.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		d.RespondSDP([]byte(carrierSDP))
		select {
		case <-hangup:
			bctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := d.Bye(bctx); err != nil {
				t.Errorf("callee bye: %v", err)
			}
		case <-d.Context().Done():
		}
	})
	_, err := f.phone.Call(ctx, f.s.Addrs()[0], "441111", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	eventually(t, "call up", func() bool { return f.s.Stats().CallsAnswered == 1 })
	close(hangup)
	eventually(t, "caller got BYE", func() bool { return f.phone.Byes.Load() == 1 })
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
}

func TestOutMaximumSpillsToPeer2(t *testing.T) {
	f, ctx := newFixture(t)
	f.dir.edit(func() { f.peer1.OutMaximum = 10 })
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	f.carrier2.Handle(siptest.AnswerWith(carrierSDP))
	// A PBX registers before it sends calls in bursts: proven, its source
	// is past the flood limit (50 INVITEs and their challenges from a
	// source that never authenticated are what the limit stops).
	if res, _, err := f.phone.Register(ctx, f.s.Addrs()[0], "1001", "secret1001", 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("register: %v %v", res, err)
	}
	const n = 50
	var wg sync.WaitGroup
	dialogs := make(chan *sipgo.DialogClientSession, n)
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			d, err := f.phone.Call(ctx, f.s.Addrs()[0], "447000", "1001", "secret1001", callerSDP)
			if err != nil {
				errs <- err
				return
			}
			dialogs <- d
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("call failed: %v", err)
	}
	close(dialogs)
	if got := f.carrier1.Invites.Load(); got != 10 {
		t.Errorf("peer1 got %d calls, want 10", got)
	}
	if got := f.carrier2.Invites.Load(); got != n-10 {
		t.Errorf("peer2 got %d calls, want %d", got, n-10)
	}
	for d := range dialogs {
		if err := d.Bye(ctx); err != nil {
			t.Errorf("bye: %v", err)
		}
	}
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
}

func TestReInvitePassedToOtherLeg(t *testing.T) {
	f, ctx := newFixture(t)
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	const hold = "v=0\r\no=caller 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n"
	re := sip.NewRequest(sip.INVITE, d.InviteResponse.Contact().Address)
	re.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	re.SetBody([]byte(hold))
	res, err := d.Do(ctx, re)
	if err != nil {
		t.Fatalf("re-INVITE: %v", err)
	}
	if res.StatusCode != 200 || string(res.Body()) != siptest.ReinviteAnswer {
		t.Fatalf("re-INVITE answer %d %q", res.StatusCode, res.Body())
	}
	if f.carrier1.Reinvites.Load() != 1 || string(f.carrier1.Last.Load().Body()) != hold {
		t.Fatal("re-INVITE not passed to the callee with its SDP")
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 })
}

func TestMaxCallDurationFreesDeadCall(t *testing.T) {
	f, ctx := newFixture(t, WithMaxCallDuration(300*time.Millisecond))
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	if _, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP); err != nil {
		t.Fatalf("call: %v", err)
	}
	eventually(t, "both legs get BYE", func() bool { return f.phone.Byes.Load() == 1 && f.carrier1.Byes.Load() == 1 })
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
}

func TestDrain(t *testing.T) {
	f, ctx := newFixture(t)
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	drained := make(chan error, 1)
	go func() {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		drained <- f.s.Drain(dctx)
	}()
	eventually(t, "draining", func() bool { return f.s.draining.Load() })
	_, err = f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if got := siptest.StatusOf(err); got != 503 {
		t.Fatalf("new call while draining got %d (%v), want 503", got, err)
	}
	if ra := err.(*sipgo.ErrDialogResponse).Res.GetHeader("Retry-After"); ra == nil {
		t.Error("503 without Retry-After")
	}
	select {
	case err := <-drained:
		t.Fatalf("drain returned with a call up: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-drained; err != nil {
		t.Fatalf("drain: %v", err)
	}
}

func TestLateAnswerFromAbandonedLegIsHungUp(t *testing.T) {
	f, ctx := newFixture(t, WithPeerTimeout(50*time.Millisecond))
	f.carrier1.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		time.Sleep(120 * time.Millisecond) // beyond the peer timeout, before the automatic 100
		if err := d.RespondSDP([]byte(carrierSDP)); err != nil {
			return
		}
		<-d.Context().Done()
	})
	f.carrier2.Handle(siptest.AnswerWith(carrierSDP))
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if f.carrier2.Invites.Load() != 1 {
		t.Fatal("no failover to peer2")
	}
	eventually(t, "late answer of peer1 BYEd", func() bool { return f.carrier1.Byes.Load() == 1 })
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
}

func TestEarlyMediaRelayed(t *testing.T) {
	f, ctx := newFixture(t)
	const early = "v=0\r\no=carrier 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 5002 RTP/AVP 0\r\n"
	seen := make(chan struct{})
	f.carrier1.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		d.Respond(183, "Session Progress", []byte(early), sip.NewHeader("Content-Type", "application/sdp"))
		// Answer once the caller has the 183: responses sent back to back
		// may be handled out of order by the receiving transaction layer.
		select {
		case <-seen:
		case <-time.After(5 * time.Second):
		}
		d.RespondSDP([]byte(carrierSDP))
		<-d.Context().Done()
	})
	req := sip.NewRequest(sip.INVITE, f.phone.URI("441234", f.s.Addrs()[0]))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(callerSDP))
	d, err := f.phone.Callers.WriteInvite(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var got183 string
	err = d.WaitAnswer(ctx, sipgo.AnswerOptions{Username: "1001", Password: "secret1001", OnResponse: func(r *sip.Response) error {
		if r.StatusCode == 183 && got183 == "" {
			got183 = string(r.Body())
			close(seen)
		}
		return nil
	}})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if got183 != early {
		t.Errorf("183 SDP %q, want the carrier's early media", got183)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 })
}

func TestRoutingFailures(t *testing.T) {
	tests := []struct {
		name   string
		called string
		setup  func(f *fixture)
		want   int
		stat   func(Stats) uint64
	}{
		{"no route", "999", nil, 404, func(s Stats) uint64 { return s.FailedNoRoute }},
		{"barred", "4490", func(f *fixture) { f.dir.barred = []string{"4490"} }, 403, func(s Stats) uint64 { return s.FailedBarred }},
		{"every peer at outmaximum", "441", func(f *fixture) {
			f.peer1.OutMaximum, f.peer2.OutMaximum = 1, 1
			f.dir.peerCalls[f.peer1.ID], f.dir.peerCalls[f.peer2.ID] = 1, 1
		}, 503, func(s Stats) uint64 { return s.FailedLimit }},
		{"caller line at totalmaximum", "441", func(f *fixture) {
			f.dir.phones["1001"].TotalMaximum = 1
			f.dir.lineCalls["1001"] = 1
		}, 486, func(s Stats) uint64 { return s.FailedBusy }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ctx := newFixture(t)
			f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
			f.carrier2.Handle(siptest.AnswerWith(carrierSDP))
			if tc.setup != nil {
				f.dir.edit(func() { tc.setup(f) })
			}
			_, err := f.phone.Call(ctx, f.s.Addrs()[0], tc.called, "1001", "secret1001", callerSDP)
			if got := siptest.StatusOf(err); got != tc.want {
				t.Fatalf("status %d (%v), want %d", got, err, tc.want)
			}
			if n := f.carrier1.Invites.Load() + f.carrier2.Invites.Load(); n != 0 {
				t.Errorf("carriers saw %d INVITEs", n)
			}
			if got := tc.stat(f.s.Stats()); got != 1 {
				t.Errorf("cause counter %d, want 1 (%+v)", got, f.s.Stats())
			}
		})
	}
}

func TestPeerDigestAuthAndIdentityHeaders(t *testing.T) {
	f, ctx := newFixture(t)
	f.dir.edit(func() {
		f.peer1.Username, f.peer1.Password = "trunkuser", "trunkpass"
		f.peer1.SendAssertedIdentity, f.peer1.SendRPID = 1, 1
	})
	var authed *sip.Request
	var mu sync.Mutex
	f.carrier1.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		h := req.GetHeader("Proxy-Authorization")
		if h == nil {
			d.Respond(407, "Proxy Authentication Required", nil,
				sip.NewHeader("Proxy-Authenticate", `Digest realm="carrier", nonce="n0nce", algorithm=MD5, qop="auth"`))
			return
		}
		c, err := auth.ParseCredentials(h.Value())
		if err != nil || c.Username != "trunkuser" || auth.Response(md5.New, &c, "INVITE", "trunkpass") != c.Response {
			d.Respond(403, "Forbidden", nil)
			return
		}
		mu.Lock()
		authed = req
		mu.Unlock()
		siptest.AnswerWith(carrierSDP)(d, req)
	})
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	mu.Lock()
	req := authed
	mu.Unlock()
	if req == nil {
		t.Fatal("carrier never saw an authenticated INVITE")
	}
	if f.carrier2.Invites.Load() != 0 {
		t.Error("failed over although peer1 accepted the credentials")
	}
	if pai := req.GetHeader("P-Asserted-Identity"); pai == nil || !strings.Contains(pai.Value(), "sip:1001@") {
		t.Errorf("P-Asserted-Identity %v", pai)
	}
	if rpid := req.GetHeader("Remote-Party-ID"); rpid == nil || !strings.Contains(rpid.Value(), "privacy=off") {
		t.Errorf("Remote-Party-ID %v", rpid)
	}
	if got := req.From().Address.User; got != "1001" {
		t.Errorf("From user %q", got)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 })
}

func TestWithheldCallerToPrivacyPeer(t *testing.T) {
	f, ctx := newFixture(t)
	f.dir.edit(func() { f.peer1.SendPrivacy, f.peer1.SendAssertedIdentity = 1, 1 })
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	req := sip.NewRequest(sip.INVITE, f.phone.URI("441234", f.s.Addrs()[0]))
	req.AppendHeader(sip.NewHeader("Privacy", "id"))
	d, err := f.phone.Callers.WriteInvite(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WaitAnswer(ctx, sipgo.AnswerOptions{Username: "1001", Password: "secret1001"}); err != nil {
		t.Fatalf("call: %v", err)
	}
	d.Ack(ctx)
	inv := f.carrier1.Last.Load()
	if got := inv.From().Address.User; got != "anonymous" {
		t.Errorf("From user %q, want anonymous", got)
	}
	if p := inv.GetHeader("Privacy"); p == nil || p.Value() != "id" {
		t.Errorf("Privacy %v", p)
	}
	if pai := inv.GetHeader("P-Asserted-Identity"); pai == nil || !strings.Contains(pai.Value(), "1001") {
		t.Errorf("P-Asserted-Identity %v", pai)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 })
}
