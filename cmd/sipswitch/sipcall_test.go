package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/sip/siptest"
)

const testSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"

// carrier is a siptest agent that answers every call.
func carrier(t *testing.T, name, host string) *siptest.Agent {
	a := siptest.NewAgent(t, name, host)
	a.Handle(siptest.AnswerWith(testSDP))
	return a
}

// TestDaemonCallsSurviveReloadAndDrainOnStop runs the real binary with two
// carriers: a call up on carrier A survives a route change and SIGHUP, the
// next call follows the new route to carrier B, /metrics counts them, and
// SIGTERM waits for the call in progress before exiting 0.
func TestDaemonCallsSurviveReloadAndDrainOnStop(t *testing.T) {
	dir := t.TempDir()
	carrierA := carrier(t, "carrier-a", "127.0.0.2")
	carrierB := carrier(t, "carrier-b", "127.0.0.3")
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")

	sipPort := freePort(t, "udp")
	swAddr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sipPort}
	sw := swAddr.String()
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, "database: %s\ncalls:\n  drain_timeout: 20s\n  session_expires: 600s\n", filepath.Join(dir, "s.db")), 0o644)
	d := startDaemon(t, "--config", cfg, "--sip", "udp://"+sw)
	if got := d.get("/debug/pprof/cmdline"); strings.Contains(got, "serve") {
		t.Fatal("the profiler is served although pprof is off by default")
	}

	auth := adminAuth
	d.create(
		"plans/create/?"+auth+";name=Retail",
		fmt.Sprintf("peers/create/?%s;name=carrier-a;type=sip;destination=127.0.0.2:%d", auth, carrierA.Port),
		fmt.Sprintf("peers/create/?%s;name=carrier-b;type=sip;destination=127.0.0.3:%d", auth, carrierB.Port),
		"plans/routes/create/?"+auth+";plan=1;called_prefix=44;peer1=1",
		"phones/create/?"+auth+";name=2001;password=phone-secret;plan=1",
	)
	waitRevision(t, d, 6) // bootstrap, then five creates

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	first, err := phone.Call(ctx, swAddr, "441234567890", "2001", "phone-secret", testSDP)
	if err != nil {
		t.Fatalf("first call: %v\n%s", err, d.log())
	}
	if carrierA.Invites.Load() != 1 {
		t.Fatalf("first call did not reach carrier A")
	}
	// calls.session_expires reaches the SIP core: the phone, without the
	// timer extension, is granted 600 s with the switch refreshing.
	if h := first.InviteResponse.GetHeader("Session-Expires"); h == nil || h.Value() != "600;refresher=uas" {
		t.Errorf("200 Session-Expires %v, want 600;refresher=uas", h)
	}

	// Move the route to carrier B and SIGHUP: the call in progress stays.
	if r := d.get("/api/json/plans/routes/update/?" + auth + ";id=1;peer1=2"); !strings.Contains(r, `"code":"204"`) {
		t.Fatalf("route update: %s", r)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog("reloaded configuration", 10*time.Second)
	second, err := phone.Call(ctx, swAddr, "441234567891", "2001", "phone-secret", testSDP)
	if err != nil {
		t.Fatalf("second call: %v\n%s", err, d.log())
	}
	if carrierB.Invites.Load() != 1 || carrierA.Invites.Load() != 1 {
		t.Fatalf("second call went to A=%d B=%d, want it on B", carrierA.Invites.Load(), carrierB.Invites.Load())
	}
	if err := second.Bye(ctx); err != nil {
		t.Fatalf("bye of second call: %v", err)
	}
	if err := first.Context().Err(); err != nil {
		t.Fatal("the first call ended during the reload")
	}

	// The switch counts the second call answered when its ACK is handled,
	// which may come after the BYE the phone already got a 200 for.
	m := d.get("/metrics")
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(m, `sipswitch_sip_calls_total{result="answered"} 2`) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		m = d.get("/metrics")
	}
	for _, want := range []string{`sipswitch_calls_answered_total{peer="carrier-a"} 1`, `sipswitch_calls_answered_total{peer="carrier-b"} 1`,
		`sipswitch_sip_calls_total{result="answered"} 2`, `sipswitch_peer_active_calls{peer="carrier-a"} 1`, `sipswitch_peer_call_limit{peer="carrier-a"} -1`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(m, "sipswitch_"))
		}
	}

	// SIGTERM with the first call up: the daemon drains, refusing new calls.
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.waitLog("sipswitch stopping", 10*time.Second)
	if _, err := phone.Call(ctx, swAddr, "441234567892", "2001", "phone-secret", testSDP); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("a new call while draining: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-d.done:
		t.Fatalf("daemon exited (%v) with a call in progress", err)
	default:
	}
	if err := first.Bye(ctx); err != nil {
		t.Fatalf("bye of first call: %v", err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("exit after drain: %v\n%s", err, d.log())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("daemon did not exit after its last call ended\n%s", d.log())
	}
	if !strings.Contains(d.log(), "all calls ended") {
		t.Fatalf("drain not logged:\n%s", d.log())
	}
	if strings.Contains(d.log(), "phone-secret") {
		t.Fatal("a SIP password appeared in the log")
	}
}

// waitRevision waits until the daemon's routing follows store revision rev.
func waitRevision(t *testing.T, d *daemonProc, rev int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.get("/metrics"), fmt.Sprintf("sipswitch_store_revision %d\n", rev)) {
		if time.Now().After(deadline) {
			t.Fatalf("routing did not reach revision %d:\n%s", rev, grepLines(d.get("/metrics"), "revision"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
