package sip

import (
	"context"
	"testing"
	"time"
)

// BenchmarkCallSetupTeardown measures one full call over loopback UDP:
// INVITE, 407 challenge, authenticated INVITE, route, B-leg INVITE, 180,
// 200, ACK on both legs, BYE and its relay. Caller, switch and carrier run
// in this process, so the figures include the two sipgo test agents.
func BenchmarkCallSetupTeardown(b *testing.B) {
	dir := newTestDirectory()
	dir.addPhone(phoneFixture("1001", "secret1001"))
	carrier := newAgent(b, "carrier1", "127.0.0.2")
	carrier.handle(answerWith(carrierSDP))
	p1 := peerFor(carrier, 11)
	dir.addPeer(p1)
	dir.addRoute("44", 7, p1)
	s, sw := startSwitch(b, dir)
	phone := newAgent(b, "phone", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		d, err := phone.call(ctx, sw, "441234", "1001", "secret1001", callerSDP)
		if err != nil {
			b.Fatalf("call: %v", err)
		}
		if err := d.Bye(ctx); err != nil {
			b.Fatalf("bye: %v", err)
		}
	}
	b.StopTimer()
	eventually(b, "calls ended", func() bool { return s.Stats().ActiveCalls == 0 })
}

// BenchmarkCallSetupTeardownParallel runs calls concurrently from several
// phones to see throughput on all cores (ns/op is per call).
func BenchmarkCallSetupTeardownParallel(b *testing.B) {
	dir := newTestDirectory()
	dir.addPhone(phoneFixture("1001", "secret1001"))
	carrier := newAgent(b, "carrier1", "127.0.0.2")
	carrier.handle(answerWith(carrierSDP))
	p1 := peerFor(carrier, 11)
	dir.addPeer(p1)
	dir.addRoute("44", 7, p1)
	s, sw := startSwitch(b, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		phone := newAgent(b, "phone", "127.0.0.1")
		for pb.Next() {
			d, err := phone.call(ctx, sw, "441234", "1001", "secret1001", callerSDP)
			if err != nil {
				b.Errorf("call: %v", err)
				return
			}
			if err := d.Bye(ctx); err != nil {
				b.Errorf("bye: %v", err)
				return
			}
		}
	})
	b.StopTimer()
	eventually(b, "calls ended", func() bool { return s.Stats().ActiveCalls == 0 })
}
