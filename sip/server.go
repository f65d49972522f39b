package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/auth"
	"github.com/sipswitch/sipswitch/sip/media"
	"github.com/sipswitch/sipswitch/sip/registrar"
	"github.com/sipswitch/sipswitch/sip/sessiontimer"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
	"golang.org/x/time/rate"
)

// Sentinel errors of the package.
var (
	ErrBadOption     = errors.New("invalid option")
	ErrNoDirectory   = errors.New("sip server needs a directory")
	ErrAlreadyServed = errors.New("sip server already serving")
)

// Server is the SIP core: registrar and B2BUA.
type Server struct {
	cfg *config
	dir Directory
	// trunkDir is dir when it serves sip_endpoints as trunks (nil
	// otherwise); keeper runs their registrations and qualify.
	trunkDir trunkDirectory
	keeper   *trunkKeeper
	// lineNameFn and lineOrTrunkFn are lineName and lineOrTrunkName
	// bound once (localName).
	lineNameFn, lineOrTrunkFn func(string) (string, bool)
	ua                        *sipgo.UserAgent
	srv                       *sipgo.Server
	client                    *sipgo.Client
	// dialogUA builds our dialogs; set once Serve has bound its listeners.
	// natDialogUA builds the dialogs with phones: its in-dialog requests
	// go to the address the phone's INVITE or answer came from, not to
	// its Contact (a private address behind NAT; RFC 3581 symmetric
	// response routing carried over to the dialog).
	dialogUA    sipgo.DialogUA
	natDialogUA sipgo.DialogUA
	// streams are the clients and dialog builders of the tcp and tls
	// listeners (transports.go); nil until Serve.
	streams map[string]*streamUA

	// auth challenges and checks credentials (nonces, brute-force guard,
	// the watch on failures and unanswered challenges).
	auth  *auth.Authenticator
	flood *floodGuard // always set; filters reads only with a flood limit
	// challengeHold bounds the refused INVITEs held per source address.
	challengeHold *challengeHold
	// transportLog rate-limits what sipgo's transport logs about input
	// anyone can send (unparseable messages).
	transportLog *transportLog
	reg          *registrar.Registrar
	calls        dialogTable
	live         liveTable // live.go
	accepted     *acceptedInvites
	refused      *recentTransactions[refusedInvite]
	// invites and byes are the transactions the UDP read loop keeps
	// (readinvite.go, readdialog.go); clientTxs are the B-legs' requests
	// sent from legConn, the first UDP listener's (clienttx.go, legudp.go;
	// nil: no UDP listener, every leg on sipgo).
	invites   inviteTxs
	byes      readByes
	clientTxs clientTxs
	legConn   *readConn
	stats     counters
	// reads and shed are the overload detector (overload.go).
	reads inviteReads
	shed  shedState
	// rawShedding: UDP INVITEs are weighed in the read loop;
	// statelessLast is when it last answered one, 503 or 407
	// (overloadraw.go, challengeraw.go).
	rawShedding   bool
	statelessLast atomic.Int64

	draining atomic.Bool
	// Call admission limits, changed live by SetCallAdmission.
	callRate atomic.Pointer[rate.Limiter] // nil: no call-rate limit
	maxCalls atomic.Int64                 // 0: no limit
	// relayMode is media.relay, changed live by SetMediaRelay.
	relayMode atomic.Pointer[media.Mode]
	served    atomic.Bool
	ready     chan struct{}
	addrs     []net.Addr
	closed    chan struct{}
	closeMu   sync.Once

	retryAfter sip.Header
	uaHeader   sip.Header
	// allowHeader and supportedHeader go on the switch's 2xx to a caller's
	// INVITE and on its INVITEs to callees: phones read them to decide
	// whether to refresh with UPDATE or re-INVITE and whether to run
	// session timers (RFC 3261 20.5, 20.37; RFC 4028 7.1).
	allowHeader, supportedHeader sip.Header
	// timers is the session-timer policy (RFC 4028) every leg negotiates
	// under.
	timers sessiontimer.Policy
	// mwi is message waiting (mwi.go); vmSources are where the voicemail
	// server's NOTIFYs may come from (set by Serve before it serves).
	mwi       *mwiBook
	vmSources []netip.AddrPort
}

