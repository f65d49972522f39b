//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipswitch/sipswitch/sip/media"
)

// With -sip the relay under test is a running sipswitch's (scripts/
// loadtest.sh MODE=media): this process places the calls through the
// switch over SIP as a phone (sipgo, digest authentication) and answers
// them as the carrier the route leads to, with the caller's and the
// callee's SDP naming its two media sockets. The relay ports are read
// from the SDP the switch sends each side; the switch's CPU is read from
// /proc/<pid>/stat over the measured window (no SIP flows during it), and
// its relay totals from its /metrics.
type sipConfig struct {
	switchURI string // udp://127.0.0.1:15060
	carrier   string // address the route's carrier is at (host:port)
	phone     string
	password  string
	called    string
	pid       int
	metrics   string // URL of the switch's /metrics ("": none)
	parallel  int    // calls set up at once
}

// relayUnderTest is where the generator's calls get their relay ports and
// the relay's CPU and totals: a child process with an engine of its own,
// or a sipswitch reached over SIP.
type relayUnderTest interface {
	setup(n int, a, b netip.AddrPort) ([]int, error)
	cpu() time.Duration
	stats() (media.EngineStats, error)
	stop()
}

// sipSwitch is one run's calls through a sipswitch.
type sipSwitch struct {
	cfg     sipConfig
	sw      string // host:port of the switch
	uas     []*sipgo.UserAgent
	callers *sipgo.DialogClientCache
	callees *sipgo.DialogServerCache
	conns   []net.PacketConn
	answer  atomic.Pointer[[]byte]
	bPorts  chan int
	// answered counts the carrier's calls still up: stop waits for the
	// switch's BYEs before closing the carrier.
	answered atomic.Int32
	calls    []*sipgo.DialogClientSession
	wg       sync.WaitGroup
}

func newSIPSwitch(cfg sipConfig) (*sipSwitch, error) {
	sw, ok := strings.CutPrefix(cfg.switchURI, "udp://")
	if !ok {
		return nil, fmt.Errorf("-sip %q: want udp://host:port", cfg.switchURI)
	}
	s := &sipSwitch{cfg: cfg, sw: sw, bPorts: make(chan int, 8192)}
	if err := s.startCarrier(); err != nil {
		return nil, err
	}
	if err := s.startPhone(); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// endpoint is one user agent of this process: a UDP listener, the client
// sending from it, the server reading it.
type endpoint struct {
	ua      *sipgo.UserAgent
	client  *sipgo.Client
	srv     *sipgo.Server
	conn    net.PacketConn
	contact sip.ContactHeader
	port    int
}

// listen makes a user agent named name on addr ("host:port", port 0 for
// any); serve starts it once its handlers are set.
func (s *sipSwitch) listen(name, addr, user string) (*endpoint, error) {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", name, addr, err)
	}
	s.conns = append(s.conns, conn)
	host, portStr, _ := net.SplitHostPort(conn.LocalAddr().String())
	port, _ := strconv.Atoi(portStr)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(name))
	if err != nil {
		return nil, err
	}
	s.uas = append(s.uas, ua)
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(host), sipgo.WithClientPort(port), sipgo.WithClientConnectionAddr(conn.LocalAddr().String()))
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		return nil, err
	}
	return &endpoint{ua: ua, client: client, srv: srv, conn: conn, port: port,
		contact: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: host, Port: port}}}, nil
}

func (s *sipSwitch) serve(ep *endpoint) error {
	s.wg.Add(1)
	go func() { defer s.wg.Done(); _ = ep.srv.ServeUDP(ep.conn) }()
	return waitListening(ep.srv.TransportLayer(), ep.port)
}

// startCarrier answers every INVITE at cfg.carrier with the callee's SDP
// and reports the relay port the switch offered it.
func (s *sipSwitch) startCarrier() error {
	ep, err := s.listen("relayload-carrier", s.cfg.carrier, "")
	if err != nil {
		return err
	}
	s.callees = sipgo.NewDialogServerCache(ep.client, ep.contact)
	ep.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		if req.To().Params.Has("tag") { // a refresh: same description
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", *s.answer.Load()))
			return
		}
		d, err := s.callees.ReadInvite(req, tx)
		if err != nil {
			return
		}
		s.answered.Add(1)
		defer s.answered.Add(-1)
		defer d.Close()
		select {
		case s.bPorts <- mPort(req.Body()):
		default:
		}
		if err := d.RespondSDP(*s.answer.Load()); err != nil {
			return
		}
		<-d.Context().Done()
	})
	ep.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = s.callees.ReadAck(req, tx) })
	ep.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := s.callees.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "No Dialog", nil))
		}
	})
	return s.serve(ep)
}

