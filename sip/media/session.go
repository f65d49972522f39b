package media

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNoOffer is returned by Answer when the last offer did not come from
// the other side.
var ErrNoOffer = errors.New("media: answer without an offer from the other side")

// ErrMediaTimeout is the cause a timed-out session's TimeoutEvent carries;
// the call record's hangup cause is its text, "media timeout".
var ErrMediaTimeout = errors.New("media timeout")

// Side names a leg of a session: A faces the caller (the party whose
// INVITE created the call), B the callee.
type Side uint8

const (
	SideA Side = 0 // the caller's leg
	SideB Side = 1 // the callee's leg
)

func (s Side) other() Side { return 1 - s }

func (s Side) String() string {
	if s == SideA {
		return "a"
	}
	return "b"
}

// TimeoutEvent reports that a leg of an answered call sent no RTP for the
// timeout (Hold: the hold timeout). The SIP core ends the call.
type TimeoutEvent struct {
	Side Side
	Hold bool
	Idle time.Duration
}

// Err is ErrMediaTimeout.
func (TimeoutEvent) Err() error { return ErrMediaTimeout }

// leg is one party of a session: what it signalled and when it last sent.
type leg struct {
	side    Side
	nat     atomic.Bool
	sources []netip.Addr // where its SIP came from (SetSources); replaced whole, never changed in place
	lines   []mediaLine  // its last SDP (offer or answer)
	lastRx  atomic.Int64 // engine clock of its last RTP/UDPTL, or the last baseline
	origin  origin       // the o= line the relay shows this party
	webrtc  bool         // a WebRTC agent (webrtc.go): ICE-lite, DTLS-SRTP, rtcp-mux
	enc     Encryption   // SetEncryption
	sdes    []sdesStream // SDES state per m= line index (sdesneg.go)

	// Hold music (music.go): the class played to the other party when
	// this one holds; whether its last offer holds; the music playing
	// to this party (nil: none).
	musicClass string
	holding    bool
	player     *musicPlayer
}

// stream is one m= line index relayed between the two legs.
type stream struct {
	index int
	ends  [2]*streamEnd
}

// offer is the last offer: who sent it and what it signalled.
type offer struct {
	from  Side
	lines []mediaLine
	valid bool
}

// Session is the media of one call: two legs (A caller, B callee), one
// relayed stream per m= line, each stream with a port pair on each leg.
// Its methods are safe for concurrent use.
type Session struct {
	e  *Engine
	id string

	mu      sync.Mutex
	legs    [2]*leg
	streams []*stream // by m= line index; nil: never relayed
	last    offer
	closed  bool
	wg      sync.WaitGroup // readers

	armed   atomic.Bool
	hold    atomic.Bool
	fired   atomic.Bool
	timeout chan TimeoutEvent

	rec *Recording // record.go; nil: not recorded
}

func newSession(e *Engine, id string) *Session {
	s := &Session{e: e, id: id, timeout: make(chan TimeoutEvent, 1)}
	for i := range s.legs {
		l := &leg{side: Side(i)}
		var b [8]byte
		_, _ = rand.Read(b[:])
		l.origin.id = binary.BigEndian.Uint64(b[:]) >> 2 // fits an int64 for picky parsers
		s.legs[i] = l
	}
	return s
}

// ID is the id the session was created with.
func (s *Session) ID() string { return s.id }

// SetNAT says whether a leg's party is behind NAT (see BehindNAT): the
// address its SDP signals then names a host on the party's own network,
// and only a globally routable one may latch its media; its media latches
// from the addresses its SIP came from (SetSources), on any port. A party
// not behind NAT (the default) may also latch from the address and port
// its SDP signalled, whatever the address. Call it before the party's
// first packet can arrive.
func (s *Session) SetNAT(side Side, nat bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.legs[side].nat.Swap(nat) != nat {
		s.reconfigure()
	}
}

