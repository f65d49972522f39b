package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBaresipMessageWaitingLamp (issue 29): a real softphone's lamp
// follows its mailbox through the daemon. baresip 1.0 with its mwi module
// registers as line 1001 (mailbox 1001) and subscribes to message-summary;
// SIPp, as the voicemail server at calls.voicemail_server, sends the switch
// an unsolicited NOTIFY for box 1001; baresip reports the relayed summary
// (its MWI_NOTIFY event carries the body: messages waiting, 3 new and 1
// old).
func TestBaresipMessageWaitingLamp(t *testing.T) {
	modules := needBaresip(t)
	if _, err := os.Stat(filepath.Join(modules, "mwi.so")); err != nil {
		t.Skipf("baresip's mwi module is not in %s", modules)
	}
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Skip("sipp not installed (Debian/Ubuntu: apt-get install sip-tester): no voicemail server")
	}
	dir := t.TempDir()
	tone := filepath.Join(dir, "tone.wav")
	writeToneWAV(t, tone, 1)
	vmPort := freePortOn(t, "127.0.0.5", "udp")
	cfg := filepath.Join(dir, "sipswitch.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "database: %s\ncalls:\n  voicemail_server: 127.0.0.5:%d\n", filepath.Join(dir, "s.db"), vmPort), 0o644); err != nil {
		t.Fatal(err)
	}
	sw := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: freePort(t, "udp")}
	d := startDaemon(t, "--config", cfg, "--sip", "udp://"+sw.String())
	d.create("phones/create/?" + adminAuth + ";name=1001;password=secret-1001;mailbox=1001")
	waitRevision(t, d, 2)

	// baresip 1.0's mwi module subscribes again, for ever, when its
	// start-up timer (1 ms after the module loads) finds a subscription
	// already made (its tmr_handler appends to the list it walks): a
	// registrar on loopback answers within that millisecond often enough.
	// So the account is added once baresip runs.
	conf := baresipConfig{name: "1001", host: "127.0.0.1", user: "1001", password: "secret-1001", registrar: sw,
		modules: modules, toneWAV: tone, extra: "module_app\t\tmwi.so\n", accountParams: ";mwi=yes", lateAccount: true}
	p := startBaresip(t, conf)
	since := p.mark()
	p.mustCommand(t, "uanew", conf.AccountLine())
	if st := p.regState(t, 20*time.Second); st != "OK" {
		t.Fatalf("baresip did not register: %s", st)
	}
	waitMetric(t, d, "sipswitch_sip_mwi_subscriptions", 20*time.Second, equals(1))

	scenario, err := filepath.Abs("../../testdata/sipp/uac_notify_mwi.xml")
	if err != nil {
		t.Fatal(err)
	}
	vm := exec.Command("sipp", "-sf", scenario, "-i", "127.0.0.5", "-p", strconv.Itoa(vmPort), "-m", "1", "-nostdin",
		"-timeout", "20s", "-timeout_error", "-s", "1001", sw.String())
	vm.Dir = t.TempDir()
	if out, err := vm.CombinedOutput(); err != nil {
		t.Fatalf("sipp voicemail server: %v\n%s", err, out)
	}
	m, err := p.waitMsg(since, 15*time.Second, func(m baresipMsg) bool {
		return m.Event && m.Type == "MWI_NOTIFY" && strings.Contains(m.Param, "Messages-Waiting: yes")
	})
	if err != nil {
		t.Fatalf("baresip's lamp never lit: %v; events: %s", err, p.eventTypes(since))
	}
	if !strings.Contains(m.Param, "voice-message: 3/1 (1/0)") {
		t.Errorf("baresip's summary: %q", m.Param)
	}
	waitMetric(t, d, "sipswitch_sip_mwi_notifies_total", 10*time.Second, equals(1))
}
