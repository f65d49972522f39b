package sip

import (
	"context"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// overloadSwitch: a carrier for every number, line 1001, emergency number
// 112, shedding past target.
func overloadSwitch(t *testing.T, target time.Duration) (*Server, net.Addr, *siptest.Agent) {
	t.Helper()
	carrier := siptest.NewAgent(t, "carrier", "127.0.0.2")
	carrier.Handle(siptest.AnswerWith(carrierSDP))
	snap := &routing.Snapshot{
		Settings: routing.Settings{EmergencyNumbers: "112"},
		Plans:    []routing.Plan{{ID: 1}},
		Peers:    []routing.Peer{{ID: 1, Name: "carrier", Type: routing.PeerSIP, Destination: carrier.Host + ":" + itoa(carrier.Port), OutMaximum: -1}},
		Routes:   []routing.Route{{ID: 1, Plan: 1, CalledPrefix: "", Allow: 1, Media: routing.MediaVoiceFax, Peer1: 1}},
		Phones:   []routing.Phone{{ID: 1, Name: "1001", Password: "secret1001", Plan: 1, TotalMaximum: -1, CallMaximum: -1, PresentationExternal: 1}},
	}
	calls, err := routing.NewCallControl(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, sw := startSwitch(t, calls, WithOverloadDelay(target))
	return s, sw, siptest.NewAgent(t, "phone", "127.0.0.1")
}

// hog makes the process slower than what it is asked: with one core for
// Go and n goroutines that never stop computing, every other goroutine
// (the read loop, each request's handler) waits behind them for a core,
// as on a switch past its capacity. It returns the function that ends it.
func hog(n int) func() {
	prev := runtime.GOMAXPROCS(1)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 0
			for !stop.Load() {
				x++
			}
			_ = x
		}()
	}
	return func() {
		stop.Store(true)
		wg.Wait()
		runtime.GOMAXPROCS(prev)
	}
}

// bareInvite sends an INVITE without credentials and returns its final
// status.
func bareInvite(ctx context.Context, t *testing.T, phone *siptest.Agent, sw net.Addr, called string) (int, *sip.Response) {
	t.Helper()
	req := sip.NewRequest(sip.INVITE, phone.URI(called, sw))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(callerSDP))
	res, err := phone.Client.Do(ctx, req)
	if err != nil {
		t.Fatalf("INVITE %s: %v", called, err)
	}
	return res.StatusCode, res
}

