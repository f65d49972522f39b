package sip

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// spendFixture is a switch whose line 1001 has a daily spend limit and
// whose calls to 44 go to carriers in order, each charging a connect fee
// of 0.20 and 6.00 a minute by the second: a first billing step of 0.30,
// then 0.10 a second.
type spendFixture struct {
	s        *Server
	ledger   *routing.SpendLedger
	phone    *siptest.Agent
	carriers []*siptest.Agent
	sink     *recordSink
}

// spendStep is the fixture's billing step after the first.
const spendStep = 0.10

func newSpendFixture(t *testing.T, limit float64, carriers int, opts ...Option) *spendFixture {
	t.Helper()
	f := &spendFixture{phone: siptest.NewAgent(t, "phone", "127.0.0.1"), sink: &recordSink{}}
	snap := &routing.Snapshot{
		Plans:  []routing.Plan{{ID: 1}},
		Phones: []routing.Phone{{ID: 1, Name: "1001", Password: "secret1001", Plan: 1, Customer: 4, TotalMaximum: -1, CallMaximum: limit, PresentationExternal: 1}},
	}
	route := routing.Route{ID: 3, Plan: 1, CalledPrefix: "44", Allow: 1, Media: routing.MediaVoiceFax}
	var costs []routing.PeerCost
	for i := range carriers {
		a := siptest.NewAgent(t, fmt.Sprint("carrier", i+1), fmt.Sprint("127.0.0.", i+2))
		f.carriers = append(f.carriers, a)
		id := i + 1
		snap.Peers = append(snap.Peers, routing.Peer{ID: id, Name: a.Name, Type: routing.PeerSIP, Destination: a.Host + ":" + itoa(a.Port), OutMaximum: -1, Costs: 1, Charge: 1})
		row := routing.DefaultPeerCost(id)
		row.ID, row.CalledPrefix, row.Cost, row.ConnectFee, row.Increment = 10+id, "44", 6, 0.20, 1
		costs = append(costs, row)
	}
	route.Peer1 = 1
	if carriers > 1 {
		route.Peer2 = 2
	}
	snap.Routes = []routing.Route{route}
	f.ledger = routing.NewSpendLedger(time.UTC, routing.WithSpendTick(200*time.Millisecond))
	calls, err := routing.NewCallControl(context.Background(), snap, costs, routing.WithSpendLedger(f.ledger))
	if err != nil {
		t.Fatal(err)
	}
	f.s, _ = startSwitch(t, calls, append([]Option{WithCallRecords(f.sink.record)}, opts...)...)
	return f
}

// recordedCost sums the cost of the calls recorded.
func (f *spendFixture) recordedCost() float64 {
	total := 0.0
	for _, r := range f.sink.all() {
		total += r.Cost
	}
	return math.Round(total*1e6) / 1e6
}

// Issue 23: a line with a limit placed many calls at once to a carrier
// that rings before it answers, and every one was answered: a ringing
// call held nothing, so each attempt found the whole limit left. Each
// attempt now holds its first billing step from before its INVITE is
// sent, so 50 calls at once get only as many answers as the limit covers
// and the day's spend stays within the limit plus one billing step.
func TestSpendLimitHeldUnderConcurrency(t *testing.T) {
	const limit, calls = 2.00, 50
	f := newSpendFixture(t, limit, 1)
	carrier := f.carriers[0]
	answer := make(chan struct{})
	carrier.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		d.Respond(180, "Ringing", nil)
		select {
		case <-answer:
		case <-d.Context().Done():
			return
		}
		d.RespondSDP([]byte(carrierSDP))
		<-d.Context().Done()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sw := f.s.Addrs()[0]
	var refused, answered atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range calls {
		wg.Go(func() {
			d, err := f.phone.Call(ctx, sw, "441234", "1001", "secret1001", callerSDP)
			switch {
			case err == nil:
				answered.Add(1)
				<-d.Context().Done() // the switch's BYE: the limit ended the call
			case siptest.StatusOf(err) == 403:
				refused.Add(1)
			default:
				errs <- err
			}
		})
	}
	// Every call is either ringing at the carrier or refused before the
	// carrier answers any.
	eventually(t, "every call ringing or refused", func() bool { return carrier.Invites.Load()+refused.Load() == calls })
	close(answer)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("call failed: %v", err)
	}
	eventually(t, "every call recorded", func() bool { return len(f.sink.all()) == calls })
	now := time.Now()
	spent := f.ledger.Spent("1001", now)
	t.Logf("with %d parallel calls, spend %.2f for limit %.2f (one billing step %.2f): %d answered, %d refused 403",
		calls, spent, limit, spendStep, answered.Load(), refused.Load())
	if spent > limit+spendStep+1e-9 {
		t.Fatalf("spent %.2f of a %.2f limit with %d calls at once (%d answered)", spent, limit, calls, answered.Load())
	}
	if got := f.recordedCost(); math.Abs(got-spent) > 1e-6 {
		t.Errorf("records cost %v, the ledger %v", got, spent)
	}
	if answered.Load() == 0 || int(answered.Load())+int(refused.Load()) != calls {
		t.Errorf("%d answered, %d refused of %d", answered.Load(), refused.Load(), calls)
	}
}

