package media

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// tonePackets is freq Hz as n 20 ms packets of law.
func tonePackets(law Law, freq float64, n int) [][]byte {
	pcm := tone(freq, 8000, 160*n, 10000)
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, 160)
		law.Encode(out[i], pcm[160*i:160*(i+1)])
	}
	return out
}

func (p *party) sendAudio(to netip.AddrPort, pt uint8, payload []byte) {
	p.seq++
	p.ts += uint32(len(payload))
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc}, Payload: payload}
	b, err := pkt.Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	p.sendFrom(p.conn, to, b)
}

// recvCount reads until n datagrams arrived at p (2 s each at most).
func (p *party) recvCount(n int) {
	p.t.Helper()
	for i := range n {
		if _, _, ok := recvOn(p.t, p.conn, 2*time.Second); !ok {
			p.t.Fatalf("%s: %d of %d datagrams received", p.addr(), i, n)
		}
	}
}

// TestRecordBothDirections: the caller's μ-law 1 kHz tone is the left
// channel, the callee's A-law 600 Hz tone the right, in one μ-law WAVE
// file (the callee's packets converted), a second each.
func TestRecordBothDirections(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		b.ssrc = 0x5678
		s, relayA, relayB := setup(t, e, a, b, false)
		s.Answered()
		path := filepath.Join(t.TempDir(), "call.wav")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := s.Record(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Record(f); !errors.Is(err, ErrRecording) {
			t.Fatalf("second Record: %v, want ErrRecording", err)
		}
		toneA, toneB := tonePackets(LawMu, 1000, 50), tonePackets(LawA, 600, 50)
		for i := range 50 {
			// In turn, so that the caller's packet reaches the recording
			// first and the file is μ-law (the first packet's law).
			a.sendAudio(relayA, 0, toneA[i])
			b.recvCount(1) // relayed all the same
			b.sendAudio(relayB, 8, toneB[i])
			a.recvCount(1)
		}
		a.send(relayA, 101, "dtmf") // telephone-event: not audio
		b.recvCount(1)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		st := rec.Close()
		if st.Err != nil || st.Packets != 100 || st.Skipped != 1 || st.Dropped != 0 || st.Law != LawMu {
			t.Fatalf("recording stats %+v", st)
		}
		rf, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer rf.Close()
		ch, rate, err := ReadWAV(rf)
		if err != nil {
			t.Fatal(err)
		}
		if rate != 8000 || len(ch) != 2 || uint64(len(ch[0])) != st.Frames || len(ch[0]) < 8000 || len(ch[0]) > 8000+recDelay+1600 {
			t.Fatalf("file: %d channels of %d frames at %d Hz (stats %d frames)", len(ch), len(ch[0]), rate, st.Frames)
		}
		left, right := ch[0], ch[1]
		if g := goertzel(left, 1000, 8000); g < 0.8 {
			t.Errorf("left channel: 1 kHz holds %.2f of its power", g)
		}
		if g := goertzel(right, 600, 8000); g < 0.8 {
			t.Errorf("right channel: 600 Hz holds %.2f of its power", g)
		}
		if g := goertzel(left, 600, 8000); g > 0.05 {
			t.Errorf("the callee leaks into the caller's channel: %.2f", g)
		}
		hdr := make([]byte, wavHeaderLen)
		rf.ReadAt(hdr, 0)
		want := wavHeader(LawMu, 2, uint32(st.Frames))
		if string(hdr) != string(want[:]) {
			t.Errorf("header %x, want %x", hdr, want)
		}
	})
}

// blockingFile is a recording target whose writes wait until released:
// a disk that stalls.
type blockingFile struct {
	mu      sync.Mutex
	release chan struct{}
	data    []byte
	pos     int
	closed  bool
}

func (f *blockingFile) Write(b []byte) (int, error) {
	<-f.release
	f.mu.Lock()
	defer f.mu.Unlock()
	if end := f.pos + len(b); end > len(f.data) {
		f.data = append(f.data, make([]byte, end-len(f.data))...)
	}
	copy(f.data[f.pos:], b)
	f.pos += len(b)
	return len(b), nil
}

func (f *blockingFile) Seek(off int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch whence {
	case io.SeekStart:
		f.pos = int(off)
	case io.SeekEnd:
		f.pos = len(f.data) + int(off)
	}
	return int64(f.pos), nil
}

func (f *blockingFile) Close() error { f.closed = true; return nil }

// TestRecordNeverBlocksTheRelay: with the file stuck (a stalled disk:
// every write after the header waits) and a buffer of 4 packets, the
// relay keeps forwarding every packet; the writer blocks at its first
// write (its output unbuffered here; packets sent faster than real time
// are placed within about a second, so that comes early), and what its
// 4-packet buffer cannot take is dropped and counted.
func TestRecordNeverBlocksTheRelay(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		e := newTestEngine(t, model)
		a, b := newParty(t), newParty(t)
		s, relayA, _ := setup(t, e, a, b, false)
		f := &blockingFile{release: make(chan struct{}, 1)}
		f.release <- struct{}{} // the header goes through
		var once sync.Once
		release := func() { once.Do(func() { close(f.release) }) }
		t.Cleanup(release)
		rec, err := s.Record(f, WithRecordBuffer(4), withRecordFileBuffer(1))
		if err != nil {
			t.Fatal(err)
		}
		const sent = 200 // 4 s
		for _, p := range tonePackets(LawMu, 1000, sent) {
			a.sendAudio(relayA, 0, p)
			b.recvCount(1) // forwarded at once, whatever the writer does
		}
		if d := e.Stats().RecordDropped; d < 100 {
			t.Fatalf("%d packets dropped with the file stuck, want at least 100", d)
		}
		release()
		st := rec.Close()
		if st.Packets+st.Dropped+st.Late != sent || st.Err != nil || !f.closed {
			t.Fatalf("stats %+v (closed %v): want %d packets written, dropped or late", st, f.closed, sent)
		}
		if e.Stats().Recordings != 1 {
			t.Fatalf("recordings %d", e.Stats().Recordings)
		}
	})
}

