package media

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"

	"github.com/sipswitch/sipswitch/internal/udpbatch"
)

// Hold music (issue 29, a line's music). When a party holds the call
// (its offer's first audio stream is sendonly or inactive, or has the
// RFC 2543 hold address 0.0.0.0; RFC 3264 8.4), the relay plays a music
// class to the other party until an offer of the holding party resumes
// (sendrecv or recvonly). The class is the holding party's
// (SetHoldMusic; a line's music, as Asterisk's mohsuggest: "the class
// suggested to the other party when this channel holds it"), else the
// class "default"; a class the library does not have plays "default" too
// (Asterisk's fallback); no class at all: nothing is played, as before.
// Music starts once the call is answered.
//
// What is played: RTP of the relay's own (a random SSRC, sequence number
// and timestamp; the marker bit on the first packet, RFC 3551 4.1), one
// 20 ms packet of 160 samples every 20 ms, in the G.711 law the held
// party uses: the payload type it last sent, else the one the holding
// party last sent, else its SDP's PCMU, else PCMA; a held party whose SDP
// lists neither gets nothing (INFERRED: the relay encodes no other codec).
// It is sent from the held party's relay port to where its media goes
// (its latched address, else the signalled one). While music plays, the
// holding party's RTP is not passed to the held party (a phone that
// keeps sending comfort noise or silence while holding would otherwise
// interleave two sources). An offer that holds with inactive reaches the
// held party as sendonly while music plays to it (the relay sends; a
// phone told inactive may ignore what arrives). One goroutine of the
// engine sends every held call's packets.
//
// Classes are files the operator supplies (LoadMusic): a directory whose
// files form the class "default" and whose subdirectories are classes by
// their names (a line's music N is the class "music-N", as the rendered
// moh_suggest names it), the layout of Asterisk's moh directory. Files
// are played in name order, looped: WAVE (PCM of 8 to 32 bits, float,
// A-law or μ-law, any rate and channels: mixed to mono and resampled to
// 8 kHz once, at load), raw μ-law (.ulaw, .ul, .mu, .pcm), raw A-law
// (.alaw, .al) and raw 16-bit signed linear (.sln at 8 kHz, .sln16 at
// 16 kHz), Asterisk's names. Each class is converted to both laws at
// load; a class is at most 30 minutes.

// musicPtime is the packetisation of hold music: 20 ms (RFC 3551 4.5:
// the default of G.711).
const (
	musicPtime   = 20 * time.Millisecond
	musicSamples = 160
	maxClassLen  = 30 * 60 * 8000
	// DefaultMusicClass is the class played when the holding party names
	// none, or one the library lacks (Asterisk's default class).
	DefaultMusicClass = "default"
)

// MusicLibrary is the hold music classes, loaded once (LoadMusic) and
// read-only after.
type MusicLibrary struct {
	classes map[string]*musicClass
}

type musicClass struct {
	name      string
	mu, alaw  []byte // the class in each law, a multiple of 160 samples
	durationS float64
}

// Classes lists the library's classes with their length in seconds.
func (l *MusicLibrary) Classes() map[string]float64 {
	out := map[string]float64{}
	if l == nil {
		return out
	}
	for name, c := range l.classes {
		out[name] = c.durationS
	}
	return out
}

func (l *MusicLibrary) class(name string) *musicClass {
	if l == nil {
		return nil
	}
	if c := l.classes[name]; c != nil {
		return c
	}
	return l.classes[DefaultMusicClass]
}

// LoadMusic reads the classes under dir (see above). A file it cannot
// read is left out and reported in problems; err is for a directory that
// cannot be read at all.
func LoadMusic(dir string) (lib *MusicLibrary, problems []error, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("media: music directory: %w", err)
	}
	lib = &MusicLibrary{classes: map[string]*musicClass{}}
	var top []string
	for _, e := range entries {
		switch {
		case e.IsDir():
			files, err := os.ReadDir(filepath.Join(dir, e.Name()))
			if err != nil {
				problems = append(problems, err)
				continue
			}
			var names []string
			for _, f := range files {
				if f.Type().IsRegular() {
					names = append(names, filepath.Join(dir, e.Name(), f.Name()))
				}
			}
			problems = lib.add(e.Name(), names, problems)
		case e.Type().IsRegular():
			top = append(top, filepath.Join(dir, e.Name()))
		}
	}
	if len(top) > 0 {
		problems = lib.add(DefaultMusicClass, top, problems)
	}
	return lib, problems, nil
}

