package console

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
)

// sampler keeps the switch's counters over the last hour, one sample
// every interval, for the dashboard's chart.
type sampler struct {
	every time.Duration
	keep  int
	mu    sync.Mutex
	s     []sample
}

type sample struct {
	at time.Time
	c  Counters
}

func newSampler(every, span time.Duration) *sampler {
	return &sampler{every: every, keep: int(span / every)}
}

func (sm *sampler) add(at time.Time, c Counters) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	sm.s = append(sm.s, sample{at, c})
	if len(sm.s) > sm.keep {
		sm.s = append(sm.s[:0], sm.s[len(sm.s)-sm.keep:]...)
	}
}

func (sm *sampler) all() []sample {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	return append([]sample(nil), sm.s...)
}

// Run samples the counters until ctx ends (the dashboard's chart).
func (c *Console) Run(ctx context.Context) {
	if c.counters == nil {
		return
	}
	t := time.NewTicker(c.samples.every)
	defer t.Stop()
	c.samples.add(time.Now(), c.counters())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			c.samples.add(now, c.counters())
		}
	}
}

type card struct {
	Label, Value string
}

type chartData struct {
	Width, Height int
	CPS, Active   string // polyline points
	MaxCPS        string
	MaxActive     int64
	Span          string
}

type dashData struct {
	Cards    []card
	Chart    *chartData
	Peers    []bar
	Lines    []bar
	Failures []bar
	Window   string
}

// bar is one gauge: a value against its limit.
type bar struct {
	Label      string
	Value, Max float64
	Text       string
	Full       bool // at or over the limit
}

// maxBars bounds each gauge list (INFERRED: the busiest first).
const maxBars = 12

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, s *api.Session) {
	p := c.newPage(r, s, "Dashboard")
	p.Data = c.dashData(r, s)
	c.render(w, r, "dashboard", p)
}

// dashData: the switch-wide counters and chart for a system login; for
// any other, the counts of its own lines through the API.
func (c *Console) dashData(r *http.Request, s *api.Session) *dashData {
	d := &dashData{}
	if s.Actor.Can(engine.LivePrivileges...) {
		for _, it := range []struct{ label, fn string }{{"Your active calls", "calls/active"}, {"Your registrations", "registrations/list"}} {
			if s.Actor.System() {
				break
			}
			env := c.call(r, s, it.fn, engine.Values{"count": "1"})
			if bad, _ := failed(env); !bad {
				d.Cards = append(d.Cards, card{it.label, fmt.Sprint(objectOf(env)["count"])})
			}
		}
	}
	if !s.Actor.System() || c.counters == nil {
		return d
	}
	now := c.counters()
	samples := c.samples.all()
	cps := "–"
	if n := len(samples); n > 0 {
		first := samples[max(0, n-60)] // about the last 5 minutes
		if dt := time.Since(first.at).Seconds(); dt >= 1 {
			cps = strconv.FormatFloat(float64(now.CallsAttempted-first.c.CallsAttempted)/dt, 'f', 2, 64)
		}
	}
	// The answer-seizure ratio and the failures over the samples' window
	// (the last hour, or since the daemon started).
	base := Counters{}
	d.Window = "since start"
	if len(samples) > 0 {
		base = samples[0].c
		d.Window = "last " + time.Since(samples[0].at).Round(time.Second).String()
	}
	asr := "–"
	if n := now.CallsAttempted - base.CallsAttempted; n > 0 {
		asr = strconv.FormatFloat(100*float64(now.CallsAnswered-base.CallsAnswered)/float64(n), 'f', 1, 64) + "%"
	}
	acd := "–"
	if n := now.CallsCompleted - base.CallsCompleted; n > 0 {
		acd = (time.Duration((now.TalkMillis-base.TalkMillis)/n) * time.Millisecond).Round(time.Second).String()
	}
	top := int64(1)
	for cause, n := range now.Failures {
		if n -= base.Failures[cause]; n > 0 {
			top = max(top, n)
			d.Failures = append(d.Failures, bar{Label: cause, Value: float64(n), Text: strconv.FormatInt(n, 10) + " calls"})
		}
	}
	for i := range d.Failures {
		d.Failures[i].Max = float64(top)
	}
	sort.Slice(d.Failures, func(i, j int) bool { return d.Failures[i].Value > d.Failures[j].Value })
	d.Cards = append(d.Cards,
		card{"Active calls", strconv.FormatInt(now.ActiveCalls, 10)},
		card{"Registrations", strconv.FormatInt(now.Registrations, 10)},
		card{"Calls/s (5 min)", cps},
		card{"Answered (" + d.Window + ")", asr},
		card{"Average call (" + d.Window + ")", acd},
	)
	d.Chart = chartOf(samples)
	if c.usage != nil {
		d.Peers, d.Lines = usageBars(c.usage())
	}
	return d
}

