package sip

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/media"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// BenchmarkCallSetupTeardown measures one full call over loopback UDP:
// INVITE, 407 challenge, authenticated INVITE, route, B-leg INVITE, 180,
// 200, ACK on both legs, BYE and its relay. Caller, switch and carrier run
// in this process, so the figures include the two sipgo test agents.
func BenchmarkCallSetupTeardown(b *testing.B) { benchCalls(b, nil) }

// BenchmarkCallSetupTeardownCodecPolicy is the same call to a peer with
// the seed's default codec list: the caller's SDP is parsed, filtered and
// written again for the peer (no relay).
func BenchmarkCallSetupTeardownCodecPolicy(b *testing.B) {
	benchCalls(b, func(p *routing.Peer) { p.Codecs = media.DefaultCodecs })
}

// BenchmarkCallSetupTeardownRelayed is the same call with media.relay
// always: a relay session per call, SDP rewritten on both legs, two port
// pairs bound and released (no RTP flows).
func BenchmarkCallSetupTeardownRelayed(b *testing.B) {
	relay, err := media.New(media.WithPortRange(12000, 13999), media.WithLogger(siptest.Logger()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { relay.Close() })
	benchCalls(b, nil, WithMediaRelay(relay, media.ModeAlways))
}

// BenchmarkCallSetupTeardownMeasured is the same call with what the
// daemon measures on: the delay observer (DelayRead, DelayRoute,
// DelayAnswer, DelayQueue) and overload shedding (arrivals noted by the
// read loop, the kernel's receive timestamps on Linux).
func BenchmarkCallSetupTeardownMeasured(b *testing.B) {
	benchCalls(b, nil, WithDelayObserver(func(DelayStage, time.Duration) {}), WithOverloadDelay(DefaultOverloadDelay))
}

func benchCalls(b *testing.B, peer func(*routing.Peer), opts ...Option) {
	dir := newTestDirectory()
	dir.addPhone(phoneFixture("1001", "secret1001"))
	carrier := siptest.NewAgent(b, "carrier1", "127.0.0.2")
	carrier.Handle(siptest.AnswerWith(carrierSDP))
	p1 := peerFor(carrier, 11)
	if peer != nil {
		peer(p1)
	}
	dir.addPeer(p1)
	dir.addRoute("44", 7, p1)
	s, sw := startSwitch(b, dir, opts...)
	phone := siptest.NewAgent(b, "phone", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		d, err := phone.Call(ctx, sw, "441234", "1001", "secret1001", callerSDP)
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
	carrier := siptest.NewAgent(b, "carrier1", "127.0.0.2")
	carrier.Handle(siptest.AnswerWith(carrierSDP))
	p1 := peerFor(carrier, 11)
	dir.addPeer(p1)
	dir.addRoute("44", 7, p1)
	s, sw := startSwitch(b, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		phone := siptest.NewAgent(b, "phone", "127.0.0.1")
		for pb.Next() {
			d, err := phone.Call(ctx, sw, "441234", "1001", "secret1001", callerSDP)
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

// BenchmarkLoopbackDatagram is the floor under the SIP core's cost per
// call: one 600-byte datagram sent and received between two Go UDP sockets
// on loopback, with nothing parsed. A call through the switch is about 15
// datagrams (the 407 round, INVITE/180/200/ACK/BYE on two legs), so the
// switch cannot cost less than ~15x this per call however lean its SIP
// handling is. Reports process CPU per datagram (cpu-us/datagram): on
// loopback the sender's sendto runs the receiver's side of the stack too.
func BenchmarkLoopbackDatagram(b *testing.B) {
	recv, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer recv.Close()
	send, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer send.Close()
	// The echo side answers every datagram, as the switch answers or relays
	// most; a goroutine of its own as in sipgo's read loop.
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := recv.ReadFrom(buf)
			if err != nil {
				return
			}
			if _, err := recv.WriteTo(buf[:n], from); err != nil {
				return
			}
		}
	}()
	msg := make([]byte, 600)
	buf := make([]byte, 2048)
	to := recv.LocalAddr()
	cpu0 := processCPU(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := send.WriteTo(msg, to); err != nil {
			b.Fatal(err)
		}
		if _, _, err := send.ReadFrom(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// Two datagrams per iteration: the one sent and its echo.
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(2*b.N), "cpu-us/datagram")
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
