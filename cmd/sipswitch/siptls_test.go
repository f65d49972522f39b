package main

import (
	"bufio"
	"crypto/tls"
	"encoding/pem"
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

// tls.verify_clients: required with tls.client_ca_file: a SIP client
// without a certificate of that CA gets no answer; one with it does.
func TestServeSIPOverTLSRequiresClientCertificates(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t)
	leaf := ca.Issue(t, dir, "", 30*24*time.Hour)
	clientCA := testcert.NewCA(t)
	caFile := filepath.Join(dir, "clients.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: clientCA.Cert.Raw}), 0o644)
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("tls:\n  cert_file: %s\n  key_file: %s\n  http: plain\n  verify_clients: required\n  client_ca_file: %s\n", leaf.CertFile, leaf.KeyFile, caFile)), 0o600)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	tlsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	d := startDaemonWith(t, httpAddr, "--config", cfg, "--db", filepath.Join(dir, "s.db"), "--http", httpAddr,
		"--sip", fmt.Sprintf("udp://127.0.0.1:%d", freePort(t, "udp")), "--sip", "tls://"+tlsAddr)

	options := func(certs []tls.Certificate) (string, error) {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", tlsAddr, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", Certificates: certs})
		if err != nil {
			return "", err
		}
		defer conn.Close()
		port := conn.LocalAddr().(*net.TCPAddr).Port
		fmt.Fprintf(conn, "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:%d;branch=z9hG4bKmtls\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: mtls-%d\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", port, port)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		return bufio.NewReader(conn).ReadString('\n')
	}
	if line, err := options(nil); err == nil {
		t.Fatalf("a client without a certificate was answered %q", line)
	}
	cl := clientCA.Issue(t, t.TempDir(), "client-", time.Hour)
	pair, err := tls.LoadX509KeyPair(cl.CertFile, cl.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if line, err := options([]tls.Certificate{pair}); err != nil || line != "SIP/2.0 200 OK\r\n" {
		t.Fatalf("a client with the CA's certificate: %q %v", line, err)
	}
	if err := d.stop(syscall.SIGTERM, 30*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
}
