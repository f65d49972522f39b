package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/sip/siptest"
)

// The toll-fraud attacker's script against the real daemon: every way of
// reaching the carrier without valid credentials or the carrier's exact
// address fails, and the carrier sees no INVITE; the carrier itself still
// reaches a forwarding line, whose forwarded call it then carries.
func TestAttackerReachesNoCarrier(t *testing.T) {
	dir := t.TempDir()
	carrier := carrier(t, "carrier", "127.0.0.2")
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, []byte("database: "+filepath.Join(dir, "s.db")+"\n"), 0o644)
	port := freePort(t, "udp")
	sw := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	d := startDaemon(t, "--config", cfg, "--sip", fmt.Sprintf("udp://%s", sw))
	auth := adminAuth
	d.create(
		"plans/create/?"+auth+";name=Retail",
		fmt.Sprintf("peers/create/?%s;name=carrier;type=sip;destination=127.0.0.2:%d", auth, carrier.Port),
		"plans/routes/create/?"+auth+";plan=1;called_prefix=44;peer1=1",
		"phones/create/?"+auth+";name=2001;password=phone-secret;plan=1",
		"phones/create/?"+auth+";name=2002;password=other-secret;plan=1;forwarding=449999001;use_forwarding=1",
	)
	waitRevision(t, d, 6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	attacks := []struct {
		name string
		run  func() (int, error)
		want int
	}{
		{"the carrier's address on another port, to a forwarding line", func() (int, error) {
			a := siptest.NewAgent(t, "borrower", "127.0.0.2")
			_, err := a.Call(ctx, sw, "2002", "447700900123", "", testSDP)
			return siptest.StatusOf(err), err
		}, 407},
		{"no credentials", func() (int, error) {
			_, err := siptest.NewAgent(t, "anon", "127.0.0.5").Call(ctx, sw, "441234567", "2001", "", testSDP)
			return siptest.StatusOf(err), err
		}, 407},
		{"credentials for another number", func() (int, error) {
			return siptest.NewAgent(t, "replay", "127.0.0.6").CallWithCredentialsFor(ctx, sw, "441111111", "449999999", "2001", "phone-secret", testSDP)
		}, 403},
		{"an unknown line", func() (int, error) {
			_, err := siptest.NewAgent(t, "guess", "127.0.0.7").Call(ctx, sw, "441234567", "9999", "guess", testSDP)
			return siptest.StatusOf(err), err
		}, 403},
		{"guessing a line's password", func() (int, error) {
			a := siptest.NewAgent(t, "brute", "127.0.0.8")
			for i := range 12 {
				if _, err := a.Call(ctx, sw, "441234567", "2001", fmt.Sprintf("guess-%d", i), testSDP); siptest.StatusOf(err) != 403 {
					return siptest.StatusOf(err), err
				}
			}
			// After ten failures the address is blocked: even the right
			// password gets 403 without a challenge.
			_, err := a.Call(ctx, sw, "441234567", "2001", "phone-secret", testSDP)
			return siptest.StatusOf(err), err
		}, 403},
	}
	for _, at := range attacks {
		got, err := at.run()
		if got != at.want {
			t.Errorf("%s: %d (%v), want %d", at.name, got, err, at.want)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if n := carrier.Invites.Load(); n != 0 {
		t.Fatalf("the carrier got %d INVITEs from the attacks", n)
	}

	// The carrier itself, from its exact address: the forwarding line's
	// call goes out to it, named by Diversion.
	dlg, err := carrier.Call(ctx, sw, "2002", "447700900123", "", testSDP)
	if err != nil {
		t.Fatalf("the carrier's call to a forwarding line: %v\n%s", err, d.log())
	}
	dlg.Bye(ctx)
	if n := carrier.Invites.Load(); n != 1 {
		t.Fatalf("the carrier got %d INVITEs for the forwarded call, want 1", n)
	}
	if div := carrier.Last.Load().GetHeader("Diversion"); div == nil || !strings.Contains(div.Value(), "sip:2002@") {
		t.Errorf("forwarded call's Diversion: %v", div)
	}
	if m := d.get("/metrics"); !strings.Contains(m, "sipswitch_sip_forwarded_calls_total 1") {
		t.Errorf("metrics lack the forwarded call:\n%s", grepLines(m, "forwarded"))
	}
}
