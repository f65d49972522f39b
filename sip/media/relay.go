package media

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/sipswitch/sipswitch/internal/udpbatch"
)

// The forwarding path. Every socket has a reader: polled by an epoll
// worker (poll_linux.go), or with a goroutine of its own blocked in a
// batched read. A batch is checked, counted and forwarded with one
// sendmmsg per destination socket, under the stream end's lock (taken
// once per batch). Nothing on this path allocates once a leg is latched
// (RTCP reports, a few per minute, are parsed with pion/rtcp, which does).

// maxDatagram is the largest datagram relayed; larger ones are dropped.
const maxDatagram = 1500

// endpoint is where one party's RTP or RTCP goes. Values are immutable:
// a change (latching, a new SDP) stores a new one.
type endpoint struct {
	dst     udpbatch.Dest
	ap      netip.AddrPort
	latched bool
}

func newEndpoint(ap netip.AddrPort, latched bool) *endpoint {
	d := udpbatch.NewDest(ap)
	return &endpoint{dst: d, ap: d.AP, latched: latched}
}

// latchedAddr is the latched address, invalid when d is nil or only
// signalled.
func (d *endpoint) latchedAddr() netip.AddrPort {
	if d == nil || !d.latched {
		return netip.AddrPort{}
	}
	return d.ap
}

// ptSet is a set of RTP payload types (0-127).
type ptSet [2]uint64

func (s *ptSet) add(pt uint8)     { s[pt>>6&1] |= 1 << (pt & 63) }
func (s ptSet) has(pt uint8) bool { return pt < 128 && s[pt>>6]&(1<<(pt&63)) != 0 }

// endConfig is what one stream end knows from the SDP of both parties;
// immutable, swapped whole.
type endConfig struct {
	kind   streamKind
	src    sources // who may latch (latch.go)
	mux    bool    // the party multiplexes RTCP on the RTP port
	pts    ptSet
	noJit  ptSet // telephone-event, CN: no jitter sample
	clocks [128]uint32
	names  map[uint8]string
	ptime  int
	dir    direction
	media  string
}

// streamEnd is one leg's side of a stream: the port pair that leg's party
// sends to, where that party's media goes, and what was received from it.
type streamEnd struct {
	s    *Session
	leg  *leg
	pair *portPair
	peer *streamEnd

	cfg     atomic.Pointer[endConfig]
	srtp    atomic.Pointer[srtpTransform] // nil: the party speaks plain RTP (srtp.go)
	dstRTP  atomic.Pointer[endpoint]      // this party's RTP (and muxed RTCP) address
	dstRTCP atomic.Pointer[endpoint]      // this party's RTCP address when not muxed
	sigRTP  netip.AddrPort                // signalled (written under the session mutex and mu)
	sigRTCP netip.AddrPort

	// wrtc is the ICE-lite and DTLS side when the party is a WebRTC agent
	// (webrtc.go); nil otherwise. Set once, under the session mutex.
	wrtc atomic.Pointer[webrtcEnd]

	readers [2]*reader  // RTP, RTCP socket
	worker  *pollWorker // epoll model; nil: a goroutine per socket
	polled  [2]bool

	rec   atomic.Pointer[Recording]   // record.go: this party's RTP is recorded
	music atomic.Pointer[musicPlayer] // music.go: hold music plays to this party

	// mu is taken by the readers once per batch: rx, the latching of
	// dstRTP and dstRTCP, and cfg's swaps (configure) happen under it, so
	// that a batch sees one configuration and its latch.
	mu sync.Mutex
	rx rxState

	closeOnce sync.Once
}

// rxState is what was received from the party (under streamEnd.mu).
type rxState struct {
	packets, bytes uint64
	ssrc           uint32
	haveSSRC       bool
	ssrcChanges    uint64
	lastPT         uint8
	seq            seqTracker
	jit            jitterEstimator
	rtcpPackets    uint64
	learn          learner // an allowed source on probation (latch.go)
	relatches      uint64
	droppedSource  uint64
	droppedLearn   uint64
	droppedInvalid uint64
	droppedNoDest  uint64
	droppedAuth    uint64
	report         ReceptionReport
}

