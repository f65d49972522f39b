package media

// G.711 (ITU-T G.711, 1988): μ-law (PCMU, RTP payload type 0) and A-law
// (PCMA, 8) companding of 16-bit linear samples into 8-bit codes. The
// relay never transcodes a call; these serve the two places it makes or
// keeps audio itself: hold music (music.go), converted once at load, and
// recordings (record.go), whose two channels must share one law.

// Law is a G.711 companding law.
type Law uint8

const (
	LawNone Law = iota // not G.711
	LawMu              // μ-law, PCMU
	LawA               // A-law, PCMA
)

func (l Law) String() string {
	switch l {
	case LawMu:
		return "PCMU"
	case LawA:
		return "PCMA"
	}
	return "none"
}

// silence is the code of a zero sample (what fills a gap).
func (l Law) silence() byte {
	if l == LawA {
		return 0xD5
	}
	return 0xFF
}

// wavFormat is the WAVE format tag of the law (WAVE_FORMAT_ALAW 6,
// WAVE_FORMAT_MULAW 7).
func (l Law) wavFormat() uint16 {
	if l == LawA {
		return 6
	}
	return 7
}

// lawOf is the law of a payload type named name ("ulaw", "alaw": the
// switch's codec names, codecName).
func lawOf(pt uint8, names map[uint8]string) Law {
	switch pt {
	case 0:
		return LawMu
	case 8:
		return LawA
	}
	switch names[pt] {
	case "ulaw":
		return LawMu
	case "alaw":
		return LawA
	}
	return LawNone
}

// μ-law: the magnitude plus a bias of 132 (0x84) is a 15-bit value whose
// highest set bit among bits 7..14 is the segment (0..7); the four bits
// below it are the step. The code is the sign, segment and step, all
// bits inverted.
const (
	muBias = 0x84
	muClip = 32635
)

func muEncode(s int16) byte {
	v := int32(s)
	var sign byte
	if v < 0 {
		sign = 0x80
		v = -v
	}
	v = min(v, muClip) + muBias
	seg := byte(0)
	for t := v >> 8; t > 0 && seg < 7; t >>= 1 {
		seg++
	}
	step := byte(v>>(seg+3)) & 0x0F
	return ^(sign | seg<<4 | step)
}

func muDecode(c byte) int16 {
	c = ^c
	seg := (c >> 4) & 0x07
	v := ((int32(c&0x0F) << 3) + muBias) << seg
	v -= muBias
	if c&0x80 != 0 {
		return int16(-v)
	}
	return int16(v)
}

// A-law works on the 13 most significant bits: segment 0 and 1 step by 2,
// each further segment doubles the step. Even bits of the code are
// inverted (XOR 0x55), and the sign bit is set for positive samples.
func aEncode(s int16) byte {
	v := int32(s) >> 3
	mask := byte(0xD5)
	if v < 0 {
		mask = 0x55
		v = -v - 1
	}
	seg := byte(0)
	for limit := int32(0x1F); v > limit && seg < 8; limit = limit<<1 | 1 {
		seg++
	}
	if seg >= 8 {
		return 0x7F ^ mask
	}
	code := seg << 4
	if seg < 2 {
		code |= byte(v>>1) & 0x0F
	} else {
		code |= byte(v>>seg) & 0x0F
	}
	return code ^ mask
}

func aDecode(c byte) int16 {
	c ^= 0x55
	v := int32(c&0x0F)<<4 + 8
	if seg := (c & 0x70) >> 4; seg > 0 {
		v = (v + 0x100) << (seg - 1)
	}
	if c&0x80 != 0 {
		return int16(v)
	}
	return int16(-v)
}

// Tables built once: decoding, and converting a code of one law into the
// other (a recording whose parties sent different laws).
var (
	muToLinear [256]int16
	aToLinear  [256]int16
	muToA      [256]byte
	aToMu      [256]byte
)

func init() {
	for i := range 256 {
		muToLinear[i] = muDecode(byte(i))
		aToLinear[i] = aDecode(byte(i))
	}
	for i := range 256 {
		muToA[i] = aEncode(muToLinear[i])
		aToMu[i] = muEncode(aToLinear[i])
	}
}

// Encode turns linear samples into codes of the law (dst must be as long
// as src).
func (l Law) Encode(dst []byte, src []int16) {
	if l == LawA {
		for i, s := range src {
			dst[i] = aEncode(s)
		}
		return
	}
	for i, s := range src {
		dst[i] = muEncode(s)
	}
}

// Decode turns codes of the law into linear samples (dst must be as long
// as src).
func (l Law) Decode(dst []int16, src []byte) {
	t := &muToLinear
	if l == LawA {
		t = &aToLinear
	}
	for i, c := range src {
		dst[i] = t[c]
	}
}

// convert rewrites codes of law from into law to, in place.
func convertLaw(b []byte, from, to Law) {
	if from == to || from == LawNone || to == LawNone {
		return
	}
	t := &muToA
	if from == LawA {
		t = &aToMu
	}
	for i, c := range b {
		b[i] = t[c]
	}
}