// add decodes files (in name order) into class name, appending to what
// it holds.
func (l *MusicLibrary) add(name string, files []string, problems []error) []error {
	slices.Sort(files)
	var pcm []int16
	if c := l.classes[name]; c != nil {
		pcm = make([]int16, len(c.mu))
		LawMu.Decode(pcm, c.mu)
	}
	for _, f := range files {
		samples, err := readMusicFile(f)
		if err != nil {
			if !errors.Is(err, errNotAudio) {
				problems = append(problems, fmt.Errorf("%s: %w", f, err))
			}
			continue
		}
		if len(pcm)+len(samples) > maxClassLen {
			problems = append(problems, fmt.Errorf("%s: class %s would pass 30 minutes; the rest is left out", f, name))
			samples = samples[:maxClassLen-len(pcm)]
		}
		pcm = append(pcm, samples...)
		if len(pcm) >= maxClassLen {
			break
		}
	}
	if len(pcm) == 0 {
		return problems
	}
	if r := len(pcm) % musicSamples; r != 0 {
		pcm = append(pcm, make([]int16, musicSamples-r)...)
	}
	c := &musicClass{name: name, mu: make([]byte, len(pcm)), alaw: make([]byte, len(pcm)), durationS: float64(len(pcm)) / 8000}
	LawMu.Encode(c.mu, pcm)
	LawA.Encode(c.alaw, pcm)
	l.classes[name] = c
	return problems
}

// errNotAudio marks a file whose name is no audio format the loader
// knows (a README beside the music): skipped without a problem.
var errNotAudio = errors.New("not an audio file")

func readMusicFile(path string) ([]int16, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".wav", ".ulaw", ".ul", ".mu", ".pcm", ".alaw", ".al", ".sln", ".sln16":
	default:
		return nil, errNotAudio
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxAudioBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadAudio, maxAudioBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodeMusic(ext, b)
}

