package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

func TestG711KnownCodes(t *testing.T) {
	// G.711: a zero sample is 0xFF in μ-law and 0xD5 in A-law; full scale
	// is 0x80/0x00 (μ, negative/positive inverted) and 0xAA/0x2A (A).
	for _, c := range []struct {
		s    int16
		mu   byte
		alaw byte
	}{{0, 0xFF, 0xD5}, {32767, 0x80, 0xAA}, {-32768, 0x00, 0x2A}, {-1, 0x7F, 0x55}} {
		if got := muEncode(c.s); got != c.mu {
			t.Errorf("μ-law of %d = %#x, want %#x", c.s, got, c.mu)
		}
		if got := aEncode(c.s); got != c.alaw {
			t.Errorf("A-law of %d = %#x, want %#x", c.s, got, c.alaw)
		}
	}
	if muToLinear[0x80] != 32124 || aToLinear[0xAA] != 32256 || aToLinear[0xD5] != 8 {
		t.Errorf("decoded full scale μ %d, A %d, A zero %d; want 32124, 32256, 8", muToLinear[0x80], aToLinear[0xAA], aToLinear[0xD5])
	}
}

func TestG711RoundTrip(t *testing.T) {
	for _, law := range []Law{LawMu, LawA} {
		// Every code decodes to a value that encodes back to it (except
		// μ-law's negative zero 0x7F, which encodes as 0xFF).
		codes := make([]byte, 256)
		for i := range codes {
			codes[i] = byte(i)
		}
		lin := make([]int16, 256)
		law.Decode(lin, codes)
		back := make([]byte, 256)
		law.Encode(back, lin)
		for i := range codes {
			if back[i] != codes[i] && !(law == LawMu && codes[i] == 0x7F && back[i] == 0xFF) {
				t.Errorf("%s code %#x decodes to %d, encodes to %#x", law, codes[i], lin[i], back[i])
			}
		}
		// Encoding is monotonic: a larger sample never gets a smaller
		// decoded value, and the error stays within the segment's step.
		prev := math.MinInt32
		for s := -32768; s <= 32767; s += 7 {
			var c [1]byte
			law.Encode(c[:], []int16{int16(s)})
			var d [1]int16
			law.Decode(d[:], c[:])
			if int(d[0]) < prev {
				t.Fatalf("%s not monotonic at %d", law, s)
			}
			prev = int(d[0])
			if diff := math.Abs(float64(int(d[0]) - s)); diff > math.Max(64, math.Abs(float64(s))/16) {
				t.Fatalf("%s: %d decodes as %d", law, s, d[0])
			}
		}
	}
}

func TestConvertLaw(t *testing.T) {
	for i := range 256 {
		b := []byte{byte(i)}
		convertLaw(b, LawMu, LawA)
		if d := math.Abs(float64(aToLinear[b[0]] - muToLinear[i])); d > math.Max(64, math.Abs(float64(muToLinear[i]))/16) {
			t.Errorf("μ %#x (%d) became A %#x (%d)", i, muToLinear[i], b[0], aToLinear[b[0]])
		}
	}
}

// tone is n samples of a sine at freq Hz and amplitude amp, at rate.
func tone(freq float64, rate, n int, amp float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return out
}

// goertzel is the share of x's power at freq (Goertzel's algorithm: the
// power of one DFT bin, against the signal's whole power).
func goertzel(x []int16, freq float64, rate int) float64 {
	w := 2 * math.Pi * freq / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2, total float64
	for _, v := range x {
		f := float64(v)
		s := f + coeff*s1 - s2
		s2, s1 = s1, s
		total += f * f
	}
	if total == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * power / (float64(len(x)) * total)
}

// pcmWAV is a 16-bit PCM WAVE file of samples (interleaved when
// channels > 1).
func pcmWAV(samples []int16, rate, channels int) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	data := 2 * len(samples)
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+data))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, le, uint32(16))
	binary.Write(&b, le, uint16(1))
	binary.Write(&b, le, uint16(channels))
	binary.Write(&b, le, uint32(rate))
	binary.Write(&b, le, uint32(rate*channels*2))
	binary.Write(&b, le, uint16(channels*2))
	binary.Write(&b, le, uint16(16))
	b.WriteString("LIST")
	binary.Write(&b, le, uint32(3)) // an odd-sized chunk before data: padded
	b.WriteString("abc\x00")
	b.WriteString("data")
	binary.Write(&b, le, uint32(data))
	binary.Write(&b, le, samples)
	return b.Bytes()
}