func newStreamEnd(s *Session, l *leg, pp *portPair) *streamEnd {
	end := &streamEnd{s: s, leg: l, pair: pp}
	end.cfg.Store(&endConfig{})
	return end
}

// start creates the readers: a goroutine per socket, or (epoll model)
// registration with a poll worker.
func (end *streamEnd) start(worker *pollWorker) error {
	e := end.s.e
	socks := [2]udpSock{end.pair.rtp, end.pair.rtcp}
	peer := [2]udpSock{end.peer.pair.rtp, end.peer.pair.rtcp}
	for i, sock := range socks {
		batch := e.cfg.batch
		if i == 1 {
			batch = min(batch, 2) // RTCP: one packet per few seconds
		}
		r := &reader{end: end, rtcpSock: i == 1}
		bufSize := maxDatagram + srtpOverhead // room to encrypt in place
		r.pkt.CSRC = make([]uint32, 0, 15)
		r.pkt.Extensions = make([]rtp.Extension, 0, 16)
		if worker != nil {
			r.in = fdReader(sock.fd, batch, bufSize)
			r.toRTP, r.toRTCP = fdWriter(peer[0].fd, batch), fdWriter(peer[1].fd, batch)
		} else {
			var err error
			if r.in, err = udpbatch.NewReader(sock.conn, batch, bufSize); err != nil {
				return err
			}
			if r.toRTP, err = udpbatch.NewWriter(peer[0].conn, batch); err != nil {
				return err
			}
			if r.toRTCP, err = udpbatch.NewWriter(peer[1].conn, batch); err != nil {
				return err
			}
		}
		end.readers[i] = r
	}
	if worker != nil {
		end.worker = worker
		for i, r := range end.readers {
			if err := worker.add(socks[i].fd, r); err != nil {
				end.stopReaders()
				return err
			}
			end.polled[i] = true
		}
		return nil
	}
	for _, r := range end.readers {
		end.s.wg.Add(1)
		go r.run()
	}
	return nil
}

// stopReaders takes the end's sockets off its poll worker; when it
// returns no worker reads them. (Goroutine readers stop when the sockets
// close.)
func (end *streamEnd) stopReaders() {
	if end.worker == nil {
		return
	}
	for i, sock := range [2]udpSock{end.pair.rtp, end.pair.rtcp} {
		if end.polled[i] {
			end.worker.remove(sock.fd)
			end.polled[i] = false
		}
	}
}

// close releases the end's ports. In the epoll model every end that may
// send on these sockets (the peer end) must have stopped its readers
// first: a descriptor number is reused as soon as it is closed.
func (end *streamEnd) close() {
	end.closeOnce.Do(func() {
		if w := end.wrtc.Load(); w != nil {
			w.close()
		}
		end.stopReaders()
		end.s.e.ports.release(end.pair)
	})
}

func (end *streamEnd) setMux(mux bool) {
	c := *end.cfg.Load()
	c.mux = mux
	end.cfg.Store(&c)
}

