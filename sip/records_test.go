package sip

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// recordSink collects the call records the switch hands over.
type recordSink struct {
	mu   sync.Mutex
	recs []engine.CallRecord
}

func (s *recordSink) record(r engine.CallRecord) {
	s.mu.Lock()
	s.recs = append(s.recs, r)
	s.mu.Unlock()
}

func (s *recordSink) all() []engine.CallRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]engine.CallRecord(nil), s.recs...)
}

// billingSwitch: a carrier charging 1.00 a second for 44, lines 1001
// (limit 2.50 a day) and 1002 (no limit) on plan 1.
func billingSwitch(t *testing.T) (*Server, *siptest.Agent, *siptest.Agent, *recordSink) {
	t.Helper()
	carrier := siptest.NewAgent(t, "carrier", "127.0.0.2")
	carrier.Handle(siptest.AnswerWith(carrierSDP))
	row := routing.DefaultPeerCost(1)
	row.ID, row.CalledPrefix, row.Cost, row.Increment = 7, "44", 60, 1
	snap := &routing.Snapshot{
		Plans:  []routing.Plan{{ID: 1}},
		Peers:  []routing.Peer{{ID: 1, Name: "carrier", Type: routing.PeerSIP, Destination: carrier.Host + ":" + itoa(carrier.Port), OutMaximum: -1, Costs: 1, Charge: 1}},
		Routes: []routing.Route{{ID: 3, Plan: 1, CalledPrefix: "", Allow: 1, Media: routing.MediaVoiceFax, Peer1: 1}},
		Phones: []routing.Phone{
			{ID: 1, Name: "1001", Password: "secret1001", Plan: 1, Customer: 4, TotalMaximum: -1, CallMaximum: 2.5, PresentationExternal: 1},
			{ID: 2, Name: "1002", Password: "secret1002", Plan: 1, Customer: 5, TotalMaximum: -1, CallMaximum: -1, PresentationExternal: 1},
		},
	}
	spend := routing.NewSpendLedger(time.UTC, routing.WithSpendTick(200*time.Millisecond))
	calls, err := routing.NewCallControl(context.Background(), snap, []routing.PeerCost{row}, routing.WithSpendLedger(spend))
	if err != nil {
		t.Fatal(err)
	}
	sink := &recordSink{}
	s, _ := startSwitch(t, calls, WithCallRecords(sink.record))
	return s, carrier, siptest.NewAgent(t, "phone", "127.0.0.1"), sink
}

// A line at its daily spend limit: its running call is ended within a
// tick of its cost reaching the limit, its next chargeable call refused
// 403 before any peer, and every call leaves exactly one record saying so.
func TestDailySpendLimit(t *testing.T) {
	s, carrier, phone, sink := billingSwitch(t)
	sw := s.Addrs()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	d, err := phone.Call(ctx, sw, "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	select {
	case <-d.Context().Done(): // the switch's BYE
	case <-time.After(10 * time.Second):
		t.Fatal("the call outlived the line's spend limit")
	}
	eventually(t, "first record", func() bool { return len(sink.all()) == 1 })
	first := sink.all()[0]
	if first.Hangup != hangupSpendLimit || first.Reason != "spend limit reached" || first.Cost < 2 || first.Cost > 3 || first.Peer != "carrier" || first.CostRow != 7 {
		t.Fatalf("record of the call the limit ended: %+v", first)
	}

	invites := carrier.Invites.Load()
	_, err = phone.Call(ctx, sw, "441234", "1001", "secret1001", callerSDP)
	if got := siptest.StatusOf(err); got != 403 {
		t.Fatalf("a call over the limit: %d (%v), want 403", got, err)
	}
	if carrier.Invites.Load() != invites {
		t.Fatal("a call over the spend limit reached the carrier")
	}
	eventually(t, "second record", func() bool { return len(sink.all()) == 2 })
	if second := sink.all()[1]; second.Cause != 403 || second.Reason != "spend limit reached" || second.PeersTried != "" || second.Answer != 0 {
		t.Fatalf("record of the refused call: %+v", second)
	}
}