// decodeMusic turns a file's bytes (its extension says the format) into
// 8 kHz linear samples.
func decodeMusic(ext string, b []byte) ([]int16, error) {
	switch ext {
	case ".wav":
		return decodeWAV(b)
	case ".ulaw", ".ul", ".mu", ".pcm":
		out := make([]int16, len(b))
		LawMu.Decode(out, b)
		return out, nil
	case ".alaw", ".al":
		out := make([]int16, len(b))
		LawA.Decode(out, b)
		return out, nil
	case ".sln", ".sln16":
		out := make([]int16, len(b)/2)
		for i := range out {
			out[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		if ext == ".sln16" {
			out = resample(out, 16000, 8000)
		}
		return out, nil
	}
	return nil, errNotAudio
}

// SetMusic makes lib the hold music of new holds (nil: none). Music
// already playing goes on with the class it started with.
func (e *Engine) SetMusic(lib *MusicLibrary) { e.music.lib.Store(lib) }

// SetHoldMusic names the class played to the other party when side
// holds the call ("" for the default class).
func (s *Session) SetHoldMusic(side Side, class string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.legs[side].musicClass = class
}

// MusicPlaying reports whether the relay plays hold music to side now.
func (s *Session) MusicPlaying(side Side) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.legs[side].player != nil
}

// holds reports whether an SDP holds the call: its first relayed audio
// line is sendonly or inactive, or has the hold address 0.0.0.0.
func holds(lines []mediaLine) bool {
	for _, l := range lines {
		if l.kind == kindRTP && l.media == "audio" && l.port != 0 {
			return l.hold || l.dir == dirSendOnly || l.dir == dirInactive
		}
	}
	return false
}

// noteOffer follows who holds the call: an offer decides it for its
// sender (an answer only follows the offer). Called with s.mu held.
func (s *Session) noteOffer(from Side, lines []mediaLine) {
	s.legs[from].holding = holds(lines)
	s.updateMusic()
}

// updateMusic starts music towards each party the other holds and stops
// it where the hold ended (or the session closes). Called with s.mu
// held.
func (s *Session) updateMusic() {
	var st *stream
	for _, c := range s.streams {
		if c != nil && c.ends[0].cfg.Load().kind == kindRTP && c.ends[0].cfg.Load().media == "audio" {
			st = c
			break
		}
	}
	for side := range s.legs {
		held := s.legs[side]
		holder := s.legs[1-side]
		want := !s.closed && s.armed.Load() && holder.holding && st != nil
		switch {
		case want && held.player == nil:
			s.startMusic(Side(side), st)
		case !want && held.player != nil:
			s.e.music.remove(held.player)
			held.player.end.music.Store(nil)
			held.player = nil
		}
	}
}

// musicDirection rewrites a hold offer of inactive into sendonly towards a
// party the relay plays music to (the relay sends; the holding party
// still receives nothing): a phone told inactive may ignore what
// arrives. Called with s.mu held, on the offer before it is rewritten.
func (s *Session) musicDirection(sd *sdp.SessionDescription, to Side) {
	p := s.legs[to].player
	if p == nil || p.index >= len(sd.MediaDescriptions) {
		return
	}
	md := sd.MediaDescriptions[p.index]
	for i, a := range md.Attributes {
		switch a.Key {
		case "inactive":
			md.Attributes[i] = sdp.NewPropertyAttribute("sendonly")
			return
		case "sendrecv", "sendonly", "recvonly":
			return
		}
	}
	if dir, _ := parseDirection(sd.Attributes); dir == dirInactive {
		md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute("sendonly"))
	}
}

// startMusic plays the holding party's class to side, if the library has
// one and the held party takes G.711.
func (s *Session) startMusic(side Side, st *stream) {
	holder := s.legs[side.other()]
	class := s.e.music.lib.Load().class(holder.musicClass)
	if class == nil {
		return
	}
	end := st.ends[side]
	var offered map[uint8]payloadInfo
	if l := s.legs[side].lines; st.index < len(l) {
		offered = l[st.index].pts
	}
	pt, law, ok := musicFormat(offered, end.lastPT, st.ends[side.other()].lastPT)
	if !ok {
		s.e.log.Debug("media hold music not played: the held party takes no G.711", "session", s.id, "leg", side.String())
		return
	}
	p := &musicPlayer{s: s, end: end, index: st.index, class: class, law: law, pt: pt, first: true}
	var b [10]byte
	_, _ = rand.Read(b[:])
	p.ssrc = binary.BigEndian.Uint32(b[0:4])
	p.seq = binary.BigEndian.Uint16(b[4:6])
	p.ts = binary.BigEndian.Uint32(b[6:10])
	if end.worker != nil {
		p.out = fdWriter(end.pair.rtp.fd, 1)
	} else {
		var err error
		if p.out, err = udpbatch.NewWriter(end.pair.rtp.conn, 1); err != nil {
			s.e.log.Warn("media hold music not played", "session", s.id, "error", err)
			return
		}
	}
	s.legs[side].player = p
	end.music.Store(p)
	s.e.music.add(p)
	s.e.log.Debug("media hold music", "session", s.id, "to", side.String(), "class", class.name, "codec", law.String())
}

// lastPT is the payload type the end's party last sent, ok false before
// any.
func (end *streamEnd) lastPT() (uint8, bool) {
	end.mu.Lock()
	defer end.mu.Unlock()
	return end.rx.lastPT, end.rx.packets > 0
}

