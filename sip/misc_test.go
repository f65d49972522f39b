package sip

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

func TestOptionsOverUDPAndTCP(t *testing.T) {
	s, _ := startSwitch(t, newTestDirectory(), WithListen("tcp://127.0.0.1:0"))
	if len(s.Addrs()) != 2 {
		t.Fatalf("addrs %v", s.Addrs())
	}
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range s.Addrs() {
		host, port, _ := net.SplitHostPort(a.String())
		req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: host, Port: atoi(port)})
		req.SetTransport(strings.ToUpper(a.Network()))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, err := client.Do(ctx, req)
		cancel()
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("OPTIONS over %s: %v %v", a.Network(), res, err)
		}
	}
}

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogsCarryNoSecrets(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f, ctx := newFixture(t, WithLogger(log))
	f.dir.edit(func() { f.peer1.Username, f.peer1.Password = "trunkuser", "trunk-secret-xyz" })
	f.carrier1.Handle(siptest.RejectWith(503))
	f.carrier2.Handle(siptest.AnswerWith(carrierSDP))
	if res, _, err := f.phone.Register(ctx, f.s.Addrs()[0], "1001", "wrong-pass-abc", 300); err != nil || res.StatusCode != 403 {
		t.Fatalf("register: %v %v", res, err)
	}
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "call ended", func() bool { return f.s.Stats().ActiveCalls == 0 })
	out := logs.String()
	if !strings.Contains(out, "sip call attempt") {
		t.Fatal("no attempt log line")
	}
	for _, secret := range []string{"secret1001", "wrong-pass-abc", "trunk-secret-xyz"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q", secret)
		}
	}
}

func TestTotalMaximumOnCalledLine(t *testing.T) {
	f, ctx := newFixture(t)
	f.dir.edit(func() { f.dir.phones["1002"].TotalMaximum = 1 })
	callee := siptest.NewAgent(t, "callee", "127.0.0.1")
	registerLine(t, ctx, f, callee, "1002", "secret1002")
	callee.Handle(siptest.AnswerWith(carrierSDP))
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "1002", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	_, err = f.phone.Call(ctx, f.s.Addrs()[0], "1002", "1001", "secret1001", callerSDP)
	if got := siptest.StatusOf(err); got != 486 {
		t.Fatalf("second call got %d (%v), want 486", got, err)
	}
	if callee.Invites.Load() != 1 {
		t.Errorf("callee rang %d times, want 1", callee.Invites.Load())
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 })
}

