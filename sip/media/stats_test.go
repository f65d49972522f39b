package media

import (
	"math"
	"testing"
	"time"
)

func TestSeqTracker(t *testing.T) {
	tests := []struct {
		name     string
		seqs     []uint16
		expected uint64
		lost     uint64
	}{
		{"in order", []uint16{1, 2, 3, 4, 5}, 5, 0},
		{"one gap", []uint16{1, 2, 4, 5}, 5, 1},
		{"gap of ten", []uint16{100, 111}, 12, 10},
		{"reordered", []uint16{1, 3, 2, 4}, 4, 0},
		{"duplicate counts as received, loss floors at 0", []uint16{1, 2, 2, 3}, 3, 0},
		{"late packet fills a gap", []uint16{10, 12, 13, 11}, 4, 0},
		{"wraps", []uint16{65534, 65535, 0, 1}, 4, 0},
		{"wraps with loss", []uint16{65534, 0, 1}, 4, 1},
		// A jump of more than MAX_DROPOUT is not counted until a second
		// packet confirms it; then the sequence restarts (RFC 3550 A.1).
		{"restart", []uint16{1, 2, 3, 20000, 20001, 20002}, 3 + 2, 0},
		{"single stray", []uint16{1, 2, 40000, 3, 4}, 4, 0},
		{"old packet far behind is ignored", []uint16{5000, 5001, 1000, 5002}, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seqTracker
			for _, q := range tt.seqs {
				s.update(q)
			}
			if s.expected() != tt.expected || s.lost() != tt.lost {
				t.Fatalf("expected %d lost %d, want %d and %d", s.expected(), s.lost(), tt.expected, tt.lost)
			}
		})
	}
}

func TestSeqTrackerEpochs(t *testing.T) {
	// A new source (SSRC change) starts a new epoch; loss of the earlier
	// one is kept.
	var s seqTracker
	for _, q := range []uint16{1, 2, 4} { // 1 lost
		s.update(q)
	}
	s.reset(500)
	for _, q := range []uint16{500, 501, 503} { // 1 lost
		s.update(q)
	}
	if s.expected() != 4+4 || s.lost() != 2 {
		t.Fatalf("expected %d lost %d, want 8 and 2", s.expected(), s.lost())
	}
}

func TestJitter(t *testing.T) {
	const ms = int64(time.Millisecond)
	tests := []struct {
		name    string
		arrival []int64 // ms
		ts      []uint32
		want    float64 // timestamp units at 8 kHz
		tol     float64
	}{
		{"perfect 20 ms spacing", []int64{0, 20, 40, 60, 80}, []uint32{0, 160, 320, 480, 640}, 0, 0},
		// One packet 10 ms late: D = +80 then -80 units: J = 80/16, then
		// J += (80 - J)/16.
		{"one late packet", []int64{0, 20, 50, 60}, []uint32{0, 160, 320, 480}, 5 + (80-5)/16.0, 1e-9},
		// Constant offset does not count: only differences do.
		{"constant network delay", []int64{100, 120, 140}, []uint32{0, 160, 320}, 0, 0},
		// Timestamps wrap around 2^32.
		{"timestamp wraps", []int64{0, 20, 40}, []uint32{4294967136, 0, 160}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var j jitterEstimator
			for i := range tt.arrival {
				j.update(tt.arrival[i]*ms, tt.ts[i], 0, 8000)
			}
			if math.Abs(j.jitter-tt.want) > tt.tol {
				t.Fatalf("jitter %v units, want %v", j.jitter, tt.want)
			}
		})
	}
}

func TestJitterAlternatingArrivals(t *testing.T) {
	// Arrivals alternating 10 ms early and late around a 20 ms clock:
	// |D| = 160 units each time, so J converges to 160 (20 ms at 8 kHz).
	var j jitterEstimator
	for i := range 400 {
		arr := int64(i) * 20 * int64(time.Millisecond)
		if i%2 == 1 {
			arr += 10 * int64(time.Millisecond)
		}
		j.update(arr, uint32(i*160), 0, 8000)
	}
	if math.Abs(j.jitter-80) > 1 {
		t.Fatalf("jitter %v units, want ~80 (|D| alternates 80)", j.jitter)
	}
	if got := tsDuration(j.jitter, 8000); got < 9*time.Millisecond || got > 11*time.Millisecond {
		t.Fatalf("jitter %v, want ~10 ms", got)
	}
}

func TestJitterIgnoresPayloadTypeSwitch(t *testing.T) {
	var j jitterEstimator
	j.update(0, 0, 0, 8000)
	j.update(20*int64(time.Millisecond), 160, 0, 8000)
	// a telephone-event packet with an unrelated timestamp
	j.update(40*int64(time.Millisecond), 99999, 101, 8000)
	j.update(60*int64(time.Millisecond), 480, 0, 8000)
	j.update(80*int64(time.Millisecond), 640, 0, 8000)
	if j.jitter != 0 {
		t.Fatalf("jitter %v after a payload type switch, want 0", j.jitter)
	}
}

func TestEModel(t *testing.T) {
	tests := []struct {
		codec   string
		loss    float64
		jitter  time.Duration
		wantR   float64
		wantMOS float64
	}{
		// G.711, no loss, 20 ms + 0 jitter: R = 93.2 - 0.024*20 = 92.72
		{"ulaw", 0, 0, 92.7, 4.40},
		// 1% loss with PLC: Ie,eff = 95*1/(1+25.1) = 3.64
		{"alaw", 1, 0, 89.1, 4.32},
		// 5% loss: Ie,eff = 95*5/30.1 = 15.78
		{"ulaw", 5, 0, 76.9, 3.90},
		// G.729 adds Ie 11
		{"g729", 0, 0, 81.7, 4.09},
		// 100 ms jitter: d = 220 ms, Id = 5.28 + 0.11*42.7 = 9.98
		{"ulaw", 0, 100 * time.Millisecond, 83.2, 4.14},
	}
	for _, tt := range tests {
		r, m := quality(tt.loss, tt.jitter, 20, tt.codec)
		if math.Abs(r-tt.wantR) > 0.11 || math.Abs(m-tt.wantMOS) > 0.011 {
			t.Errorf("%s loss %v%% jitter %v: R %.2f MOS %.2f, want %.1f and %.2f", tt.codec, tt.loss, tt.jitter, r, m, tt.wantR, tt.wantMOS)
		}
	}
	if mos(-5) != 1 || mos(120) != 4.5 {
		t.Fatal("MOS must be 1 below R 0 and 4.5 above R 100")
	}
}
