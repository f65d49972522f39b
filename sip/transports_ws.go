package sip

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// SIP over WebSocket (RFC 7118): ws:// and wss:// listeners, served by
// sipgo's WS and WSS transports behind wsListener.
//
// sipgo upgrades each accepted connection in its accept loop (its
// TransportWS.Serve calls the WebSocket upgrader before accepting the
// next), and a wss listener hands it connections whose TLS handshake runs
// on the upgrader's first read: one client that connects and sends
// nothing would stop the listener for everyone. wsListener therefore
// accepts itself and, in a goroutine per connection bounded by the
// handshake timeout (tlsHandshakeTimeout) and by maxPendingWS at once,
// completes the TLS handshake and reads the HTTP upgrade request; only a
// connection whose request is complete and allowed reaches sipgo, which
// then upgrades it from the bytes already read.
//
// Allowed (what a browser's request must show; RFC 6455 4.2.1, RFC 7118
// 4.1, RFC 6455 10.2):
//   - a GET with Upgrade: websocket, at most maxWSRequest bytes;
//   - Sec-WebSocket-Protocol naming "sip" (RFC 7118 4.1: the server
//     answers with it, and a client that did not ask for it is not a SIP
//     client);
//   - an Origin, when the request has one, the listener allows: one of
//     WithWebSocketOrigins (scheme://host[:port] as browsers send it,
//     compared without regard to case; "*" allows any), or, when none is
//     configured, the listener's own origin (the Origin's host:port is
//     the request's Host: a page served by the switch's own host and
//     port). Browsers always send Origin and a page cannot forge it, so
//     this is what keeps a page on another site that a user happens to
//     open from using the user's browser (and its network position: a
//     switch reachable only from the office LAN) to talk SIP to the
//     switch; native SIP clients send no Origin and are not browsers.
//     INFERRED: the default refuses every other site, as Asterisk's
//     and Kamailio's do not (they leave Origin to the operator's
//     configuration); an operator who serves the web phone from another
//     host lists that host.
//
// Refused requests get an HTTP error (400, or 403 for Origin) and the
// connection is closed; they never reach the SIP stack.
//
// Reaching a browser (RFC 7118 5): a browser registers a Contact whose
// host is a random name under .invalid (it has no address a server can
// reach). The registrar keeps it as any contact behind NAT: the switch's
// requests go to the address the REGISTER came from over the transport it
// came on, which for ws and wss is the WebSocket connection it registered
// on (sipgo's connection pool, keyed by the remote address, as for TCP
// and TLS). The .invalid host is never resolved: it only appears as the
// Request-URI, which the browser's stack matches. When that connection is
// gone the browser is unreachable (sipgo cannot dial a browser): the
// attempt fails at once, and the browser registers again when its stack
// reconnects.

// wssConfig is the TLS configuration of wss:// listeners: the tls://
// listeners' (the same certificate, renewed alike) without asking for a
// client certificate. INFERRED: client certificates (tls.verify_clients,
// WithTLS's ClientCAs) are how carriers authenticate on tls://; a browser
// has none to give and authenticates with digest like any line, so a
// switch that requires them of carriers still takes browsers.
func wssConfig(c *tls.Config) *tls.Config {
	if c == nil || c.ClientAuth == tls.NoClientCert {
		return c
	}
	c = c.Clone()
	c.ClientAuth, c.ClientCAs = tls.NoClientCert, nil
	return c
}

// maxWSRequest bounds the HTTP upgrade request (request line and headers).
const maxWSRequest = 8 << 10

// maxPendingWS bounds the connections of one listener whose TLS handshake
// or upgrade request is in progress; more are closed at once.
const maxPendingWS = 1024

// WSAddr is the address of a ws:// or wss:// listener (Server.Addrs): a TCP
// address whose network is "ws" or "wss".
type WSAddr struct {
	*net.TCPAddr
	Secure bool
}

// Network is "ws" or "wss".
func (a WSAddr) Network() string {
	if a.Secure {
		return "wss"
	}
	return "ws"
}

// wsListener accepts connections, completes their TLS handshake (wss) and
// checks their upgrade request before Accept hands them to sipgo.
type wsListener struct {
	net.Listener
	tls     *tls.Config // nil: ws
	timeout time.Duration
	origins []string // lower case; nil: the listener's own origin only
	refused func(reason string, remote net.Addr)

	ready   chan net.Conn
	pending chan struct{}
	done    chan struct{}
	once    sync.Once
}

