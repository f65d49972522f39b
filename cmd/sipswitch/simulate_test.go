package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 25: a client that writes a route and simulates at once sees its
// write (the routing table is rebuilt after writes settle; simulation
// brings it up to date first). Before, the first simulation after a write
// answered no_route.
func TestSimulationSeesTheWriteBeforeIt(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, []byte("database: "+filepath.Join(dir, "s.db")+"\n"), 0o600)
	sw := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: freePort(t, "udp")}
	d := startDaemon(t, "--config", cfg, "--sip", fmt.Sprintf("udp://%s", sw))
	d.create("plans/create/?"+adminAuth+";name=Retail",
		"peers/create/?"+adminAuth+";name=carrier;type=sip;destination=192.0.2.1")
	for i := range 20 {
		prefix := fmt.Sprintf("44%02d", i)
		d.create("plans/routes/create/?" + adminAuth + ";plan=1;called_prefix=" + prefix + ";peer1=1")
		got := d.get("/api/json/routes/simulate/?" + adminAuth + ";plan=1;called=" + prefix + "123")
		if !strings.Contains(got, `"outcome":"route"`) {
			t.Fatalf("simulation right after creating route %s: %s", prefix, got)
		}
	}
}

// Issue 25: routes/simulate said "dial" for a line the SIP core refused
// 403 (its spend limit spent). On the daemon it shows every admission
// decision the SIP core makes now: a line at its totalmaximum, a spend
// limit that covers no attempt, a peer at its outmaximum.
func TestSimulationShowsAdmissionDecisions(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, []byte("database: "+filepath.Join(dir, "s.db")+"\n"), 0o600)
	sw := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: freePort(t, "udp")}
	d := startDaemon(t, "--config", cfg, "--sip", fmt.Sprintf("udp://%s", sw))
	d.create("plans/create/?"+adminAuth+";name=Retail",
		"peers/create/?"+adminAuth+";name=dear;type=sip;destination=192.0.2.1;costs=1;charge=1",
		"peers/costs/create/?"+adminAuth+";peer=1;called_prefix=44;cost=1;connectfee=0.50",
		"peers/create/?"+adminAuth+";name=full;type=sip;destination=192.0.2.2;outmaximum=0",
		"plans/routes/create/?"+adminAuth+";plan=1;called_prefix=44;peer1=1",
		"plans/routes/create/?"+adminAuth+";plan=1;called_prefix=33;peer1=2",
		"phones/create/?"+adminAuth+";name=2001;password=phone-secret;plan=1;call_maximum=0.10",
		"phones/create/?"+adminAuth+";name=2002;password=phone-secret;plan=1;totalmaximum=0",
	)
	for _, tc := range []struct{ query, want string }{
		{"phone=2001;called=441234", `"outcome":"spend_limit"`},
		{"phone=2001;called=441234", `"reason":"spend_limit"`},
		{"phone=2002;called=441234", `"outcome":"line_busy"`},
		{"plan=1;called=331234", `"outcome":"outmaximum"`},
	} {
		if got := d.get("/api/json/routes/simulate/?" + adminAuth + ";" + tc.query); !strings.Contains(got, tc.want) {
			t.Errorf("%s: want %s in %s", tc.query, tc.want, got)
		}
	}
}
