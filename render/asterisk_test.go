package render

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sipswitch/sipswitch/routing"
)

// TestAsteriskLoadsRenderedFiles loads rendered files into a real Asterisk
// 20 through scripts/asterisk-check.sh: no ERROR beyond what the stock
// configuration logs, every endpoint, aor, auth, registration, peer and
// context visible. It needs root and a root file system with Asterisk 20
// (render/README.md says how to make one), named by ASTERISK_ROOTFS; CI has
// neither, so it is skipped there.
func TestAsteriskLoadsRenderedFiles(t *testing.T) {
	root := os.Getenv("ASTERISK_ROOTFS")
	if root == "" {
		t.Skip("ASTERISK_ROOTFS not set")
	}
	snapshots := map[string]*routing.Snapshot{
		"fixture": fixtureSnapshot(),
		"big":     bigSnapshot(300, 40, 600),
	}
	for name, snap := range snapshots {
		for _, driver := range []Driver{DriverPJSIP, DriverChanSIP} {
			t.Run(name+"/"+string(driver), func(t *testing.T) {
				// Ports of its own: 5060 may be taken by whatever else the
				// machine runs (a SIPp, another test's switch).
				files, err := Render(snap, append(fixtureOptions, WithSIPDriver(driver), WithTransports(freeLoopback(t, "udp"), freeLoopback(t, "tcp")))...)
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				if _, err := WriteFiles(dir, files); err != nil {
					t.Fatal(err)
				}
				arg := "pjsip"
				if driver == DriverChanSIP {
					arg = "sip"
				}
				out, err := exec.Command(filepath.Join("..", "scripts", "asterisk-check.sh"), root, dir, arg).CombinedOutput()
				if err != nil {
					t.Fatalf("asterisk-check: %v\n%s", err, out)
				}
			})
		}
	}
}

// freeLoopback is a 127.0.0.1 address with a port free on network now.
func freeLoopback(t *testing.T, network string) string {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().String()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