// startPhone is the calling phone's user agent on 127.0.0.1.
func (s *sipSwitch) startPhone() error {
	ep, err := s.listen("relayload-phone", "127.0.0.1:0", s.cfg.phone)
	if err != nil {
		return err
	}
	s.callers = sipgo.NewDialogClientCache(ep.client, ep.contact)
	ep.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) { // the switch's refreshes
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	ep.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := s.callers.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "No Dialog", nil))
		}
	})
	return s.serve(ep)
}

func waitListening(tp *sip.TransportLayer, port int) error {
	for range 500 {
		for _, p := range tp.ListenPorts("udp") {
			if p == port {
				time.Sleep(2 * time.Millisecond)
				return nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("sip listener on port %d not ready", port)
}

// setup places n calls, cfg.parallel at a time; each call's caller media
// is at a, its callee's at b. It returns the relay ports: the caller's leg
// then the callee's leg, per call (which callee leg goes with which caller
// leg does not matter: all callees share b).
func (s *sipSwitch) setup(n int, a, b netip.AddrPort) ([]int, error) {
	answer := partySDP(b)
	s.answer.Store(&answer)
	offer := partySDP(a)
	ports := make([]int, 2*n)
	s.calls = make([]*sipgo.DialogClientSession, n)
	var failed atomic.Int32
	var firstErr atomic.Pointer[error]
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(s.cfg.parallel, 1) {
		wg.Go(func() {
			for i := range next {
				d, err := s.call(offer)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				s.calls[i] = d
				ports[2*i] = mPort(d.InviteResponse.Body())
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return nil, fmt.Errorf("%d of %d calls failed; first: %w", f, n, *firstErr.Load())
	}
	for i := range n {
		select {
		case p := <-s.bPorts:
			ports[2*i+1] = p
		case <-time.After(5 * time.Second):
			return nil, fmt.Errorf("the carrier saw %d of %d calls", i, n)
		}
	}
	return ports, nil
}

// call places one call and ACKs its answer.
func (s *sipSwitch) call(offer []byte) (*sipgo.DialogClientSession, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	host, portStr, _ := net.SplitHostPort(s.sw)
	port, _ := strconv.Atoi(portStr)
	to := sip.Uri{Scheme: "sip", User: s.cfg.called, Host: host, Port: port}
	req := sip.NewRequest(sip.INVITE, to)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: s.cfg.phone, Host: "127.0.0.1"}}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: to})
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(offer)
	d, err := s.callers.WriteInvite(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := d.WaitAnswer(ctx, sipgo.AnswerOptions{Username: s.cfg.phone, Password: s.cfg.password}); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.Ack(ctx); err != nil {
		d.Close()
		return nil, err
	}
	if mPort(d.InviteResponse.Body()) == 0 {
		return nil, errors.New("the switch's answer names no media port")
	}
	return d, nil
}

// cpu is the switch's user+system CPU time so far.
func (s *sipSwitch) cpu() time.Duration { return procCPU(s.cfg.pid) }

// procCPU is a process's user+system CPU time so far (/proc/<pid>/stat),
// all its threads.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// stats reads the relay's totals from the switch's /metrics.
func (s *sipSwitch) stats() (media.EngineStats, error) {
	var st media.EngineStats
	if s.cfg.metrics == "" {
		return st, nil
	}
	res, err := http.Get(s.cfg.metrics)
	if err != nil {
		return st, err
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			continue
		}
		switch name {
		case "sipswitch_media_forwarded_packets_total":
			st.Forwarded = uint64(v)
		case `sipswitch_media_dropped_packets_total{cause="source"}`:
			st.DroppedSource = uint64(v)
		case `sipswitch_media_dropped_packets_total{cause="invalid"}`:
			st.DroppedInvalid = uint64(v)
		case `sipswitch_media_dropped_packets_total{cause="no_destination"}`:
			st.DroppedNoDest = uint64(v)
		case "sipswitch_media_send_errors_total":
			st.SendErrors = uint64(v)
		case "sipswitch_media_sessions":
			st.Sessions = int(v)
		}
	}
	return st, sc.Err()
}

// stop hangs every call up and closes both user agents.
func (s *sipSwitch) stop() {
	next := make(chan *sipgo.DialogClientSession)
	var wg sync.WaitGroup
	for range max(s.cfg.parallel, 1) {
		wg.Go(func() {
			for d := range next {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = d.Bye(ctx)
				cancel()
				d.Close()
			}
		})
	}
	for _, d := range s.calls {
		if d != nil {
			next <- d
		}
	}
	close(next)
	wg.Wait()
	for i := 0; i < 500 && s.answered.Load() > 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	for _, ua := range s.uas {
		ua.Close()
	}
	for _, c := range s.conns {
		c.Close()
	}
	s.wg.Wait()
}