func TestRecordNeedsAudio(t *testing.T) {
	e := newTestEngine(t)
	s, err := e.NewSession(t.Context(), "fax")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Record(&blockingFile{}); !errors.Is(err, ErrNoAudio) {
		t.Fatalf("Record before any offer: %v, want ErrNoAudio", err)
	}
}

// BenchmarkRecordStream is the CPU a recorded call costs: each op is one
// second of one call (two streams of 50 G.711 packets a second, handed
// over as the relay's readers do, with arrival times 20 ms apart) placed
// and written to a file on disk by the recording's goroutine. cpu-us/stream-s
// is the process's user+system CPU (getrusage: the writer goroutine, the
// file system, the handing over) per second of one recorded stream; a
// stream costs that over 10,000 in percent of one core.
func BenchmarkRecordStream(b *testing.B) {
	e, err := New(WithPortRange(testPorts(), testPorts()+199))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	s, rec := benchRecording(b, e, 128)
	defer s.Close()
	cfg := &endConfig{}
	pa := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 1}, Payload: tonePackets(LawMu, 1000, 1)[0]}
	pb := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 2}, Payload: tonePackets(LawMu, 600, 1)[0]}
	start := e.now()
	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for range b.N {
		for range 50 {
			at := start + int64(n)*int64(20*time.Millisecond)
			pa.SequenceNumber, pa.Timestamp = uint16(n), uint32(n)*160
			pb.SequenceNumber, pb.Timestamp = uint16(n), uint32(n)*160
			for len(rec.in) > cap(rec.in)-2 {
				runtime.Gosched()
			}
			rec.packet(SideA, cfg, &pa, at)
			rec.packet(SideB, cfg, &pb, at)
			n++
		}
	}
	st := rec.Close()
	b.StopTimer()
	var after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(2*b.N), "cpu-us/stream-s")
	if st.Dropped != 0 || st.Packets != uint64(2*n) || st.Err != nil {
		b.Fatalf("stats %+v, want %d packets", st, 2*n)
	}
}

// benchRecording is a session with an audio stream, recorded into a
// temporary file with a buffer of buffer packets.
func benchRecording(b *testing.B, e *Engine, buffer int) (*Session, *Recording) {
	s, err := e.NewSession(b.Context(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	ap := netip.MustParseAddrPort("127.0.0.1:9")
	if _, err := s.Offer(SideA, sdpBody(ap)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Answer(SideB, sdpBody(ap)); err != nil {
		b.Fatal(err)
	}
	f, err := os.CreateTemp(b.TempDir(), "rec-*.wav")
	if err != nil {
		b.Fatal(err)
	}
	rec, err := s.Record(f, WithRecordBuffer(buffer))
	if err != nil {
		b.Fatal(err)
	}
	return s, rec
}

// TestRecordSRTPDecrypted: a party whose SRTP the relay terminates is
// recorded as it spoke, decrypted (the file is not noise).
func TestRecordSRTPDecrypted(t *testing.T) {
	e := newTestEngine(t)
	a, b := newSRTPParty(t, newParty(t), srtp.ProtectionProfileAes128CmHmacSha1_80), newParty(t)
	s, err := e.NewSession(t.Context(), "srtp-rec")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	toB, err := s.Offer(SideA, sdpBody(a.addr()))
	if err != nil {
		t.Fatal(err)
	}
	toA, err := s.Answer(SideB, sdpBody(b.addr()))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetSRTP(SideA, 0, &a.keys); err != nil {
		t.Fatal(err)
	}
	s.Answered()
	path := filepath.Join(t.TempDir(), "srtp.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.Record(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tonePackets(LawMu, 1000, 50) {
		a.seq++
		a.ts += 160
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: a.seq, Timestamp: a.ts, SSRC: a.ssrc}, Payload: p}
		raw, err := pkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := a.tx.EncryptRTP(nil, raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		a.sendFrom(a.conn, relayAddr(t, toA, 0), sealed)
		b.recvCount(1)
	}
	_ = toB
	s.Close()
	if st := rec.Close(); st.Packets != 50 {
		t.Fatalf("stats %+v", st)
	}
	rf, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	ch, _, err := ReadWAV(rf)
	if err != nil {
		t.Fatal(err)
	}
	if g := goertzel(ch[0], 1000, 8000); g < 0.8 {
		t.Errorf("the SRTP party's channel: 1 kHz holds %.2f of its power", g)
	}
}
