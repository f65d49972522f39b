package media

import (
	"math"
	"time"
)

// Receive statistics of one RTP stream (RFC 3550 6.4.1, A.1, A.3, A.8),
// kept by the goroutine that reads the stream's socket.

const (
	maxDropout  = 3000 // RFC 3550 A.1: a forward jump within this is a gap (loss)
	maxMisorder = 100  // and a step back within this is a late packet
	seqMod      = 1 << 16
)

// seqTracker follows one source's sequence numbers (RFC 3550 A.1) and
// counts what was expected and received (A.3). A new source (SSRC change)
// or a resynchronisation after a large jump starts a new epoch; totals of
// earlier epochs are kept, so loss covers the whole call.
type seqTracker struct {
	started  bool
	baseSeq  uint32
	maxSeq   uint16
	cycles   uint32
	badSeq   uint32
	received uint64
	// earlier epochs
	prevExpected uint64
	prevReceived uint64
}

// reset starts a new epoch at seq (first packet, new SSRC, resync).
func (t *seqTracker) reset(seq uint16) {
	if t.started {
		t.prevExpected += t.expectedEpoch()
		t.prevReceived += t.received
	}
	t.started = true
	t.baseSeq = uint32(seq)
	t.maxSeq = seq
	t.cycles = 0
	t.badSeq = seqMod + 1 // no sequence number equals it
	t.received = 0
}

// update counts a packet with sequence number seq. It returns false for a
// packet far outside the sequence (a jump of more than maxDropout ahead or
// maxMisorder behind) that is not counted; two such packets in sequence
// resynchronise (the sender restarted its sequence).
func (t *seqTracker) update(seq uint16) bool {
	if !t.started {
		t.reset(seq)
		t.received = 1
		return true
	}
	delta := seq - t.maxSeq // modulo 2^16
	switch {
	case delta < maxDropout:
		if seq < t.maxSeq {
			t.cycles += seqMod // wrapped
		}
		t.maxSeq = seq
	case uint32(delta) <= seqMod-maxMisorder:
		if uint32(seq) == t.badSeq {
			t.reset(seq)
		} else {
			t.badSeq = (uint32(seq) + 1) & (seqMod - 1)
			return false
		}
	default:
		// duplicate or late (reordered) packet: counted as received
	}
	t.received++
	return true
}

func (t *seqTracker) expectedEpoch() uint64 {
	if !t.started {
		return 0
	}
	ext := uint64(t.cycles) + uint64(t.maxSeq)
	return ext - uint64(t.baseSeq) + 1
}

// expected is the number of packets the sequence numbers say were sent.
func (t *seqTracker) expected() uint64 { return t.prevExpected + t.expectedEpoch() }

// receivedTotal counts the packets counted by update.
func (t *seqTracker) receivedTotal() uint64 { return t.prevReceived + t.received }

// lost is expected minus received (RFC 3550 A.3); duplicates can make the
// difference negative, which is reported as 0.
func (t *seqTracker) lost() uint64 {
	e, r := t.expected(), t.receivedTotal()
	if r >= e {
		return 0
	}
	return e - r
}

// jitterEstimator is the interarrival jitter of RFC 3550 6.4.1 / A.8 in
// RTP timestamp units: D(i-1,i) = (Rj - Ri) - (Sj - Si), J += (|D| - J)/16,
// with the arrival time R converted to timestamp units with the payload's
// clock rate. Packets of another payload type than the previous one (a
// telephone-event between voice packets, a codec switch) restart the
// difference instead of counting as jitter.
type jitterEstimator struct {
	have    bool
	pt      uint8
	transit int64
	jitter  float64 // timestamp units
	max     float64
}

// update takes a packet's arrival time in nanoseconds (any fixed origin),
// its RTP timestamp, payload type and clock rate (Hz).
func (j *jitterEstimator) update(arrivalNs int64, ts uint32, pt uint8, clock uint32) {
	if clock == 0 {
		j.have = false
		return
	}
	// arrival in timestamp units; the multiplication stays in int64 for
	// arrivals within 24 hours of the origin at 90 kHz.
	arrival := arrivalNs / 1000 * int64(clock) / 1_000_000
	transit := arrival - int64(ts)
	if !j.have || pt != j.pt {
		j.have, j.pt, j.transit = true, pt, transit
		return
	}
	// Differences are taken modulo 2^32 (timestamps wrap).
	d := int64(int32(uint32(transit) - uint32(j.transit)))
	j.transit = transit
	if d < 0 {
		d = -d
	}
	j.jitter += (float64(d) - j.jitter) / 16
	j.max = math.Max(j.max, j.jitter)
}

// duration converts a jitter in timestamp units to time.
func tsDuration(units float64, clock uint32) time.Duration {
	if clock == 0 {
		return 0
	}
	return time.Duration(units / float64(clock) * float64(time.Second))
}

// Quality estimate: the E-model of ITU-T G.107 reduced to the terms a
// relay can observe, in the simplified form of Cole and Rosenbluth ("Voice
// over IP performance monitoring", ACM CCR 2001), the usual one in VoIP
// monitoring:
//
//	R   = 93.2 - Id - Ie,eff                       (G.107 defaults: Ro - Is = 93.2, A = 0)
//	Id  = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)  (d: one-way delay in ms, H: step)
//	Ie,eff = Ie + (95 - Ie) Ppl / (Ppl + Bpl)      (G.107 7.2 with BurstR = 1, random loss)
//	MOS = 1 + 0.035 R + 7e-6 R (R - 60) (100 - R)  (G.107 Annex B; 1 for R < 0, 4.5 for R > 100)
//
// Ppl is the packet loss in percent, Ie and Bpl come from codecImpairment
// (ITU-T G.113 Appendix I). The relay sees one half of the path, so d is
// estimated as the packetisation time plus a jitter buffer of twice the
// measured jitter (INFERRED: network delay beyond the relay is unknown and
// taken as 0, which makes the estimate an upper bound of quality).

// codecImpairment returns the equipment impairment Ie and packet-loss
// robustness Bpl of a codec by encoding name (G.113 Appendix I; INFERRED
// where G.113 lists none: marked below).
func codecImpairment(name string) (ie, bpl float64) {
	switch name {
	case "ulaw", "alaw":
		return 0, 25.1 // G.711 with packet loss concealment
	case "g729":
		return 11, 19.0
	case "g723":
		return 15, 16.1
	case "g726":
		return 7, 10 // Ie from G.113; Bpl INFERRED
	case "gsm":
		return 20, 10 // GSM 06.10 Ie from G.113; Bpl INFERRED
	case "ilbc":
		return 10, 32 // INFERRED: iLBC is not in G.113; built for loss
	case "lpc10":
		return 40, 10 // INFERRED: 2.4 kbit/s vocoder
	case "speex":
		return 11, 19 // INFERRED: treated like G.729
	default:
		return 0, 25.1 // G.722, slin and unknown: INFERRED as G.711
	}
}

// rFactor is the simplified E-model's R for loss (percent), one-way delay
// (ms) and codec impairment.
func rFactor(lossPct, delayMs, ie, bpl float64) float64 {
	id := 0.024 * delayMs
	if delayMs > 177.3 {
		id += 0.11 * (delayMs - 177.3)
	}
	ieEff := ie
	if lossPct > 0 {
		ieEff = ie + (95-ie)*lossPct/(lossPct+bpl)
	}
	return 93.2 - id - ieEff
}

// mos maps R to a mean opinion score (G.107 Annex B).
func mos(r float64) float64 {
	switch {
	case r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	return 1 + 0.035*r + 7e-6*r*(r-60)*(100-r)
}
