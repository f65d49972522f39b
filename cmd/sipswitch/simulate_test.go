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
