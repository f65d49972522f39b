package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// WAVE files (RIFF, Microsoft's Multimedia Programming Interface and Data
// Specifications 1.0; the format tags of RFC 2361): what the relay reads
// as hold music and writes as recordings.

// ErrBadAudio is returned for an audio file the relay cannot read.
var ErrBadAudio = errors.New("media: unreadable audio file")

// WAVE format tags.
const (
	wavPCM        = 1
	wavFloat      = 3
	wavALaw       = 6
	wavMuLaw      = 7
	wavExtensible = 0xFFFE
)

// maxAudioBytes bounds what one music file may hold (an hour of 8 kHz
// 16-bit mono is 57.6 MB; a 44.1 kHz stereo file of ten minutes about
// 106 MB): a file claiming more is refused before it is read.
const maxAudioBytes = 256 << 20

// decodeWAV reads a WAVE file of PCM (8, 16, 24 or 32 bits), IEEE float
// (32 bits), A-law or μ-law samples at 4 to 192 kHz, up to 8 channels, and
// returns it as 8 kHz mono linear samples: channels averaged, other rates
// resampled (resample). Other encodings are ErrBadAudio.
func decodeWAV(b []byte) ([]int16, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF WAVE file", ErrBadAudio)
	}
	var (
		format, channels, bits uint16
		rate                   uint32
		haveFmt                bool
		data                   []byte
		haveData               bool
	)
	rest := b[12:]
	for len(rest) >= 8 && !haveData {
		id, size := string(rest[0:4]), binary.LittleEndian.Uint32(rest[4:8])
		rest = rest[8:]
		n := int(min(uint64(size), uint64(len(rest)))) // a truncated last chunk is read as far as it goes
		body := rest[:n]
		switch id {
		case "fmt ":
			if n < 16 {
				return nil, fmt.Errorf("%w: fmt chunk of %d bytes", ErrBadAudio, n)
			}
			format = binary.LittleEndian.Uint16(body[0:2])
			channels = binary.LittleEndian.Uint16(body[2:4])
			rate = binary.LittleEndian.Uint32(body[4:8])
			bits = binary.LittleEndian.Uint16(body[14:16])
			if format == wavExtensible {
				// WAVEFORMATEXTENSIBLE: the real tag is the first two bytes
				// of the sub-format GUID.
				if n < 26 {
					return nil, fmt.Errorf("%w: extensible fmt chunk of %d bytes", ErrBadAudio, n)
				}
				format = binary.LittleEndian.Uint16(body[24:26])
			}
			haveFmt = true
		case "data":
			data, haveData = body, true
		}
		// Chunks are padded to an even size.
		skip := uint64(size) + uint64(size&1)
		if skip > uint64(len(rest)) {
			skip = uint64(len(rest))
		}
		rest = rest[skip:]
	}
	if !haveFmt || !haveData {
		return nil, fmt.Errorf("%w: no fmt or data chunk", ErrBadAudio)
	}
	if channels == 0 || channels > 8 || rate < 4000 || rate > 192000 {
		return nil, fmt.Errorf("%w: %d channels at %d Hz", ErrBadAudio, channels, rate)
	}
	var width int
	switch {
	case format == wavPCM && (bits == 8 || bits == 16 || bits == 24 || bits == 32):
		width = int(bits) / 8
	case format == wavFloat && bits == 32:
		width = 4
	case (format == wavALaw || format == wavMuLaw) && bits == 8:
		width = 1
	default:
		return nil, fmt.Errorf("%w: format %d with %d bits per sample", ErrBadAudio, format, bits)
	}
	frame := width * int(channels)
	frames := len(data) / frame
	mono := make([]int16, frames)
	for i := range frames {
		var sum int32
		for c := range int(channels) {
			sum += int32(sampleAt(data[i*frame+c*width:], format, width))
		}
		mono[i] = int16(sum / int32(channels))
	}
	return resample(mono, int(rate), 8000), nil
}

// sampleAt reads one sample as 16-bit linear.
func sampleAt(b []byte, format uint16, width int) int16 {
	switch format {
	case wavALaw:
		return aToLinear[b[0]]
	case wavMuLaw:
		return muToLinear[b[0]]
	case wavFloat:
		f := math.Float32frombits(binary.LittleEndian.Uint32(b))
		if f != f { // NaN
			return 0
		}
		return int16(max(min(f, 1), -1) * 32767)
	}
	switch width {
	case 1:
		return int16(int32(b[0])-128) << 8 // 8-bit PCM is unsigned
	case 2:
		return int16(binary.LittleEndian.Uint16(b))
	case 3:
		return int16(uint16(b[1]) | uint16(b[2])<<8)
	default:
		return int16(uint16(b[2]) | uint16(b[3])<<8)
	}
}