// usageBars: peers by share of their outmaximum (unlimited ones by calls,
// against the busiest), lines by share of their limit; the busiest first.
func usageBars(u Usage) (peers, lines []bar) {
	busiest := 1
	for _, p := range u.Peers {
		busiest = max(busiest, p.Active)
	}
	for _, p := range u.Peers {
		b := bar{Label: p.Name, Value: float64(p.Active), Max: float64(p.Max)}
		if p.Max < 0 {
			b.Max = float64(busiest)
			b.Text = fmt.Sprintf("%d calls (no outmaximum)", p.Active)
		} else {
			b.Text = fmt.Sprintf("%d of %d calls", p.Active, p.Max)
			b.Full = p.Active >= p.Max
		}
		peers = append(peers, b)
	}
	for _, l := range u.Lines {
		lines = append(lines, bar{Label: l.Name, Value: l.Spent, Max: l.Limit, Full: l.Spent >= l.Limit,
			Text: fmt.Sprintf("%.2f of %.2f today", l.Spent, l.Limit)})
	}
	share := func(b bar) float64 {
		if b.Max <= 0 {
			return b.Value
		}
		return b.Value / b.Max
	}
	for _, list := range []*[]bar{&peers, &lines} {
		sort.SliceStable(*list, func(i, j int) bool { return share((*list)[i]) > share((*list)[j]) })
		*list = (*list)[:min(len(*list), maxBars)]
	}
	return peers, lines
}

// chartOf draws calls/s and active calls over the samples as polyline
// points in a 600x160 box (each scaled to its own maximum).
func chartOf(samples []sample) *chartData {
	ch := &chartData{Width: 600, Height: 160, Span: "no samples yet"}
	if len(samples) < 2 {
		return ch
	}
	span := samples[len(samples)-1].at.Sub(samples[0].at)
	ch.Span = "last " + span.Round(time.Second).String()
	rates := make([]float64, len(samples)-1)
	maxRate := 0.0
	for i := 1; i < len(samples); i++ {
		dt := samples[i].at.Sub(samples[i-1].at).Seconds()
		if dt > 0 {
			rates[i-1] = float64(samples[i].c.CallsAttempted-samples[i-1].c.CallsAttempted) / dt
		}
		maxRate = max(maxRate, rates[i-1])
	}
	for _, sm := range samples {
		ch.MaxActive = max(ch.MaxActive, sm.c.ActiveCalls)
	}
	x := func(i, n int) float64 { return float64(i) * float64(ch.Width) / float64(max(n-1, 1)) }
	y := func(v, top float64) float64 {
		if top <= 0 {
			return float64(ch.Height)
		}
		return float64(ch.Height) - v/top*float64(ch.Height-10)
	}
	var cps, act strings.Builder
	for i, v := range rates {
		fmt.Fprintf(&cps, "%.1f,%.1f ", x(i, len(rates)), y(v, maxRate))
	}
	for i, sm := range samples {
		fmt.Fprintf(&act, "%.1f,%.1f ", x(i, len(samples)), y(float64(sm.c.ActiveCalls), float64(ch.MaxActive)))
	}
	ch.CPS, ch.Active = cps.String(), act.String()
	ch.MaxCPS = strconv.FormatFloat(maxRate, 'f', 2, 64)
	return ch
}
