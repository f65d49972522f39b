package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrClosed is returned by an Engine or Session used after Close.
	ErrClosed = errors.New("media: closed")
)

// Engine is the media relay of one switch host: it owns the port range,
// every relay socket and the goroutines reading them, and watches the
// sessions for media timeouts. Create one with New at start, Close it at
// shutdown.
type Engine struct {
	cfg    config
	ports  *PortAllocator
	poller *poller // epoll model; nil: a goroutine per socket
	rr     atomic.Uint32
	log    *slog.Logger
	start  time.Time

	mu       sync.Mutex
	sessions map[*Session]struct{}
	closed   bool

	stop    chan struct{}
	stopped chan struct{}

	music musicPump // music.go

	counters engineCounters

	// The DTLS certificate of WebRTC legs, made on first use
	// (webrtc_dtls.go).
	certOnce sync.Once
	cert     *dtlsCert
	certErr  error
}

type engineCounters struct {
	forwarded       atomic.Uint64
	droppedSource   atomic.Uint64
	droppedLearning atomic.Uint64
	relatches       atomic.Uint64
	droppedInvalid  atomic.Uint64
	droppedNoDest   atomic.Uint64
	droppedAuth     atomic.Uint64
	sendErrors      atomic.Uint64
	readErrors      atomic.Uint64
	timeouts        atomic.Uint64
	sessions        atomic.Uint64
	recordings      atomic.Uint64
	recordDropped   atomic.Uint64
	musicPackets    atomic.Uint64
	dtlsHandshakes  atomic.Uint64
	dtlsFailures    atomic.Uint64
	iceRefused      atomic.Uint64
}

// EngineStats are the relay's totals since New, for metrics.
type EngineStats struct {
	Sessions       int    // sessions open now
	SessionsTotal  uint64 // sessions created
	PortPairs      int    // pairs in the range
	PortPairsInUse int    // pairs bound now
	Forwarded      uint64 // datagrams relayed (RTP, RTCP, UDPTL)
	// Dropped datagrams by cause (see the package documentation, Latching).
	DroppedSource   uint64 // from an address never allowed to latch the leg
	DroppedLearning uint64 // from an allowed address other than the latched one, on probation
	DroppedInvalid  uint64 // not RTP/RTCP/UDPTL, or a payload type the SDP did not offer
	DroppedNoDest   uint64 // the other leg's address is not known yet
	DroppedAuth     uint64 // SRTP/SRTCP that failed authentication or the replay check
	Relatches       uint64 // latches moved to another source after probation
	SendErrors      uint64
	ReadErrors      uint64
	Timeouts        uint64 // media timeouts reported
	Recordings      uint64 // recordings started (record.go)
	RecordDropped   uint64 // packets a recording's full buffer dropped
	MusicPackets    uint64 // hold music packets sent (music.go)
	// WebRTC legs: DTLS-SRTP handshakes that keyed a stream and those
	// that failed (a wrong fingerprint, no SRTP profile, a timeout), and
	// STUN checks refused (another username or a wrong MESSAGE-INTEGRITY:
	// not the party).
	DTLSHandshakes uint64
	DTLSFailures   uint64
	ICERefused     uint64
}

// New creates an engine. Nothing is bound until a session needs ports.
func New(opts ...Option) (*Engine, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	bind := bindConn(cfg.addr)
	if cfg.pollWorkers > 0 {
		bind = bindFD(cfg.addr)
	}
	ports, err := newPortAllocator(cfg.portMin, cfg.portMax, bind)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:      cfg,
		ports:    ports,
		log:      cfg.log,
		start:    time.Now(),
		sessions: make(map[*Session]struct{}),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	e.music.e = e
	if cfg.pollWorkers > 0 {
		if e.poller, err = newPoller(e, cfg.pollWorkers); err != nil {
			return nil, err
		}
	}
	go e.monitor()
	return e, nil
}

// worker picks the poll worker of a new stream (round robin); nil in the
// goroutine model.
func (e *Engine) worker() *pollWorker {
	if e.poller == nil {
		return nil
	}
	return e.poller.workers[int(e.rr.Add(1))%len(e.poller.workers)]
}

// now is the engine's monotonic clock in nanoseconds.
func (e *Engine) now() int64 { return int64(time.Since(e.start)) }

// NewSession creates the media session of one call; id names it in logs
// (the A-leg's Call-ID). Ports are bound by the first Offer.
func (e *Engine) NewSession(ctx context.Context, id string) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := newSession(e, id)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	e.sessions[s] = struct{}{}
	e.counters.sessions.Add(1)
	return s, nil
}

// Sessions returns the sessions open now, in no order: what a status page
// or a test lists of the calls being relayed.
func (e *Engine) Sessions() []*Session {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Session, 0, len(e.sessions))
	for s := range e.sessions {
		out = append(out, s)
	}
	return out
}

func (e *Engine) forget(s *Session) {
	e.mu.Lock()
	delete(e.sessions, s)
	e.mu.Unlock()
}

// Stats returns the engine's totals.
func (e *Engine) Stats() EngineStats {
	e.mu.Lock()
	n := len(e.sessions)
	e.mu.Unlock()
	c := &e.counters
	return EngineStats{
		Sessions:        n,
		SessionsTotal:   c.sessions.Load(),
		PortPairs:       e.ports.Pairs(),
		PortPairsInUse:  e.ports.InUse(),
		Forwarded:       c.forwarded.Load(),
		DroppedSource:   c.droppedSource.Load(),
		DroppedLearning: c.droppedLearning.Load(),
		DroppedInvalid:  c.droppedInvalid.Load(),
		DroppedNoDest:   c.droppedNoDest.Load(),
		DroppedAuth:     c.droppedAuth.Load(),
		Relatches:       c.relatches.Load(),
		SendErrors:      c.sendErrors.Load(),
		ReadErrors:      c.readErrors.Load(),
		Timeouts:        c.timeouts.Load(),
		Recordings:      c.recordings.Load(),
		RecordDropped:   c.recordDropped.Load(),
		MusicPackets:    c.musicPackets.Load(),
		DTLSHandshakes:  c.dtlsHandshakes.Load(),
		DTLSFailures:    c.dtlsFailures.Load(),
		ICERefused:      c.iceRefused.Load(),
	}
}

// Close closes every session (their sockets, their readers) and stops the
// timeout monitor. It waits for the readers to return.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	e.closed = true
	list := make([]*Session, 0, len(e.sessions))
	for s := range e.sessions {
		list = append(list, s)
	}
	e.mu.Unlock()
	close(e.stop)
	<-e.stopped
	for _, s := range list {
		s.Close()
	}
	if e.poller != nil {
		e.poller.close()
	}
	return nil
}

// monitor checks every session's media timeout every checkEvery.
func (e *Engine) monitor() {
	defer close(e.stopped)
	t := time.NewTicker(e.cfg.checkEvery)
	defer t.Stop()
	var list []*Session
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		list = list[:0]
		e.mu.Lock()
		for s := range e.sessions {
			list = append(list, s)
		}
		e.mu.Unlock()
		now := e.now()
		for _, s := range list {
			s.checkTimeout(now)
		}
		clear(list)
	}
}

func (e *Engine) String() string {
	return fmt.Sprintf("media engine %s ports %d-%d", e.cfg.advertised, e.cfg.portMin, e.cfg.portMax)
}
