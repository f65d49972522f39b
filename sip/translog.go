package sip

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// sipgo's transport layer logs, at ERROR and with the whole payload, every
// message it cannot parse and every connection a read filter closes. Both
// are what anyone on the network can make it do without credentials: 2,000
// garbage datagrams wrote 5 MB of log in 0.04 s. transportLog stands
// between sipgo and the switch's logger and turns those records into
// counted, rate-limited WARN lines: the first of each interval with a short
// escaped sample, then one summary of how many were dropped since.

// noisyTransportMessages are the sipgo log messages that outside input
// triggers at will, with the summary each becomes.
var noisyTransportMessages = map[string]string{
	"failed to parse":   "sip unparseable message dropped",
	"Read filter error": "sip connection closed by the flood limit",
	// A failed or abandoned TLS handshake, a connection reset: anyone can
	// open connections that end so.
	"Read error": "sip connection ended by a read error (TLS handshake failed or timed out, reset)",
	// A WebSocket connection refused before sipgo saw it (transports_ws.go).
	"websocket refused": "sip websocket connection refused",
}

// logSampleBytes bounds how much of a dropped message a log line shows.
const logSampleBytes = 200

// transportLogInterval is the longest a noisy kind stays silent while
// messages of it keep coming.
const transportLogInterval = 10 * time.Second

type transportLog struct {
	next  slog.Handler
	state *transportLogState
}

type transportLogState struct {
	out      *slog.Logger
	now      func() time.Time
	interval time.Duration
	dropped  atomic.Uint64 // unparseable messages, for metrics

	mu    sync.Mutex
	kinds map[string]*noisyKind
}

type noisyKind struct {
	lastLine   time.Time
	suppressed int
}

func newTransportLog(out *slog.Logger, now func() time.Time) *transportLog {
	return &transportLog{next: out.Handler(), state: &transportLogState{out: out, now: now, interval: transportLogInterval, kinds: map[string]*noisyKind{}}}
}

func (h *transportLog) Enabled(ctx context.Context, l slog.Level) bool {
	// Noisy records are ERROR in sipgo and become WARN here; ask for the
	// lower of the two so a switch logging at WARN still sees them.
	return h.next.Enabled(ctx, l) || (l >= slog.LevelWarn && h.next.Enabled(ctx, slog.LevelWarn))
}

func (h *transportLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &transportLog{next: h.next.WithAttrs(as), state: h.state}
}

func (h *transportLog) WithGroup(name string) slog.Handler {
	return &transportLog{next: h.next.WithGroup(name), state: h.state}
}

func (h *transportLog) Handle(ctx context.Context, r slog.Record) error {
	summary, noisy := noisyTransportMessages[r.Message]
	if !noisy {
		if !h.next.Enabled(ctx, r.Level) {
			return nil
		}
		return h.next.Handle(ctx, r)
	}
	if r.Message == "failed to parse" {
		h.state.dropped.Add(1)
	}
	st := h.state
	now := st.now()
	st.mu.Lock()
	k := st.kinds[r.Message]
	if k == nil {
		k = &noisyKind{}
		st.kinds[r.Message] = k
	}
	if now.Sub(k.lastLine) < st.interval {
		k.suppressed++
		st.mu.Unlock()
		return nil
	}
	before := k.suppressed
	k.lastLine, k.suppressed = now, 0
	st.mu.Unlock()

	attrs := make([]slog.Attr, 0, 4)
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "data":
			attrs = append(attrs, slog.String("sample", logSample(a.Value.String())))
		case "error", "raddr":
			attrs = append(attrs, slog.String(a.Key, logSample(a.Value.String())))
		}
		return true
	})
	if before > 0 {
		attrs = append(attrs, slog.Int("more_since_last_line", before))
	}
	st.out.LogAttrs(ctx, slog.LevelWarn, summary, attrs...)
	return nil
}

// flush logs how many noisy records were dropped without a line, for kinds
// whose interval has passed: the last burst is never invisible.
func (st *transportLogState) flush() {
	now := st.now()
	st.mu.Lock()
	type line struct {
		summary string
		n       int
	}
	var lines []line
	for msg, k := range st.kinds {
		if k.suppressed > 0 && now.Sub(k.lastLine) >= st.interval {
			lines = append(lines, line{noisyTransportMessages[msg], k.suppressed})
			k.lastLine, k.suppressed = now, 0
		}
	}
	st.mu.Unlock()
	for _, l := range lines {
		st.out.Warn(l.summary, "count", l.n, "over", st.interval.String())
	}
}

// logSample is at most logSampleBytes of s, quoted with Go escapes so that
// control characters and invalid UTF-8 cannot forge or break log lines,
// and with any SDES key masked (a malformed message may still carry one).
func logSample(s string) string {
	more := ""
	if len(s) > logSampleBytes {
		s, more = s[:logSampleBytes], "..."
	}
	b := []byte(s)
	sipmsg.MaskSDESKeys(b)
	return strconv.Quote(string(b)) + more
}
