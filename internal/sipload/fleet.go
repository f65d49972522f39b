package sipload

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Fleet is the phones of a run, all registering with one switch listener
// over one transport.
type Fleet struct {
	cfg       config
	network   string // "udp", "tcp" or "tls"
	transport string // as in Via: "UDP", "TCP", "TLS"
	sw        netip.AddrPort
	phones    []*phone
	next      atomic.Uint64 // the phone of the next call

	// Handshakes counts the phones' TLS handshakes: full and resumed.
	full, resumed atomic.Int64
}

// phone is one line: its own source address and, while connected, its
// own user agent.
type phone struct {
	f        *Fleet
	name     string
	password string
	src      netip.Addr
	tls      *tls.Config // own clone with its own session cache (TLS)

	mu sync.Mutex
	ep *endpoint // nil until connected
}

// endpoint is a phone's user agent: over UDP its socket, over TCP and TLS
// the connection its first request opens.
type endpoint struct {
	ua      *sipgo.UserAgent
	client  *sipgo.Client
	callers *sipgo.DialogClientCache
	contact sip.ContactHeader
	conn    net.PacketConn // UDP only
	served  chan struct{}  // UDP: closed when the read loop ends
}

// NewFleet makes the phones of a run against the switch listener
// switchURI (udp://, tcp:// or tls:// with an IP address and port); none
// sends anything before Register.
func NewFleet(switchURI string, opts ...Option) (*Fleet, error) {
	cfg := defaults()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	network, sw, err := parseSwitch(switchURI)
	if err != nil {
		return nil, err
	}
	first := cfg.sources.As4()
	base := uint32(first[0])<<24 | uint32(first[1])<<16 | uint32(first[2])<<8 | uint32(first[3])
	if last := base + uint32(cfg.phones) - 1; last>>24 != 127 || last == 0x7fffffff {
		return nil, fmt.Errorf("%w: %d phones from %s leave 127.0.0.0/8", ErrBadOption, cfg.phones, cfg.sources)
	}
	f := &Fleet{cfg: cfg, network: network, transport: strings.ToUpper(network), sw: sw}
	for i := range cfg.phones {
		a := base + uint32(i)
		name := strconv.Itoa(cfg.firstPhone + i)
		p := &phone{f: f, name: name, password: cfg.passwordPrefix + name,
			src: netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})}
		if network == "tls" {
			p.tls = f.phoneTLS()
		}
		f.phones = append(f.phones, p)
	}
	return f, nil
}

// parseSwitch reads udp://127.0.0.1:15060.
func parseSwitch(s string) (network string, addr netip.AddrPort, err error) {
	u, err := url.Parse(s)
	if err == nil {
		network = strings.ToLower(u.Scheme)
		addr, err = netip.ParseAddrPort(u.Host)
	}
	if err != nil || (network != "udp" && network != "tcp" && network != "tls") || u.Path != "" {
		return "", netip.AddrPort{}, fmt.Errorf("%w: switch %q: want udp://, tcp:// or tls:// and an IP address and port", ErrBadOption, s)
	}
	return network, addr, nil
}

// phoneTLS is a phone's TLS configuration: the fleet's, with a session
// cache of its own (a phone resumes its own sessions, as a real one does)
// and a count of full and resumed handshakes.
func (f *Fleet) phoneTLS() *tls.Config {
	c := &tls.Config{}
	if f.cfg.roots != nil {
		c = f.cfg.roots.Clone()
	}
	c.ClientSessionCache = tls.NewLRUClientSessionCache(1)
	next := c.VerifyConnection
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		if cs.DidResume {
			f.resumed.Add(1)
		} else {
			f.full.Add(1)
		}
		if next != nil {
			return next(cs)
		}
		return nil
	}
	return c
}

// Network is the fleet's transport: "udp", "tcp" or "tls".
func (f *Fleet) Network() string { return f.network }

// Phones is the number of phones.
func (f *Fleet) Phones() int { return len(f.phones) }

// Handshakes are the TLS handshakes so far: full and resumed.
func (f *Fleet) Handshakes() (full, resumed int64) { return f.full.Load(), f.resumed.Load() }

// PhaseResult is what a registration round did.
type PhaseResult struct {
	OK, Failed int
	FirstError error
	Elapsed    time.Duration
	// Register is each successful registration's time: connection
	// (handshake included) to the 200 of the authenticated REGISTER.
	Register Latencies
	// Full and Resumed are the TLS handshakes of the round.
	Full, Resumed int64
}

// Register connects every phone not yet connected and registers it,
// Parallel at a time.
func (f *Fleet) Register(ctx context.Context) PhaseResult {
	return f.round(ctx, false)
}

// Reconnect closes every phone's user agent (over TCP and TLS, its
// connection) and registers it again from a new one: over TLS, on a
// resumed session.
func (f *Fleet) Reconnect(ctx context.Context) PhaseResult {
	return f.round(ctx, true)
}