// dialogMethods are the methods the switch takes within a call's dialog.
const dialogMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO"

// New builds a Server; call Serve to start it.
func New(dir Directory, opts ...Option) (*Server, error) {
	if dir == nil {
		return nil, ErrNoDirectory
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:          cfg,
		dir:          dir,
		accepted:     newRecentTransactions[struct{}](64 * sip.T1),
		refused:      newRecentTransactions[refusedInvite](64 * sip.T1),
		ready:        make(chan struct{}),
		closed:       make(chan struct{}),
		retryAfter:   sip.NewHeader("Retry-After", strconv.Itoa(cfg.retryAfter)),
		uaHeader:     sip.NewHeader("User-Agent", cfg.userAgent),
		allowHeader:  sip.NewHeader("Allow", dialogMethods),
		timers:       sessiontimer.Policy{Expires: cfg.sessionExpires, MinSE: cfg.minSE},
		transportLog: newTransportLog(cfg.log, cfg.now),
		mwi:          newMWIBook(),
	}
	s.trunkDir, _ = dir.(trunkDirectory)
	s.keeper = newTrunkKeeper(s)
	s.lineNameFn, s.lineOrTrunkFn = s.lineName, s.lineOrTrunkName
	if cfg.sessionExpires > 0 {
		s.supportedHeader = sip.NewHeader(sessiontimer.HdrSupported, sessiontimer.OptionTag)
	}
	regOpts := append([]registrar.Option{registrar.WithLogger(cfg.log), registrar.WithClock(cfg.now)}, cfg.registrar...)
	if cfg.store != nil {
		regOpts = append(regOpts, registrar.WithStore(cfg.store))
	}
	if s.reg, err = registrar.New(dir, regOpts...); err != nil {
		return nil, fmt.Errorf("sip: %w: %w", ErrBadOption, err)
	}
	authOpts := append([]auth.Option{auth.WithLogger(cfg.log), auth.WithClock(cfg.now)}, cfg.auth...)
	if s.auth, err = auth.New(authLines{dir}, authOpts...); err != nil {
		return nil, fmt.Errorf("sip: %w: %w", ErrBadOption, err)
	}
	s.SetCallAdmission(cfg.maxCalls, cfg.maxCPS)
	s.SetMediaRelay(cfg.relayMode)
	// sipgo replaces, not adds, transport and transaction options: each
	// list is given once.
	tpOpts := []sip.TransportLayerOption{sip.WithTransportLayerLogger(slog.New(s.transportLog))}
	// The guard also keeps which sources have proved a line (challengeHold
	// asks), limit or no limit; it filters reads only with a limit.
	s.flood = s.newFloodGuard()
	s.challengeHold = newChallengeHold()
	if cfg.floodLimit > 0 {
		tpOpts = append(tpOpts, sip.WithTransportLayerReadFilter(s.flood.filter))
	}
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgent(cfg.userAgent)}
	if cfg.tlsClient != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(cfg.tlsClient))
	}
	ua, err := sipgo.NewUA(append(uaOpts,
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerUnhandledResponseHandler(s.strayResponse), sip.WithTransactionLayerLogger(cfg.log)),
		sipgo.WithUserAgentTransportLayerOptions(tpOpts...))...)
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(cfg.log))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip server: %w", err)
	}
	s.ua, s.srv = ua, srv
	if cfg.overloadDelay > 0 || cfg.observeDelay != nil {
		// After sipgo's own handler, which has started the message's
		// goroutine: the wait measured is that goroutine's.
		srv.TransportLayer().OnMessage(s.noteRead)
	}
	srv.OnRegister(s.handleRegister)
	srv.OnInvite(s.handleInvite)
	srv.OnAck(s.handleAck)
	srv.OnBye(s.handleBye)
	srv.OnCancel(func(req *sip.Request, tx sip.ServerTransaction) {
		// A CANCEL matching an INVITE in progress is absorbed by the
		// transaction layer; one that reaches here matches nothing.
		sipmsg.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
	})
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		sipmsg.Respond(tx, req, 200, "OK", sip.NewHeader("Allow", dialogMethods+", REGISTER, SUBSCRIBE, NOTIFY"), sip.NewHeader("Allow-Events", mwiEvent))
		// Anyone may ask (scanners do, by the thousand): answered
		// statelessly, a retransmission is answered again.
		tx.Terminate()
	})
	srv.OnSubscribe(s.handleSubscribe)
	srv.OnNotify(s.handleNotify)
	srv.OnUpdate(s.handleInDialog)
	srv.OnInfo(s.handleInDialog)
	return s, nil
}

