package sip

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/auth"
	"github.com/sipswitch/sipswitch/sip/media"
	"github.com/sipswitch/sipswitch/sip/registrar"
)

// config holds everything the options set. Zero values are replaced by the
// defaults in newConfig.
type config struct {
	listen         []listenURI
	advertise      string
	userAgent      string
	now            func() time.Time
	log            *slog.Logger
	store          RegistrationStore
	peerTimeout    time.Duration // no provisional (18x) from a peer within this: next attempt
	maxRing        time.Duration // upper bound for ringing any call
	maxCall        time.Duration // upper bound for an answered call (dead-leg guard)
	retryAfter     int
	overloadDelay  time.Duration
	observe        func(AttemptResult)
	maxCalls       int           // concurrent calls (ringing or up); 0: no limit
	maxCPS         int           // new calls per second; 0: no limit
	sessionExpires time.Duration // session timer interval offered and accepted; 0: off
	minSE          time.Duration // shortest session interval accepted
	floodLimit     int           // messages per second per source address; 0: off
	floodBlock     time.Duration
	peerMatch      PeerMatch
	record         func(records.Call) // nil: no call records
	voicemail      *routing.HostPort  // nil: no voicemail server
	relay          *media.Engine      // nil: media always end to end
	recordings     string             // callrecord.go: "" records nothing
	relayMode      media.Mode
	registrar      []registrar.Option // expiry bounds, ping: the registrar checks them
	auth           []auth.Option      // realm, algorithms, nonces, guard, watch: auth checks them
	observeMedia   func(MediaResult)
	observeDelay   func(DelayStage, time.Duration)
	tracer         sip.SIPTracer // nil: messages the read loop takes are not copied
	addrTracer     AddrTracer    // tracer, when it takes addresses (nil: it takes strings)
	tlsServer      *tls.Config   // tls:// listeners; nil: none allowed
	tlsClient      *tls.Config   // the switch's own TLS connections; nil: sipgo's default
	tlsHandshake   time.Duration
	trunkTiming    trunkTiming // outbound registrations and qualify of trunks (trunkkeeper.go)
	wsOrigins      []string    // nil: a listener's own origin only (transports_ws.go)
	sdesWithoutTLS bool        // WithSDESWithoutTLS
}

// AttemptResult is how one attempt of a call ended, for metrics.
type AttemptResult struct {
	Peer     string // peer name; "" for an attempt to a local line
	Phone    string // called line for local attempts
	Cause    string // "answered" or a failure cause: no_route, barred, busy, no_answer, canceled, limit, spend_limit, timeout, media, unavailable, other
	Duration time.Duration
}

// WithVoicemail sets the voicemail server (host[:port]) that lines'
// voicemail destinations (btype/dtype/utype voicemail) send calls to: the
// Request-URI user is the mailbox, and Diversion names the line and why
// (user-busy, no-answer, unavailable). The Asterisk that hosts the
// rendered voicemail context is the obvious one. Without it such a
// destination ends the call with its code. Its message-summary NOTIFYs,
// over UDP from exactly this address and port, are the only NOTIFYs the
// switch takes (mwi.go).
func WithVoicemail(hostport string) Option {
	return func(c *config) error {
		hp, err := routing.ParseHostPort(hostport)
		if err != nil {
			return fmt.Errorf("voicemail server %q: %w: %w", hostport, err, ErrBadOption)
		}
		c.voicemail = &hp
		return nil
	}
}

// WithMediaRelay anchors calls' media on engine (sip/media) under mode:
// media.ModeAuto relays the calls of lines behind NAT, media.ModeAlways
// every call, media.ModeNever none (SDP end to end). The engine is the
// caller's: it outlives the Server and is closed after Drain. Without
// this option no call is relayed. SetMediaRelay changes the mode live.
func WithMediaRelay(engine *media.Engine, mode media.Mode) Option {
	return func(c *config) error {
		if _, err := media.ParseMode(string(mode)); err != nil || mode == "" {
			return fmt.Errorf("media relay mode %q: %w", mode, ErrBadOption)
		}
		if engine == nil && mode != media.ModeNever {
			return fmt.Errorf("media relay mode %s without an engine: %w", mode, ErrBadOption)
		}
		c.relay, c.relayMode = engine, mode
		return nil
	}
}

// WithMediaObserver is told the media quality of every relayed call when
// it ends (for metrics). It runs on the call's goroutine and must not
// block.
func WithMediaObserver(f func(MediaResult)) Option {
	return func(c *config) error { c.observeMedia = f; return nil }
}