// SetSources says where a leg's party signals from: the addresses its SIP
// messages came from (for the caller, its INVITE's source; for the
// callee, the source of the response whose SDP the session took). Its
// media may latch from any port of these addresses, as well as from the
// signalled address when that is trusted (SetNAT); no other source ever
// latches it. The addresses replace the leg's previous ones; a latch on a
// source they no longer allow is dropped and learnt again. Call it before
// the party's first packet can arrive: for the callee, before Answer (or
// the Offer of its 2xx).
func (s *Session) SetSources(side Side, addrs ...netip.Addr) {
	list := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if a = a.Unmap(); a.IsValid() && !a.IsUnspecified() && !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.legs[side]
	if slices.Equal(l.sources, list) {
		return
	}
	l.sources = list
	s.reconfigure()
}

// Offer takes the SDP offer a party sent (from: its side) and returns the
// offer to send to the other party: the relay's address and the other
// leg's ports. The first offer binds the port pairs; a later one (re-INVITE,
// UPDATE, a 200 carrying an offer) updates the streams, adding pairs for
// new m= lines. An offer sent again to another peer (failover) is simply
// applied again.
func (s *Session) Offer(from Side, body []byte) ([]byte, error) {
	sd, lines, err := parseSDP(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if err := s.noteWebRTC(from, lines, true); err != nil {
		return nil, err
	}
	if err := s.sdesOffer(from, sd, lines); err != nil {
		return nil, err
	}
	for i, l := range lines {
		if err := s.ensureStream(i, l); err != nil {
			return nil, err
		}
	}
	l := s.legs[from]
	l.lines = lines
	s.last = offer{from: from, lines: lines, valid: true}
	for _, st := range s.streams {
		if st == nil {
			continue
		}
		i := st.index
		if i < len(lines) {
			st.ends[from].setMux(lines[i].mux) // an offered rtcp-mux is accepted
			if lines[i].webrtc != nil {
				st.ends[from].webrtc()
			}
		}
	}
	s.reconfigure()
	s.noteOffer(from, lines)
	to := from.other()
	s.musicDirection(sd, to)
	local := make([]localStream, len(lines))
	for i, ml := range lines {
		local[i] = s.localFor(to, i, ml.kind, ml.mux)
		if err := s.webrtcFor(&local[i], to, i, ml, true); err != nil {
			return nil, err
		}
	}
	if err := s.sdesApplyOffer(from, sd, lines, local); err != nil {
		return nil, err
	}
	return rewriteSDP(sd, local, s.e.cfg.advertised, &s.legs[to].origin, true)
}

// Answer takes the SDP answer a party sent (from: its side) to the last
// offer, which came from the other side, and returns the answer to send
// to the offerer. It may be called for every response that carries the
// answer (183 and then 200, or several forks' 183): the latest counts.
func (s *Session) Answer(from Side, body []byte) ([]byte, error) {
	sd, lines, err := parseSDP(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if !s.last.valid || s.last.from != from.other() {
		return nil, ErrNoOffer
	}
	off := s.last.lines
	if len(lines) != len(off) {
		return nil, fmt.Errorf("%w: %d m= lines answer %d", ErrSDPMismatch, len(lines), len(off))
	}
	if err := s.noteWebRTC(from, lines, false); err != nil {
		return nil, err
	}
	s.legs[from].lines = lines
	to := from.other()
	local := make([]localStream, len(lines))
	for i, ml := range lines {
		st := s.stream(i)
		if st != nil {
			st.ends[from].setMux(ml.mux && off[i].mux)
			if ml.webrtc != nil || st.ends[from].wrtc.Load() != nil {
				st.ends[from].webrtc() // rtcp-mux whatever the offer said
			}
		}
		ls := s.localFor(to, i, off[i].kind, off[i].mux)
		if ml.port == 0 || ml.kind != off[i].kind {
			ls.rtpPort = 0 // declined by the answerer
		}
		local[i] = ls
		if err := s.webrtcFor(&local[i], to, i, off[i], false); err != nil {
			return nil, err
		}
	}
	if err := s.sdesAnswer(from, sd, lines, local); err != nil {
		return nil, err
	}
	s.reconfigure()
	return rewriteSDP(sd, local, s.e.cfg.advertised, &s.legs[to].origin, false)
}

// ResetLeg forgets what the party on side signalled, where its media
// was latched and what it sent: the next party on that leg starts afresh.
// The SIP core calls it for SideB before offering the call to the next
// peer after a failure (the failed peer's early-media address must not
// keep receiving the caller's media), and keeps the ports.
func (s *Session) ResetLeg(side Side) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.legs[side].lines = nil
	s.legs[side].sources = nil
	s.legs[side].holding = false
	s.legs[side].webrtc = false
	s.legs[side].sdes = nil // the next party gets keys of its own
	if s.last.valid && s.last.from == side {
		s.last = offer{}
	}
	for _, st := range s.streams {
		if st == nil {
			continue
		}
		end := st.ends[side]
		end.setMux(false)
		end.mu.Lock()
		end.sigRTP, end.sigRTCP = netip.AddrPort{}, netip.AddrPort{}
		end.dstRTP.Store(nil)
		end.dstRTCP.Store(nil)
		end.rx = rxState{}
		end.mu.Unlock()
		end.srtp.Store(nil) // the next party brings its own keys
		if w := end.wrtc.Swap(nil); w != nil {
			w.close() // the next party has its own ICE and DTLS, if any
		}
	}
	s.reconfigure()
}

// Answered arms the media timeouts: call it when the call is answered (the
// 2xx to the INVITE). Before that no RTP is expected (ringing without
// early media).
func (s *Session) Answered() {
	s.baseline()
	s.armed.Store(true)
	s.mu.Lock()
	s.updateMusic()
	s.mu.Unlock()
}

// TimedOut delivers at most one TimeoutEvent, when a leg of the answered
// call sent no RTP for the timeout (the hold timeout while on hold).
func (s *Session) TimedOut() <-chan TimeoutEvent { return s.timeout }

// OnHold reports whether the last SDP of either leg holds the call (a
// direction other than sendrecv on an RTP stream, or c= 0.0.0.0).
func (s *Session) OnHold() bool { return s.hold.Load() }

// Close releases the session's ports and stops its readers; it waits for
// them. Closing twice returns ErrClosed.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.updateMusic() // stops it: the pump no longer sends on these sockets
	// Every reader stops before any socket closes (see streamEnd.close).
	for _, st := range s.streams {
		if st != nil {
			st.ends[0].stopReaders()
			st.ends[1].stopReaders()
		}
	}
	for _, st := range s.streams {
		if st != nil {
			st.ends[0].close()
			st.ends[1].close()
		}
	}
	rec := s.rec
	s.mu.Unlock()
	s.wg.Wait()
	if rec != nil {
		rec.Close() // the readers have stopped: what they handed over is written
	}
	s.e.forget(s)
	return nil
}

