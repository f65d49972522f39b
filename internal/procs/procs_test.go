package procs

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"
)

func TestNextRule(t *testing.T) {
	fresh := state{need: DefaultCalm, sinceTrial: -1}
	steady := func(avg float64) state { st := fresh; st.avg = avg; return st }
	with := func(st state, f func(*state)) state { f(&st); return st }
	for _, tc := range []struct {
		name       string
		procs, max int
		busy       float64
		pressed    bool
		st         state
		want       int
		wantSt     state
	}{
		{"light load stays on one", 1, 2, 0.5, false, steady(0.5), 1, steady(0.5)},
		{"idle stays on one", 1, 2, 0, false, fresh, 1, fresh},
		{"80% of one, steadily, raises", 1, 2, 0.8, false, steady(0.8), 2, steady(0.8)},
		{"one interval at 85% is a burst, not a load", 1, 2, 0.85, false, steady(0.6), 1, steady(0.675)},
		{"one saturated interval doubles", 1, 2, 0.96, false, steady(0.3), 2, steady(0.96)},
		{"saturated doubles", 2, 8, 1.9, false, steady(1.9), 4, steady(1.9)},
		{"saturated stops at the most", 3, 4, 2.9, false, steady(2.9), 4, steady(2.9)},
		{"85% of two, steadily, raises by one", 2, 8, 1.7, false, steady(1.7), 3, steady(1.7)},
		{"at the most stays", 2, 2, 2, false, steady(2), 2, steady(2)},
		{"work that fits one fewer counts calm", 2, 2, 0.7, false, steady(0.7), 2, with(steady(0.7), func(s *state) { s.calm = 1 })},
		{"work that would raise one fewer is not calm", 2, 2, 0.9, false, with(steady(0.9), func(s *state) { s.calm = 7 }), 2, steady(0.9)},
		{"calm long enough tries one fewer", 2, 2, 0.7, false, with(steady(0.7), func(s *state) { s.calm = DefaultCalm - 1 }), 1, with(steady(0.7), func(s *state) { s.sinceTrial = 0 })},
		{"a raise during the trial fails it", 1, 2, 0.85, false, with(steady(0.85), func(s *state) { s.sinceTrial = 2 }), 2, with(steady(0.85), func(s *state) { s.need = 2 * DefaultCalm })},
		{"failed trials wait at most MaxCalm", 1, 2, 0.96, false, state{need: MaxCalm, sinceTrial: 0}, 2, with(steady(0.96), func(s *state) { s.need = MaxCalm })},
		{"a trial that holds resets the wait", 1, 2, 0.5, false, with(steady(0.5), func(s *state) { s.need, s.sinceTrial = 8*DefaultCalm, TrialIntervals }), 1, steady(0.5)},
		{"a raise after the trial held does not fail it", 1, 2, 0.96, false, with(steady(0.5), func(s *state) { s.need, s.sinceTrial = 4*DefaultCalm, TrialIntervals }), 2, with(steady(0.96), func(s *state) { s.need = 4 * DefaultCalm })},
		{"a pressed queue raises by one", 1, 4, 0.5, true, steady(0.5), 2, steady(0.5)},
		{"a pressed queue at the most stays", 2, 2, 0.5, true, steady(0.5), 2, steady(0.5)},
		{"a pressed queue is not calm", 2, 2, 0.5, true, with(steady(0.5), func(s *state) { s.calm = 5 }), 2, steady(0.5)},
		{"a pressed queue fails a trial", 1, 2, 0.5, true, with(steady(0.5), func(s *state) { s.sinceTrial = 1 }), 2, with(steady(0.5), func(s *state) { s.need = 2 * DefaultCalm })},
		{"one is the least", 1, 2, 0, false, with(fresh, func(s *state) { s.calm = 50 }), 1, fresh},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Controller{max: tc.max, raiseAt: DefaultRaiseAt, satAt: DefaultSaturatedAt, calm: DefaultCalm}
			got, st := c.next(tc.procs, tc.busy, tc.pressed, tc.st)
			avgOK := math.Abs(st.avg-tc.wantSt.avg) < 1e-9
			st.avg = tc.wantSt.avg
			if got != tc.want || st != tc.wantSt || !avgOK {
				t.Errorf("next(%d, %.2f, %+v) = %d, %+v; want %d, %+v", tc.procs, tc.busy, tc.st, got, st, tc.want, tc.wantSt)
			}
		})
	}
}

// fakeLoad is a process whose CPU time grows by the scripted busy cores
// each interval.
type fakeLoad struct {
	mu   sync.Mutex
	busy []float64 // per interval; the last repeats
	at   time.Time
	cpu  time.Duration
	n    int
}

func (f *fakeLoad) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.at
}

// cpuTime is called once per interval, before now: it moves both on.
func (f *fakeLoad) cpuTime() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n > 0 {
		b := f.busy[min(f.n-1, len(f.busy)-1)]
		f.cpu += time.Duration(b * float64(DefaultInterval))
		f.at = f.at.Add(DefaultInterval)
	}
	f.n++
	return f.cpu
}

// Run starts the process on one processor, doubles it when the load
// saturates it, tries one fewer after the calm stretch, goes back when
// the trial fails and tries again after twice the stretch, and leaves the
// most when stopped.
func TestRunFollowsLoad(t *testing.T) {
	load := &fakeLoad{busy: []float64{0.96, 0.7, 0.7, 0.7, 0.96, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.5}, at: time.Unix(0, 0)}
	sets := make(chan int, 64)
	c := New(WithMax(2), WithInterval(time.Millisecond))
	c.cpu, c.now, c.set = load.cpuTime, load.now, func(n int) { sets <- n }
	c.calm = 3
	c.procs.Store(2) // as the runtime had it, whatever this machine's cores
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	next := func(what string) int {
		t.Helper()
		select {
		case n := <-sets:
			return n
		case <-time.After(5 * time.Second):
			t.Fatalf("no GOMAXPROCS set: %s", what)
			return 0
		}
	}
	for _, step := range []struct {
		what string
		want int
	}{
		{"start", 1},
		{"0.96 of one: saturated", 2},
		{"0.7 of two for three intervals: a trial of one", 1},
		{"0.96 of one: the trial failed", 2},
		{"0.7 of two for six intervals: a trial of one", 1},
	} {
		if got := next(step.what); got != step.want {
			t.Fatalf("%s: GOMAXPROCS %d, want %d", step.what, got, step.want)
		}
	}
	if c.Procs() != 1 {
		t.Errorf("Procs() = %d, want 1", c.Procs())
	}
	cancel()
	<-done
	if got := next("stop"); got != 2 {
		t.Errorf("stopped: GOMAXPROCS %d, want the most, 2", got)
	}
	if c.Changes() != 6 {
		t.Errorf("%d changes, want 6", c.Changes())
	}
}

// The process's CPU time grows as it works (getrusage, every thread).
func TestProcessCPUGrows(t *testing.T) {
	if !haveCPUTime {
		t.Skip("no CPU time of the process on this system")
	}
	before := processCPU()
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	for processCPU()-before < 10*time.Millisecond {
		for i := range 100000 {
			x ^= i
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time %v after 5 s of work (x=%d)", processCPU()-before, x)
		}
	}
}