// WithCallRecords hands every call's record to record when the call ends
// (once per call the switch routed: after authentication or a peer
// match). It may block briefly; it runs on the call's own goroutine.
func WithCallRecords(record func(records.Call)) Option {
	return func(c *config) error { c.record = record; return nil }
}

// WithSIPTracer copies to t every UDP message the read loop takes without
// sipgo (the stateless 407s and 503s and the requests they answer, their
// ACKs, in-dialog ACKs and BYEs: readconn.go) and the answers it sends,
// as sipgo's tracer (sip.SIPDebugTracer) copies what sipgo reads and
// writes. Give the same t to both, or HEP capture misses those messages.
// When t is also an AddrTracer the read loop calls its hooks instead.
func WithSIPTracer(t sip.SIPTracer) Option {
	return func(c *config) error {
		c.tracer = t
		c.addrTracer, _ = t.(AddrTracer)
		return nil
	}
}

// AddrTracer is what a tracer given to WithSIPTracer may also implement
// (capture.Sender does) to be handed the read loop's messages with their
// addresses as the socket gave them and a datagram's arrival as the read
// loop took it: sipgo's hooks take strings, which cost the read loop and
// every call goroutine that writes an address formatted per message, and
// the tracer a lookup or a parse to read it back, and a tracer stamping
// a read took the time again. sipgo's own transports keep calling the
// string hooks (sip.SIPTracer) for what they read and write.
type AddrTracer interface {
	// SIPTraceReadAddr: msg was read from raddr on laddr; it arrived at
	// at (the kernel's receive time where the socket gives it, else when
	// it was read).
	SIPTraceReadAddr(transport string, laddr, raddr netip.AddrPort, at time.Time, msg []byte)
	// SIPTraceWriteAddr: msg was written from laddr to raddr.
	SIPTraceWriteAddr(transport string, laddr, raddr netip.AddrPort, msg []byte)
}

// WithAttemptObserver is told the result of every call attempt. It runs on
// the call path and must not block.
func WithAttemptObserver(f func(AttemptResult)) Option {
	return func(c *config) error { c.observe = f; return nil }
}

type listenURI struct {
	network string // "udp", "tcp", "tls", "ws" or "wss"
	addr    string // host:port
}

// Option configures a Server.
type Option func(*config) error

// WithListen adds listen URIs such as "udp://127.0.0.1:5060",
// "tcp://0.0.0.0:5060", "tls://0.0.0.0:5061", "ws://127.0.0.1:8088" or
// "wss://0.0.0.0:8089" (see ParseListenURI; a tls or wss listener needs
// WithTLS; ws and wss are SIP over WebSocket, RFC 7118, transports_ws.go). Port 0 binds an ephemeral port
// (see Server.Addrs).
func WithListen(uris ...string) Option {
	return func(c *config) error {
		for _, s := range uris {
			network, addr, err := ParseListenURI(s)
			if err != nil {
				return fmt.Errorf("%w: %w", err, ErrBadOption)
			}
			c.listen = append(c.listen, listenURI{network: network, addr: addr})
		}
		return nil
	}
}

// ParseListenURI splits a listen URI, "udp://127.0.0.1:5060", into its
// network ("udp", "tcp", "tls", "ws" or "wss"; the scheme is case-insensitive, RFC 3986 3.1)
// and host:port. A path, query, fragment or user part is refused rather
// than ignored: it means the URI is not what its writer thinks.
func ParseListenURI(s string) (network, addr string, err error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", "", fmt.Errorf("%q is not a listen URI such as udp://127.0.0.1:5060", s)
	}
	network = strings.ToLower(u.Scheme)
	switch network {
	case "udp", "tcp", "tls", "ws", "wss":
	default:
		return "", "", fmt.Errorf("%q: transport must be udp, tcp, tls, ws or wss", s)
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
		return "", "", fmt.Errorf("%q: needs host:port", s)
	}
	return network, u.Host, nil
}

// WithTLS sets the TLS configurations of SIP over TLS (RFC 3261 26.2):
// server serves the tls:// listeners (certs.ServerConfig: its
// GetCertificate reads the certificate in service at each handshake, so a
// renewal reloaded on SIGHUP reaches new connections while the open ones,
// and the calls and registrations on them, stay), client the TLS
// connections the switch opens itself, to peers whose destination says
// sips: or transport=tls (its ServerName is left empty: sipgo sets it to
// the host the connection is for, and the handshake verifies the peer's
// certificate against that name). server nil: no tls:// listener may be
// configured; client nil: sipgo's default, the system roots.
func WithTLS(server, client *tls.Config) Option {
	return func(c *config) error {
		if server != nil && server.GetCertificate == nil && len(server.Certificates) == 0 {
			return fmt.Errorf("sip tls: the server configuration has no certificate: %w", ErrBadOption)
		}
		if client != nil && client.ServerName != "" {
			// One ServerName would be checked against every peer's
			// certificate.
			return fmt.Errorf("sip tls: the client configuration names server %q: %w", client.ServerName, ErrBadOption)
		}
		c.tlsServer, c.tlsClient = server, client
		return nil
	}
}