// One record per call, whatever became of it, with what billing needs.
func TestEveryCallHasOneRecord(t *testing.T) {
	s, carrier, phone, sink := billingSwitch(t)
	sw := s.Addrs()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	d, err := phone.Call(ctx, sw, "441234", "1002", "secret1002", callerSDP)
	if err != nil {
		t.Fatalf("answered call: %v", err)
	}
	time.Sleep(1100 * time.Millisecond)
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	carrier.Handle(siptest.RejectWith(486))
	if _, err := phone.Call(ctx, sw, "449999", "1002", "secret1002", callerSDP); siptest.StatusOf(err) != 486 {
		t.Fatalf("busy call: %v", err)
	}
	if _, err := phone.Call(ctx, sw, "441234", "1002", "wrong", callerSDP); siptest.StatusOf(err) != 403 {
		t.Fatalf("unauthenticated call: %v", err) // no record: never routed
	}
	eventually(t, "records", func() bool { return len(sink.all()) == 2 })
	time.Sleep(100 * time.Millisecond)
	recs := sink.all()
	if len(recs) != 2 {
		t.Fatalf("%d records for 2 routed calls: %+v", len(recs), recs)
	}
	// The answered call's record is written as its goroutine ends, which
	// may be after the busy call's: take each by its number.
	a, b := recs[0], recs[1]
	if a.Called != "441234" {
		a, b = b, a
	}
	if a.Direction != engine.CallOutbound || a.Line != "1002" || a.Customer != 5 || a.Called != "441234" || a.CalledSent != "441234" ||
		a.Route != 3 || a.PeersTried != "carrier" || a.Peer != "carrier" || a.Cause != 200 || a.Hangup != "caller" ||
		a.Answer == 0 || a.Duration < 1 || a.Duration > 3 || a.Billsec != a.Duration || a.Cost != float64(a.Billsec) || a.CallID == "" {
		t.Errorf("answered call's record: %+v", a)
	}
	if b.Cause != 486 || b.Answer != 0 || b.Cost != 0 || b.PeersTried != "carrier" || b.Peer != "" || !strings.HasPrefix(b.Called, "4499") {
		t.Errorf("busy call's record: %+v", b)
	}
	if a.CallID == b.CallID {
		t.Error("two calls, one call id")
	}
}

// A call's record is handed over before either party hears that the call
// ended: the caller's BYE is answered, and the BYE to the caller sent,
// only once the record function has returned (a journal that has written
// it), so a switch killed after a caller saw its call end has its record.
func TestRecordHandedOverBeforeTheEndIsHeard(t *testing.T) {
	t.Run("caller hangs up", func(t *testing.T) {
		recorded := make(chan engine.CallRecord, 1)
		release := make(chan struct{})
		f, ctx := newFixture(t, WithCallRecords(func(r engine.CallRecord) {
			recorded <- r
			<-release
		}))
		f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
		d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
		if err != nil {
			t.Fatal(err)
		}
		byeDone := make(chan error, 1)
		go func() { byeDone <- d.Bye(ctx) }()
		select {
		case err := <-byeDone:
			t.Fatalf("the caller's BYE was answered (%v) before the record was handed over", err)
		case r := <-recorded:
			if r.Hangup != "caller" || r.Cause != 200 {
				t.Fatalf("record: hangup %q cause %d", r.Hangup, r.Cause)
			}
		}
		select {
		case err := <-byeDone:
			t.Fatalf("the caller's BYE was answered (%v) while the record was being written", err)
		default:
		}
		close(release)
		if err := <-byeDone; err != nil {
			t.Fatal(err)
		}
		eventually(t, "carrier BYE", func() bool { return f.carrier1.Byes.Load() == 1 })
	})
	t.Run("caller's BYE overtakes its ACK", func(t *testing.T) {
		// The caller hangs up as it gets the answer, its BYE before its
		// ACK: the switch's call is not in its bridge yet, and the BYE
		// must still wait for the record.
		recorded := make(chan struct{})
		release := make(chan struct{})
		f, ctx := newFixture(t, WithCallRecords(func(r engine.CallRecord) {
			close(recorded)
			<-release
		}))
		f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
		d, err := f.phone.CallUnacked(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
		if err != nil {
			t.Fatal(err)
		}
		byeDone := make(chan error, 1)
		go func() {
			res, err := d.Do(ctx, sip.NewRequest(sip.BYE, d.InviteResponse.Contact().Address))
			if err == nil && res.StatusCode != 200 {
				err = fmt.Errorf("BYE answered %d", res.StatusCode)
			}
			byeDone <- err
		}()
		select {
		case err := <-byeDone:
			t.Fatalf("the caller's BYE was answered (%v) before the record was handed over", err)
		case <-recorded:
		}
		close(release)
		if err := <-byeDone; err != nil {
			t.Fatal(err)
		}
		eventually(t, "carrier BYE", func() bool { return f.carrier1.Byes.Load() == 1 })
	})
	t.Run("callee hangs up", func(t *testing.T) {
		var handed atomic.Bool
		f, ctx := newFixture(t, WithCallRecords(func(r engine.CallRecord) {
			if r.Hangup == "callee" {
				handed.Store(true)
			}
		}))
		hangup := make(chan struct{})
		f.carrier1.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
			d.Respond(180, "Ringing", nil)
			d.RespondSDP([]byte(carrierSDP))
			<-hangup
			d.Bye(ctx)
		})
		heard := make(chan bool, 1)
		f.phone.HandleBye(func(*sip.Request) { heard <- handed.Load() })
		if _, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP); err != nil {
			t.Fatal(err)
		}
		close(hangup)
		if !<-heard {
			t.Fatal("the switch's BYE reached the caller before the record was handed over")
		}
	})
}
