package sip

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/sip/siptest"
)

// startSwitch runs a Server on an ephemeral UDP port of 127.0.0.1.
func startSwitch(t testing.TB, dir Directory, opts ...Option) (*Server, net.Addr) {
	t.Helper()
	all := append([]Option{WithListen("udp://127.0.0.1:0"), WithLogger(siptest.Logger()), WithRealm("test")}, opts...)
	s, err := New(dir, all...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx) }()
	select {
	case <-s.Ready():
	case err := <-errc:
		t.Fatalf("serve: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("switch not ready")
	}
	t.Cleanup(func() { cancel(); s.Close() })
	return s, s.Addrs()[0]
}

// eventually polls cond for up to 5 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