// Serve binds the listeners, restores persisted registrations and serves
// until ctx is done. Ready is closed once every listener is bound.
func (s *Server) Serve(ctx context.Context) error {
	if !s.served.CompareAndSwap(false, true) {
		return ErrAlreadyServed
	}
	s.resolveVoicemail(ctx)
	var lc net.ListenConfig
	var closers []func() error
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	type serveFn func() error
	var serves []serveFn
	for _, l := range s.cfg.listen {
		switch l.network {
		case "udp":
			conn, err := lc.ListenPacket(ctx, "udp", l.addr)
			if err != nil {
				return fmt.Errorf("sip listen udp %s: %w", l.addr, err)
			}
			closers = append(closers, conn.Close)
			growUDPBuffers(conn)
			s.addrs = append(s.addrs, conn.LocalAddr())
			rc := newReadConn(conn, s, s.cfg.observeDelay, s.cfg.overloadDelay > 0)
			s.rawShedding = s.rawShedding || rc.shed
			if s.legConn == nil && rc.udp != nil {
				// The first UDP listener: B-legs leave from it (setupClient).
				s.legConn = rc
			}
			conn = rc
			serves = append(serves, func() error { return s.srv.ServeUDP(conn) })
		case "tcp":
			ln, err := lc.Listen(ctx, "tcp", l.addr)
			if err != nil {
				return fmt.Errorf("sip listen tcp %s: %w", l.addr, err)
			}
			closers = append(closers, ln.Close)
			s.addrs = append(s.addrs, ln.Addr())
			serves = append(serves, func() error { return s.srv.ServeTCP(ln) })
		case "tls":
			ln, err := lc.Listen(ctx, "tcp", l.addr)
			if err != nil {
				return fmt.Errorf("sip listen tls %s: %w", l.addr, err)
			}
			closers = append(closers, ln.Close)
			s.addrs = append(s.addrs, TLSAddr{ln.Addr().(*net.TCPAddr)})
			tln := tlsListener{Listener: ln, cfg: s.cfg.tlsServer, timeout: s.cfg.tlsHandshake}
			serves = append(serves, func() error { return s.srv.ServeTLS(tln) })
		case "ws", "wss":
			ln, err := lc.Listen(ctx, "tcp", l.addr)
			if err != nil {
				return fmt.Errorf("sip listen %s %s: %w", l.network, l.addr, err)
			}
			closers = append(closers, ln.Close)
			var cfg *tls.Config
			if l.network == "wss" {
				cfg = wssConfig(s.cfg.tlsServer)
			}
			s.addrs = append(s.addrs, WSAddr{TCPAddr: ln.Addr().(*net.TCPAddr), Secure: cfg != nil})
			wln := newWSListener(ln, cfg, s.cfg.tlsHandshake, s.cfg.wsOrigins, s.wsRefused)
			closers = append(closers, wln.Close)
			if cfg != nil {
				serves = append(serves, func() error { return s.srv.ServeWSS(wln) })
			} else {
				serves = append(serves, func() error { return s.srv.ServeWS(wln) })
			}
		}
	}
	if err := s.setupClient(); err != nil {
		return err
	}
	if err := s.reg.Load(ctx); err != nil {
		return fmt.Errorf("sip load registrations: %w", err)
	}
	s.trustRegistered()

	errc := make(chan error, len(serves))
	for _, f := range serves {
		go func() { errc <- f() }()
	}
	s.awaitListeners()
	close(s.ready)
	listening := make([]string, len(s.addrs))
	for i, a := range s.addrs {
		listening[i] = a.Network() + "://" + a.String()
	}
	s.cfg.log.Info("sip core listening", "addrs", strings.Join(listening, " "))

	go s.pingLoop(ctx)
	s.keeper.start(ctx)
	// Outbound registrations are removed before the user agent closes.
	defer s.keeper.stop()
	// The sweep runs often enough to report an unanswered challenge
	// within its window.
	tick := time.NewTicker(s.auth.SweepEvery())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.closed:
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("sip serve: %w", err)
		case <-tick.C:
			now := s.cfg.now()
			s.auth.Sweep(now)
			if s.flood != nil {
				s.flood.sweep(now)
			}
			s.transportLog.state.flush()
			s.reg.Sweep(ctx)
			s.sweepSubscriptions(now)
			s.keeper.sync()
		}
	}
}