func TestMaxForwardsExhausted(t *testing.T) {
	f, ctx := newFixture(t)
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	req := sip.NewRequest(sip.INVITE, f.phone.URI("441234", f.s.Addrs()[0]))
	hops := sip.MaxForwardsHeader(1)
	req.AppendHeader(&hops)
	d, err := f.phone.Callers.WriteInvite(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	err = d.WaitAnswer(ctx, sipgo.AnswerOptions{Username: "1001", Password: "secret1001"})
	if got := siptest.StatusOf(err); got != 483 {
		t.Fatalf("got %d (%v), want 483", got, err)
	}
	if f.carrier1.Invites.Load() != 0 {
		t.Error("looping call reached the carrier")
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
	}{
		{"listen scheme", WithListen("tls://127.0.0.1:5061")},
		{"listen port", WithListen("udp://127.0.0.1")},
		{"expiry bounds", WithRegisterExpiry(600, 60, 100)},
		{"algorithm", WithDigestAlgorithms("SHA-512")},
		{"peer timeout", WithPeerTimeout(0)},
		{"realm", WithRealm(`bad"realm`)},
		{"auth block", withAuthBlock(0, time.Second, time.Second)},
		{"user agent", withUserAgent("a\r\nb")},
	}
	for _, tc := range tests {
		if _, err := New(newTestDirectory(), tc.opt); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if err := SetTransactionTimers(TransactionTimers{T1: time.Second, T2: time.Millisecond}); err == nil {
		t.Error("T2 under T1 accepted")
	}
	if err := SetTransactionTimers(TransactionTimers{Linger: -time.Second}); err == nil {
		t.Error("negative linger accepted")
	}
	if _, err := New(nil); err == nil {
		t.Error("nil directory accepted")
	}
	var _ Directory = (*testDirectory)(nil)
	_ = engine.Registration{}
}

// freePort finds a port free for both UDP and TCP on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", u.LocalAddr().String())
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no port free for udp and tcp")
	return 0
}

func TestPhoneOverTCP(t *testing.T) {
	port := itoa(freePort(t))
	dir := newTestDirectory()
	dir.addPhone(phoneFixture("1001", "secret1001"))
	dir.addPhone(phoneFixture("1002", "secret1002"))
	carrier := siptest.NewAgent(t, "carrier1", "127.0.0.2")
	carrier.Handle(siptest.AnswerWith(carrierSDP))
	p1 := peerFor(carrier, 11)
	dir.addPeer(p1)
	dir.addRoute("44", 7, p1)
	s, err := New(dir, WithListen("udp://127.0.0.1:"+port, "tcp://127.0.0.1:"+port), WithLogger(siptest.Logger()), WithRealm("test"))
	if err != nil {
		t.Fatal(err)
	}
	sctx := t.Context()
	defer s.Close()
	go s.Serve(sctx)
	<-s.Ready()
	udpSw, tcpSw := s.Addrs()[0], s.Addrs()[1]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	tcpPhone := siptest.NewAgentOn(t, "tcpphone", "127.0.0.1", "tcp")
	tcpPhone.Handle(siptest.AnswerWith(carrierSDP))
	if res, _, err := tcpPhone.Register(ctx, tcpSw, "1002", "secret1002", 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("tcp register: %v %v", res, err)
	}
	if r := s.Registrations(); len(r) != 1 || !strings.EqualFold(r[0].Transport, "tcp") {
		t.Fatalf("registration %+v", r)
	}

	// A UDP phone calls the TCP phone: the B-leg goes over TCP.
	udpPhone := siptest.NewAgent(t, "udpphone", "127.0.0.1")
	d, err := udpPhone.Call(ctx, udpSw, "1002", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call to tcp phone: %v", err)
	}
	if inv := tcpPhone.Last.Load(); inv == nil || !strings.EqualFold(inv.Transport(), "tcp") {
		t.Fatalf("tcp phone INVITE %v", inv)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "tcp phone BYE", func() bool { return tcpPhone.Byes.Load() == 1 })

	// The TCP phone calls out.
	d, err = tcpPhone.Call(ctx, tcpSw, "441234", "1002", "secret1002", callerSDP)
	if err != nil {
		t.Fatalf("call from tcp phone: %v", err)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "slots released", func() bool { return dir.activeSlots() == 0 && s.Stats().ActiveCalls == 0 })
}

// One listen-URI rule for the daemon's configuration and the SIP core.
func TestParseListenURI(t *testing.T) {
	for _, tc := range []struct {
		in, network, addr string
	}{
		{"udp://127.0.0.1:5060", "udp", "127.0.0.1:5060"},
		{"UDP://127.0.0.1:5060", "udp", "127.0.0.1:5060"},
		{"tcp://[::1]:5060/", "tcp", "[::1]:5060"},
		{"udp://127.0.0.1:5060/sip", "", ""},
		{"udp://127.0.0.1:5060?x=1", "", ""},
		{"udp://user@127.0.0.1:5060", "", ""},
		{"udp://127.0.0.1", "", ""},
		{"TLS://127.0.0.1:5061", "tls", "127.0.0.1:5061"},
		{"WSS://127.0.0.1:8089", "wss", "127.0.0.1:8089"},
		{"ws://127.0.0.1:8088", "ws", "127.0.0.1:8088"},
		{"wss://127.0.0.1:8089/ws", "", ""},
		{"sctp://127.0.0.1:5060", "", ""},
		{"127.0.0.1:5060", "", ""},
	} {
		network, addr, err := ParseListenURI(tc.in)
		if (err != nil) != (tc.network == "") || network != tc.network || addr != tc.addr {
			t.Errorf("%q: %q %q %v, want %q %q", tc.in, network, addr, err, tc.network, tc.addr)
		}
	}
}

// A busy callee is "busy" everywhere: in the attempt's log line (the
// peer's own reason text beside it), to the attempt observer that feeds
// sipswitch_calls_failed_total, and in the per-call failure counters.
func TestFailureCauseIsOneVocabulary(t *testing.T) {
	var logs syncBuffer
	var mu sync.Mutex
	var causes []string
	observe := WithAttemptObserver(func(r AttemptResult) {
		mu.Lock()
		causes = append(causes, r.Cause)
		mu.Unlock()
	})
	f, ctx := newFixture(t, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), observe)
	f.carrier1.Handle(siptest.RejectWith(486))
	f.carrier2.Handle(siptest.RejectWith(486))
	if _, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP); err == nil {
		t.Fatal("call to a busy carrier answered")
	}
	eventually(t, "call ended", func() bool { return f.s.Stats().ActiveCalls == 0 })
	line := logLine(logs.String(), "sip call attempt")
	for _, want := range []string{"outcome=busy", "status=486", `reason="Test 486"`} {
		if !strings.Contains(line, want) {
			t.Errorf("attempt log %q lacks %s", line, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(causes) == 0 || causes[0] != "busy" {
		t.Errorf("observer causes %v, want busy", causes)
	}
	if st := f.s.Stats(); st.FailedBusy != 1 || st.FailedOther != 0 {
		t.Errorf("per-call failures busy %d other %d, want 1 and 0", st.FailedBusy, st.FailedOther)
	}
}

// A line at its totalmaximum is busy whatever it dials, an unroutable
// number included, as the rendered dialplan checks the line's
// GROUP_COUNT before it routes: the line's slot, taken with a routed
// call's first admitted attempt, is checked after a routing failure too.
func TestLineAtTotalMaximumIsBusyWhateverItDials(t *testing.T) {
	f, ctx := newFixture(t)
	f.dir.edit(func() { f.dir.phones["1001"].TotalMaximum = 1 })
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	sw := f.s.Addrs()[0]
	_, err := f.phone.Call(ctx, sw, "999999", "1001", "secret1001", callerSDP)
	free := siptest.StatusOf(err)
	if free == 0 || free == 486 {
		t.Fatalf("an unroutable number from a free line: %d (%v)", free, err)
	}
	eventually(t, "the refused call's slot released", func() bool { return f.dir.activeSlots() == 0 })
	d, err := f.phone.Call(ctx, sw, "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	for _, called := range []string{"999999", "441235"} {
		_, err = f.phone.Call(ctx, sw, called, "1001", "secret1001", callerSDP)
		if got := siptest.StatusOf(err); got != 486 {
			t.Errorf("%s from a line at its totalmaximum: %d (%v), want 486", called, got, err)
		}
	}
	if n := f.carrier1.Invites.Load(); n != 1 {
		t.Errorf("the carrier got %d INVITEs, want 1", n)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 })
}
