package sip

import (
	"runtime"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/sip/siptest"
)

// TestCallsLeaveNoGoroutines runs failed-over and answered calls and
// checks that the goroutine count
// returns to where it was: the call path keeps no per-call goroutine.
func TestCallsLeaveNoGoroutines(t *testing.T) {
	f, ctx := newFixture(t)
	f.carrier1.Handle(siptest.RejectWith(503))
	f.carrier2.Handle(siptest.AnswerWith(carrierSDP))
	call := func() {
		d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
		if err != nil {
			t.Fatalf("call: %v", err)
		}
		if err := d.Bye(ctx); err != nil {
			t.Fatalf("bye: %v", err)
		}
	}
	call() // warm up connections and pools
	eventually(t, "idle", func() bool { return f.s.Stats().ActiveCalls == 0 })
	time.Sleep(200 * time.Millisecond)
	base := runtime.NumGoroutine()
	for range 20 {
		call()
	}
	eventually(t, "idle", func() bool { return f.s.Stats().ActiveCalls == 0 && f.dir.activeSlots() == 0 })
	deadline := time.Now().Add(5 * time.Second)
	n := runtime.NumGoroutine()
	for n > base+2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	t.Logf("goroutines: base %d, after 20 calls %d", base, n)
	if n > base+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines grew from %d to %d:\n%s", base, n, buf[:runtime.Stack(buf, true)])
	}
}
