package sip

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// agent is a real sipgo user agent on a loopback address: a phone or a
// carrier in the tests.
type agent struct {
	t       testing.TB
	name    string
	network string
	host    string
	port    int
	client  *sipgo.Client
	contact sip.ContactHeader
	server  *sipgo.DialogServerCache
	callers *sipgo.DialogClientCache

	mu      sync.Mutex
	onCall  func(d *sipgo.DialogServerSession, req *sip.Request)
	invites atomic.Int32
	last    atomic.Pointer[sip.Request]
	byes    atomic.Int32

	reinvites atomic.Int32
	options   atomic.Int32
	// stop closes the agent's listener and user agent: the far end of a
	// call vanishes without a BYE.
	stop func()
}

const reinviteAnswer = "v=0\r\no=re 2 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n"

func testLogger() *slog.Logger {
	if os.Getenv("SIPTEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newAgent(t testing.TB, name, host string) *agent {
	return newAgentOn(t, name, host, "udp")
}

// newAgentOn starts an agent listening on network "udp" or "tcp"; its
// requests use that transport.
func newAgentOn(t testing.TB, name, host, network string) *agent {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(name))
	if err != nil {
		t.Fatal(err)
	}
	var conn net.PacketConn
	var ln net.Listener
	var port int
	clientOpts := []sipgo.ClientOption{sipgo.WithClientHostname(host), sipgo.WithClientLogger(testLogger())}
	if network == "tcp" {
		ln, err = net.Listen("tcp", host+":0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
	} else {
		conn, err = net.ListenPacket("udp", host+":0")
		if err != nil {
			t.Fatal(err)
		}
		port = conn.LocalAddr().(*net.UDPAddr).Port
		clientOpts = append(clientOpts, sipgo.WithClientPort(port), sipgo.WithClientConnectionAddr(conn.LocalAddr().String()))
	}
	client, err := sipgo.NewClient(ua, clientOpts...)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{t: t, name: name, host: host, port: port, client: client, network: network}
	a.contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: name, Host: host, Port: port}}
	if network == "tcp" {
		a.contact.Address.UriParams = sip.NewParams()
		a.contact.Address.UriParams.Add("transport", "tcp")
	}
	a.server = sipgo.NewDialogServerCache(client, a.contact)
	a.callers = sipgo.NewDialogClientCache(client, a.contact)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		if req.To().Params.Has("tag") {
			// re-INVITE: answer with our SDP marked as a re-answer.
			a.reinvites.Add(1)
			a.last.Store(req)
			res := sip.NewResponseFromRequest(req, 200, "OK", []byte(reinviteAnswer))
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			res.AppendHeader(&a.contact)
			tx.Respond(res)
			return
		}
		a.invites.Add(1)
		a.last.Store(req)
		d, err := a.server.ReadInvite(req, tx)
		if err != nil {
			return
		}
		defer d.Close()
		a.mu.Lock()
		f := a.onCall
		a.mu.Unlock()
		if f == nil {
			d.Respond(480, "Not Configured", nil)
			return
		}
		f(d, req)
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { a.server.ReadAck(req, tx) })
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		a.options.Add(1)
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		a.byes.Add(1)
		if err := a.server.ReadBye(req, tx); err == nil {
			return
		}
		if err := a.callers.ReadBye(req, tx); err != nil {
			tx.Respond(sip.NewResponseFromRequest(req, 481, "No Dialog", nil))
		}
	})
	if network == "tcp" {
		go srv.ServeTCP(ln)
		a.stop = func() { ua.Close(); ln.Close() }
		t.Cleanup(a.stop)
		return a
	}
	go srv.ServeUDP(conn)
	for i := 0; i < 500 && !slices.Contains(srv.TransportLayer().ListenPorts("udp"), port); i++ {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(2 * time.Millisecond)
	a.stop = func() { ua.Close(); conn.Close() }
	t.Cleanup(a.stop)
	return a
}

