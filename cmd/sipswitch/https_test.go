package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/internal/testcert"
)

// The admin and gateway APIs over HTTPS: served with the configured
// certificate under the TLS policy, HSTS on every answer, a renewed
// certificate served after SIGHUP without a restart, its expiry in
// /metrics, and a key other users can read refused at start.
func TestServeHTTPS(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t)
	leaf := ca.Issue(t, dir, "", 30*24*time.Hour)
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("tls:\n  cert_file: %s\n  key_file: %s\n", leaf.CertFile, leaf.KeyFile)), 0o600)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	d := startDaemonWith(t, httpAddr, "--config", cfg, "--db", filepath.Join(dir, "s.db"), "--http", httpAddr,
		"--sip", fmt.Sprintf("udp://127.0.0.1:%d", freePort(t, "udp")))

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Get("https://" + httpAddr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("/api/json/phones/list/?" + adminAuth)
	if resp.StatusCode != 200 || !strings.Contains(body, `"code":"200"`) {
		t.Fatalf("API over HTTPS: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("Strict-Transport-Security %q", got)
	}
	if resp.TLS == nil || resp.TLS.PeerCertificates[0].SerialNumber.Cmp(leaf.Serial) != 0 {
		t.Fatalf("served certificate: %+v", resp.TLS)
	}
	// Plain HTTP on the HTTPS port gets no API.
	if r, err := http.Get("http://" + httpAddr + "/api/json/phones/list/?" + adminAuth); err == nil {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if strings.Contains(string(b), `"code":"200"`) {
			t.Fatalf("plain HTTP answered the API: %s", b)
		}
	}
	// TLS 1.1 is refused.
	old := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS11}}}
	if _, err := old.Get("https://" + httpAddr + "/healthz"); err == nil {
		t.Fatal("a TLS 1.1 client was served")
	}
	_, metrics := get("/metrics")
	if want := fmt.Sprintf(`sipswitch_tls_certificate_expiry_seconds{listener="http"} %s`, expiryValue(leaf.NotAfter)); !strings.Contains(metrics, want) {
		t.Errorf("metrics lack %q", want)
	}

	// Renewal: new files in place, SIGHUP, the next handshake shows them.
	renewed := ca.Issue(t, t.TempDir(), "", 90*24*time.Hour)
	for from, to := range map[string]string{renewed.CertFile: leaf.CertFile, renewed.KeyFile: leaf.KeyFile} {
		b, _ := os.ReadFile(from)
		os.WriteFile(to, b, 0o600)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog("HTTPS certificate read", 10*time.Second)
	client.CloseIdleConnections()
	resp, _ = get("/healthz")
	if resp.TLS.PeerCertificates[0].SerialNumber.Cmp(renewed.Serial) != 0 {
		t.Fatalf("after SIGHUP served serial %v, want the renewed %v", resp.TLS.PeerCertificates[0].SerialNumber, renewed.Serial)
	}
	if _, metrics = get("/metrics"); !strings.Contains(metrics, expiryValue(renewed.NotAfter)) {
		t.Errorf("metrics do not show the renewed expiry %s", expiryValue(renewed.NotAfter))
	}
	if err := d.stop(syscall.SIGTERM, 30*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}

	// A key other users can read stops the daemon at start, naming it.
	os.Chmod(leaf.KeyFile, 0o644)
	cmd := exec.Command(os.Args[0], "serve", "--config", cfg, "--db", filepath.Join(dir, "s.db"), "--http", httpAddr,
		"--sip", fmt.Sprintf("udp://127.0.0.1:%d", freePort(t, "udp")))
	cmd.Env = append(os.Environ(), beDaemonEnv+"=1", "SIPSWITCH_ADMIN_PASSWORD="+adminPassword)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), leaf.KeyFile) || !strings.Contains(string(out), "readable by other users") {
		t.Fatalf("start with a 0644 key: %v\n%s", err, out)
	}
}

// expiryValue is a unix time as Prometheus' text format writes it.
func expiryValue(t time.Time) string {
	return strconv.FormatFloat(float64(t.Unix()), 'e', -1, 64)
}
