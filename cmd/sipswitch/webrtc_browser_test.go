package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sipswitch/sipswitch/internal/testcert"
)

// A real browser as an ordinary line (issue 26 item 3): headless Chromium
// with fake audio devices loads a page, served by the test, whose
// JavaScript SIP stack (SIP.js from the npm registry) registers over WSS
// with the line's digest credentials and calls a SIPp carrier through the
// switch. The carrier speaks plain RTP (PCMA, playing SIPp's g711a.pcap);
// the browser speaks DTLS-SRTP with ICE, which the relay terminates. The
// page asserts, from RTCPeerConnection.getStats, that RTP arrived
// (inbound-rtp packetsReceived > 0) and left; the call record shows
// packets from both parties in the relay's statistics. Then the carrier
// (SIPp again) calls the browser's line: the switch offers the browser
// DTLS-SRTP with ICE-lite, the page answers, and the same holds.
//
// SIP.js, not JsSIP: JsSIP's npm package holds only CommonJS modules
// (require()) that a browser cannot load without a bundler, while SIP.js
// 0.21 is ES modules without dependencies, which the page imports as
// they are. The package is fetched with `npm pack` into
// testdata/.npm (ignored by git), its sha512 checked against the pinned
// integrity before use; it is never committed and never loaded from a
// CDN. The test skips, saying why, without chromium, sipp, SIPp's pcap
// or npm. Chromium trusts the switch's test certificate through
// --ignore-certificate-errors (a test CA cannot be added to headless
// Chromium's store without a profile), so the page uses WSS as a real
// deployment does.

const (
	sipJSVersion   = "0.21.2"
	sipJSIntegrity = "sha512-tSqTcIgrOd2IhP/rd70JablvAp+fSfLSxO4hGNY6LkWRY1SKygTO7OtJEV/BQb8oIxtMRx0LE7nUF2MaqGbFzA=="
	g711aPCAP      = "/usr/share/sip-tester/g711a.pcap"
)

// sipJS returns SIP.js's lib/ files (path under lib/ -> content), fetching
// the package with npm into the cache when it is not there yet.
func sipJS(t *testing.T) map[string][]byte {
	t.Helper()
	cache, err := filepath.Abs("testdata/.npm")
	if err != nil {
		t.Fatal(err)
	}
	tgz := filepath.Join(cache, "sip.js-"+sipJSVersion+".tgz")
	if _, err := os.Stat(tgz); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Skip("npm not installed (Debian: apt-get install npm): the browser test fetches SIP.js " + sipJSVersion + " with it")
		}
		if err := os.MkdirAll(cache, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(npm, "pack", "sip.js@"+sipJSVersion, "--pack-destination", cache, "--silent")
		cmd.Dir = cache
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("npm pack sip.js@%s failed (no registry?): %v\n%s", sipJSVersion, err, out)
		}
	}
	raw, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(raw)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != sipJSIntegrity {
		os.Remove(tgz)
		t.Fatalf("%s: integrity %s, want %s (removed; the next run fetches it again)", tgz, got, sipJSIntegrity)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name, ok := strings.CutPrefix(h.Name, "package/lib/")
		if !ok || !strings.HasSuffix(name, ".js") {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[path.Clean(name)] = b
	}
	if files["index.js"] == nil {
		t.Fatalf("%s has no lib/index.js", tgz)
	}
	return files
}

// webphonePage registers the line and, when told, calls; window.phone
// reports what happened (registered, answered, inbound RTP packets from
// getStats, hung up) for the test to wait on.
const webphonePage = `<!doctype html>
<html><head><meta charset="utf-8"><title>web phone</title></head>
<body><audio id="remote" autoplay></audio><pre id="log"></pre>
<script type="module">
import { Web } from "/sipjs/index.js";
const q = new URLSearchParams(location.search);
const state = window.phone = { received: false, registered: false, answered: false, hungUp: false, inbound: 0, outbound: 0, callId: "", error: "" };
const log = (s) => { document.getElementById("log").textContent += s + "\n"; };
const user = new Web.SimpleUser(q.get("server"), {
  aor: "sip:" + q.get("user") + "@" + q.get("domain"),
  media: { constraints: { audio: true, video: false }, remote: { audio: document.getElementById("remote") } },
  userAgentOptions: {
    authorizationUsername: q.get("user"),
    authorizationPassword: q.get("password"),
    // No STUN server: nothing outside the machine is reachable, and the
    // switch is ICE-lite with a candidate of its own.
    sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: [] }, iceGatheringTimeout: 1000 },
  },
  delegate: {
    onRegistered: () => { state.registered = true; log("registered"); },
    onCallCreated: () => { Object.assign(state, { answered: false, hungUp: false, inbound: 0, outbound: 0 }); },
    // A call to the line is answered at once (an answering machine).
    onCallReceived: () => { state.received = true; log("ringing"); user.answer().catch((e) => { state.error = String(e); }); },
    onCallAnswered: () => { state.answered = true; log("answered"); watchStats(); },
    onCallHangup: () => { state.hungUp = true; log("hung up"); },
  },
});
// watchStats follows the call's RTP in getStats until it ends.
async function watchStats() {
  while (!state.hungUp) {
    const sdh = user.session && user.session.sessionDescriptionHandler;
    if (sdh && sdh.peerConnection) {
      const report = await sdh.peerConnection.getStats();
      report.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "audio") state.inbound = s.packetsReceived;
        if (s.type === "outbound-rtp" && s.kind === "audio") state.outbound = s.packetsSent;
      });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
window.placeCall = async (number) => {
  try {
    await user.call("sip:" + number + "@" + q.get("domain"));
    state.callId = user.session.request.callId;
  } catch (e) { state.error = String(e); }
};
window.hangUp = () => user.hangup();
try {
  await user.connect();
  await user.register();
} catch (e) { state.error = String(e); log(String(e)); }
</script></body></html>`

