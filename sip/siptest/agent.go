// Package siptest provides real SIP user agents (sipgo) on loopback
// addresses for the tests of the switch and its daemon: phones that
// register and call, carriers that answer, reject, ring or stay silent.
// No mock stands in for a SIP peer: every agent speaks SIP over real
// sockets.
package siptest

import (
	"context"
	"crypto/tls"
	"fmt"
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
	"github.com/icholy/digest"
)

// Agent is a real sipgo user agent on a loopback address: a phone or a
// carrier in the tests.
type Agent struct {
	t       testing.TB
	Name    string
	Network string // "udp", "tcp" or "tls"
	Host    string
	Port    int
	Client  *sipgo.Client
	Contact sip.ContactHeader
	Server  *sipgo.DialogServerCache
	Callers *sipgo.DialogClientCache

	mu     sync.Mutex
	onCall func(d *sipgo.DialogServerSession, req *sip.Request)
	onBye  func(req *sip.Request)
	onReg  func(req *sip.Request, tx sip.ServerTransaction)
	// Invites, Reinvites, Byes and Options count the requests received;
	// Last is the last INVITE (or re-INVITE).
	Invites   atomic.Int32
	Last      atomic.Pointer[sip.Request]
	Byes      atomic.Int32
	Reinvites atomic.Int32
	Options   atomic.Int32
	// Registers counts the REGISTERs received (HandleRegister answers
	// them; without it they get 405).
	Registers atomic.Int32
	// LastAck is the last ACK received.
	LastAck atomic.Pointer[sip.Request]
	// Stop closes the agent's listener and user agent: the far end of a
	// call vanishes without a BYE.
	Stop func()

	reinviteSDP atomic.Pointer[string]

	// Notifies are the NOTIFYs received, in order; NotifyStatus is what
	// the agent answers them (200 unless set).
	notifyMu     sync.Mutex
	notifies     []*sip.Request
	notifyWake   chan struct{}
	NotifyStatus atomic.Int32
}

// SetReinviteAnswer makes the agent answer re-INVITEs with sdp instead of
// ReinviteAnswer.
func (a *Agent) SetReinviteAnswer(sdp string) { a.reinviteSDP.Store(&sdp) }

const ReinviteAnswer = "v=0\r\no=re 2 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n"

