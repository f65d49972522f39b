package routing

import "testing"

func TestDefaultFailoverPolicy(t *testing.T) {
	p := DefaultFailoverPolicy()
	tests := []struct {
		o    AttemptOutcome
		want bool
	}{
		{AttemptOutcome{TimedOut: true}, true},
		{AttemptOutcome{LimitReached: true}, true},
		{AttemptOutcome{Code: 0}, true},
		{AttemptOutcome{Code: 408}, true},
		{AttemptOutcome{Code: 500}, true},
		{AttemptOutcome{Code: 501}, false},
		{AttemptOutcome{Code: 502}, true},
		{AttemptOutcome{Code: 503}, true},
		{AttemptOutcome{Code: 599}, true},
		{AttemptOutcome{Code: 600}, false},
		{AttemptOutcome{Code: 603}, false},
		{AttemptOutcome{Code: 604}, true},
		{AttemptOutcome{Code: 606}, true},
		{AttemptOutcome{Code: 200}, false},
		{AttemptOutcome{Code: 404}, false},
		{AttemptOutcome{Code: 403}, false},
		{AttemptOutcome{Code: 480}, false},
		{AttemptOutcome{Code: 484}, false},
		{AttemptOutcome{Code: 486}, false},
		{AttemptOutcome{Code: 487}, false},
		{AttemptOutcome{Code: 999}, false},
		{AttemptOutcome{Code: -5}, false},
	}
	for _, tt := range tests {
		if got := p.ShouldTryNext(tt.o); got != tt.want {
			t.Errorf("ShouldTryNext(%+v) = %v, want %v", tt.o, got, tt.want)
		}
	}
	q := p.WithCode(486, true).WithCode(503, false)
	if !q.ContinueOnCode(486) || q.ContinueOnCode(503) || !p.ContinueOnCode(503) || p.ContinueOnCode(486) {
		t.Error("WithCode changed the wrong policy or code")
	}
}

func TestContinueOnDialStatus(t *testing.T) {
	p := DefaultFailoverPolicy()
	for _, s := range ContinueDialStatuses {
		if !p.ContinueOnDialStatus(s) {
			t.Errorf("%s listed but does not continue", s)
		}
	}
	stop := []string{DialStatusBusy, DialStatusNoAnswer, DialStatusAnswer, DialStatusCancel, DialStatusDontCall, DialStatusTorture, DialStatusInvalidArgs, "", "SOMETHING"}
	for _, s := range stop {
		if p.ContinueOnDialStatus(s) {
			t.Errorf("%q continues, want stop", s)
		}
	}
	if len(ContinueDialStatuses) != 2 {
		t.Errorf("ContinueDialStatuses = %v", ContinueDialStatuses)
	}
}

func TestFailureInjector(t *testing.T) {
	var n uint32
	seq := func() uint32 { n++; return n - 1 } // 0, 1, 2, ...
	f := NewFailureInjector(WithRandomSource(seq))
	fails := 0
	for range 1000 {
		if f.ShouldFail(&Peer{FailPercent: 30}) {
			fails++
		}
	}
	if fails != 300 {
		t.Errorf("fail_percent 30 failed %d of 1000", fails)
	}
	drawn := n
	if f.ShouldFail(&Peer{FailPercent: 0}) || !f.ShouldFail(&Peer{FailPercent: 100}) {
		t.Error("0% or 100% wrong")
	}
	if n != drawn {
		t.Error("0%/100% drew from the source")
	}
	def := NewFailureInjector()
	if n := testing.AllocsPerRun(100, func() { def.ShouldFail(&Peer{FailPercent: 50}) }); n != 0 {
		t.Errorf("ShouldFail allocates %v", n)
	}
}