func (s *Session) stream(i int) *stream {
	if i < len(s.streams) {
		return s.streams[i]
	}
	return nil
}

// ensureStream binds the port pairs of m= line i on both legs the first
// time the line is relayable and not declined.
func (s *Session) ensureStream(i int, l mediaLine) error {
	for len(s.streams) <= i {
		s.streams = append(s.streams, nil)
	}
	if s.streams[i] != nil || l.kind == kindNone || l.port == 0 {
		return nil
	}
	st := &stream{index: i}
	for side := range st.ends {
		pp, err := s.e.ports.allocate()
		if err != nil {
			if side == 1 {
				st.ends[0].close()
			}
			return fmt.Errorf("session %s m= line %d: %w", s.id, i, err)
		}
		st.ends[side] = newStreamEnd(s, s.legs[side], pp)
	}
	st.ends[0].peer, st.ends[1].peer = st.ends[1], st.ends[0]
	worker := s.e.worker()
	for _, end := range st.ends {
		if err := end.start(worker); err != nil {
			st.ends[0].stopReaders()
			st.ends[1].stopReaders()
			st.ends[0].close()
			st.ends[1].close()
			return err
		}
	}
	s.streams[i] = st
	return nil
}

// localFor is the relay's side of m= line i towards the party on side to.
func (s *Session) localFor(to Side, i int, kind streamKind, mux bool) localStream {
	st := s.stream(i)
	if st == nil || kind == kindNone {
		return localStream{kind: kind}
	}
	return localStream{kind: kind, rtpPort: st.ends[to].pair.port, mux: mux && kind == kindRTP}
}

