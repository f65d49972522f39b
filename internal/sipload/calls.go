package sipload

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// CallPlan is a round of calls: Rate calls a second for Duration, each to
// Called, held Hold after the answer.
type CallPlan struct {
	Called   string
	Rate     float64
	Duration time.Duration
	Hold     time.Duration
	// MaxInFlight bounds the calls up at once (default: the calls of
	// Hold plus 10 s at Rate).
	MaxInFlight int
}

// maxCalls bounds a round (Rate * Duration).
const maxCalls = 1_000_000

// Calls is the number of calls the plan places.
func (p CallPlan) Calls() int { return int(p.Rate * p.Duration.Seconds()) }

func (p CallPlan) validate() error {
	switch n := p.Calls(); {
	case p.Called == "":
		return fmt.Errorf("%w: calls need a called number", ErrBadOption)
	case p.Rate <= 0 || p.Duration <= 0 || n < 1:
		return fmt.Errorf("%w: rate and duration must make at least one call (rate %g, duration %s)", ErrBadOption, p.Rate, p.Duration)
	case n > maxCalls:
		return fmt.Errorf("%w: rate %g for %s is %d calls, more than %d", ErrBadOption, p.Rate, p.Duration, n, maxCalls)
	case p.Hold < 0 || p.Hold > 10*time.Minute:
		return fmt.Errorf("%w: hold must be 0..10m, got %s", ErrBadOption, p.Hold)
	case p.MaxInFlight < 0:
		return fmt.Errorf("%w: max in flight must not be negative", ErrBadOption)
	}
	return nil
}

// CallResult is what a round of calls did.
type CallResult struct {
	Attempted, Answered, Failed int
	// Generation is from the first call's start to the last's, plus one
	// interval: Attempted / Generation is the rate achieved.
	Generation time.Duration
	// Wall is from the first call's start to the last call's end.
	Wall time.Duration
	// Invite is authenticated INVITE -> 200; Bye is BYE -> 200.
	Invite, Bye Latencies
	// Failures counts failed calls by cause ("503", "timeout", ...);
	// FirstError is the first failure.
	Failures   map[string]int
	FirstError error
}

// CPS is the rate achieved.
func (r CallResult) CPS() float64 {
	if r.Generation <= 0 {
		return 0
	}
	return float64(r.Attempted) / r.Generation.Seconds()
}

// FailureCauses is "503:2 timeout:1", sorted.
func (r CallResult) FailureCauses() string {
	var parts []string
	for k, v := range r.Failures {
		parts = append(parts, k+":"+strconv.Itoa(v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// Calls places plan's calls, the phones in turn, and waits for every call
// to end (each is bounded by the fleet's timeout, Hold and the BYE's
// timeout).
func (f *Fleet) Calls(ctx context.Context, plan CallPlan) (CallResult, error) {
	if err := plan.validate(); err != nil {
		return CallResult{}, err
	}
	n := plan.Calls()
	limit := plan.MaxInFlight
	if limit == 0 {
		limit = max(1, int(plan.Rate*(plan.Hold+10*time.Second).Seconds()))
	}
	res := CallResult{Failures: map[string]int{}}
	var mu sync.Mutex
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / plan.Rate)
	start := time.Now()
	var lastStart time.Duration
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		lastStart = time.Since(start)
		res.Attempted++
		p := f.phones[f.next.Add(1)%uint64(len(f.phones))]
		wg.Go(func() {
			defer func() { <-sem }()
			inv, bye, err := p.call(ctx, plan)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Failed++
				res.Failures[failureCause(err)]++
				if res.FirstError == nil {
					res.FirstError = fmt.Errorf("phone %s: %w", p.name, err)
				}
				return
			}
			res.Answered++
			res.Invite.Add(inv)
			if bye > 0 {
				res.Bye.Add(bye)
			}
		})
	}
	wg.Wait()
	res.Generation = lastStart + interval
	res.Wall = time.Since(start)
	return res, nil
}

// failureCause names a call's failure: the final status, or timeout.
func failureCause(err error) string {
	var de *sipgo.ErrDialogResponse
	var rej *rejection
	switch {
	case errors.As(err, &de) && de.Res != nil:
		return strconv.Itoa(de.Res.StatusCode)
	case errors.As(err, &rej):
		return rej.stage
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}

// rejection is a call that failed after its answer (ACK or BYE).
type rejection struct {
	stage string
	err   error
}

func (r *rejection) Error() string { return r.stage + ": " + r.err.Error() }
func (r *rejection) Unwrap() error { return r.err }

// offer is the phone's SDP: G.711 from its own address (the switch's
// media.relay auto sees no NAT: the SDP names the source).
func (p *phone) offer() []byte {
	a := p.src.String()
	return []byte("v=0\r\no=sipload 1 1 IN IP4 " + a + "\r\ns=-\r\nc=IN IP4 " + a +
		"\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=ptime:20\r\n")
}

// call places one call: INVITE, the 407 answered, 200, ACK, Hold, BYE.
// It returns the authenticated INVITE -> 200 and BYE -> 200 times.
func (p *phone) call(ctx context.Context, plan CallPlan) (invite, bye time.Duration, err error) {
	ep, err := p.endpoint()
	if err != nil {
		return 0, 0, err
	}
	callCtx, cancel := context.WithTimeout(ctx, p.f.cfg.timeout)
	defer cancel()
	to := p.f.switchURI(plan.Called)
	req := sip.NewRequest(sip.INVITE, to)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: p.name, Host: p.src.String()}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: to})
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(p.offer())
	req.SetTransport(p.f.transport)
	sent := time.Now()
	d, err := ep.callers.WriteInvite(callCtx, req)
	if err != nil {
		return 0, 0, err
	}
	defer d.Close()
	var answered time.Time
	err = d.WaitAnswer(callCtx, sipgo.AnswerOptions{Username: p.name, Password: p.password,
		OnResponse: func(res *sip.Response) error {
			switch {
			case res.StatusCode == 401 || res.StatusCode == 407:
				sent = time.Now() // the authenticated INVITE goes now
			case res.IsSuccess():
				answered = time.Now()
			}
			return nil
		}})
	if err != nil {
		return 0, 0, err
	}
	invite = answered.Sub(sent)
	if err := d.Ack(callCtx); err != nil {
		return invite, 0, &rejection{"ack", err}
	}
	if plan.Hold > 0 {
		t := time.NewTimer(plan.Hold)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	byeCtx, cancelBye := context.WithTimeout(context.WithoutCancel(ctx), p.f.cfg.timeout)
	defer cancelBye()
	t0 := time.Now()
	if err := d.Bye(byeCtx); err != nil {
		return invite, 0, &rejection{"bye", err}
	}
	return invite, time.Since(t0), nil
}