// WithWebSocketOrigins lists the origins (scheme://host[:port], as
// browsers send them in Origin) whose pages may use the ws:// and wss://
// listeners; "*" allows any. Without it only the listener's own origin is
// allowed. A request without Origin (not a browser) is not affected. See
// transports_ws.go.
func WithWebSocketOrigins(origins ...string) Option {
	return func(c *config) error {
		list := make([]string, 0, len(origins))
		for _, o := range origins {
			o, err := ParseWebSocketOrigin(o)
			if err != nil {
				return fmt.Errorf("%w: %w", err, ErrBadOption)
			}
			list = append(list, o)
		}
		c.wsOrigins = list
		return nil
	}
}

// ParseWebSocketOrigin checks an origin of WithWebSocketOrigins and
// returns it as the listeners compare it (lower case, no trailing slash).
func ParseWebSocketOrigin(s string) (string, error) {
	o := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "/"))
	if o == "*" {
		return o, nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("websocket origin %q is not scheme://host[:port] (http or https) or *", s)
	}
	return o, nil
}

// withTLSHandshakeTimeout bounds TLS handshakes (default
// tlsHandshakeTimeout).
func withTLSHandshakeTimeout(d time.Duration) Option {
	return positiveDuration("tls handshake timeout", d, func(c *config) { c.tlsHandshake = d })
}

// WithAdvertiseHost sets the host (IP or name) the switch puts in its
// Contact and Via headers. Needed when listening on 0.0.0.0/:: ; default
// is the host of the first listen URI.
func WithAdvertiseHost(host string) Option {
	return func(c *config) error {
		if host == "" || strings.ContainsAny(host, " \t\r\n;,<>\"") {
			return fmt.Errorf("advertise host %q: %w", host, ErrBadOption)
		}
		c.advertise = host
		return nil
	}
}

// WithRealm sets the digest realm (default "sipswitch").
func WithRealm(realm string) Option {
	return func(c *config) error {
		c.auth = append(c.auth, auth.WithRealm(realm))
		return nil
	}
}

// withUserAgent sets the User-Agent header of the B-legs (default
// "sipswitch").
func withUserAgent(name string) Option {
	return func(c *config) error {
		if name == "" || strings.ContainsAny(name, "\r\n") {
			return fmt.Errorf("user agent %q: %w", name, ErrBadOption)
		}
		c.userAgent = name
		return nil
	}
}

// WithCallAdmission caps the calls the switch takes: at most maxCalls at
// once (ringing or connected) and maxCPS new calls per second (a token
// bucket holding a tenth of a second's worth), like FreeSWITCH's
// max-sessions and sessions-per-second. Calls over either get 503 with
// Retry-After before any routing, so that an overload sheds calls instead
// of queueing them until every call times out. 0 means no limit.
func WithCallAdmission(maxCalls, maxCPS int) Option {
	return func(c *config) error {
		if maxCalls < 0 || maxCPS < 0 {
			return fmt.Errorf("sip call admission max calls %d, max cps %d: %w", maxCalls, maxCPS, ErrBadOption)
		}
		c.maxCalls, c.maxCPS = maxCalls, maxCPS
		return nil
	}
}

// WithOverloadDelay sheds load past the switch's capacity: the share of
// new INVITEs that keeps their wait for a core (arrival to handler) at
// target gets 503 with Retry-After before the digest round (overload.go,
// overloadraw.go). 0 (the default) turns it off; the daemon
// turns it on (calls.overload_delay, DefaultOverloadDelay).
func WithOverloadDelay(target time.Duration) Option {
	return func(c *config) error {
		if target < 0 {
			return fmt.Errorf("sip overload delay %s: %w", target, ErrBadOption)
		}
		c.overloadDelay = target
		return nil
	}
}