// musicFormat picks the payload type of hold music for a party that
// offered offered: what it sent, else what the holding party sent, as
// long as it offered it and it is G.711; else its PCMU, else its PCMA.
func musicFormat(offered map[uint8]payloadInfo, own, other func() (uint8, bool)) (uint8, Law, bool) {
	names := make(map[uint8]string, len(offered))
	for pt, info := range offered {
		names[pt] = info.name
	}
	for _, sent := range []func() (uint8, bool){own, other} {
		if pt, ok := sent(); ok {
			if _, listed := offered[pt]; listed {
				if law := lawOf(pt, names); law != LawNone {
					return pt, law, true
				}
			}
		}
	}
	for _, want := range []Law{LawMu, LawA} {
		best, found := uint8(0), false
		for pt := range offered {
			if lawOf(pt, names) == want && (!found || pt < best) {
				best, found = pt, true
			}
		}
		if found {
			return best, want, true
		}
	}
	return 0, LawNone, false
}

// musicPlayer plays one class to one held party.
type musicPlayer struct {
	s     *Session
	end   *streamEnd // the held party's: its socket sends, its address receives
	index int        // its m= line
	class *musicClass
	law   Law
	pt    uint8
	ssrc  uint32
	seq   uint16
	ts    uint32
	pos   int
	first bool
	out   *udpbatch.Writer
	hdr   rtp.Header
	pkt   [12 + musicSamples + srtpOverhead]byte
	sent  uint64
}

// send sends the next 20 ms of the class (the pump's goroutine, under its
// lock). To a party whose SRTP the relay terminates (SDES or DTLS-SRTP)
// the packet is encrypted under the relay's key for it, with the context
// the forwarding path uses, under the lock it is used under (the other
// end's: srtp.go); a WebRTC party whose keys are not there yet gets
// nothing.
func (p *musicPlayer) send() {
	dst := p.end.dstRTP.Load()
	t := p.end.srtp.Load()
	if dst == nil || t == nil && p.end.wrtc.Load() != nil {
		return
	}
	audio := p.class.mu
	if p.law == LawA {
		audio = p.class.alaw
	}
	p.hdr = rtp.Header{Version: 2, PayloadType: p.pt & 0x7F, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc, Marker: p.first}
	p.first = false
	b := p.pkt[:12+musicSamples]
	if _, err := p.hdr.MarshalTo(b); err != nil {
		return
	}
	copy(b[12:], audio[p.pos:p.pos+musicSamples])
	p.pos += musicSamples
	if p.pos >= len(audio) {
		p.pos = 0
	}
	p.seq++
	p.ts += musicSamples
	if t != nil {
		p.end.peer.mu.Lock()
		sealed, err := t.out.EncryptRTP(b, b, &p.hdr)
		p.end.peer.mu.Unlock()
		if err != nil {
			p.s.e.counters.sendErrors.Add(1)
			return
		}
		b = sealed
	}
	p.out.Add(b, &dst.dst)
	if failed, _ := p.out.Flush(); failed > 0 {
		p.s.e.counters.sendErrors.Add(uint64(failed))
		return
	}
	p.sent++
	p.s.e.counters.musicPackets.Add(1)
}

// musicPump is the engine's one goroutine that sends hold music: it runs
// while any player plays, waking every 20 ms.
type musicPump struct {
	e       *Engine
	lib     atomic.Pointer[MusicLibrary]
	mu      sync.Mutex
	players map[*musicPlayer]struct{}
	running bool
}

func (m *musicPump) add(p *musicPlayer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.players == nil {
		m.players = map[*musicPlayer]struct{}{}
	}
	m.players[p] = struct{}{}
	if !m.running {
		m.running = true
		go m.run()
	}
}

// remove stops p; when it returns the pump no longer touches p (nor its
// socket).
func (m *musicPump) remove(p *musicPlayer) {
	m.mu.Lock()
	delete(m.players, p)
	m.mu.Unlock()
}

func (m *musicPump) run() {
	t := time.NewTicker(musicPtime)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-m.e.stop:
			m.mu.Lock()
			m.running = false
			m.mu.Unlock()
			return
		}
		m.mu.Lock()
		if len(m.players) == 0 {
			m.running = false
			m.mu.Unlock()
			return
		}
		for p := range m.players {
			p.send()
		}
		m.mu.Unlock()
	}
}