func newWSListener(ln net.Listener, cfg *tls.Config, timeout time.Duration, origins []string, refused func(string, net.Addr)) *wsListener {
	l := &wsListener{Listener: ln, tls: cfg, timeout: timeout, origins: origins, refused: refused,
		ready: make(chan net.Conn), pending: make(chan struct{}, maxPendingWS), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *wsListener) acceptLoop() {
	defer l.Close()
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		select {
		case l.pending <- struct{}{}:
		default:
			c.Close()
			l.refused("too many pending connections", c.RemoteAddr())
			continue
		}
		go func() {
			defer func() { <-l.pending }()
			if pc := l.prepare(c); pc != nil {
				select {
				case l.ready <- pc:
				case <-l.done:
					pc.Close()
				}
			}
		}()
	}
}

// Accept returns the next connection whose upgrade request is allowed.
func (l *wsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close closes the listener; connections being prepared are closed.
func (l *wsListener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.Listener.Close()
	})
	return err
}

// prepare runs the TLS handshake and reads and checks the upgrade request
// within the timeout; nil: refused (and closed).
func (l *wsListener) prepare(raw net.Conn) net.Conn {
	_ = raw.SetDeadline(time.Now().Add(l.timeout))
	c := raw
	if l.tls != nil {
		tc := tls.Server(raw, l.tls)
		ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			raw.Close()
			l.refused("tls handshake: "+err.Error(), raw.RemoteAddr())
			return nil
		}
		c = tc
	}
	var got bytes.Buffer
	br := bufio.NewReader(io.TeeReader(io.LimitReader(c, maxWSRequest), &got))
	req, err := http.ReadRequest(br)
	if err != nil {
		c.Close()
		l.refused("no complete upgrade request: "+err.Error(), raw.RemoteAddr())
		return nil
	}
	if status, reason := l.check(req); status != 0 {
		fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status, http.StatusText(status))
		c.Close()
		l.refused(reason, raw.RemoteAddr())
		return nil
	}
	_ = raw.SetDeadline(time.Time{})
	return &replayConn{Conn: c, replay: got.Bytes()}
}

// check says why an upgrade request is refused (0: allowed).
func (l *wsListener) check(req *http.Request) (int, string) {
	if req.Method != http.MethodGet || !headerHasToken(req.Header, "Upgrade", "websocket") {
		return http.StatusBadRequest, "not a websocket upgrade"
	}
	if !headerHasToken(req.Header, "Sec-WebSocket-Protocol", "sip") {
		return http.StatusBadRequest, "websocket subprotocol sip not requested (RFC 7118 4.1)"
	}
	origin := req.Header.Get("Origin")
	if origin == "" || l.originAllowed(origin, req.Host) {
		return 0, ""
	}
	return http.StatusForbidden, "origin " + origin + " not allowed"
}

// originAllowed applies WithWebSocketOrigins (see the package comment).
func (l *wsListener) originAllowed(origin, host string) bool {
	o := strings.ToLower(strings.TrimSuffix(origin, "/"))
	if l.origins != nil {
		return slices.Contains(l.origins, "*") || slices.Contains(l.origins, o)
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	want := "https"
	if l.tls == nil {
		want = "http"
	}
	return u.Scheme == want && canonHostPort(u.Host, want) == canonHostPort(strings.ToLower(host), want)
}

// canonHostPort names the default port of scheme when hp has none.
func canonHostPort(hp, scheme string) string {
	if _, _, err := net.SplitHostPort(hp); err == nil {
		return hp
	}
	if scheme == "https" {
		return net.JoinHostPort(strings.Trim(hp, "[]"), "443")
	}
	return net.JoinHostPort(strings.Trim(hp, "[]"), "80")
}

// headerHasToken says whether a comma-separated header lists token (case
// insensitive).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// replayConn returns the bytes read while checking the request before
// reading the connection again.
type replayConn struct {
	net.Conn
	replay []byte
}

func (c *replayConn) Read(b []byte) (int, error) {
	if len(c.replay) > 0 {
		n := copy(b, c.replay)
		c.replay = c.replay[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// wsRefused logs a refused WebSocket connection, rate-limited as the
// transport's other noise is (anyone can open connections), and counts it.
func (s *Server) wsRefused(reason string, remote net.Addr) {
	s.stats.wsRefused.Add(1)
	slog.New(s.transportLog).Error("websocket refused", "error", reason, "raddr", remote.String())
}
