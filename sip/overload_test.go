package sip

import (
	"bytes"
	"context"
	"math"
	"net"
	"runtime"
	"strings"
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
		// An INVITE with credentials reaches its handler, which measures
		// its wait (these are for another realm: a quick 403 that does not
		// count towards blocking the address); a bare one is
		// challenged in the read loop, unmeasured (challengeraw.go).
		for range 3 {
			measured := sip.NewRequest(sip.INVITE, phone.URI("442001", sw))
			measured.AppendHeader(sip.NewHeader("Proxy-Authorization", `Digest username="1001", realm="elsewhere", nonce="n", uri="sip:442001@127.0.0.1", response="00000000000000000000000000000000"`))
			if res, err := phone.Client.Do(ctx, measured); err != nil || res.StatusCode != 403 {
				t.Fatalf("INVITE with malformed credentials: %v %v", res, err)
			}
		}
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

// The share refused follows the wait: it grows while the wait stays past
// the target, falls back to nothing once the queue is gone, and a single
// period of a burst moves it little.
func TestShedShareFollowsTheWait(t *testing.T) {
	var st shedState
	target := 50 * time.Millisecond
	t0 := time.Unix(1000, 0)
	clock := 0
	feed := func(wait time.Duration, periods int) {
		for range periods {
			clock += 30
			st.observe(wait, target, t0.Add(time.Duration(clock)*time.Millisecond))
		}
	}
	feed(5*time.Millisecond, 20)
	if p := st.share(); p != 0 || st.refuse(target) {
		t.Fatalf("share %.3f within capacity", p)
	}
	feed(80*time.Millisecond, 4) // a burst: 120 ms, within the allowance
	if st.shedding.Load() {
		t.Fatalf("refusing within the burst allowance (share %.3f)", st.share())
	}
	feed(5*time.Millisecond, 1)
	if p := st.share(); p > 0.1 {
		t.Fatalf("share %.3f after a burst", p)
	}
	feed(5*time.Millisecond, 30)
	if p := st.share(); p != 0 {
		t.Fatalf("share %.3f after the burst", p)
	}
	feed(300*time.Millisecond, 30) // a standing queue: 0.9 s of it
	if p := st.share(); p < 0.5 || !st.shedding.Load() {
		t.Fatalf("share %.3f (refusing %v) under a standing queue of 300 ms", p, st.shedding.Load())
	}
	feed(2*time.Millisecond, 60)
	if p := st.share(); p != 0 {
		t.Fatalf("share %.3f 1.8 s after the queue went", p)
	}
}

// forceShed makes st refuse every new INVITE it may.
func forceShed(st *shedState, target time.Duration) {
	st.p.Store(math.Float64bits(1))
	st.delay.Store(int64(target))
	st.shedding.Store(true)
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

// While shedding, only a new call's first INVITE is refused: not one
// answering the challenge (the second round of a call taken), not an
// emergency call.
func TestShedDecision(t *testing.T) {
	s, sw, phone := overloadSwitch(t, 20*time.Millisecond)
	invite := func(called string, creds bool) *sip.Request {
		req := sip.NewRequest(sip.INVITE, phone.URI(called, sw))
		req.AppendHeader(sip.NewHeader("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK"+called))
		if creds {
			req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Digest username="1001", realm="elsewhere", nonce="n", uri="sip:442001@127.0.0.1", response="00000000000000000000000000000000"`))
		}
		return req
	}
	now := time.Now()
	s.rawShedding = false // as on a stream: the handler weighs the INVITE
	forceShed(&s.shed, 20*time.Millisecond)
	for _, c := range []struct {
		called string
		creds  bool
		want   bool
	}{{"441234", false, true}, {"441234", true, false}, {"112", false, false}} {
		if got := s.shedInvite(invite(c.called, c.creds), nil, now); got != c.want {
			t.Errorf("INVITE to %s, credentials %v: shed %v, want %v", c.called, c.creds, got, c.want)
		}
	}
	// On UDP the read loop has weighed it already.
	s.rawShedding = true
	if s.shedInvite(invite("441234", false), nil, now) {
		t.Fatal("a UDP INVITE weighed twice")
	}
}

const shedInviteMsg = "INVITE sip:441234@127.0.0.1:5060 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n" +
	"v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-0\r\n" +
	"f: \"A\" <sip:1001@127.0.0.1>;tag=abc\r\n" +
	"To: <sip:441234@127.0.0.1;tag=uri-param>\r\n" +
	"Call-ID: call-1@127.0.0.1\r\n" +
	"CSeq: 1\r\n INVITE\r\n" +
	"Contact: <sip:1001@127.0.0.1:5070>\r\n" +
	"Content-Length: 0\r\n\r\n"

// The read loop's stateless 503 answers the INVITE as RFC 3261 8.2.6 has
// a response built: every Via in order, From, To with a tag of its own
// (the same for a retransmission), Call-ID and CSeq (a folded line
// kept), Retry-After; sipgo's parser takes it.
func TestStateless503(t *testing.T) {
	var h rawHeaders
	msg := []byte(shedInviteMsg)
	if !readRawHeaders(msg, &h) || h.nvia != 2 || h.auth || hasTag(msg[h.to.start:h.to.end]) {
		t.Fatalf("headers: %+v, to tagged %v", h, hasTag(msg[h.to.start:h.to.end]))
	}
	out := appendStateless503(nil, msg, &h, 30)
	again := appendStateless503(nil, msg, &h, 30)
	if !bytes.Equal(out, again) {
		t.Fatal("a retransmission gets another answer")
	}
	m, err := sip.ParseMessage(out)
	if err != nil {
		t.Fatalf("the 503 does not parse: %v\n%s", err, out)
	}
	res, ok := m.(*sip.Response)
	if !ok || res.StatusCode != 503 {
		t.Fatalf("not a 503: %s", out)
	}
	vias := res.GetHeaders("Via")
	if len(vias) != 2 || !strings.Contains(vias[0].Value(), "z9hG4bK-1") || !strings.Contains(vias[1].Value(), "z9hG4bK-0") {
		t.Errorf("Vias %v", vias)
	}
	if tag, _ := res.To().Params.Get("tag"); !strings.HasPrefix(tag, shedTagPrefix) {
		t.Errorf("To %s: no tag of the switch's", res.To().Value())
	}
	if tag, _ := res.From().Params.Get("tag"); tag != "abc" {
		t.Errorf("From %s", res.From().Value())
	}
	if res.CallID().Value() != "call-1@127.0.0.1" || res.CSeq().SeqNo != 1 || res.CSeq().MethodName != sip.INVITE {
		t.Errorf("Call-ID %s CSeq %s", res.CallID().Value(), res.CSeq().Value())
	}
	if ra := res.GetHeader("Retry-After"); ra == nil || ra.Value() != "30" {
		t.Errorf("Retry-After %v", ra)
	}
	for name, in := range map[string]string{
		"tagged To":           strings.Replace(shedInviteMsg, "tag=uri-param>", "tag=uri-param>;tag=x", 1),
		"credentials":         strings.Replace(shedInviteMsg, "Contact:", "Proxy-Authorization: Digest username=\"1001\"\r\nContact:", 1),
		"no Call-ID":          strings.Replace(shedInviteMsg, "Call-ID: call-1@127.0.0.1\r\n", "", 1),
		"no end of headers":   shedInviteMsg[:len(shedInviteMsg)-40],
		"only a request line": "INVITE sip:1@x SIP/2.0\r\n\r\n",
	} {
		var h rawHeaders
		m := []byte(in)
		if readRawHeaders(m, &h) && !h.auth && !hasTag(m[h.to.start:h.to.end]) {
			t.Errorf("%s: would be refused statelessly", name)
		}
	}
}

// While shedding, the read loop refuses new INVITEs itself and drops the
// ACKs of its 503s; INVITEs with credentials, to an emergency number and
// other requests go on to sipgo.
func TestShedRaw(t *testing.T) {
	s, _, _ := overloadSwitch(t, 20*time.Millisecond)
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	self, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	c := newReadConn(self, s, nil, true)
	c.challenge = false // the stateless 407 has tests of its own
	from := peer.LocalAddr().(*net.UDPAddr).AddrPort()
	now := time.Now()
	invite := []byte(shedInviteMsg)
	if s.answerRaw(c, invite, from, now) {
		t.Fatal("refused without an overload")
	}
	forceShed(&s.shed, 20*time.Millisecond)
	if !s.answerRaw(c, invite, from, now) {
		t.Fatal("a new INVITE not refused in the read loop")
	}
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	n, _, err := peer.ReadFrom(buf)
	if err != nil || !bytes.HasPrefix(buf[:n], []byte("SIP/2.0 503 ")) {
		t.Fatalf("the caller got %q (%v)", buf[:n], err)
	}
	m, _ := sip.ParseMessage(buf[:n])
	tag, _ := m.(*sip.Response).To().Params.Get("tag")
	ack := strings.Replace(strings.Replace(shedInviteMsg, "INVITE sip:", "ACK sip:", 1), "tag=uri-param>", "tag=uri-param>;tag="+tag, 1)
	if !s.answerRaw(c, []byte(ack), from, now) {
		t.Error("the ACK of a stateless 503 went on to sipgo")
	}
	for name, msg := range map[string]string{
		"credentials": strings.Replace(shedInviteMsg, "Contact:", "Proxy-Authorization: Digest username=\"1001\"\r\nContact:", 1),
		"emergency":   strings.Replace(shedInviteMsg, "INVITE sip:441234@", "INVITE sip:112@", 1),
		"in-dialog":   strings.Replace(shedInviteMsg, "tag=uri-param>", "tag=uri-param>;tag=x", 1),
		"other ACK":   strings.Replace(ack, shedTagPrefix, "x", 1),
		"REGISTER":    strings.Replace(shedInviteMsg, "INVITE sip:", "REGISTER sip:", 1),
	} {
		if s.answerRaw(c, []byte(msg), from, now) {
			t.Fatalf("%s refused in the read loop", name)
		}
	}
}

func FuzzStateless503(f *testing.F) {
	f.Add([]byte(shedInviteMsg))
	f.Add([]byte("INVITE a b\r\nv:\r\n \r\nt:;tag\r\n\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		var h rawHeaders
		if !readRawHeaders(msg, &h) {
			return
		}
		hasTag(msg[h.to.start:h.to.end])
		rawURIUser(msg[h.uri.start:h.uri.end])
		if out := appendStateless503(nil, msg, &h, 30); !bytes.HasPrefix(out, []byte("SIP/2.0 503 ")) {
			t.Fatal("not a 503")
		}
	})
}
