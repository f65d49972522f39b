package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/capture"
	"github.com/sipswitch/sipswitch/internal/testcert"
)

// TestBaresipSRTPOverTLS runs baresip phones over TLS with mandatory SRTP
// (the account's mediaenc=srtp-mand: RTP/SAVP with SDES keys) against the
// daemon, whose lines require SRTP (media_encryption=required):
//   - both register over TLS, presenting client certificates the switch
//     requires (tls.verify_clients); a phone whose certificate another CA
//     signed is refused at the handshake and never registers;
//   - a call between them goes through the relay, SRTP on both legs, each
//     leg with the relay's own key: neither phone ever sees the other's
//     key, and both count RTP sent and received in their RTCP;
//   - HEP capture copies every SIP message with the SDES keys masked;
//   - a call to a SIPp carrier on plain RTP (a peer with media_encryption
//     none over UDP): the relay decrypts the phone's SRTP for the carrier
//     and encrypts the carrier's RTP for the phone, and counts both.
//
// baresip 1.0 (libre 1.1) does not check the switch's certificate (it
// registered with sip_cafile naming an unrelated CA when tried), so the
// wrong certificate tested here is the phone's; the switch's own is
// checked by Go clients in siptls_test.go.
func TestBaresipSRTPOverTLS(t *testing.T) {
	modules := needBaresip(t)
	if _, err := os.Stat(filepath.Join(modules, "srtp.so")); err != nil {
		t.Skipf("baresip's srtp module is not in %s (Debian's baresip-core has it)", modules)
	}
	dir := t.TempDir()
	tone := filepath.Join(dir, "tone.wav")
	writeToneWAV(t, tone, 120)
	ca := testcert.NewCA(t)
	leaf := ca.Issue(t, dir, "", time.Hour)
	caFile := writePEM(t, dir, "ca.pem", ca.PEM)
	phoneCA := testcert.NewCA(t)
	phoneCAFile := writePEM(t, dir, "phones-ca.pem", phoneCA.PEM)
	hep := newHEPCollector(t)
	cfg := filepath.Join(dir, "sipswitch.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "database: %s\ntls:\n  cert_file: %s\n  key_file: %s\n  http: plain\n  verify_clients: required\n  client_ca_file: %s\ncapture:\n  address: %s\n",
		filepath.Join(dir, "s.db"), leaf.CertFile, leaf.KeyFile, phoneCAFile, hep.addr()), 0o600); err != nil {
		t.Fatal(err)
	}
	carrier := startSIPpScenario(t, "127.0.0.2", "uas_answer_pcap.xml", "/usr/share/sip-tester/g711a.pcap")
	carrierPort := freePortOn(t, "127.0.0.2", "udp") // unused without sipp
	if carrier != nil {
		carrierPort = carrier.port
	}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	tlsAddr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: freePort(t, "tcp")}
	d := startDaemonWith(t, httpAddr, "--config", cfg, "--http", httpAddr,
		"--sip", fmt.Sprintf("udp://127.0.0.1:%d", freePort(t, "udp")), "--sip", "tls://"+tlsAddr.String())
	d.create(
		"plans/create/?"+adminAuth+";name=Retail",
		fmt.Sprintf("peers/create/?%s;name=carrier;type=sip;destination=127.0.0.2:%d", adminAuth, carrierPort),
		"plans/routes/create/?"+adminAuth+";plan=1;called_prefix=44;peer1=1",
		"phones/create/?"+adminAuth+";name=1001;password=secret-1001;plan=1;media_encryption=required",
		"phones/create/?"+adminAuth+";name=1002;password=secret-1002;plan=1;media_encryption=required",
	)
	waitRevision(t, d, 6)

	phone := func(t *testing.T, name, user string, certCA *testcert.CA) *baresipPhone {
		return startBaresip(t, baresipConfig{name: name, host: "127.0.0.1", user: user, password: "secret-" + user,
			registrar: tlsAddr, transport: "tls", mediaenc: "srtp-mand", caFile: caFile, cert: phoneCert(t, certCA),
			modules: modules, toneWAV: tone})
	}
	a, b := phone(t, "1001", "1001", phoneCA), phone(t, "1002", "1002", phoneCA)
	for _, p := range []*baresipPhone{a, b} {
		if st := p.regState(t, 20*time.Second); st != "OK" {
			t.Fatalf("baresip %s did not register over TLS: %s\n%s", p.name, st, d.log())
		}
	}
	waitMetric(t, d, "sipswitch_sip_registrations", 10*time.Second, equals(2))

	t.Run("SRTP phone to SRTP phone", func(t *testing.T) {
		callID := baresipCall(t, a, b, "1002")
		rec := callRecord(t, d, callID, 10*time.Second)
		checkRecord(t, rec, map[string]any{"caller": "1001", "called": "1002", "cause": float64(200), "relayed": float64(1)})
		// The relay counts only what authenticated under each phone's key
		// (baresip 1.0 also sends an RTCP packet or two in the clear as
		// its SRTP starts and stops, which the relay drops as srtp_auth).
		for _, k := range []string{"caller_packets", "callee_packets"} {
			if n, _ := rec[k].(float64); n < 50 {
				t.Errorf("call record %s = %v: the relay authenticated and decrypted less than a second of SRTP", k, rec[k])
			}
		}
		// Each phone offered or answered RTP/SAVP with a key of its own
		// and got the relay's: no key crosses from one phone to the other.
		ka, kb := sdesKeys(a.log()), sdesKeys(b.log())
		if len(ka) < 2 || len(kb) < 2 {
			t.Fatalf("SDES keys in the phones' SIP traces: %d and %d, want each phone's own and the relay's", len(ka), len(kb))
		}
		for k := range ka {
			if kb[k] {
				t.Errorf("the key %.6s... reached both phones: SRTP passed through the relay instead of ending there", k)
			}
		}
		if !strings.Contains(a.log(), "RTP/SAVP") || !strings.Contains(b.log(), "RTP/SAVP") {
			t.Error("the phones' SDP is not RTP/SAVP")
		}
		if strings.Contains(d.log(), "inline:") {
			t.Error("an SDES key parameter is in the daemon's log")
		}
		// HEP capture copied the INVITEs and 200s both ways with their
		// a=crypto lines, every key masked.
		hep.wait(t, 10*time.Second, func(all string) bool { return strings.Count(all, "a=crypto:") >= 4 })
		all := hep.all()
		for k := range ka {
			if strings.Contains(all, k) {
				t.Errorf("the key %.6s... is in a HEP capture copy", k)
			}
		}
		for k := range kb {
			if strings.Contains(all, k) {
				t.Errorf("the key %.6s... is in a HEP capture copy", k)
			}
		}
		if !strings.Contains(all, "inline:****") {
			t.Error("no masked key in the capture copies")
		}
	})

	t.Run("SRTP phone to plain carrier", func(t *testing.T) {
		if carrier == nil {
			t.Skip("sipp not installed (Debian/Ubuntu: apt-get install sip-tester): no carrier to call")
		}
		base := metricValue(d.get("/metrics"), "sipswitch_media_forwarded_packets_total")
		ma := a.mark()
		a.mustCommand(t, "dial", "441234567890")
		call := a.waitEvent(t, ma, "CALL_ESTABLISHED", 15*time.Second)
		// SIPp plays its recording after the ACK while the phone talks:
		// wait until the relay has forwarded a few seconds of both.
		waitMetric(t, d, "sipswitch_media_forwarded_packets_total", 30*time.Second, func(v float64) bool { return v >= base+400 })
		a.mustCommand(t, "hangup", "")
		a.waitEvent(t, ma, "CALL_CLOSED", 15*time.Second)
		carrier.wait(t, 20*time.Second)
		rec := callRecord(t, d, call.ID, 10*time.Second)
		checkRecord(t, rec, map[string]any{"caller": "1001", "called": "441234567890", "peer": "carrier", "cause": float64(200), "relayed": float64(1)})
		t.Logf("relay counted %v packets from the SRTP phone, %v from the plain carrier", rec["caller_packets"], rec["callee_packets"])
		for _, k := range []string{"caller_packets", "callee_packets"} {
			if n, _ := rec[k].(float64); n < 100 {
				t.Errorf("call record %s = %v, want two seconds of RTP and more", k, rec[k])
			}
		}
		// What the phone received: the carrier's RTP, encrypted by the
		// relay under the key it gave the phone (baresip counts only
		// what its SRTP accepted).
		// The carrier was offered plain RTP and no key: the phone's key
		// stays between the phone and the relay.
		if msgs := carrier.messages(t); !strings.Contains(msgs, "RTP/AVP") || strings.Contains(msgs, "RTP/SAVP") || strings.Contains(msgs, "crypto") {
			t.Errorf("the carrier was offered SRTP or a key:\n%s", msgs)
		}
		tx, rx := rtpStats(ansi.ReplaceAllString(a.log(), ""))
		t.Logf("baresip's RTP statistics: sent %d packets, received %d (the carrier's, through the relay's SRTP)", tx, rx)
		if rx < 100 || tx < 100 {
			t.Errorf("baresip's RTP statistics of the call: sent %d, received %d packets; want two seconds and more each way", tx, rx)
		}
	})

	t.Run("wrong client certificate", func(t *testing.T) {
		// A certificate of another CA: the switch refuses the handshake,
		// so the phone never gets to send its (right) password.
		c := phone(t, "1001-wrong-cert", "1001", testcert.NewCA(t))
		d.waitLog("certificate signed by unknown authority", 15*time.Second)
		if out := ansi.ReplaceAllString(c.mustCommand(t, "reginfo", ""), ""); regStateRe.FindStringSubmatch(out) != nil && regStateRe.FindStringSubmatch(out)[1] == "OK" {
			t.Fatalf("baresip registered with a certificate the switch does not trust: %q", out)
		}
		if m := d.get("/metrics"); metricValue(m, "sipswitch_sip_registrations") != 2 {
			t.Errorf("registrations after the refused phone:\n%s", grepLines(m, "registrations"))
		}
	})
}

