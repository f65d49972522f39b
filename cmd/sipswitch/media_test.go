package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/sip/siptest"
)

// TestDaemonRelaysMedia runs the real binary with media.relay always: the
// call's media flows through the relay on the configured ports, the offer
// to the carrier follows the peer's codecs, and the call record and
// /metrics show the media quality.
func TestDaemonRelaysMedia(t *testing.T) {
	dir := t.TempDir()
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	phoneRTP := siptest.NewRTPParty(t, "127.0.0.1", 0x1111)
	carrierRTP := siptest.NewRTPParty(t, "127.0.0.2", 0x2222)
	carrierA := siptest.NewAgent(t, "carrier-a", "127.0.0.2")
	carrierA.Handle(siptest.AnswerWith(sdpAt("127.0.0.2", carrierRTP.Port(), "0")))

	sipPort := freePort(t, "udp")
	swAddr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sipPort}
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, "database: %s\nmedia:\n  relay: always\n  port_range: 15800-15899\n", filepath.Join(dir, "s.db")), 0o644)
	d := startDaemon(t, "--config", cfg, "--sip", "udp://"+swAddr.String())

	auth := adminAuth
	d.create(
		"plans/create/?"+auth+";name=Retail",
		fmt.Sprintf("peers/create/?%s;name=carrier-a;type=sip;destination=127.0.0.2:%d;codecs=alaw,ulaw", auth, carrierA.Port),
		"plans/routes/create/?"+auth+";plan=1;called_prefix=44;peer1=1",
		"phones/create/?"+auth+";name=2001;password=phone-secret;plan=1",
	)
	waitRevision(t, d, 5)

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	call, err := phone.Call(ctx, swAddr, "441234567890", "2001", "phone-secret", sdpAt("127.0.0.1", phoneRTP.Port(), "0 8 18"))
	if err != nil {
		t.Fatalf("call: %v\n%s", err, d.log())
	}
	toCarrier, toPhone := carrierA.Last.Load().Body(), call.InviteResponse.Body()
	relayB, errB := siptest.MediaAddr(toCarrier)
	relayA, errA := siptest.MediaAddr(toPhone)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	for _, ap := range []netip.AddrPort{relayA, relayB} {
		if ap.Addr() != netip.MustParseAddr("127.0.0.1") || ap.Port() < 15800 || ap.Port() > 15899 {
			t.Fatalf("relay address %s outside media.port_range", ap)
		}
	}
	if !strings.Contains(string(toCarrier), "m=audio "+strconv.Itoa(int(relayB.Port()))+" RTP/AVP 8 0\r\n") {
		t.Errorf("offer to carrier-a (codecs alaw,ulaw) %q", toCarrier)
	}
	phoneRTP.Send(relayA, 10)
	carrierRTP.Send(relayB, 10)
	deadline := time.Now().Add(5 * time.Second)
	for (carrierRTP.Received(0x1111) < 10 || phoneRTP.Received(0x2222) < 10) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if carrierRTP.Received(0x1111) != 10 || phoneRTP.Received(0x2222) != 10 {
		t.Fatalf("relayed %d packets to the carrier and %d to the phone, want 10 each", carrierRTP.Received(0x1111), phoneRTP.Received(0x2222))
	}
	if err := call.Bye(ctx); err != nil {
		t.Fatal(err)
	}

	m := d.get("/metrics")
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(m, "sipswitch_media_sessions 0") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		m = d.get("/metrics")
	}
	for _, want := range []string{"sipswitch_media_sessions 0", "sipswitch_media_forwarded_packets_total 20", "sipswitch_sip_relayed_calls_total 1",
		`sipswitch_media_loss_percent_count{leg="caller",peer="carrier-a"} 1`, `sipswitch_media_jitter_seconds_count{leg="callee",peer="carrier-a"} 1`,
		"sipswitch_media_port_pairs 50", "sipswitch_media_port_pairs_in_use 0"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(m, "sipswitch_media"))
		}
	}
	var rec string
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(rec, `"relayed":1`) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		rec = d.get("/api/json/calls/list/?" + auth)
	}
	for _, want := range []string{`"relayed":1`, `"caller_packets":10`, `"callee_packets":10`, `"caller_loss":0`} {
		if !strings.Contains(rec, want) {
			t.Errorf("calls/list lacks %s: %s", want, rec)
		}
	}
}

// sdpAt offers formats at host:port.
func sdpAt(host string, port int, formats string) string {
	return "v=0\r\no=- 1 1 IN IP4 " + host + "\r\ns=-\r\nc=IN IP4 " + host + "\r\nt=0 0\r\nm=audio " + strconv.Itoa(port) + " RTP/AVP " + formats + "\r\n"
}
