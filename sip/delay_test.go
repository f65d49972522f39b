package sip

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/sip/siptest"
)

// A call through a switch with a delay observer reports each stage: the
// read loop for its datagrams, its route decision and its answer.
func TestDelayObserverSeesEveryStage(t *testing.T) {
	dir := newTestDirectory()
	dir.addPhone(phoneFixture("1001", "secret1001"))
	carrier := siptest.NewAgent(t, "carrier1", "127.0.0.2")
	carrier.Handle(siptest.AnswerWith(carrierSDP))
	p1 := peerFor(carrier, 11)
	dir.addPeer(p1)
	dir.addRoute("44", 7, p1)
	var mu sync.Mutex
	seen := map[DelayStage]int{}
	_, sw := startSwitch(t, dir, WithDelayObserver(func(s DelayStage, d time.Duration) {
		if d < 0 || d > time.Minute {
			t.Errorf("%s: implausible span %v", s, d)
		}
		mu.Lock()
		seen[s]++
		mu.Unlock()
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := siptest.NewAgent(t, "phone", "127.0.0.1").Call(ctx, sw, "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatal(err)
	}
	d.Bye(ctx)
	eventually(t, "every stage observed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		// DelayQueue: the authenticated INVITE's wait, from its arrival on
		// the read loop's own transaction (the first INVITE is challenged
		// statelessly and reaches no handler).
		return seen[DelayRoute] == 1 && seen[DelayAnswer] == 1 && seen[DelayQueue] == 1 && seen[DelayRead] >= 5
	})
}