// configure applies the SDP of this end's party (own) and of the other
// party (other), whether that party is behind NAT and the addresses its
// SIP came from (hosts), under the session mutex. A changed signalled
// address drops the latch: the party's media is learnt again; so does a
// latched source the new rules no longer allow.
func (end *streamEnd) configure(own, other *mediaLine, nat bool, hosts []netip.Addr) {
	old := end.cfg.Load()
	c := &endConfig{mux: old.mux, names: make(map[uint8]string)}
	for _, m := range []*mediaLine{own, other} {
		if m == nil || m.port == 0 {
			continue
		}
		if c.kind == kindNone {
			c.kind = m.kind
			c.media = m.media
		}
		for pt, info := range m.pts {
			c.pts.add(pt)
			c.clocks[pt] = info.clock
			c.names[pt] = info.name
			if info.name == codecTelephoneEvent || info.name == codecCN {
				c.noJit.add(pt)
			}
		}
		if c.ptime == 0 {
			c.ptime = m.ptime
		}
	}
	end.mu.Lock()
	defer end.mu.Unlock()
	if own != nil {
		c.dir = own.dir
		if own.port == 0 {
			c.kind = kindNone
		}
		rtpAddr, rtcpAddr := own.rtpAddr(), own.rtcpAddr()
		if w := end.wrtc.Load(); w != nil {
			// A WebRTC party's address is the one ICE nominated
			// (nominate), not its SDP's placeholder.
			w.setRemote(own.webrtc)
			rtpAddr, rtcpAddr = end.sigRTP, end.sigRTP
		}
		if rtpAddr != end.sigRTP || own.kind != old.kind {
			end.sigRTP = rtpAddr
			end.storeSignalled(&end.dstRTP, rtpAddr)
		}
		if rtcpAddr != end.sigRTCP {
			end.sigRTCP = rtcpAddr
			end.storeSignalled(&end.dstRTCP, rtcpAddr)
		}
	}
	c.src.hosts = hosts
	if trustedAddress(end.sigRTP.Addr(), nat) || end.wrtc.Load() != nil {
		c.src.rtp = end.sigRTP
	}
	if trustedAddress(end.sigRTCP.Addr(), nat) || end.wrtc.Load() != nil {
		c.src.rtcp = end.sigRTCP
	}
	if d := end.dstRTP.Load(); d.latchedAddr().IsValid() && !c.src.allowsRTP(d.ap) {
		end.storeSignalled(&end.dstRTP, end.sigRTP)
	}
	if d := end.dstRTCP.Load(); d.latchedAddr().IsValid() && !c.src.allowsRTCP(d.ap, end.dstRTP.Load().latchedAddr()) {
		end.storeSignalled(&end.dstRTCP, end.sigRTCP)
	}
	end.rx.learn = learner{}
	end.cfg.Store(c)
}

func (end *streamEnd) storeSignalled(p *atomic.Pointer[endpoint], ap netip.AddrPort) {
	if !ap.IsValid() {
		p.Store(nil)
		return
	}
	p.Store(newEndpoint(ap, false))
}

// reader reads one socket of a stream end and forwards to the peer end.
type reader struct {
	end      *streamEnd
	rtcpSock bool
	in       *udpbatch.Reader
	toRTP    *udpbatch.Writer // the peer's RTP socket
	toRTCP   *udpbatch.Writer // the peer's RTCP socket
	pkt      rtp.Packet       // reused: Unmarshal aliases the read buffer
	rtcpHdr  rtcp.Header      // reused by SRTCP
}

func (r *reader) run() {
	end := r.end
	e := end.s.e
	defer end.s.wg.Done()
	fails := 0
	for {
		n, err := r.in.Read()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			e.counters.readErrors.Add(1)
			if fails++; fails > 100 {
				time.Sleep(10 * time.Millisecond) // a persistent error must not spin
			}
			continue
		}
		fails = 0
		r.handle(n, e.now())
	}
}

// poll reads one batch of a ready socket (epoll model).
func (r *reader) poll() {
	n, err := r.in.Read()
	if err != nil {
		r.end.s.e.counters.readErrors.Add(1)
		return
	}
	if n > 0 {
		r.handle(n, r.end.s.e.now())
	}
}