// Every way an attempt ends gives its reservation back: busy, cancelled
// while ringing, no answer, no provisional response, a failure followed
// by another peer. With a limit that holds one first step at a time (0.30
// of 0.50), a leaked reservation, or one kept while the next peer is
// tried, would refuse the last call; afterwards the line holds exactly
// what its records cost.
func TestSpendReservationsReleasedOnEveryEnd(t *testing.T) {
	f := newSpendFixture(t, 0.50, 2, WithPeerTimeout(300*time.Millisecond), withMaxRingTime(time.Second))
	c1, c2 := f.carriers[0], f.carriers[1]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sw := f.s.Addrs()[0]
	call := func(ctx context.Context) (*sipgo.DialogClientSession, error) {
		return f.phone.Call(ctx, sw, "441234", "1001", "secret1001", callerSDP)
	}
	reservedNone := func(what string) {
		t.Helper()
		eventually(t, what+": call over", func() bool { return f.s.Stats().ActiveCalls == 0 })
		if got := f.ledger.Reserved("1001"); got != 0 {
			t.Fatalf("%s: %v still reserved", what, got)
		}
	}

	c1.Handle(siptest.RejectWith(486))
	if _, err := call(ctx); siptest.StatusOf(err) != 486 {
		t.Fatalf("busy: %v", err)
	}
	reservedNone("busy")

	c1.Handle(siptest.RingForever)
	cctx, ccancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := call(cctx); done <- err }()
	eventually(t, "carrier ringing", func() bool { return c1.Invites.Load() == 2 })
	ccancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled call was answered")
	}
	reservedNone("cancelled while ringing")

	c2.Handle(siptest.RingForever)
	if _, err := call(ctx); err == nil {
		t.Fatal("no answer: answered")
	}
	reservedNone("no answer from either peer")

	c1.Handle(siptest.Silent)
	c2.Handle(siptest.RejectWith(503))
	if _, err := call(ctx); err == nil {
		t.Fatal("no provisional, then 503: answered")
	}
	reservedNone("no provisional, then 503")

	c1.Handle(siptest.RejectWith(503))
	c2.Handle(siptest.AnswerWith(carrierSDP))
	d, err := call(ctx)
	if err != nil {
		t.Fatalf("503 then an answer: %v (a reservation was not given back)", err)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	reservedNone("answered after a failover")

	if _, err := call(ctx); siptest.StatusOf(err) != 403 {
		t.Fatalf("0.30 spent of 0.50: the next call got %v, want 403", err)
	}
	reservedNone("refused")
	eventually(t, "six records", func() bool { return len(f.sink.all()) == 6 })
	now := time.Now()
	if held, spent, cost := f.ledger.Held("1001", now), f.ledger.Spent("1001", now), f.recordedCost(); held != cost || spent != cost || cost != 0.30 {
		t.Fatalf("held %v, spent %v, records %v; want 0.30 each", held, spent, cost)
	}
}