// WithSessionTimers sets the session timers (RFC 4028) the switch runs on
// both legs of every call: expires is the interval it offers callees and
// the longest it grants callers, minSE the shortest it accepts (a caller
// asking less gets 422 with Min-SE). Whole seconds; expires 0 turns session
// timers off. Defaults 1800 s and 90 s, Asterisk's; RFC 4028 puts Min-SE
// at no less than 90 s, which the daemon's configuration enforces.
func WithSessionTimers(expires, minSE time.Duration) Option {
	return func(c *config) error {
		switch {
		case expires == 0 && minSE >= 0:
		case expires < 0, minSE < time.Second, expires < minSE, expires%time.Second != 0, minSE%time.Second != 0:
			return fmt.Errorf("sip session timers expires=%s min_se=%s: want whole seconds, 1s <= min_se <= expires: %w", expires, minSE, ErrBadOption)
		}
		c.sessionExpires, c.minSE = expires, minSE
		return nil
	}
}

// WithPing sets how often the contacts of lines with ping=1 are sent
// OPTIONS and how long an answer may take before the contact counts as
// unreachable (defaults 60 s and 3 s, Asterisk's qualifyfreq and
// qualify_timeout).
func WithPing(interval, timeout time.Duration) Option {
	return func(c *config) error {
		c.registrar = append(c.registrar, registrar.WithPing(interval, timeout))
		return nil
	}
}

// WithTrunkRegistration sets how the switch registers sip_endpoints with
// registration=out (outreg.go) and qualifies trunks (trunkkeeper.go): the
// expiry asked of registrars (default 3600 s), the backoff after a failed
// REGISTER, doubling from retryMin to retryMax (defaults 5 s, 60 s), and
// how long an OPTIONS of qualify waits (default 3 s). Zero keeps a
// default.
func WithTrunkRegistration(expires, retryMin, retryMax, qualifyTimeout time.Duration) Option {
	return func(c *config) error {
		t := c.trunkTiming
		for _, v := range []struct {
			d   time.Duration
			dst *time.Duration
		}{{expires, &t.expires}, {retryMin, &t.retryMin}, {retryMax, &t.retryMax}, {qualifyTimeout, &t.qualifyTimeout}} {
			switch {
			case v.d < 0:
				return fmt.Errorf("sip trunk registration timing %s: %w", v.d, ErrBadOption)
			case v.d > 0:
				*v.dst = v.d
			}
		}
		if t.expires < time.Second || t.retryMax < t.retryMin {
			return fmt.Errorf("sip trunk registration expires %s, retry %s..%s: %w", t.expires, t.retryMin, t.retryMax, ErrBadOption)
		}
		c.trunkTiming = t
		return nil
	}
}

// WithFloodLimit drops what one untrusted source address sends beyond
// limit messages per second (bursts of twice that pass), for blockFor
// after it first goes over, letting a trickle through; see flood.go.
// Peers' sources and sources (address and port) a line has authenticated
// from are exempt. Default DefaultFloodLimit, DefaultFloodBlock; limit 0 turns it
// off.
func WithFloodLimit(limit int, blockFor time.Duration) Option {
	return func(c *config) error {
		if limit < 0 || (limit > 0 && blockFor <= 0) {
			return fmt.Errorf("sip flood limit %d block %s: %w", limit, blockFor, ErrBadOption)
		}
		c.floodLimit, c.floodBlock = limit, blockFor
		return nil
	}
}

// PeerMatch says how an INVITE without credentials is recognised as coming
// from a peer.
type PeerMatch int

const (
	// PeerMatchExact: UDP from exactly the address and port (5060 when it
	// names none) of one of the peer's destinations or its proxy, the
	// sources the switch itself sends the peer's calls to. The default.
	PeerMatchExact PeerMatch = iota
	// PeerMatchAddress: from the address of a destination or proxy on any
	// port and transport, for carriers that send from a pool of ports
	// (Asterisk's insecure=port). RISK: anything else on that address —
	// another tenant of a shared carrier host, or a forged UDP source on a
	// network that does not filter spoofing — can then call through the
	// switch without credentials, to local lines and on through their
	// forwarding.
	PeerMatchAddress
)

// ParsePeerMatch reads "exact" or "address".
func ParsePeerMatch(s string) (PeerMatch, error) {
	switch strings.ToLower(s) {
	case "", "exact":
		return PeerMatchExact, nil
	case "address":
		return PeerMatchAddress, nil
	}
	return 0, fmt.Errorf("peer match %q: want exact or address: %w", s, ErrBadOption)
}

// WithPeerMatch sets how peers are recognised (default PeerMatchExact).
func WithPeerMatch(m PeerMatch) Option {
	return func(c *config) error {
		if m != PeerMatchExact && m != PeerMatchAddress {
			return fmt.Errorf("peer match %d: %w", m, ErrBadOption)
		}
		c.peerMatch = m
		return nil
	}
}

// WithLogger sets the slog logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { c.log = l; return nil }
}

