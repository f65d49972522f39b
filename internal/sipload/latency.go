package sipload

import (
	"fmt"
	"slices"
	"time"
)

// Latencies collects durations; the zero value is empty. Not safe for
// concurrent use.
type Latencies struct{ d []time.Duration }

// Add records one duration.
func (l *Latencies) Add(d time.Duration) { l.d = append(l.d, d) }

// Len is the number recorded.
func (l *Latencies) Len() int { return len(l.d) }

// Summary is the mean, median, 99th percentile and maximum.
type Summary struct {
	N                   int
	Mean, P50, P99, Max time.Duration
}

// Summary computes the summary (nearest rank percentiles).
func (l *Latencies) Summary() Summary {
	if len(l.d) == 0 {
		return Summary{}
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	rank := func(q float64) time.Duration {
		i := int(q*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return Summary{N: len(s), Mean: sum / time.Duration(len(s)), P50: rank(0.5), P99: rank(0.99), Max: s[len(s)-1]}
}

// String is "mean 1.52  p50 1.20  p99 5.10  max 9.30  (n=3000)" in ms.
func (s Summary) String() string {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return fmt.Sprintf("mean %.2f  p50 %.2f  p99 %.2f  max %.2f  (n=%d)", ms(s.Mean), ms(s.P50), ms(s.P99), ms(s.Max), s.N)
}