func TestDecodeWAVResamples(t *testing.T) {
	for _, c := range []struct {
		rate, channels int
	}{{8000, 1}, {16000, 1}, {44100, 2}, {48000, 1}, {11025, 1}} {
		in := tone(440, c.rate, c.rate, 12000) // one second
		if c.channels == 2 {
			st := make([]int16, 2*len(in))
			for i, v := range in {
				st[2*i], st[2*i+1] = v, v
			}
			in = st
		}
		out, err := decodeWAV(pcmWAV(in, c.rate, c.channels))
		if err != nil {
			t.Fatalf("%d Hz: %v", c.rate, err)
		}
		if len(out) < 7990 || len(out) > 8010 {
			t.Errorf("%d Hz x%d: %d samples at 8 kHz, want 8000", c.rate, c.channels, len(out))
		}
		if g := goertzel(out[400:7600], 440, 8000); g < 0.9 {
			t.Errorf("%d Hz: 440 Hz holds %.2f of the power after resampling", c.rate, g)
		}
	}
	// A tone above 4 kHz must not fold into the telephone band.
	out, err := decodeWAV(pcmWAV(tone(6000, 48000, 48000, 12000), 48000, 1))
	if err != nil {
		t.Fatal(err)
	}
	var energy float64
	for _, v := range out[400:7600] {
		energy += float64(v) * float64(v)
	}
	if rms := math.Sqrt(energy / 7200); rms > 200 {
		t.Errorf("6 kHz at 48 kHz left an RMS of %.0f after resampling to 8 kHz (aliasing)", rms)
	}
}

func TestDecodeWAVRefuses(t *testing.T) {
	good := pcmWAV(tone(440, 8000, 800, 8000), 8000, 1)
	bad24 := append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(bad24[34:], 12) // 12 bits per sample
	adpcm := append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(adpcm[20:], 2) // MS ADPCM
	for name, b := range map[string][]byte{
		"empty": nil, "not riff": []byte("RIFX....WAVEfmt "), "no data": good[:36], "12 bits": bad24, "adpcm": adpcm,
	} {
		if _, err := decodeWAV(b); !errors.Is(err, ErrBadAudio) {
			t.Errorf("%s: %v, want ErrBadAudio", name, err)
		}
	}
}

// FuzzDecodeWAV feeds the music loader's WAVE parser (files an operator
// supplies) anything: it must return samples or ErrBadAudio, never
// panic. Run it with a short -fuzzminimizetime (2s): every exec that
// resamples builds a kernel table, and minimizing an input under the
// default 60 s budget stalls the run (measured: 13,000-20,000 execs/s
// with 2s, none found failing in a minute).
func FuzzDecodeWAV(f *testing.F) {
	f.Add(pcmWAV(tone(440, 8000, 160, 8000), 8000, 1))
	f.Add(pcmWAV(tone(440, 16000, 320, 8000), 16000, 2))
	h := wavHeader(LawA, 2, 4)
	f.Add(append(h[:], 1, 2, 3, 4, 5, 6, 7, 8))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			return // the parser's paths are all in a small file; a large one only takes longer to resample
		}
		out, err := decodeWAV(b)
		if err != nil && !errors.Is(err, ErrBadAudio) {
			t.Fatalf("error %v is not ErrBadAudio", err)
		}
		if err == nil && len(out) > len(b)*2 {
			t.Fatalf("%d samples from %d bytes", len(out), len(b))
		}
		if _, _, err := ReadWAV(bytes.NewReader(b)); err != nil && !errors.Is(err, ErrBadAudio) {
			t.Fatalf("ReadWAV: %v", err)
		}
	})
}

// BenchmarkResample is the load-time cost of hold music: one second of
// 44.1 kHz audio resampled to 8 kHz (a ten-minute class costs 600 times
// this, once).
func BenchmarkResample(b *testing.B) {
	in := tone(440, 44100, 44100, 10000)
	b.ReportAllocs()
	for range b.N {
		resample(in, 44100, 8000)
	}
}