// Past its capacity the switch sheds new calls from its own measure of
// delay: once new INVITEs have waited past the target for a core for the
// detector's interval, a new INVITE gets 503 with Retry-After before any
// challenge; a call in progress goes on (its re-INVITE and BYE are
// served), an emergency call is still taken, and once the load is gone
// calls are taken again.
func TestOverloadShedsNewInvitesOnly(t *testing.T) {
	s, sw, phone := overloadSwitch(t, 20*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	up, err := phone.Call(ctx, sw, "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := bareInvite(ctx, t, phone, sw, "442000"); code != 407 {
		t.Fatalf("a new INVITE before the overload: %d, want the challenge", code)
	}

	stop := hog(4)
	defer stop()
	shed := false
	for i := 0; i < 30 && !shed; i++ {
		code, res := bareInvite(ctx, t, phone, sw, "442001")
		switch code {
		case 503:
			if res.GetHeader("Retry-After") == nil {
				t.Fatal("503 without Retry-After")
			}
			shed = true
		case 407:
		default:
			t.Fatalf("a new INVITE under overload: %d", code)
		}
	}
	if !shed {
		t.Fatal("30 new INVITEs taken while every request waited for a core: nothing was shed")
	}
	// The call in progress is served: an in-dialog INVITE, then its BYE.
	re := sip.NewRequest(sip.INVITE, up.InviteResponse.Contact().Address)
	re.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	re.SetBody([]byte(callerSDP))
	if res, err := up.Do(ctx, re); err != nil || res.StatusCode != 200 {
		t.Fatalf("re-INVITE of the call in progress under overload: %v %v", res, err)
	}
	if err := up.Bye(ctx); err != nil {
		t.Fatalf("BYE of the call in progress under overload: %v", err)
	}
	if st := s.Stats(); st.ShedOverload == 0 {
		t.Fatalf("stats: shed %d", st.ShedOverload)
	}
	// An emergency call is never shed.
	em, err := phone.Call(ctx, sw, "112", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("emergency call under overload: %v", err)
	}
	em.Bye(ctx)
	stop()

	eventually(t, "new calls taken after the overload", func() bool {
		code, _ := bareInvite(ctx, t, phone, sw, "442002")
		return code == 407
	})
}

// The detector sheds a standing queue, not a burst: waits past the target
// shorter than the interval, or broken by one under it, refuse nothing.
func TestShedStateNeedsAStandingQueue(t *testing.T) {
	var st shedState
	t0 := time.Unix(1000, 0)
	target := 50 * time.Millisecond
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	st.observe(80*time.Millisecond, target, at(0))
	st.observe(90*time.Millisecond, target, at(60))
	if st.overloaded(at(90)) {
		t.Fatal("overloaded 90 ms into a wait past the target")
	}
	st.observe(10*time.Millisecond, target, at(95))
	st.observe(70*time.Millisecond, target, at(100))
	if st.overloaded(at(150)) {
		t.Fatal("overloaded although a wait under the target broke the queue at 95 ms")
	}
	st.observe(70*time.Millisecond, target, at(199))
	if !st.overloaded(at(200)) {
		t.Fatal("not overloaded after 100 ms of waits past the target")
	}
}

// The read loop finds the top Via's branch in a datagram as sipgo parses
// it, for any spelling of the header's name; other branches and
// messages without one give nothing.
func TestRawTopBranch(t *testing.T) {
	for msg, want := range map[string]string{
		"INVITE sip:1@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1;rport\r\nVia: SIP/2.0/UDP b;branch=z9hG4bK2\r\n\r\n":           "z9hG4bK1",
		"INVITE sip:1@x SIP/2.0\r\nFrom: <sip:a@b>;x=;branch=evil\r\nv : SIP/2.0/UDP a;branch=top,SIP/2.0/UDP b;branch=next\r\n\r\n": "top",
		"INVITE sip:1@x SIP/2.0\r\nVIA: SIP/2.0/UDP a;received=1;branch=up\r\n\r\n":                                                  "up",
		"INVITE sip:1@x SIP/2.0\r\nVia: SIP/2.0/UDP a\r\n\r\n":                                                                       "",
		"INVITE sip:1@x SIP/2.0\r\nTo: <sip:1@x>\r\n\r\nVia: SIP/2.0/UDP a;branch=body\r\n":                                          "",
		"INVITE sip:1@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=":                                                                       "",
	} {
		if got := string(rawTopBranch([]byte(msg))); got != want {
			t.Errorf("%q: branch %q, want %q", msg, got, want)
		}
	}
}

func FuzzRawTopBranch(f *testing.F) {
	f.Add([]byte("INVITE sip:1@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\r\n"))
	f.Add([]byte("INVITE \n\nv:;branch="))
	f.Fuzz(func(t *testing.T, msg []byte) {
		b := rawTopBranch(msg)
		if len(b) > len(msg) {
			t.Fatal("branch longer than the message")
		}
	})
}

// While overloaded, only a new call's first INVITE is refused: not one
// answering the challenge (the second round of a call taken), not an
// emergency call; and nothing is refused once the wait falls back.
func TestShedDecision(t *testing.T) {
	s, sw, phone := overloadSwitch(t, 20*time.Millisecond)
	invite := func(called string, creds bool) *sip.Request {
		req := sip.NewRequest(sip.INVITE, phone.URI(called, sw))
		req.AppendHeader(sip.NewHeader("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK"+called))
		if creds {
			req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Digest username="1001"`))
		}
		return req
	}
	now := time.Now()
	s.shed.aboveSince.Store(now.Add(-time.Second).UnixNano()) // a standing queue
	for _, c := range []struct {
		called string
		creds  bool
		want   bool
	}{{"441234", false, true}, {"441234", true, false}, {"112", false, false}} {
		if got := s.shedInvite(invite(c.called, c.creds), now); got != c.want {
			t.Errorf("INVITE to %s, credentials %v: shed %v, want %v", c.called, c.creds, got, c.want)
		}
	}
	// An INVITE that waited less than the target ends the overload.
	req := invite("441235", false)
	s.reads.put(branchKey(req), now.Add(-time.Millisecond).UnixNano())
	if s.shedInvite(req, now) || s.shedInvite(invite("441236", false), now) {
		t.Fatal("shed after a wait under the target")
	}
}
