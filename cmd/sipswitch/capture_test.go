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
	hepBuf := make([]byte, 65536)
	// captured waits until the HEP server has had each of want (a
	// payload's first line, from, to) for callID, in that order.
	type copyOf struct {
		line     string
		src, dst netip.AddrPort
	}
	captured := func(callID string, want ...copyOf) {
		t.Helper()
		for len(want) > 0 {
			hep.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, _, err := hep.ReadFrom(hepBuf)
			if err != nil {
				t.Fatalf("HEP server still waits for %.40q %s -> %s: %v", want[0].line, want[0].src, want[0].dst, err)
			}
			var p capture.Packet
			if err := p.Unmarshal(hepBuf[:n]); err != nil {
				t.Fatal(err)
			}
			if p.CorrelationID != callID {
				continue
			}
			if p.CaptureID != 77 || p.AuthKey != "homer-key" || p.Protocol != capture.ProtocolUDP || p.ProtoType != capture.ProtoTypeSIP {
				t.Errorf("packet header %+v", p)
			}
			line, _, _ := strings.Cut(string(p.Payload), "\r\n")
			if line != want[0].line || p.Src != want[0].src || p.Dst != want[0].dst {
				t.Fatalf("HEP server got %.40q %s -> %s, want %.40q %s -> %s", line, p.Src, p.Dst, want[0].line, want[0].src, want[0].dst)
			}
			want = want[1:]
		}
	}
	ask := func(msg string) string {
		t.Helper()
		if _, err := phone.WriteTo([]byte(msg), net.UDPAddrFromAddrPort(switchAddr)); err != nil {
			t.Fatal(err)
		}
		phone.SetReadDeadline(time.Now().Add(10 * time.Second))
		answer := make([]byte, 4096)
		n, _, err := phone.ReadFrom(answer)
		if err != nil {
			t.Fatalf("no answer to %.20q: %v\n%s", msg, err, d.log())
		}
		return string(answer[:n])
	}

	callID := "hep-test-1@127.0.0.1"
	options := "OPTIONS sip:127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + phoneAddr.String() + ";branch=z9hG4bK-hep1;rport\r\n" +
		"From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: " + callID + "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	status, _, _ := strings.Cut(ask(options), "\r\n")
	captured(callID, copyOf{"OPTIONS sip:127.0.0.1 SIP/2.0", phoneAddr, switchAddr}, copyOf{status, switchAddr, phoneAddr})

	// A line's INVITE without credentials is challenged by the read loop
	// without sipgo (sip/challengeraw.go), and its ACK dropped there: all
	// three are copied all the same.
	callID = "hep-test-2@127.0.0.1"
	invite := "INVITE sip:441234@127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + phoneAddr.String() + ";branch=z9hG4bK-hep2;rport\r\n" +
		"From: <sip:1001@127.0.0.1>;tag=2\r\nTo: <sip:441234@127.0.0.1>\r\nCall-ID: " + callID + "\r\nCSeq: 1 INVITE\r\n" +
		"Contact: <sip:1001@" + phoneAddr.String() + ">\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	challenge := ask(invite)
	if !strings.HasPrefix(challenge, "SIP/2.0 407 ") {
		t.Fatalf("INVITE without credentials answered %.40q", challenge)
	}
	toTag := challenge[strings.Index(challenge, ";tag=")+len(";tag="):]
	toTag = toTag[:strings.IndexAny(toTag, "\r;")]
	ack := "ACK sip:441234@127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + phoneAddr.String() + ";branch=z9hG4bK-hep2;rport\r\n" +
		"From: <sip:1001@127.0.0.1>;tag=2\r\nTo: <sip:441234@127.0.0.1>;tag=" + toTag + "\r\nCall-ID: " + callID + "\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := phone.WriteTo([]byte(ack), net.UDPAddrFromAddrPort(switchAddr)); err != nil {
		t.Fatal(err)
	}
	captured(callID, copyOf{"INVITE sip:441234@127.0.0.1 SIP/2.0", phoneAddr, switchAddr},
		copyOf{"SIP/2.0 407 Proxy Authentication Required", switchAddr, phoneAddr},
		copyOf{"ACK sip:441234@127.0.0.1 SIP/2.0", phoneAddr, switchAddr})
	if m := d.get("/metrics"); !strings.Contains(m, `sipswitch_capture_packets_total{result="sent"}`) {
		t.Error("metrics lack sipswitch_capture_packets_total")
	}
}