// resample converts samples from rate from to rate to with a windowed
// sinc (Blackman window) whose cut-off is 90% of the lower Nyquist
// frequency, so that downsampling music does not fold its highs into the
// telephone band. The kernel is tabulated once per call (64 points per
// input sample, linearly interpolated): the trigonometry is not paid per
// tap. Done once per file at load; not for the call path.
func resample(in []int16, from, to int) []int16 {
	if from == to || len(in) == 0 {
		return in
	}
	ratio := float64(from) / float64(to)
	cutoff := 0.45 * float64(min(from, to)) / float64(from) // cycles per input sample
	const zeros = 8                                         // sinc zero crossings each side
	const phases = 64
	half := int(math.Ceil(zeros / (2 * cutoff)))
	kernel := make([]float64, 2*half*phases+2)
	for i := range kernel {
		x := float64(i)/phases - float64(half)
		kernel[i] = blackman(x/float64(half)) * sinc(2*cutoff*x)
	}
	n := int(float64(len(in)) / ratio)
	out := make([]int16, n)
	for i := range n {
		t := float64(i) * ratio
		c := int(t)
		var acc, wsum float64
		for k := max(c-half+1, 0); k <= c+half && k < len(in); k++ {
			pos := (t - float64(k) + float64(half)) * phases
			j := int(pos)
			if j < 0 || j+1 >= len(kernel) {
				continue
			}
			f := pos - float64(j)
			w := kernel[j] + f*(kernel[j+1]-kernel[j])
			acc += w * float64(in[k])
			wsum += w
		}
		if wsum != 0 {
			acc /= wsum // unity gain at DC whatever the window's edge
		}
		out[i] = int16(max(min(math.Round(acc), 32767), -32768))
	}
	return out
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// blackman is the Blackman window over [-1, 1].
func blackman(x float64) float64 {
	if x <= -1 || x >= 1 {
		return 0
	}
	p := math.Pi * (x + 1) // 0..2π
	return 0.42 - 0.5*math.Cos(p) + 0.08*math.Cos(2*p)
}

// wavHeaderLen is the size of the header writeWAVHeader writes: RIFF,
// an 18-byte fmt chunk, a fact chunk (required of non-PCM formats) and
// the data chunk's header.
const wavHeaderLen = 12 + 8 + 18 + 8 + 4 + 8

// wavHeader is the header of a G.711 WAVE file of the given channels at
// 8 kHz holding frames sample frames.
func wavHeader(law Law, channels int, frames uint32) [wavHeaderLen]byte {
	var h [wavHeaderLen]byte
	le := binary.LittleEndian
	dataLen := frames * uint32(channels)
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], wavHeaderLen-8+dataLen+dataLen&1)
	copy(h[8:], "WAVEfmt ")
	le.PutUint32(h[16:], 18)
	le.PutUint16(h[20:], law.wavFormat())
	le.PutUint16(h[22:], uint16(channels))
	le.PutUint32(h[24:], 8000)
	le.PutUint32(h[28:], 8000*uint32(channels)) // bytes per second
	le.PutUint16(h[32:], uint16(channels))      // block align
	le.PutUint16(h[34:], 8)                     // bits per sample
	le.PutUint16(h[36:], 0)                     // no extra format bytes
	copy(h[38:], "fact")
	le.PutUint32(h[42:], 4)
	le.PutUint32(h[46:], frames)
	copy(h[50:], "data")
	le.PutUint32(h[54:], dataLen)
	return h
}

// ReadWAV reads a WAVE file as written by a recording (or any other the
// music loader takes) and returns its samples per channel as 8 kHz
// linear audio, the rate it holds, for tests and tools that check what
// was recorded: channels are kept apart, nothing is resampled.
func ReadWAV(r io.Reader) (channels [][]int16, rate int, err error) {
	b, err := io.ReadAll(io.LimitReader(r, maxAudioBytes+1))
	if err != nil {
		return nil, 0, err
	}
	if len(b) > maxAudioBytes {
		return nil, 0, fmt.Errorf("%w: larger than %d bytes", ErrBadAudio, maxAudioBytes)
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("%w: not a RIFF WAVE file", ErrBadAudio)
	}
	var format, nch, bits uint16
	var data []byte
	var haveFmt bool
	rest := b[12:]
	for len(rest) >= 8 && data == nil {
		id, size := string(rest[0:4]), binary.LittleEndian.Uint32(rest[4:8])
		rest = rest[8:]
		n := int(min(uint64(size), uint64(len(rest))))
		switch id {
		case "fmt ":
			if n < 16 {
				return nil, 0, fmt.Errorf("%w: fmt chunk of %d bytes", ErrBadAudio, n)
			}
			format = binary.LittleEndian.Uint16(rest[0:2])
			nch = binary.LittleEndian.Uint16(rest[2:4])
			rate = int(binary.LittleEndian.Uint32(rest[4:8]))
			bits = binary.LittleEndian.Uint16(rest[14:16])
			haveFmt = true
		case "data":
			data = rest[:n:n]
		}
		rest = rest[min(uint64(size)+uint64(size&1), uint64(len(rest))):]
	}
	if !haveFmt || data == nil || nch == 0 || nch > 8 {
		return nil, 0, fmt.Errorf("%w: no usable fmt or data chunk", ErrBadAudio)
	}
	var width int
	switch {
	case format == wavPCM && bits == 16:
		width = 2
	case (format == wavALaw || format == wavMuLaw) && bits == 8:
		width = 1
	default:
		return nil, 0, fmt.Errorf("%w: format %d with %d bits per sample", ErrBadAudio, format, bits)
	}
	frame := width * int(nch)
	frames := len(data) / frame
	channels = make([][]int16, nch)
	for c := range channels {
		channels[c] = make([]int16, frames)
		for i := range frames {
			channels[c][i] = sampleAt(data[i*frame+c*width:], format, width)
		}
	}
	return channels, rate, nil
}