func Logger() *slog.Logger {
	if os.Getenv("SIPTEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func NewAgent(t testing.TB, name, host string) *Agent {
	return NewAgentOn(t, name, host, "udp")
}

// NewAgentOn starts an agent listening on network "udp" or "tcp"; its
// requests use that transport.
func NewAgentOn(t testing.TB, name, host, network string) *Agent {
	t.Helper()
	return newAgent(t, name, host, network, "")
}

// NewAgentBehindNAT starts a UDP agent on host that believes it is at
// natAddr (a private "10.0.0.5:5060"), as a phone behind NAT does: its
// Via and Contact name natAddr, its Via asks for rport (RFC 3581), and
// what it sends leaves from host at another port. Whatever reaches it
// was sent to the address its packets came from.
func NewAgentBehindNAT(t testing.TB, name, host, natAddr string) *Agent {
	t.Helper()
	return newAgent(t, name, host, "udp", natAddr)
}

// NewAgentTLS starts an agent whose requests go over TLS, dialled with
// client (its roots, and its certificate for mutual TLS). With server it
// also listens for TLS (a carrier); without, it is reached only over the
// connections it opened (a phone behind NAT), and its Contact names port
// 5061 of host, where nothing listens.
func NewAgentTLS(t testing.TB, name, host string, client, server *tls.Config) *Agent {
	t.Helper()
	return newAgentTLS(t, name, host, "tls", "", client, server)
}

func newAgent(t testing.TB, name, host, network, natAddr string) *Agent {
	t.Helper()
	return newAgentTLS(t, name, host, network, natAddr, nil, nil)
}

func newAgentTLS(t testing.TB, name, host, network, natAddr string, clientTLS, serverTLS *tls.Config) *Agent {
	t.Helper()
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgent(name)}
	if clientTLS != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(clientTLS))
	}
	ua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		t.Fatal(err)
	}
	var conn net.PacketConn
	var ln net.Listener
	var port int
	clientOpts := []sipgo.ClientOption{sipgo.WithClientHostname(host), sipgo.WithClientLogger(Logger())}
	if network == "tls" {
		port = 5061
		if serverTLS != nil {
			if ln, err = tls.Listen("tcp", host+":0", serverTLS); err != nil {
				t.Fatal(err)
			}
			port = ln.Addr().(*net.TCPAddr).Port
		}
	} else if network == "ws" || network == "wss" {
		// A browser (RFC 7118): it listens nowhere and is reached over the
		// connection it opened.
	} else if network == "tcp" {
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
	claimHost, claimPort := host, port
	if natAddr != "" {
		h, p, err := net.SplitHostPort(natAddr)
		if err != nil {
			t.Fatal(err)
		}
		if claimPort, err = strconv.Atoi(p); err != nil {
			t.Fatal(err)
		}
		claimHost = h
		clientOpts = append(clientOpts, sipgo.WithClientHostname(claimHost), sipgo.WithClientPort(claimPort), sipgo.WithClientNAT())
	}
	client, err := sipgo.NewClient(ua, clientOpts...)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(Logger()))
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{t: t, Name: name, Host: host, Port: port, Client: client, Network: network}
	a.Contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: name, Host: claimHost, Port: claimPort}}
	if network == "tcp" || network == "tls" || network == "ws" || network == "wss" {
		a.Contact.Address.UriParams = sip.NewParams()
		a.Contact.Address.UriParams.Add("transport", network)
	}
	if network == "ws" || network == "wss" {
		// RFC 7118 5.2: a host it cannot be reached at.
		a.Contact.Address.Host, a.Contact.Address.Port = sip.GenerateTagN(10)+".invalid", 0
	}
	a.Server = sipgo.NewDialogServerCache(client, a.Contact)
	a.Callers = sipgo.NewDialogClientCache(client, a.Contact)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		if req.To().Params.Has("tag") {
			// re-INVITE: answer with our SDP marked as a re-answer.
			a.Reinvites.Add(1)
			a.Last.Store(req)
			answer := ReinviteAnswer
			if p := a.reinviteSDP.Load(); p != nil {
				answer = *p
			}
			res := sip.NewResponseFromRequest(req, 200, "OK", []byte(answer))
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			res.AppendHeader(&a.Contact)
			tx.Respond(res)
			return
		}
		a.Invites.Add(1)
		a.Last.Store(req)
		d, err := a.Server.ReadInvite(req, tx)
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
	a.notifyWake = make(chan struct{})
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		code := int(a.NotifyStatus.Load())
		if code == 0 {
			code = 200
		}
		tx.Respond(sip.NewResponseFromRequest(req, code, "Test", nil))
		a.notifyMu.Lock()
		a.notifies = append(a.notifies, req.Clone())
		close(a.notifyWake)
		a.notifyWake = make(chan struct{})
		a.notifyMu.Unlock()
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		a.LastAck.Store(req)
		a.Server.ReadAck(req, tx)
	})
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		a.Options.Add(1)
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		a.Registers.Add(1)
		a.mu.Lock()
		f := a.onReg
		a.mu.Unlock()
		if f == nil {
			tx.Respond(sip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil))
			return
		}
		f(req, tx)
	})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		a.Byes.Add(1)
		a.mu.Lock()
		onBye := a.onBye
		a.mu.Unlock()
		if onBye != nil {
			onBye(req)
		}
		if err := a.Server.ReadBye(req, tx); err == nil {
			return
		}
		if err := a.Callers.ReadBye(req, tx); err != nil {
			tx.Respond(sip.NewResponseFromRequest(req, 481, "No Dialog", nil))
		}
	})
	if network == "ws" || network == "wss" {
		a.Stop = func() { ua.Close() }
		t.Cleanup(a.Stop)
		return a
	}
	if network == "tls" {
		if ln != nil {
			go srv.ServeTLS(ln)
		}
		a.Stop = func() {
			ua.Close()
			if ln != nil {
				ln.Close()
			}
		}
		t.Cleanup(a.Stop)
		return a
	}
	if network == "tcp" {
		go srv.ServeTCP(ln)
		a.Stop = func() { ua.Close(); ln.Close() }
		t.Cleanup(a.Stop)
		return a
	}
	go srv.ServeUDP(conn)
	for i := 0; i < 500 && !slices.Contains(srv.TransportLayer().ListenPorts("udp"), port); i++ {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(2 * time.Millisecond)
	a.Stop = func() { ua.Close(); conn.Close() }
	t.Cleanup(a.Stop)
	return a
}

func (a *Agent) Handle(f func(d *sipgo.DialogServerSession, req *sip.Request)) {
	a.mu.Lock()
	a.onCall = f
	a.mu.Unlock()
}

// HandleBye runs f on every BYE the agent receives, before it answers
// it: whoever sent the BYE has not yet seen the 200.
// HandleRegister makes the agent a registrar: f answers each REGISTER
// (the agent counts them in Registers).
func (a *Agent) HandleRegister(f func(req *sip.Request, tx sip.ServerTransaction)) {
	a.mu.Lock()
	a.onReg = f
	a.mu.Unlock()
}