// udpBufferBytes is the socket buffer asked for on UDP listeners. One
// socket carries every call of both legs: at a few thousand calls per
// second the default (about 208 KiB) overflows during GC pauses, and every
// dropped datagram costs a retransmission 500 ms later. The kernel caps it
// at net.core.rmem_max / wmem_max.
const udpBufferBytes = 4 << 20

func growUDPBuffers(conn net.PacketConn) {
	if uc, ok := conn.(*net.UDPConn); ok {
		// Best effort: a smaller buffer still works.
		_ = uc.SetReadBuffer(udpBufferBytes)
		_ = uc.SetWriteBuffer(udpBufferBytes)
	}
}

// awaitListeners waits until sipgo has taken over the UDP listeners: the
// client sends from the listening socket, which sipgo only finds once its
// Serve goroutine has registered it.
func (s *Server) awaitListeners() {
	tp := s.srv.TransportLayer()
	for _, a := range s.addrs {
		ua, ok := a.(*net.UDPAddr)
		if !ok {
			continue
		}
		for i := 0; i < 500 && !slices.Contains(tp.ListenPorts("udp"), ua.Port); i++ {
			time.Sleep(time.Millisecond)
		}
	}
	time.Sleep(2 * time.Millisecond)
}

// setupClient builds the client side of the B2BUA on the first bound
// listener so that B-legs leave from (and come back to) the listening
// socket, and our Contact names it.
func (s *Server) setupClient() error {
	if len(s.addrs) == 0 {
		return fmt.Errorf("sip: no listener: %w", ErrBadOption)
	}
	// UDP requests leave from, and our UDP Contact names, the first UDP
	// listener whatever the order of the listen URIs: a tls:// or tcp://
	// first would otherwise put its port in the Contact of UDP legs.
	first := s.addrs[0]
	for _, a := range s.addrs {
		if _, ok := a.(*net.UDPAddr); ok {
			first = a
			break
		}
	}
	host, portStr, _ := net.SplitHostPort(first.String())
	port, _ := strconv.Atoi(portStr)
	if s.cfg.advertise != "" {
		host = s.cfg.advertise
	} else if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("sip: listening on %s needs WithAdvertiseHost: %w", host, ErrBadOption)
	}
	opts := []sipgo.ClientOption{sipgo.WithClientHostname(host), sipgo.WithClientPort(port), sipgo.WithClientLogger(s.cfg.log)}
	if _, ok := first.(*net.UDPAddr); ok {
		opts = append(opts, sipgo.WithClientConnectionAddr(first.String()))
	}
	client, err := sipgo.NewClient(s.ua, opts...)
	if err != nil {
		return fmt.Errorf("sip client: %w", err)
	}
	s.client = client
	s.dialogUA = sipgo.DialogUA{
		Client:     client,
		ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: host, Port: port}},
	}
	s.natDialogUA = s.dialogUA
	s.natDialogUA.RewriteContact = true
	return s.setupStreams(host)
}

// Ready is closed once Serve has bound every listener.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addrs returns the bound listener addresses (valid after Ready).
func (s *Server) Addrs() []net.Addr { return s.addrs }

// Drain stops taking new calls (503 with Retry-After) and waits until the
// calls in progress have ended or ctx is done.
func (s *Server) Drain(ctx context.Context) error {
	s.draining.Store(true)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for s.stats.activeCalls.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("sip drain: %d calls still up: %w", s.stats.activeCalls.Load(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Close stops the server: calls still up are torn down by their own
// goroutines as their transactions fail.
func (s *Server) Close() error {
	s.closeMu.Do(func() {
		s.keeper.stop()
		close(s.closed)
		s.ua.Close()
	})
	return nil
}