// handle checks, counts and forwards a batch of n datagrams read at now.
// With SRTP (srtp.go) a datagram is authenticated and decrypted in its
// read buffer before it can latch or be counted, and encrypted in place
// for the other party when that one is SRTP too: the buffers have room
// for the tag.
func (r *reader) handle(n int, now int64) {
	end, peer := r.end, r.end.peer
	e := end.s.e
	pcfg := peer.cfg.Load()
	pRTP := peer.dstRTP.Load()
	pRTCP := peer.dstRTCP.Load()
	rtcpOut, pRTCPDst := r.toRTCP, pRTCPDst(pcfg, pRTP, pRTCP)
	if pcfg.mux {
		rtcpOut = r.toRTP
	}
	var fwd, media, dropSrc, dropLearn, dropInv, dropDst, dropAuth, sendErr uint64
	end.mu.Lock()
	cfg := end.cfg.Load()
	rx := &end.rx
	// The party's transform decrypts what it sends; the peer's encrypts
	// what goes to the peer's party. Both are used under end.mu only.
	in, out := end.srtp.Load(), peer.srtp.Load()
	w := end.wrtc.Load()
	for i := range n {
		b, src := r.in.Msg(i)
		if len(b) == 0 || len(b) > maxDatagram || !src.IsValid() {
			dropInv++
			continue
		}
		if w != nil {
			// A WebRTC party: STUN, DTLS and SRTP on one port (RFC 7983).
			switch v := r.demuxWebRTC(w, b, src); v {
			case demuxMedia:
				if in == nil {
					// Keyed by the handshake since the batch began.
					if in = end.srtp.Load(); in == nil {
						dropInv++
						continue
					}
				}
			case demuxSource:
				dropSrc++
				continue
			case demuxInvalid:
				dropInv++
				continue
			default:
				continue
			}
		}
		if r.rtcpSock || (cfg.kind == kindRTP && cfg.mux && isRTCP(b)) {
			if cfg.kind != kindRTP {
				dropInv++ // RTCP port of a UDPTL or declined stream
				continue
			}
			if in != nil {
				if !r.rtcpSourceAllowed(cfg, src) {
					dropSrc++
					continue
				}
				plain, err := in.in.DecryptRTCP(b, b, &r.rtcpHdr)
				if err != nil {
					dropAuth++
					continue
				}
				b = plain
			}
			switch r.acceptRTCP(cfg, src) {
			case verdictSource:
				dropSrc++
				continue
			case verdictLearning:
				dropLearn++
				continue
			}
			rx.rtcpPackets++
			rx.bytes += uint64(len(b))
			if pRTCPDst == nil {
				dropDst++
				continue
			}
			if isRTCP(b) {
				rx.report.update(b, cfg.clocks[rx.lastPT])
			}
			if out != nil {
				sealed, err := out.out.EncryptRTCP(b, b, &r.rtcpHdr)
				if err != nil {
					sendErr++
					continue
				}
				b = sealed
			}
			rtcpOut.Add(b, &pRTCPDst.dst)
			fwd++
			if rtcpOut.Full() {
				r.flush(rtcpOut)
			}
			continue
		}
		switch cfg.kind {
		case kindRTP:
			if len(b) < 12 || b[0]>>6 != 2 {
				dropInv++
				continue
			}
			if in != nil {
				// Only the header is in the clear: its payload type and
				// source are checked before any crypto is spent, and a
				// source that may never latch does not get to use up the
				// party's replay window with a copy of its packets.
				if _, err := r.pkt.Header.Unmarshal(b); err != nil || !cfg.pts.has(r.pkt.PayloadType) {
					dropInv++
					continue
				}
				if latched := end.dstRTP.Load().latchedAddr(); src != latched && !cfg.src.allowsRTP(src) {
					dropSrc++
					continue
				}
				plain, err := in.in.DecryptRTP(b, b, &r.pkt.Header)
				if err != nil {
					dropAuth++ // forged, replayed, or under other keys
					continue
				}
				b = plain
			}
			// pion/rtp checks the header, extensions and padding.
			if err := r.pkt.Unmarshal(b); err != nil || !cfg.pts.has(r.pkt.PayloadType) {
				dropInv++
				continue
			}
			switch r.latch(cfg, src, r.pkt.SSRC, r.pkt.SequenceNumber, true) {
			case verdictSource:
				dropSrc++
				continue
			case verdictLearning:
				dropLearn++
				continue
			}
			rx.packets++
			rx.bytes += uint64(len(b))
			rx.lastPT = r.pkt.PayloadType
			rx.seq.update(r.pkt.SequenceNumber)
			if !cfg.noJit.has(r.pkt.PayloadType) {
				rx.jit.update(now, r.pkt.Timestamp, r.pkt.PayloadType, cfg.clocks[r.pkt.PayloadType])
			}
			// Recorded as the party sent it (decrypted, when the relay
			// terminates its SRTP), before it is encrypted for the peer.
			if rec := end.rec.Load(); rec != nil {
				rec.packet(end.leg.side, cfg, &r.pkt, now)
			}
			if out != nil && pRTP != nil {
				sealed, err := out.out.EncryptRTP(b, b, &r.pkt.Header)
				if err != nil {
					media++
					sendErr++
					continue
				}
				b = sealed
			}
		case kindUDPTL:
			if len(b) < 2 {
				dropInv++ // no UDPTL sequence number (T.38 UDPTLPacket seq-number)
				continue
			}
			switch r.latch(cfg, src, 0, uint16(b[0])<<8|uint16(b[1]), false) {
			case verdictSource:
				dropSrc++
				continue
			case verdictLearning:
				dropLearn++
				continue
			}
			rx.packets++
			rx.bytes += uint64(len(b))
		default:
			dropInv++
			continue
		}
		media++
		if peer.music.Load() != nil {
			continue // hold music plays to the other party instead (music.go)
		}
		if pRTP == nil {
			dropDst++
			continue
		}
		r.toRTP.Add(b, &pRTP.dst)
		fwd++
		if r.toRTP.Full() {
			r.flush(r.toRTP)
		}
	}
	rx.droppedSource += dropSrc
	rx.droppedLearn += dropLearn
	rx.droppedInvalid += dropInv
	rx.droppedNoDest += dropDst
	rx.droppedAuth += dropAuth
	end.mu.Unlock()
	// Counted before the batch is written, so whoever receives a
	// datagram finds it in the engine's counters.
	if media > 0 {
		end.leg.lastRx.Store(now)
	}
	if fwd > 0 {
		e.counters.forwarded.Add(fwd)
	}
	r.flush(r.toRTP)
	r.flush(rtcpOut)
	if dropSrc > 0 {
		e.counters.droppedSource.Add(dropSrc)
	}
	if dropLearn > 0 {
		e.counters.droppedLearning.Add(dropLearn)
	}
	if dropInv > 0 {
		e.counters.droppedInvalid.Add(dropInv)
	}
	if dropDst > 0 {
		e.counters.droppedNoDest.Add(dropDst)
	}
	if dropAuth > 0 {
		e.counters.droppedAuth.Add(dropAuth)
	}
	if sendErr > 0 {
		e.counters.sendErrors.Add(sendErr)
	}
}

