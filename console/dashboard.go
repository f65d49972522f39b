package console

import (
	"context"
	"fmt"
	"net/http"
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
	Cards []card
	Chart *chartData
}

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
	asr := "–"
	if now.CallsAttempted > 0 {
		asr = strconv.FormatFloat(100*float64(now.CallsAnswered)/float64(now.CallsAttempted), 'f', 1, 64) + "%"
	}
	d.Cards = append(d.Cards,
		card{"Active calls", strconv.FormatInt(now.ActiveCalls, 10)},
		card{"Registrations", strconv.FormatInt(now.Registrations, 10)},
		card{"Calls/s (5 min)", cps},
		card{"Answered (since start)", asr},
	)
	d.Chart = chartOf(samples)
	return d
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
