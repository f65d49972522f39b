package media

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
)

// Call recording (issue 29, recordgroup). A Recording writes the first
// audio stream of a session into one WAVE file: two channels, the
// caller's leg (what party A sent) left and the callee's (party B) right,
// G.711 as sent at 8 kHz (WAVE_FORMAT_MULAW 7 or WAVE_FORMAT_ALAW 6, 8
// bits per sample, with the fact chunk non-PCM formats need). The file's
// law is that of the first G.711 packet; packets of the other law are
// converted code by code (G.711 Table 3 and 4 through linear). Packets of
// other payload types (other codecs, telephone-event, comfort noise) are
// not written and are counted in Skipped: their time is silence.
//
// Timing: each channel is placed by its RTP timestamps, anchored at the
// arrival of its first packet (and again on a new SSRC, or when the
// timestamps stray more than a second from arrival: a restarted sender,
// a jump): the two channels keep the relation in which the parties were
// heard, and a gap in either (silence suppression, hold, loss) is
// silence. Packets arriving more than half a second late find their
// place already written and are counted in Late.
//
// The relay's readers never wait for the file: each packet is copied
// into a bounded buffer (WithRecordBuffer, default 128 packets: over a
// second of both directions at 20 ms) that a goroutine of the recording
// drains and writes through a buffered writer; a packet that finds the
// buffer full is dropped and counted in Dropped, and its time is
// silence. The header is rewritten every ten seconds of audio and when
// the recording closes, so a switch that dies mid-call leaves a file
// that plays up to its last rewrite.

var (
	// ErrRecording is returned by Record for a session already recorded.
	ErrRecording = errors.New("media: session is already recorded")
	// ErrNoAudio is returned by Record for a session without a relayed
	// audio stream.
	ErrNoAudio = errors.New("media: no relayed audio stream to record")
)

const (
	recMaxPayload = 480      // bytes of one packet kept: 60 ms of G.711
	recWindow     = 2 * 8000 // frames buffered before the file (2 s)
	recDelay      = 4000     // frames a channel may lag before its place is written (0.5 s)
	recAnchorSlip = 8000     // timestamps further than this from arrival re-anchor (1 s)
	recHeaderFreq = 10 * 8000
)

// recordConfig is what RecordOptions set.
type recordConfig struct {
	buffer     int
	fileBuffer int // bytes of output gathered before a write
}

// RecordOption configures Session.Record.
type RecordOption func(*recordConfig)

// WithRecordBuffer sets how many packets may wait for the recording's
// writer before more are dropped (default 128).
func WithRecordBuffer(n int) RecordOption {
	return func(c *recordConfig) {
		if n > 0 {
			c.buffer = n
		}
	}
}

// withRecordFileBuffer sets the output buffer (tests: a stalled file
// blocks the writer at its first write).
func withRecordFileBuffer(n int) RecordOption {
	return func(c *recordConfig) { c.fileBuffer = n }
}

// recPacket is one packet handed to the writer: a copy, the reader's
// buffer is reused.
type recPacket struct {
	side Side
	law  Law
	n    uint16
	ssrc uint32
	ts   uint32
	at   int64 // engine clock
	data [recMaxPayload]byte
}

// RecordStats are what a recording wrote and left out.
type RecordStats struct {
	Packets uint64 // RTP packets written (both channels)
	Frames  uint64 // sample frames in the file (8,000 a second)
	Law     Law    // the file's law; LawNone before the first G.711 packet
	Dropped uint64 // packets dropped: the writer's buffer was full
	Skipped uint64 // packets of other payload types than G.711
	Late    uint64 // packets whose place was already written
	Err     error  // the first write error; the file stops there
}

// Recording is a session's recording in progress (Session.Record).
type Recording struct {
	s     *Session
	in    chan recPacket
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	w     io.WriteSeeker
	start int64
	cfg   recordConfig

	dropped, skipped atomic.Uint64
	stats            RecordStats // the writer's; read after done
}