func (a *Agent) HandleBye(f func(req *sip.Request)) {
	a.mu.Lock()
	a.onBye = f
	a.mu.Unlock()
}

// Callee behaviours, for Agent.Handle.
func AnswerWith(sdp string) func(d *sipgo.DialogServerSession, req *sip.Request) {
	return func(d *sipgo.DialogServerSession, req *sip.Request) {
		d.Respond(180, "Ringing", nil)
		d.RespondSDP([]byte(sdp))
		<-d.Context().Done()
	}
}

func RejectWith(code int) func(d *sipgo.DialogServerSession, req *sip.Request) {
	return func(d *sipgo.DialogServerSession, req *sip.Request) {
		d.Respond(code, "Test "+strconv.Itoa(code), nil)
	}
}

// ringForever rings until cancelled (or 10 s, so nothing hangs).
func RingForever(d *sipgo.DialogServerSession, req *sip.Request) {
	d.Respond(180, "Ringing", nil)
	select {
	case <-d.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

// silent sends nothing itself (the transaction layer still sends 100).
func Silent(d *sipgo.DialogServerSession, req *sip.Request) {
	select {
	case <-d.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

func (a *Agent) URI(user string, sw net.Addr) sip.Uri {
	host, port, _ := net.SplitHostPort(sw.String())
	p, _ := strconv.Atoi(port)
	return sip.Uri{Scheme: "sip", User: user, Host: host, Port: p}
}

func (a *Agent) SetTransport(req *sip.Request) {
	switch a.Network {
	case "tcp":
		req.SetTransport("TCP")
	case "tls":
		req.SetTransport("TLS")
	case "ws":
		req.SetTransport("WS")
	case "wss":
		req.SetTransport("WSS")
	}
}

// Register sends REGISTER (answering one digest challenge when password is
// set) and returns the final response.
func (a *Agent) Register(ctx context.Context, sw net.Addr, user, password string, expires int, hdrs ...sip.Header) (*sip.Response, *sip.Request, error) {
	aor := a.URI(user, sw)
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: aor.Host, Port: aor.Port})
	req.AppendHeader(&sip.ToHeader{Address: aor})
	from := &sip.FromHeader{Address: aor}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	ct := a.Contact
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	return a.doAuthenticated(ctx, req, user, password, hdrs)
}

// Call places an INVITE (with hdrs added) through the switch with
// credentials, waits for the answer and ACKs it.
func (a *Agent) Call(ctx context.Context, sw net.Addr, called, user, password, sdp string, hdrs ...sip.Header) (*sipgo.DialogClientSession, error) {
	d, err := a.CallUnacked(ctx, sw, called, user, password, sdp, hdrs...)
	if err != nil {
		return d, err
	}
	return d, d.Ack(ctx)
}

// CallUnacked places a call as Call does but leaves the 2xx without ACK:
// the test sends it (d.Ack) when it wants to, or never.
func (a *Agent) CallUnacked(ctx context.Context, sw net.Addr, called, user, password, sdp string, hdrs ...sip.Header) (*sipgo.DialogClientSession, error) {
	return a.callUnacked(ctx, a.URI(called, sw), user, user, password, sdp, hdrs...)
}

// CallFrom places a call as Call does with fromUser in From (anonymous,
// say) while it authenticates as user.
func (a *Agent) CallFrom(ctx context.Context, sw net.Addr, called, fromUser, user, password, sdp string, hdrs ...sip.Header) (*sipgo.DialogClientSession, error) {
	d, err := a.callUnacked(ctx, a.URI(called, sw), fromUser, user, password, sdp, hdrs...)
	if err != nil {
		return d, err
	}
	return d, d.Ack(ctx)
}

// CallURI places a call as Call does to the Request-URI target (sent to
// its host and port): a carrier calling the Contact the switch registered
// with it.
func (a *Agent) CallURI(ctx context.Context, target sip.Uri, user, password, sdp string, hdrs ...sip.Header) (*sipgo.DialogClientSession, error) {
	d, err := a.callUnacked(ctx, target, user, user, password, sdp, hdrs...)
	if err != nil {
		return d, err
	}
	return d, d.Ack(ctx)
}

func (a *Agent) callUnacked(ctx context.Context, target sip.Uri, fromUser, user, password, sdp string, hdrs ...sip.Header) (*sipgo.DialogClientSession, error) {
	req := sip.NewRequest(sip.INVITE, target)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: fromUser, Host: a.Host}}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	to := target
	to.UriParams = nil
	req.AppendHeader(&sip.ToHeader{Address: to})
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(sdp))
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	a.SetTransport(req)
	d, err := a.Callers.WriteInvite(ctx, req)
	if err != nil {
		return nil, err
	}
	return d, d.WaitAnswer(ctx, sipgo.AnswerOptions{Username: user, Password: password})
}

