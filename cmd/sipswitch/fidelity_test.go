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

// Issue 25: a carrier reserved for customer 2 (peers/create customer)
// carried customer 1's calls. Now customer 1's line goes to the next peer
// and customer 2's to the reserved one, and routes/simulate says so.
func TestReservedPeerCarriesOnlyItsCustomersCalls(t *testing.T) {
	dir := t.TempDir()
	private := carrier(t, "private", "127.0.0.2")
	public := carrier(t, "public", "127.0.0.3")
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, []byte("database: "+filepath.Join(dir, "s.db")+"\n"), 0o600)
	sw := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: freePort(t, "udp")}
	d := startDaemon(t, "--config", cfg, "--sip", fmt.Sprintf("udp://%s", sw))
	d.create(
		"customers/create/?"+adminAuth+";name=Tenant;parent=1",
		"plans/create/?"+adminAuth+";name=Retail",
		fmt.Sprintf("peers/create/?%s;name=private;type=sip;destination=127.0.0.2:%d;customer=2", adminAuth, private.Port),
		fmt.Sprintf("peers/create/?%s;name=public;type=sip;destination=127.0.0.3:%d", adminAuth, public.Port),
		"plans/routes/create/?"+adminAuth+";plan=1;called_prefix=44;peer1=1;peer2=2",
		"phones/create/?"+adminAuth+";name=2001;password=phone-secret;plan=1;customer=1",
		"phones/create/?"+adminAuth+";name=2002;password=phone-secret;plan=1;customer=2",
	)
	if got := d.get("/api/json/routes/simulate/?" + adminAuth + ";called=441234;phone=2001"); !strings.Contains(got, `"reserved":[{"peer":1,"name":"private","customer":2}]`) ||
		strings.Contains(got, `"name":"private","type"`) {
		t.Errorf("simulation for customer 1's line: %s", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	for _, tc := range []struct {
		line string
		want *siptest.Agent
	}{{"2001", public}, {"2002", private}} {
		dlg, err := phone.Call(ctx, sw, "441234", tc.line, "phone-secret", testSDP)
		if err != nil {
			t.Fatalf("line %s: %v\n%s", tc.line, err, d.log())
		}
		dlg.Bye(ctx)
		if tc.want.Invites.Load() != 1 {
			t.Errorf("line %s: private got %d INVITEs, public %d", tc.line, private.Invites.Load(), public.Invites.Load())
		}
	}
	if n := private.Invites.Load(); n != 1 {
		t.Fatalf("the reserved carrier got %d INVITEs, want only customer 2's", n)
	}
}