// Record starts recording the session's first audio stream into w (see
// the rules above); w is closed by Recording.Close when it is an
// io.Closer. The session's Close closes the recording too.
func (s *Session) Record(w io.WriteSeeker, opts ...RecordOption) (*Recording, error) {
	cfg := recordConfig{buffer: 128, fileBuffer: 16 << 10}
	for _, o := range opts {
		o(&cfg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.rec != nil {
		return nil, ErrRecording
	}
	var st *stream
	for _, c := range s.streams {
		if c == nil {
			continue
		}
		if cfg := c.ends[0].cfg.Load(); cfg.kind == kindRTP && cfg.media == "audio" {
			st = c
			break
		}
	}
	if st == nil {
		return nil, ErrNoAudio
	}
	r := &Recording{
		s: s, w: w, start: s.e.now(), cfg: cfg,
		in:   make(chan recPacket, cfg.buffer),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	// A header now, so that the file is a WAVE file from the start.
	h := wavHeader(LawMu, 2, 0)
	if _, err := w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("media: recording header: %w", err)
	}
	s.rec = r
	s.e.counters.recordings.Add(1)
	go r.run()
	st.ends[0].rec.Store(r)
	st.ends[1].rec.Store(r)
	return r, nil
}

// packet hands a relayed RTP packet from side to the writer without ever
// waiting: a full buffer drops it. Called by the stream's readers with
// the stream end's lock held; p's payload is copied.
func (r *Recording) packet(side Side, cfg *endConfig, p *rtp.Packet, now int64) {
	law := lawOf(p.PayloadType, cfg.names)
	if law == LawNone || len(p.Payload) > recMaxPayload {
		r.skipped.Add(1)
		return
	}
	var rp recPacket
	rp.side, rp.law, rp.n, rp.ssrc, rp.ts, rp.at = side, law, uint16(len(p.Payload)), p.SSRC, p.Timestamp, now
	copy(rp.data[:], p.Payload)
	select {
	case r.in <- rp:
	default:
		r.dropped.Add(1)
		r.s.e.counters.recordDropped.Add(1)
	}
}

// Close stops the recording: what is buffered is written, the header
// completed, and w closed when it is an io.Closer. It returns what was
// written; closing again returns the same.
func (r *Recording) Close() RecordStats {
	r.once.Do(func() {
		r.s.mu.Lock()
		for _, st := range r.s.streams {
			if st == nil {
				continue
			}
			for _, end := range st.ends {
				end.rec.CompareAndSwap(r, nil)
			}
		}
		r.s.mu.Unlock()
		close(r.stop)
	})
	<-r.done
	st := r.stats
	st.Dropped, st.Skipped = r.dropped.Load(), r.skipped.Load()
	return st
}

// recChannel places one party's packets in the file.
type recChannel struct {
	anchored bool
	ssrc     uint32
	baseTS   uint32
	basePos  int64
}

// recWriter is the writer goroutine's state.
type recWriter struct {
	r       *Recording
	bw      *bufio.Writer
	law     Law
	flushed int64 // frames written to the file
	high    int64 // end of the furthest packet placed
	header  int64 // frames at the last header rewrite
	ch      [2]recChannel
	ring    [2][]byte // recWindow frames per channel, by position modulo recWindow
	out     []byte
	err     error
}

func (r *Recording) run() {
	defer close(r.done)
	w := &recWriter{r: r, bw: bufio.NewWriterSize(r.w, r.cfg.fileBuffer), out: make([]byte, 0, 2*1024)}
	for i := range w.ring {
		w.ring[i] = make([]byte, recWindow)
	}
	for {
		select {
		case p := <-r.in:
			w.place(&p)
		case <-r.stop:
			for {
				select {
				case p := <-r.in:
					w.place(&p)
					continue
				default:
				}
				break
			}
			w.finish()
			return
		}
	}
}

// place puts a packet at its position and writes out what no channel
// can change any more.
func (w *recWriter) place(p *recPacket) {
	if w.err != nil {
		return
	}
	if w.law == LawNone {
		w.law = p.law
		w.r.stats.Law = p.law
		for i := range w.ring {
			fillSilence(w.ring[i], p.law)
		}
	}
	now := (p.at - w.r.start) * 8000 / 1e9
	c := &w.ch[p.side]
	pos := c.basePos + int64(int32(p.ts-c.baseTS))
	if !c.anchored || p.ssrc != c.ssrc || pos < now-recAnchorSlip || pos > now+recAnchorSlip {
		c.anchored, c.ssrc, c.baseTS, c.basePos = true, p.ssrc, p.ts, now
		pos = now
	}
	n := int64(p.n)
	if pos+n <= w.flushed {
		w.r.stats.Late++
		return
	}
	if end := pos + n; end > w.flushed+recWindow {
		w.flushTo(end - recWindow)
	}
	data := p.data[:p.n]
	convertLaw(data, p.law, w.law)
	ring := w.ring[p.side]
	for i, b := range data {
		at := pos + int64(i)
		if at < w.flushed {
			continue
		}
		ring[at%recWindow] = b
	}
	w.high = max(w.high, pos+n)
	w.r.stats.Packets++
	if t := max(now, w.high) - recDelay; t > w.flushed {
		w.flushTo(t)
	}
}

// flushTo writes the frames up to (not including) position to,
// interleaved left (A) and right (B), and leaves their ring places
// silent for the next lap.
func (w *recWriter) flushTo(to int64) {
	sil := w.law.silence()
	a, b := w.ring[SideA], w.ring[SideB]
	for w.flushed < to && w.err == nil {
		i := w.flushed % recWindow
		n := min(to-w.flushed, recWindow-i, int64(cap(w.out)/2))
		out := w.out[:2*n]
		for k := range n {
			out[2*k], out[2*k+1] = a[i+k], b[i+k]
			a[i+k], b[i+k] = sil, sil
		}
		if _, err := w.bw.Write(out); err != nil {
			w.fail(err)
			return
		}
		w.flushed += n
	}
	if w.flushed-w.header >= recHeaderFreq {
		w.rewriteHeader()
	}
}

// rewriteHeader makes the header describe what has been written so far.
func (w *recWriter) rewriteHeader() {
	if err := w.bw.Flush(); err != nil {
		w.fail(err)
		return
	}
	law := w.law
	if law == LawNone {
		law = LawMu
	}
	h := wavHeader(law, 2, uint32(min(w.flushed, 1<<31)))
	if _, err := w.r.w.Seek(0, io.SeekStart); err != nil {
		w.fail(err)
		return
	}
	if _, err := w.r.w.Write(h[:]); err != nil {
		w.fail(err)
		return
	}
	if _, err := w.r.w.Seek(0, io.SeekEnd); err != nil {
		w.fail(err)
		return
	}
	w.header = w.flushed
}

func (w *recWriter) fail(err error) {
	if w.err == nil {
		w.err = err
		w.r.stats.Err = err
		w.r.s.e.log.Warn("media recording write failed", "session", w.r.s.id, "error", err)
	}
}

// finish writes everything placed, the final header, and closes the
// file.
func (w *recWriter) finish() {
	if w.law != LawNone {
		w.flushTo(w.high)
	}
	if w.err == nil {
		w.rewriteHeader()
	}
	w.r.stats.Frames = uint64(w.flushed)
	if c, ok := w.r.w.(io.Closer); ok {
		if err := c.Close(); err != nil {
			w.fail(err)
		}
	}
}

func fillSilence(b []byte, law Law) {
	s := law.silence()
	for i := range b {
		b[i] = s
	}
}