func TestWebRTCBrowserCallsCarrier(t *testing.T) {
	chrome := chromium()
	if chrome == "" {
		t.Skip("no chromium (Debian: apt-get install chromium): the WebRTC browser test needs one")
	}
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Skip("sipp not installed (Debian: apt-get install sip-tester): no carrier to call")
	}
	if _, err := os.Stat(g711aPCAP); err != nil {
		t.Skipf("%s missing (Debian's sip-tester ships it): the carrier has no audio to play", g711aPCAP)
	}
	lib := sipJS(t)
	dir := t.TempDir()

	// The page, on a server of its own: its origin is what the switch's
	// sip_ws_origins must allow.
	mux := http.NewServeMux()
	mux.HandleFunc("/sipjs/", func(w http.ResponseWriter, r *http.Request) {
		b, ok := lib[path.Clean(strings.TrimPrefix(r.URL.Path, "/sipjs/"))]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(b)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, webphonePage)
	})
	page := httptest.NewServer(mux)
	defer page.Close()

	ca := testcert.NewCA(t)
	leaf := ca.Issue(t, dir, "switch-", time.Hour, "127.0.0.1")
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	sipPort, wssPort := freePort(t, "udp"), freePort(t, "tcp")
	carrierPort := freePortOn(t, "127.0.0.2", "udp")
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, "database: %s\nhttp: %s\nsip: [udp://127.0.0.1:%d, wss://127.0.0.1:%d]\n"+
		"sip_ws_origins: [%q]\ncall_records: true\ntls:\n  cert_file: %s\n  key_file: %s\n  http: plain\n",
		filepath.Join(dir, "s.db"), httpAddr, sipPort, wssPort, page.URL, leaf.CertFile, leaf.KeyFile), 0o644)
	d := startDaemonWith(t, httpAddr, "--config", cfg)
	d.create(
		"plans/create/?"+adminAuth+";name=Retail",
		fmt.Sprintf("peers/create/?%s;name=carrier;type=sip;destination=127.0.0.2:%d", adminAuth, carrierPort),
		"plans/routes/create/?"+adminAuth+";plan=1;called_prefix=44;peer1=1",
		"phones/create/?"+adminAuth+";name=3001;password=pw-3001-secret;plan=1",
	)
	waitRevision(t, d, 5)

	scenario, _ := filepath.Abs("../../testdata/sipp/uas_answer_pcap.xml")
	carrier := exec.Command(sipp, "-sf", scenario, "-i", "127.0.0.2", "-p", strconv.Itoa(carrierPort),
		"-mi", "127.0.0.2", "-mp", strconv.Itoa(freePortOn(t, "127.0.0.2", "udp")), "-m", "1", "-nostdin", "-trace_err",
		"-timeout", "60s", "-timeout_error")
	carrier.Dir = dir
	carrierOut := &strings.Builder{}
	carrier.Stdout, carrier.Stderr = carrierOut, carrierOut
	if err := carrier.Start(); err != nil {
		t.Fatal(err)
	}
	carrierDone := make(chan error, 1)
	go func() { carrierDone <- carrier.Wait() }()
	defer carrier.Process.Kill()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("ignore-certificate-errors", true),
		// Host candidates on loopback (the only interface a test may use).
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	state := func() string {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		s, _ := chromedp.Run(c, chromedp.Evaluate[string](`JSON.stringify(window.phone) + "\n" + document.getElementById("log").textContent`))
		return s
	}
	step := func(what string, within time.Duration, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, within)
		defer cancel()
		if err := chromedp.Do(c, actions...); err != nil {
			t.Fatalf("%s: %v\npage: %s\nswitch log:\n%s\ncarrier:\n%s", what, err, state(), d.log(), carrierOut.String())
		}
	}
	wait := func(cond string, within time.Duration) chromedp.Action[chromedp.Void] {
		return poll(cond, chromedp.WithPollingTimeout(within))
	}

	url := fmt.Sprintf("%s/?server=wss://127.0.0.1:%d&domain=127.0.0.1&user=3001&password=pw-3001-secret", page.URL, wssPort)
	step("register over WSS", 30*time.Second, chromedp.Navigate(url), wait(`window.phone && (window.phone.registered || window.phone.error !== "")`, 20*time.Second))
	if s := state(); !strings.Contains(s, `"registered":true`) {
		t.Fatalf("browser did not register: %s\n%s", s, d.log())
	}
	waitMetric(t, d, "sipswitch_sip_registrations", 10*time.Second, equals(1))

	step("call the carrier", 40*time.Second, chromedp.Evaluate[chromedp.Void](`window.placeCall("441234567")`),
		wait(`window.phone.answered || window.phone.error !== ""`, 20*time.Second),
		// RTP from the carrier, decrypted by the browser: the relay
		// turned its plain RTP into SRTP under the DTLS keys.
		wait(`window.phone.inbound > 0 && window.phone.outbound > 0`, 20*time.Second))
	callID, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.phone.callId`))
	if err != nil || callID == "" {
		t.Fatalf("call id: %q %v (%s)", callID, err, state())
	}
	// Both parties' media crossed the relay: the browser's (decrypted)
	// reached the carrier's leg, the carrier's the browser's.
	waitMetric(t, d, "sipswitch_media_forwarded_packets_total", 10*time.Second, func(v float64) bool { return v >= 20 })
	step("hang up", 20*time.Second, chromedp.Evaluate[chromedp.Void](`window.hangUp()`), wait(`window.phone.hungUp`, 10*time.Second))
	select {
	case err := <-carrierDone:
		if err != nil {
			t.Fatalf("sipp carrier: %v\n%s", err, carrierOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("sipp carrier still running after the hang-up\n%s", carrierOut.String())
	}
	rec := callRecord(t, d, callID, 10*time.Second)
	checkRecord(t, rec, map[string]any{"caller": "3001", "called": "441234567", "peer": "carrier", "cause": float64(200), "hangup": "caller", "relayed": float64(1)})
	for _, k := range []string{"caller_packets", "callee_packets"} {
		if n, _ := rec[k].(float64); n <= 0 {
			t.Errorf("call record %s = %v: the relay saw no media from that party (record %v)", k, rec[k], rec)
		}
	}
	t.Logf("browser's call: %s", state())

	// The carrier calls the browser's line: the switch offers the browser
	// DTLS-SRTP with ICE-lite (setup:actpass), the browser answers as the
	// DTLS client, the carrier's plain RTP reaches it as SRTP.
	uac, _ := filepath.Abs("../../testdata/sipp/uac_carrier_pcap.xml")
	caller := exec.Command(sipp, fmt.Sprintf("127.0.0.1:%d", sipPort), "-sf", uac, "-s", "3001",
		"-i", "127.0.0.2", "-p", strconv.Itoa(carrierPort), "-mi", "127.0.0.2", "-mp", strconv.Itoa(freePortOn(t, "127.0.0.2", "udp")),
		"-m", "1", "-nostdin", "-trace_err", "-timeout", "60s", "-timeout_error")
	caller.Dir = t.TempDir()
	callerOut := &strings.Builder{}
	caller.Stdout, caller.Stderr = callerOut, callerOut
	if err := caller.Start(); err != nil {
		t.Fatal(err)
	}
	callerDone := make(chan error, 1)
	go func() { callerDone <- caller.Wait() }()
	defer caller.Process.Kill()
	step("answer the carrier's call", 40*time.Second,
		wait(`window.phone.received && (window.phone.answered || window.phone.error !== "")`, 20*time.Second),
		wait(`window.phone.inbound > 0 && window.phone.outbound > 0`, 20*time.Second))
	step("hang up the carrier's call", 20*time.Second, chromedp.Evaluate[chromedp.Void](`window.hangUp()`), wait(`window.phone.hungUp`, 10*time.Second))
	select {
	case err := <-callerDone:
		if err != nil {
			t.Fatalf("sipp calling carrier: %v\n%s", err, callerOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("sipp calling carrier still running after the hang-up\n%s", callerOut.String())
	}
	in := recordWhere(t, d, func(r map[string]any) bool { return r["called"] == "3001" }, 10*time.Second)
	checkRecord(t, in, map[string]any{"direction": "inbound", "caller": "441234567", "line": "3001", "cause": float64(200), "hangup": "callee", "relayed": float64(1)})
	for _, k := range []string{"caller_packets", "callee_packets"} {
		if n, _ := in[k].(float64); n <= 0 {
			t.Errorf("call record %s = %v: the relay saw no media from that party (record %v)", k, in[k], in)
		}
	}
	t.Logf("carrier's call: %s", state())
}

// recordWhere waits for the call record that match accepts.
func recordWhere(t *testing.T, d *daemonProc, match func(map[string]any) bool, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var list struct {
			Data []map[string]any `json:"data"`
		}
		body := d.get("/api/json/calls/list/?" + adminAuth)
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			t.Fatalf("calls/list: %v: %s", err, body)
		}
		for _, r := range list.Data {
			if match(r) {
				return r
			}
		}
		// Records are written in batches, one a second.
		if time.Now().After(deadline) {
			t.Fatalf("no such call record within %v: %s", within, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
