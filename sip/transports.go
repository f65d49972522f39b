package sip

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Transports (RFC 3261 18; SIP over TLS, RFC 3261 26.2 and RFC 5630).
//
// Listeners are udp://, tcp:// and tls:// URIs. The switch's requests go
// over the transport of what they are sent to:
//
//   - a phone's calls and pings over the transport its REGISTER came on,
//     to the address it came from. Over TCP and TLS that is the
//     connection the phone registered on (connection reuse, RFC 5626 3.1
//     without its flow tokens: sipgo keeps every accepted connection in
//     its pool under the remote address, and the request is written to
//     it). When that connection is gone (the phone's NAT dropped it, the
//     phone restarted) sipgo dials the source address, where nothing
//     listens: refused at once on a host that answers with a reset (the
//     attempt fails as unreachable, 480 to the caller or the line's
//     unavailable destination), or, behind a NAT that drops the SYN,
//     waiting until the call stops ringing that contact or sipgo's
//     1-minute dial timeout (its TransportTCP.DialerCreate; replacing
//     the transport to shorten it would also replace its logger). The registration stays until the phone
//     registers again on a new connection or it expires. Phones on
//     TCP/TLS keep their connection up with keep-alives and re-register
//     well within the NAT's idle timeout.
//   - a peer's calls over the transport its destination names
//     (routing.HostPort.Transport: sips:host or host;transport=tls is
//     TLS, default port 5061, the peer's certificate verified against the
//     host as written; transport=tcp; UDP otherwise).
//
// Requests over UDP leave from the first UDP listener's socket (so that
// answers come back to it); requests over TCP and TLS must not be bound
// to that address (sipgo would look up, or dial from, a connection with
// that local address instead of the one to the far end), so each stream
// transport has its own client, whose Contact and Via name its listener:
// sip:host:port;transport=tls, and the far end's in-dialog requests come
// back over TLS. A transport the switch does not listen on (TLS out with
// no tls:// listener) names the first listener in Contact, as before.
// INFERRED: Contact keeps the sip: scheme with transport=tls rather than
// sips: (RFC 5630 prefers sips:, but a sips: Contact binds the whole
// dialog to TLS end to end, which a B2BUA cannot promise for its other
// leg).

// TLSAddr is the address of a tls:// listener (Server.Addrs): a TCP
// address whose network is "tls".
type TLSAddr struct{ *net.TCPAddr }

// Network is "tls".
func (TLSAddr) Network() string { return "tls" }

// streamUA is what the switch sends over one stream transport with.
type streamUA struct {
	client     *sipgo.Client
	plain, nat sipgo.DialogUA
}

// setupStreams builds the clients of the tcp and tls transports.
func (s *Server) setupStreams(host string) error {
	s.streams = make(map[string]*streamUA, 4)
	for _, network := range []string{"tcp", "tls", "ws", "wss"} {
		port := s.dialogUA.ContactHDR.Address.Port
		contact := s.dialogUA.ContactHDR
		for _, a := range s.addrs {
			if a.Network() == network {
				port = tcpPort(a)
				contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: host, Port: port, UriParams: sip.NewParams()}}
				contact.Address.UriParams.Add("transport", network)
				break
			}
		}
		client, err := sipgo.NewClient(s.ua, sipgo.WithClientHostname(host), sipgo.WithClientPort(port), sipgo.WithClientLogger(s.cfg.log))
		if err != nil {
			return fmt.Errorf("sip %s client: %w", network, err)
		}
		st := &streamUA{client: client, plain: sipgo.DialogUA{Client: client, ContactHDR: contact}}
		st.nat = st.plain
		st.nat.RewriteContact = true
		s.streams[network] = st
	}
	return nil
}

// clientFor is the client that sends over transport ("UDP", "TCP", "TLS";
// "" is UDP).
func (s *Server) clientFor(transport string) *sipgo.Client {
	if st := s.streams[strings.ToLower(transport)]; st != nil {
		return st.client
	}
	return s.client
}

// dialogUAFor is the dialog builder for dialogs over transport; nat: the
// far end is a phone, reached at the address its requests come from.
func (s *Server) dialogUAFor(transport string, nat bool) *sipgo.DialogUA {
	if st := s.streams[strings.ToLower(transport)]; st != nil {
		if nat {
			return &st.nat
		}
		return &st.plain
	}
	if nat {
		return &s.natDialogUA
	}
	return &s.dialogUA
}

func tcpPort(a net.Addr) int {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.Port
	case TLSAddr:
		return a.Port
	case WSAddr:
		return a.Port
	}
	return 0
}

// tlsHandshakeTimeout bounds a TLS handshake on a tls:// listener. Go's
// tls.Listener leaves the handshake to the first Read, and sipgo's reader
// sets no deadline: a connection that opens and sends nothing (a scanner,
// a slow-loris) would hold its goroutine, its 32 KiB read buffer and a
// file descriptor for ever. A phone's handshake takes milliseconds;
// INFERRED: 10 s leaves room for a slow link.
const tlsHandshakeTimeout = 10 * time.Second

// tlsListener is tls.NewListener with a bounded handshake.
type tlsListener struct {
	net.Listener
	cfg     *tls.Config
	timeout time.Duration
}

func (l tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &handshakeConn{Conn: tls.Server(c, l.cfg), timeout: l.timeout}, nil
}

// handshakeConn completes the handshake, within its timeout, on the first
// Read (sipgo's single reader goroutine; a Write before it would run the
// handshake itself, under tls.Conn's own lock).
type handshakeConn struct {
	*tls.Conn
	timeout time.Duration
	done    bool
}

func (c *handshakeConn) Read(b []byte) (int, error) {
	if !c.done {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		err := c.HandshakeContext(ctx)
		cancel()
		if err != nil {
			c.Conn.Close()
			return 0, fmt.Errorf("tls handshake: %w", err)
		}
		c.done = true
	}
	return c.Conn.Read(b)
}