// reconfigure recomputes every stream end's configuration from both legs'
// last SDP, the hold state, and resets the timeout baseline (a changed SDP
// restarts the media clock).
func (s *Session) reconfigure() {
	hold := false
	for _, st := range s.streams {
		if st == nil {
			continue
		}
		var ml [2]*mediaLine
		for side, l := range s.legs {
			if st.index < len(l.lines) {
				ml[side] = &l.lines[st.index]
			}
		}
		for side, end := range st.ends {
			l := s.legs[side]
			end.configure(ml[side], ml[1-side], l.nat.Load(), l.sources)
		}
		for _, m := range ml {
			if m != nil && m.kind == kindRTP && m.port != 0 && (m.dir != dirSendRecv || m.hold) {
				hold = true
			}
		}
	}
	s.hold.Store(hold)
	s.baseline()
}

func (s *Session) baseline() {
	now := s.e.now()
	for _, l := range s.legs {
		l.lastRx.Store(now)
	}
}

// checkTimeout fires the timeout event of an answered session whose leg
// has been silent for too long.
func (s *Session) checkTimeout(now int64) {
	if !s.armed.Load() || s.fired.Load() {
		return
	}
	hold := s.hold.Load()
	limit := s.e.cfg.timeout
	if hold {
		limit = s.e.cfg.holdTimeout
	}
	if limit <= 0 {
		return
	}
	for _, l := range s.legs {
		idle := time.Duration(now - l.lastRx.Load())
		if idle < limit {
			continue
		}
		if !s.fired.CompareAndSwap(false, true) {
			return
		}
		s.e.counters.timeouts.Add(1)
		s.e.log.Info("media timeout", "session", s.id, "leg", l.side.String(), "hold", hold, "idle", idle.Round(time.Millisecond).String())
		s.timeout <- TimeoutEvent{Side: l.side, Hold: hold, Idle: idle}
		return
	}
}

// Stats returns the session's per-leg, per-stream statistics.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{ID: s.id, OnHold: s.hold.Load()}
	for side := range s.legs {
		ls := &st.Legs[side]
		ls.Side = Side(side)
		ls.NAT = s.legs[side].nat.Load()
		ls.Sources = slices.Clone(s.legs[side].sources)
		for _, stm := range s.streams {
			if stm == nil {
				continue
			}
			ls.Streams = append(ls.Streams, stm.ends[side].stats(stm.index))
		}
	}
	return st
}

// BehindNAT reports whether a party is behind NAT: the connection address
// of its SDP is not the address its SIP message came from (the "auto"
// rule of media.relay, and what SetNAT takes). An SDP without a usable
// address counts as behind NAT.
func BehindNAT(body []byte, sipSource netip.Addr) (bool, error) {
	_, lines, err := parseSDP(body)
	if err != nil {
		return false, err
	}
	src := sipSource.Unmap()
	for _, l := range lines {
		if l.kind == kindNone || l.port == 0 || l.hold {
			continue
		}
		if !l.addr.IsValid() || l.addr != src {
			return true, nil
		}
	}
	return false, nil
}