func StatusOf(err error) int {
	var de *sipgo.ErrDialogResponse
	if e, ok := err.(*sipgo.ErrDialogResponse); ok {
		de = e
	}
	if de == nil || de.Res == nil {
		return 0
	}
	return de.Res.StatusCode
}

// CallWithCredentialsFor is an attacker's replay: it asks the switch at
// sw for a challenge with an INVITE to credNumber, answers it for
// credNumber as user, then sends an INVITE to called carrying those
// credentials. It returns the final status of the second INVITE.
func (a *Agent) CallWithCredentialsFor(ctx context.Context, sw net.Addr, credNumber, called, user, password, sdp string) (int, error) {
	first := sip.NewRequest(sip.INVITE, a.URI(credNumber, sw))
	a.addCallHeaders(first, credNumber, user, sw, sdp)
	res, err := a.Client.Do(ctx, first)
	if err != nil {
		return 0, err
	}
	if res.StatusCode != 407 {
		return res.StatusCode, fmt.Errorf("want a 407 challenge, got %d", res.StatusCode)
	}
	chal, err := digest.ParseChallenge(res.GetHeader("Proxy-Authenticate").Value())
	if err != nil {
		return 0, err
	}
	creds, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: first.Recipient.String(), Username: user, Password: password})
	if err != nil {
		return 0, err
	}
	second := sip.NewRequest(sip.INVITE, a.URI(called, sw))
	a.addCallHeaders(second, called, user, sw, sdp)
	second.AppendHeader(sip.NewHeader("Proxy-Authorization", creds.String()))
	res, err = a.Client.Do(ctx, second)
	if err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

func (a *Agent) addCallHeaders(req *sip.Request, called, user string, sw net.Addr, sdp string) {
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: a.Host}}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: a.URI(called, sw)})
	req.AppendHeader(&a.Contact)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(sdp))
	a.SetTransport(req)
}

// Notifications is the number of NOTIFYs received so far: WaitNotify
// from it sees only later ones.
func (a *Agent) Notifications() int {
	a.notifyMu.Lock()
	defer a.notifyMu.Unlock()
	return len(a.notifies)
}

// WaitNotify waits up to within for a NOTIFY after the first since and
// answers it, nil when none came.
func (a *Agent) WaitNotify(since int, within time.Duration) *sip.Request {
	timeout := time.After(within)
	for {
		a.notifyMu.Lock()
		if len(a.notifies) > since {
			req := a.notifies[since]
			a.notifyMu.Unlock()
			return req
		}
		wake := a.notifyWake
		a.notifyMu.Unlock()
		select {
		case <-wake:
		case <-timeout:
			return nil
		}
	}
}

// Subscribe sends SUBSCRIBE for event to target at the switch sw
// (answering one digest challenge as user when password is set), with
// Expires and hdrs, and returns the final response and the request.
func (a *Agent) Subscribe(ctx context.Context, sw net.Addr, target, event, user, password string, expires int, hdrs ...sip.Header) (*sip.Response, *sip.Request, error) {
	req := sip.NewRequest(sip.SUBSCRIBE, a.URI(target, sw))
	from := &sip.FromHeader{Address: a.URI(user, sw)}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: a.URI(target, sw)})
	ct := a.Contact
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Event", event))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	return a.doAuthenticated(ctx, req, user, password, hdrs)
}

// Resubscribe sends a SUBSCRIBE within the subscription that first and
// its answer res began (a refresh, or with expires 0 the end).
func (a *Agent) Resubscribe(ctx context.Context, first *sip.Request, res *sip.Response, cseq uint32, expires int) (*sip.Response, error) {
	req := sip.NewRequest(sip.SUBSCRIBE, first.Recipient)
	req.AppendHeader(sip.HeaderClone(first.From()))
	req.AppendHeader(sip.HeaderClone(res.To()))
	req.AppendHeader(sip.HeaderClone(first.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.SUBSCRIBE})
	ct := a.Contact
	req.AppendHeader(&ct)
	req.AppendHeader(sip.HeaderClone(first.GetHeader("Event")))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	a.SetTransport(req)
	return a.Client.Do(ctx, req)
}

// doAuthenticated adds hdrs to req and sends it, answering one 401
// challenge as user when password is set; it returns the final response
// and the request.
func (a *Agent) doAuthenticated(ctx context.Context, req *sip.Request, user, password string, hdrs []sip.Header) (*sip.Response, *sip.Request, error) {
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	a.SetTransport(req)
	res, err := a.Client.Do(ctx, req)
	if err != nil || res.StatusCode != 401 || password == "" {
		return res, req, err
	}
	res, err = a.Client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: password})
	return res, req, err
}
