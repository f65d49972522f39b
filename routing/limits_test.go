package routing

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func TestCallLimitsConcurrent(t *testing.T) {
	var limits CallLimits
	key := LimitKey{Kind: LimitPeer, ID: 7}
	const max = 10
	var inside, peak atomic.Int64
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 1000 {
		wg.Go(func() {
			for range 20 {
				slot, ok := limits.Acquire(key, max)
				if !ok {
					runtime.Gosched()
					continue
				}
				admitted.Add(1)
				n := inside.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				if a := limits.Active(key); a > max {
					t.Errorf("Active = %d > %d", a, max)
				}
				runtime.Gosched()
				inside.Add(-1)
				slot.Release()
				slot.Release() // a second release must not free another slot
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > max || p < 1 {
		t.Errorf("peak concurrent = %d, want 1..%d", p, max)
	}
	if admitted.Load() == 0 {
		t.Error("no call admitted")
	}
	if a := limits.Active(key); a != 0 {
		t.Errorf("Active after all released = %d, want 0", a)
	}
}

func TestCallLimitsRelease(t *testing.T) {
	var limits CallLimits
	peer := LimitKey{Kind: LimitPeer, ID: 1}
	phone := LimitKey{Kind: LimitPhone, ID: 1}
	a, ok := limits.Acquire(peer, 1)
	if !ok {
		t.Fatal("first call refused")
	}
	if _, ok := limits.Acquire(peer, 1); ok {
		t.Fatal("second call admitted over max 1")
	}
	if _, ok := limits.Acquire(phone, 1); !ok {
		t.Fatal("phone 1 shares peer 1's counter")
	}
	// Two goroutines releasing the same slot free it once.
	b, _ := limits.Acquire(peer, 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { ; a.Release() })
	}
	wg.Wait()
	if n := limits.Active(peer); n != 1 {
		t.Errorf("after double release: Active = %d, want 1 (slot b)", n)
	}
	b.Release()
	var nilSlot *Slot
	nilSlot.Release()
	if n := limits.Active(peer); n != 0 {
		t.Errorf("Active = %d, want 0", n)
	}
	if _, ok := limits.Acquire(peer, 0); ok {
		t.Error("max 0 admitted a call")
	}
	var slots []*Slot
	for range 100 {
		s, ok := limits.Acquire(peer, Unlimited)
		if !ok {
			t.Fatal("unlimited refused")
		}
		slots = append(slots, s)
	}
	if n := limits.Active(peer); n != 100 {
		t.Errorf("unlimited Active = %d, want 100", n)
	}
	for _, s := range slots {
		s.Release()
	}
	if n := limits.Active(LimitKey{Kind: LimitPhone, ID: 99}); n != 0 {
		t.Errorf("unknown key Active = %d", n)
	}
}

func BenchmarkCallLimitsAcquireRelease(b *testing.B) {
	var limits CallLimits
	key := LimitKey{Kind: LimitPeer, ID: 1}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if s, ok := limits.Acquire(key, Unlimited); ok {
				s.Release()
			}
		}
	})
}