// pRTCPDst is where the peer's party wants RTCP: its RTP address when it
// multiplexes.
func pRTCPDst(pcfg *endConfig, pRTP, pRTCP *endpoint) *endpoint {
	if pcfg.mux {
		return pRTP
	}
	return pRTCP
}

// rtcpSourceAllowed is acceptRTCP without its effects: whether src could
// be accepted or learnt at all. SRTCP from anywhere else is dropped before
// it is authenticated.
func (r *reader) rtcpSourceAllowed(cfg *endConfig, src netip.AddrPort) bool {
	end := r.end
	rtpLatched := end.dstRTP.Load().latchedAddr()
	if !r.rtcpSock {
		return src == rtpLatched || cfg.src.allowsRTP(src)
	}
	return src == end.dstRTCP.Load().latchedAddr() || cfg.src.allowsRTCP(src, rtpLatched)
}

func (r *reader) flush(o *udpbatch.Writer) {
	if o.Len() == 0 {
		return
	}
	if failed, _ := o.Flush(); failed > 0 {
		r.end.s.e.counters.sendErrors.Add(uint64(failed))
	}
}

// latch applies the latching rules (latch.go, sources.decide) to a media
// packet from src: seq is its RTP or UDPTL sequence number, ssrc its RTP
// SSRC (hasSSRC). A new SSRC from the latched source is a new source (a
// transfer, a restarted phone): counted, its statistics restart. When the
// latch moves to another source, the RTCP latch is learnt again (RTCP
// follows the RTP's host).
//
// Called with end.mu held.
func (r *reader) latch(cfg *endConfig, src netip.AddrPort, ssrc uint32, seq uint16, hasSSRC bool) verdict {
	end := r.end
	rx := &end.rx
	latched := end.dstRTP.Load().latchedAddr()
	v := cfg.src.decide(latched, &rx.learn, src, ssrc, seq)
	switch v {
	case verdictAccept:
	case verdictLatch:
		end.dstRTP.Store(newEndpoint(src, true))
		if latched.IsValid() {
			rx.relatches++
			end.s.e.counters.relatches.Add(1)
			end.storeSignalled(&end.dstRTCP, end.sigRTCP)
		}
		end.s.e.log.Debug("media latched", "session", end.s.id, "leg", end.leg.side.String(), "port", end.pair.port,
			"source", src.String(), "previous", latched.String())
	default:
		return v
	}
	if hasSSRC {
		rx.noteSSRC(ssrc, seq)
	}
	return v
}