func (a *agent) handle(f func(d *sipgo.DialogServerSession, req *sip.Request)) {
	a.mu.Lock()
	a.onCall = f
	a.mu.Unlock()
}

// Callee behaviours.
func answerWith(sdp string) func(d *sipgo.DialogServerSession, req *sip.Request) {
	return func(d *sipgo.DialogServerSession, req *sip.Request) {
		d.Respond(180, "Ringing", nil)
		d.RespondSDP([]byte(sdp))
		<-d.Context().Done()
	}
}

func rejectWith(code int) func(d *sipgo.DialogServerSession, req *sip.Request) {
	return func(d *sipgo.DialogServerSession, req *sip.Request) {
		d.Respond(code, "Test "+strconv.Itoa(code), nil)
	}
}

// ringForever rings until cancelled (or 10 s, so nothing hangs).
func ringForever(d *sipgo.DialogServerSession, req *sip.Request) {
	d.Respond(180, "Ringing", nil)
	select {
	case <-d.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

// silent sends nothing itself (the transaction layer still sends 100).
func silent(d *sipgo.DialogServerSession, req *sip.Request) {
	select {
	case <-d.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

func (a *agent) uri(user string, sw net.Addr) sip.Uri {
	host, port, _ := net.SplitHostPort(sw.String())
	p, _ := strconv.Atoi(port)
	return sip.Uri{Scheme: "sip", User: user, Host: host, Port: p}
}

func (a *agent) setTransport(req *sip.Request) {
	if a.network == "tcp" {
		req.SetTransport("TCP")
	}
}

// register sends REGISTER (answering one digest challenge when password is
// set) and returns the final response.
func (a *agent) register(ctx context.Context, sw net.Addr, user, password string, expires int, hdrs ...sip.Header) (*sip.Response, *sip.Request, error) {
	aor := a.uri(user, sw)
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: aor.Host, Port: aor.Port})
	req.AppendHeader(&sip.ToHeader{Address: aor})
	from := &sip.FromHeader{Address: aor}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	ct := a.contact
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	a.setTransport(req)
	res, err := a.client.Do(ctx, req)
	if err != nil || res.StatusCode != 401 || password == "" {
		return res, req, err
	}
	res, err = a.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: password})
	return res, req, err
}

// call places an INVITE (with hdrs added) through the switch with
// credentials, waits for the answer and ACKs it.
func (a *agent) call(ctx context.Context, sw net.Addr, called, user, password, sdp string, hdrs ...sip.Header) (*sipgo.DialogClientSession, error) {
	req := sip.NewRequest(sip.INVITE, a.uri(called, sw))
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: a.host}}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: a.uri(called, sw)})
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(sdp))
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	a.setTransport(req)
	d, err := a.callers.WriteInvite(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := d.WaitAnswer(ctx, sipgo.AnswerOptions{Username: user, Password: password}); err != nil {
		return d, err
	}
	return d, d.Ack(ctx)
}

func statusOf(err error) int {
	var de *sipgo.ErrDialogResponse
	if e, ok := err.(*sipgo.ErrDialogResponse); ok {
		de = e
	}
	if de == nil || de.Res == nil {
		return 0
	}
	return de.Res.StatusCode
}

// startSwitch runs a Server on an ephemeral UDP port of 127.0.0.1.
func startSwitch(t testing.TB, dir Directory, opts ...Option) (*Server, net.Addr) {
	t.Helper()
	all := append([]Option{WithListen("udp://127.0.0.1:0"), WithLogger(testLogger()), WithRealm("test")}, opts...)
	s, err := New(dir, all...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx) }()
	select {
	case <-s.Ready():
	case err := <-errc:
		t.Fatalf("serve: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("switch not ready")
	}
	t.Cleanup(func() { cancel(); s.Close() })
	return s, s.Addrs()[0]
}

// eventually polls cond for up to 5 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