func (f *Fleet) round(ctx context.Context, reconnect bool) PhaseResult {
	full0, resumed0 := f.Handshakes()
	var res PhaseResult
	var mu sync.Mutex
	next := make(chan *phone)
	var wg sync.WaitGroup
	start := time.Now()
	for range min(f.cfg.parallel, len(f.phones)) {
		wg.Go(func() {
			for p := range next {
				if reconnect {
					p.disconnect()
				}
				t0 := time.Now()
				err := p.register(ctx)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					res.Failed++
					if res.FirstError == nil {
						res.FirstError = fmt.Errorf("phone %s: %w", p.name, err)
					}
				} else {
					res.OK++
					res.Register.Add(d)
				}
				mu.Unlock()
			}
		})
	}
	for _, p := range f.phones {
		select {
		case next <- p:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	res.Elapsed = time.Since(start)
	full1, resumed1 := f.Handshakes()
	res.Full, res.Resumed = full1-full0, resumed1-resumed0
	return res
}

// Close closes every phone's user agent.
func (f *Fleet) Close() {
	var wg sync.WaitGroup
	next := make(chan *phone)
	for range min(64, len(f.phones)) {
		wg.Go(func() {
			for p := range next {
				p.disconnect()
			}
		})
	}
	for _, p := range f.phones {
		next <- p
	}
	close(next)
	wg.Wait()
}

// endpoint returns the phone's user agent, making it first if needed.
func (p *phone) endpoint() (*endpoint, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ep != nil {
		return p.ep, nil
	}
	ep, err := p.connect()
	if err != nil {
		return nil, err
	}
	p.ep = ep
	return ep, nil
}

func (p *phone) disconnect() {
	p.mu.Lock()
	ep := p.ep
	p.ep = nil
	p.mu.Unlock()
	if ep == nil {
		return
	}
	ep.ua.Close()
	if ep.conn != nil {
		ep.conn.Close()
		<-ep.served
	}
}

// connect makes the phone's user agent: over UDP a socket on its address;
// over TCP and TLS nothing yet, the first request dials from its address.
func (p *phone) connect() (*endpoint, error) {
	f := p.f
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgent("sipload-" + p.name)}
	if p.tls != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(p.tls))
	}
	ua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		return nil, err
	}
	ep := &endpoint{ua: ua}
	host := p.src.String()
	clientOpts := []sipgo.ClientOption{sipgo.WithClientHostname(host), sipgo.WithClientLogger(f.cfg.log)}
	ep.contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.name, Host: host}}
	if f.network == "udp" {
		conn, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if err != nil {
			ua.Close()
			return nil, fmt.Errorf("phone %s socket: %w", p.name, err)
		}
		ep.conn = conn
		port := conn.LocalAddr().(*net.UDPAddr).Port
		ep.contact.Address.Port = port
		clientOpts = append(clientOpts, sipgo.WithClientPort(port), sipgo.WithClientConnectionAddr(conn.LocalAddr().String()))
	} else {
		// Its Contact names port 5061, where nothing listens: the switch
		// reaches it over the connection it registered on.
		ep.contact.Address.Port = 5061
		ep.contact.Address.UriParams = sip.NewParams()
		ep.contact.Address.UriParams.Add("transport", f.network)
		clientOpts = append(clientOpts, sipgo.WithClientConnectionAddr(net.JoinHostPort(host, "0")))
	}
	ep.client, err = sipgo.NewClient(ua, clientOpts...)
	if err == nil {
		ep.callers = sipgo.NewDialogClientCache(ep.client, ep.contact)
		err = p.serve(ep)
	}
	if err != nil {
		ua.Close()
		if ep.conn != nil {
			ep.conn.Close()
		}
		return nil, err
	}
	return ep, nil
}

// serve answers what the switch sends the phone: BYE of a call it ended,
// OPTIONS pings; an INVITE to the phone is refused (the load calls out
// only).
func (p *phone) serve(ep *endpoint) error {
	srv, err := sipgo.NewServer(ep.ua, sipgo.WithServerLogger(p.f.cfg.log))
	if err != nil {
		return err
	}
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := ep.callers.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		}
	})
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 486, "Busy Here", nil))
	})
	if ep.conn == nil {
		return nil
	}
	ep.served = make(chan struct{})
	go func() { defer close(ep.served); _ = srv.ServeUDP(ep.conn) }()
	return waitServed(ep.ua, ep.conn)
}

// waitServed waits until sipgo has taken conn into its pool (ServeUDP
// does it in its own goroutine): a request sent before would make sipgo
// open a second socket on the same address, and fail.
func waitServed(ua *sipgo.UserAgent, conn net.PacketConn) error {
	addr := conn.LocalAddr().String()
	for range 2000 {
		if c, err := ua.TransportLayer().GetConnection("udp", addr); err == nil && c != nil {
			return nil
		}
		time.Sleep(500 * time.Microsecond)
	}
	return fmt.Errorf("UDP socket %s not served after 1 s", addr)
}

// switchURI is the switch's address as a SIP URI for user ("" none).
func (f *Fleet) switchURI(user string) sip.Uri {
	return sip.Uri{Scheme: "sip", User: user, Host: f.sw.Addr().String(), Port: int(f.sw.Port())}
}

// register sends REGISTER, answers the 401 and wants a 200.
func (p *phone) register(ctx context.Context) error {
	ep, err := p.endpoint()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, p.f.cfg.timeout)
	defer cancel()
	aor := p.f.switchURI(p.name)
	req := sip.NewRequest(sip.REGISTER, p.f.switchURI(""))
	req.AppendHeader(&sip.ToHeader{Address: aor})
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	ct := ep.contact
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(p.f.cfg.expires)))
	req.SetTransport(p.f.transport)
	res, err := ep.client.Do(ctx, req)
	if err != nil {
		return err
	}
	if res.StatusCode == 401 {
		res, err = ep.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: p.name, Password: p.password})
		if err != nil {
			return err
		}
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("%w: REGISTER answered %d %s", ErrRejected, res.StatusCode, res.Reason)
	}
	return nil
}