// withClock sets the clock used for nonces, expiries and call durations.
func withClock(now func() time.Time) Option {
	return func(c *config) error { c.now = now; return nil }
}

// WithRegistrationStore persists registrations (default: memory only).
func WithRegistrationStore(s RegistrationStore) Option {
	return func(c *config) error { c.store = s; return nil }
}

// WithPeerTimeout sets how long a peer may stay silent (no 180/183) before
// the attempt counts as timed out and failover moves on (default 8 s).
func WithPeerTimeout(d time.Duration) Option {
	return positiveDuration("peer timeout", d, func(c *config) { c.peerTimeout = d })
}

// withMaxRingTime bounds how long any call may ring (default 180 s).
func withMaxRingTime(d time.Duration) Option {
	return positiveDuration("max ring time", d, func(c *config) { c.maxRing = d })
}

// WithMaxCallDuration bounds an answered call (default 4 h). With session
// timers off it is the only guard that frees the slots of a call whose leg
// vanished without a BYE.
func WithMaxCallDuration(d time.Duration) Option {
	return positiveDuration("max call duration", d, func(c *config) { c.maxCall = d })
}

// WithRegisterExpiry sets the registration expiry bounds in seconds:
// shorter requests get 423 Interval Too Brief, longer ones are shortened to
// max, requests without an expiry get def (defaults 60, 3600, 600).
func WithRegisterExpiry(min, max, def int) Option {
	return func(c *config) error {
		c.registrar = append(c.registrar, registrar.WithExpiry(min, max, def))
		return nil
	}
}

// withNonceTTL sets how long a nonce is accepted; a later use is answered
// with a fresh challenge carrying stale=true (default 5 min).
func withNonceTTL(d time.Duration) Option {
	return func(c *config) error {
		c.auth = append(c.auth, auth.WithNonceTTL(d))
		return nil
	}
}

// WithDigestAlgorithms sets the digest algorithms offered, most preferred
// first, one challenge header each (RFC 8760). Default "MD5" alone, as
// Asterisk and Kamailio offer: many deployed phones (and SIPp) answer only
// the first challenge, some only the last, and some compute MD5 whatever
// the challenge says; offering SHA-256 first turns each of their REGISTERs
// into an authentication failure, and ten of those block the address, a
// whole office behind one NAT. Offer "SHA-256", "MD5" where every phone
// follows RFC 8760.
func WithDigestAlgorithms(algs ...string) Option {
	return func(c *config) error {
		c.auth = append(c.auth, auth.WithAlgorithms(algs...))
		return nil
	}
}

// withAuthBlock sets the brute-force guard: limit failed authentications
// from one IP address within window block it for blockFor (403 without
// challenge). Defaults 10, 60 s, 5 min.
func withAuthBlock(limit int, window, blockFor time.Duration) Option {
	return func(c *config) error {
		c.auth = append(c.auth, auth.WithBlock(limit, window, blockFor))
		return nil
	}
}

// withAuthWatch sets how long a challenge may go unanswered before the
// switch reports it (a phone that gives up on a 401/407 says nothing), and
// how often one source's auth failures of one reason are logged. Defaults
// 30 s (a REGISTER transaction's lifetime, Timer F, is 32 s) and 1 min.
func withAuthWatch(unanswered, logEvery time.Duration) Option {
	return func(c *config) error {
		c.auth = append(c.auth, auth.WithWatch(unanswered, logEvery))
		return nil
	}
}

func positiveDuration(name string, d time.Duration, set func(*config)) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%s %s: must be positive: %w", name, d, ErrBadOption)
		}
		set(c)
		return nil
	}
}

func newConfig(opts []Option) (*config, error) {
	c := &config{
		userAgent:      "sipswitch",
		now:            time.Now,
		peerTimeout:    8 * time.Second,
		maxRing:        180 * time.Second,
		maxCall:        4 * time.Hour,
		retryAfter:     30,
		sessionExpires: 1800 * time.Second,
		minSE:          90 * time.Second,
		relayMode:      media.ModeNever,
		floodLimit:     DefaultFloodLimit,
		floodBlock:     DefaultFloodBlock,
		tlsHandshake:   tlsHandshakeTimeout,
		trunkTiming:    defaultTrunkTiming,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if len(c.listen) == 0 {
		c.listen = []listenURI{{"udp", "127.0.0.1:5060"}, {"tcp", "127.0.0.1:5060"}}
	}
	for _, l := range c.listen {
		if (l.network == "tls" || l.network == "wss") && c.tlsServer == nil {
			return nil, fmt.Errorf("sip listen %s://%s without a certificate (WithTLS): %w", l.network, l.addr, ErrBadOption)
		}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c, nil
}
