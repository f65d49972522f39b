package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/capture"
)

// With capture.address set, every SIP message in and out reaches the HEP
// server: the request a phone sent and the switch's answer, each with its
// addresses, the capture id and key, and the Call-ID as correlation id.
func TestCaptureSendsEverySIPMessageAsHEP(t *testing.T) {
	hep, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hep.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("capture:\n  address: %s\n  id: 77\n  password: homer-key\n", hep.LocalAddr())), 0o600)
	sipPort := freePort(t, "udp")
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	d := startDaemonWith(t, httpAddr, "--config", cfg, "--db", filepath.Join(dir, "s.db"), "--http", httpAddr,
		"--sip", fmt.Sprintf("udp://127.0.0.1:%d", sipPort))

	phone, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	switchAddr := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", sipPort))
	phoneAddr := netip.MustParseAddrPort(phone.LocalAddr().String())
	callID := "hep-test-1@127.0.0.1"
	options := "OPTIONS sip:127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + phoneAddr.String() + ";branch=z9hG4bK-hep1;rport\r\n" +
		"From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: " + callID + "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := phone.WriteTo([]byte(options), net.UDPAddrFromAddrPort(switchAddr)); err != nil {
		t.Fatal(err)
	}
	phone.SetReadDeadline(time.Now().Add(10 * time.Second))
	answer := make([]byte, 4096)
	n, _, err := phone.ReadFrom(answer)
	if err != nil {
		t.Fatalf("no answer to OPTIONS: %v\n%s", err, d.log())
	}
	status := strings.SplitN(string(answer[:n]), "\r\n", 2)[0]

	var sawRequest, sawAnswer bool
	buf := make([]byte, 65536)
	for !sawRequest || !sawAnswer {
		hep.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := hep.ReadFrom(buf)
		if err != nil {
			t.Fatalf("HEP server got request %v, answer %v: %v", sawRequest, sawAnswer, err)
		}
		var p capture.Packet
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if p.CorrelationID != callID {
			continue
		}
		if p.CaptureID != 77 || p.AuthKey != "homer-key" || p.Protocol != capture.ProtocolUDP || p.ProtoType != capture.ProtoTypeSIP {
			t.Errorf("packet header %+v", p)
		}
		switch {
		case strings.HasPrefix(string(p.Payload), "OPTIONS ") && p.Src == phoneAddr && p.Dst == switchAddr:
			sawRequest = true
		case strings.HasPrefix(string(p.Payload), status) && p.Src == switchAddr && p.Dst == phoneAddr:
			sawAnswer = true
		default:
			t.Errorf("unexpected packet %s -> %s: %.40q", p.Src, p.Dst, p.Payload)
		}
	}
	if m := d.get("/metrics"); !strings.Contains(m, `sipswitch_capture_packets_total{result="sent"}`) {
		t.Error("metrics lack sipswitch_capture_packets_total")
	}
}