func writePEM(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	f := filepath.Join(dir, name)
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// phoneCert is a client certificate ca signed, with its key, in the one
// PEM file baresip's sip_certificate takes.
func phoneCert(t *testing.T, ca *testcert.CA) string {
	t.Helper()
	dir := t.TempDir()
	l := ca.Issue(t, dir, "phone-", time.Hour)
	cert, err := os.ReadFile(l.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(l.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, "phone.pem", append(cert, key...))
}

var (
	sdesKeyRe  = regexp.MustCompile(`a=crypto:\d+ \S+ inline:([A-Za-z0-9+/=]+)`)
	rtpStatsRe = regexp.MustCompile(`packets:\s+(\d+)\s+(\d+)`)
)

// sdesKeys are the SDES key parameters in a baresip SIP trace.
func sdesKeys(trace string) map[string]bool {
	keys := map[string]bool{}
	for _, m := range sdesKeyRe.FindAllStringSubmatch(trace, -1) {
		keys[m[1]] = true
	}
	return keys
}

// rtpStats reads the packets sent and received of the last call from
// baresip's output (rtp_stats), -1 when it printed none.
func rtpStats(out string) (tx, rx int) {
	all := rtpStatsRe.FindAllStringSubmatch(out, -1)
	if len(all) == 0 {
		return -1, -1
	}
	m := all[len(all)-1]
	fmt.Sscan(m[1], &tx)
	fmt.Sscan(m[2], &rx)
	return tx, rx
}

// hepCollector is a capture server: it keeps the SIP payloads of the HEP
// packets it receives.
type hepCollector struct {
	conn net.PacketConn
	mu   sync.Mutex
	buf  strings.Builder
	more chan struct{}
}

func newHEPCollector(t *testing.T) *hepCollector {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hepCollector{conn: c, more: make(chan struct{}, 1)}
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		b := make([]byte, 65536)
		for {
			n, _, err := c.ReadFrom(b)
			if err != nil {
				return
			}
			var p capture.Packet
			if p.Unmarshal(b[:n]) != nil {
				continue
			}
			h.mu.Lock()
			h.buf.Write(p.Payload)
			h.mu.Unlock()
			select {
			case h.more <- struct{}{}:
			default:
			}
		}
	}()
	return h
}

func (h *hepCollector) addr() string { return h.conn.LocalAddr().String() }

func (h *hepCollector) all() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.buf.String()
}

// wait waits until what was captured satisfies ok.
func (h *hepCollector) wait(t *testing.T, within time.Duration, ok func(string) bool) {
	t.Helper()
	timeout := time.After(within)
	for !ok(h.all()) {
		select {
		case <-h.more:
		case <-timeout:
			t.Fatalf("capture copies after %v:\n%s", within, h.all())
		}
	}
}
