package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/internal/testcert"
)

// The daemon's SIP over TLS: a tls:// listener serves tls.cert_file under
// the TLS policy, its expiry is in /metrics as listener="sip", and a
// renewal read on SIGHUP is shown to the next TLS connection.
func TestServeSIPOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t)
	leaf := ca.Issue(t, dir, "", 30*24*time.Hour)
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("tls:\n  cert_file: %s\n  key_file: %s\n  http: plain\n", leaf.CertFile, leaf.KeyFile)), 0o600)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	tlsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	d := startDaemonWith(t, httpAddr, "--config", cfg, "--db", filepath.Join(dir, "s.db"), "--http", httpAddr,
		"--sip", fmt.Sprintf("udp://127.0.0.1:%d", freePort(t, "udp")), "--sip", "tls://"+tlsAddr)

	serial := func() string {
		t.Helper()
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", tlsAddr, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
		if err != nil {
			t.Fatalf("TLS to the SIP listener: %v", err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	if got := serial(); got != leaf.Serial.String() {
		t.Fatalf("SIP listener serves serial %s, want %s", got, leaf.Serial)
	}
	if _, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", tlsAddr, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", MaxVersion: tls.VersionTLS11}); err == nil {
		t.Fatal("the SIP listener served TLS 1.1")
	}
	metrics := func() string {
		resp, err := http.Get("http://" + httpAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if want := fmt.Sprintf(`sipswitch_tls_certificate_expiry_seconds{listener="sip"} %s`, expiryValue(leaf.NotAfter)); !strings.Contains(metrics(), want) {
		t.Errorf("metrics lack %q", want)
	}

	renewed := ca.Issue(t, t.TempDir(), "", 90*24*time.Hour)
	for from, to := range map[string]string{renewed.CertFile: leaf.CertFile, renewed.KeyFile: leaf.KeyFile} {
		b, _ := os.ReadFile(from)
		os.WriteFile(to, b, 0o600)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog("SIP TLS certificate read", 10*time.Second)
	if got := serial(); got != renewed.Serial.String() {
		t.Fatalf("after SIGHUP the SIP listener serves serial %s, want the renewed %s", got, renewed.Serial)
	}
	if want := fmt.Sprintf(`sipswitch_tls_certificate_expiry_seconds{listener="sip"} %s`, expiryValue(renewed.NotAfter)); !strings.Contains(metrics(), want) {
		t.Errorf("metrics lack the renewed %q", want)
	}
	if err := d.stop(syscall.SIGTERM, 30*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
}