// noteSSRC records the SSRC of an accepted packet: another SSRC than the
// last one restarts the sequence and jitter statistics (the loss counted
// so far stays) and is counted as a change.
func (rx *rxState) noteSSRC(ssrc uint32, seq uint16) {
	if rx.haveSSRC && ssrc != rx.ssrc {
		rx.ssrcChanges++
		rx.seq.reset(seq)
		rx.seq.received = 0 // update() counts this packet
		rx.jit.have = false
	}
	rx.ssrc, rx.haveSSRC = ssrc, true
}

// acceptRTCP applies the latching rules to RTCP. Multiplexed RTCP comes
// from the party's latched RTP source (before the RTP latches, from any
// source allowed to latch it) and never moves the RTP latch. RTCP on the
// RTCP port latches on its own, from the sources allowed for RTCP
// (sources.allowsRTCP), and once latched accepts only that source until
// the RTP latch moves; it has no sequence numbers to learn a new source
// by.
//
// Called with end.mu held.
func (r *reader) acceptRTCP(cfg *endConfig, src netip.AddrPort) verdict {
	end := r.end
	rtpLatched := end.dstRTP.Load().latchedAddr()
	if !r.rtcpSock {
		switch {
		case rtpLatched.IsValid() && src == rtpLatched:
			return verdictAccept
		case !cfg.src.allowsRTP(src):
			return verdictSource
		case rtpLatched.IsValid():
			return verdictLearning
		}
		return verdictAccept
	}
	d := end.dstRTCP.Load()
	if latched := d.latchedAddr(); latched.IsValid() {
		switch {
		case src == latched:
			return verdictAccept
		case cfg.src.allowsRTCP(src, rtpLatched):
			return verdictLearning
		}
		return verdictSource
	}
	if !cfg.src.allowsRTCP(src, rtpLatched) {
		return verdictSource
	}
	end.dstRTCP.Store(newEndpoint(src, true))
	return verdictLatch
}

// isRTCP tells RTCP from RTP on a multiplexed port (RFC 5761 4): the
// second octet of RTCP is its packet type, 192-223 (SR 200, RR 201, SDES,
// BYE, APP, RTPFB 205, PSFB 206, XR 207 ...), which in RTP would be a
// marker bit with payload type 64-95, the range RFC 5761 keeps free.
func isRTCP(b []byte) bool {
	return len(b) >= 8 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223
}

// ReceptionReport is what a party reported in its last RTCP SR/RR about
// the media it receives from the relay (RFC 3550 6.4): the loss and jitter
// on the far half of the path.
type ReceptionReport struct {
	Reports      uint64        // SR/RR report blocks seen
	FractionLost float64       // 0..1, of the last interval
	TotalLost    uint32        // cumulative, as reported
	Jitter       time.Duration // as reported, converted with the clock rate
}

// update reads the first report block of a compound RTCP packet. RTCP is
// a few packets per stream per minute: parsing it with pion/rtcp (which
// allocates) is off the per-packet budget.
func (rr *ReceptionReport) update(b []byte, clock uint32) {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	for _, p := range pkts {
		var blocks []rtcp.ReceptionReport
		switch p := p.(type) {
		case *rtcp.SenderReport:
			blocks = p.Reports
		case *rtcp.ReceiverReport:
			blocks = p.Reports
		}
		if len(blocks) == 0 {
			continue
		}
		rb := blocks[0]
		rr.Reports++
		rr.FractionLost = float64(rb.FractionLost) / 256
		rr.TotalLost = rb.TotalLost
		rr.Jitter = tsDuration(float64(rb.Jitter), clock)
		return
	}
}
