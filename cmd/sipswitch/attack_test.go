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
	"github.com/sipswitch/sipswitch/storage"
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

// Issue 23, finding 1: the same barred number written differently. Route
// 44 goes to the carrier, 44909 is barred (allow=0) and line 2001's class
// of service denies 4477; each spelling below reached the carrier before
// numbers were normalised (the Request-URI user was routed as written, so
// only the "44" route matched). Now each is decided on as its dial string
// and refused 403 before any peer; what is no dial string at all is 484;
// a forwarding number the line's owner wrote with dots is stored as its
// dial string and barred alike; and an allowed number written with
// separators reaches the carrier as its dial string.
func TestDialledNumberSpellingsReachNoBarredRoute(t *testing.T) {
	dir := t.TempDir()
	carrier := carrier(t, "carrier", "127.0.0.2")
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, []byte("database: "+filepath.Join(dir, "s.db")+"\n"), 0o600)
	port := freePort(t, "udp")
	sw := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	d := startDaemon(t, "--config", cfg, "--sip", fmt.Sprintf("udp://%s", sw))
	auth := adminAuth
	d.create(
		"plans/create/?"+auth+";name=Retail",
		fmt.Sprintf("peers/create/?%s;name=carrier;type=sip;destination=127.0.0.2:%d", auth, carrier.Port),
		"plans/routes/create/?"+auth+";plan=1;called_prefix=44;peer1=1",
		"plans/routes/create/?"+auth+";plan=1;called_prefix=44909;allow=0",
		"cos/create/?"+auth+";name=No-mobile;otherwise=allow",
		"cos/rules/create/?"+auth+";cos=2;prefix=4477;allow=0;position=1",
		"phones/create/?"+auth+";name=2001;password=phone-secret;plan=1;cos=2",
		"phones/create/?"+auth+";name=2002;password=other-secret;plan=1;use_forwarding=1;forwarding=44.909.123",
	)
	waitRevision(t, d, 9)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	for _, tc := range []struct {
		called string
		want   int
	}{
		{"44%39%30%39123", 403},
		{"44-909123", 403},
		{"44.909.123", 403},
		{"44(909)123", 403},
		{"44%2D909%2E123", 403},
		{"4477-900-123", 403}, // the class of service's deny rule
		{"44.77.900123", 403},
		{"%34%34%37%37900123", 403},
		{"=1+2", 484},
		{"44%2539123", 484}, // %25 is '%': never decoded twice
		{"44909123x", 484},
	} {
		_, err := phone.Call(ctx, sw, tc.called, "2001", "phone-secret", testSDP)
		if got := siptest.StatusOf(err); got != tc.want {
			t.Errorf("call to %q: %d (%v), want %d", tc.called, got, err, tc.want)
		}
	}
	// The carrier's own call to line 2002 is forwarded as the line's call,
	// on its plan: 44909123 is barred whatever the owner wrote.
	if _, err := carrier.Call(ctx, sw, "2002", "447700900123", "", testSDP); siptest.StatusOf(err) != 403 {
		t.Errorf("forwarding to 44.909.123: %v, want 403", err)
	}
	if n := carrier.Invites.Load(); n != 0 {
		t.Fatalf("the carrier got %d INVITEs for barred numbers (last to %s)", n, carrier.Last.Load().Recipient.User)
	}

	dlg, err := phone.Call(ctx, sw, "44-20-7946(0000)", "2001", "phone-secret", testSDP)
	if err != nil {
		t.Fatalf("allowed number with separators: %v\n%s", err, d.log())
	}
	dlg.Bye(ctx)
	if got := carrier.Last.Load().Recipient.User; got != "442079460000" {
		t.Errorf("the carrier was sent %q, want the dial string 442079460000", got)
	}
	if m := d.get("/metrics"); !strings.Contains(m, `sipswitch_sip_calls_failed_by_cause_total{cause="no_route"} 3`) {
		t.Errorf("the refused numbers are not counted:\n%s", grepLines(m, "calls_failed"))
	}
}

// Issue 23, finding 5: one object the renderer cannot write (here a line
// whose source a store written before the API's checks holds as
// "nowhere") stopped every later render, so lines created afterwards never
// reached Asterisk. Now it is left out, named in the log, /healthz and a
// metric, and everything else is rendered.
func TestOneBadObjectDoesNotStopRendering(t *testing.T) {
	dir := t.TempDir()
	renderDir := filepath.Join(dir, "asterisk")
	dbPath := filepath.Join(dir, "s.db")
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, "database: %s\nrender:\n  dir: %s\n  debounce: 20ms\n", dbPath, renderDir), 0o600)
	d := startDaemon(t, "--config", cfg)
	d.create("phones/create/?" + adminAuth + ";name=2001;password=phone-secret")
	waitRevision(t, d, 2)

	store, err := storage.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Write(context.Background(), func(tx *storage.Tx) error {
		return tx.Update(context.Background(), "phones", "name", "2001", storage.Record{"source": "nowhere"})
	}); err != nil {
		t.Fatal(err)
	}
	store.Close()
	d.create("phones/create/?" + adminAuth + ";name=2002;password=phone-secret")

	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(renderDir, "pjsip.conf"))
		if strings.Contains(string(b), "[2002]") {
			if strings.Contains(string(b), "[2001]") {
				t.Fatalf("the line the renderer cannot write is still rendered:\n%s", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the line created after the bad one never reached the rendered files; log:\n%s", d.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if h := d.get("/healthz"); !strings.HasPrefix(h, "ok\n") || !strings.Contains(h, `render left out 1 objects: phone "2001"`) {
		t.Errorf("healthz: %q", h)
	}
	if m := d.get("/metrics"); !strings.Contains(m, "sipswitch_render_skipped_objects 1") {
		t.Errorf("metrics:\n%s", grepLines(m, "render"))
	}
	if l := d.log(); !strings.Contains(l, "render left an object out") || !strings.Contains(l, "source") {
		t.Errorf("the log does not name the object and parameter:\n%s", l)
	}
}
