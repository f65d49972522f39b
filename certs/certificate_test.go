package certs_test

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/certs"
	"github.com/sipswitch/sipswitch/internal/testcert"
)

// handshake dials a listener serving cfg and returns the leaf it showed.
func handshake(t *testing.T, cfg *tls.Config, client *tls.Config) (*tls.ConnectionState, error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), client)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	st := conn.ConnectionState()
	return &st, nil
}

func TestReloadServesTheRenewedCertificateAndKeepsTheOldOnError(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t)
	first := ca.Issue(t, dir, "", time.Hour)
	c, err := certs.Load(first.CertFile, first.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !c.NotAfter().Equal(first.NotAfter) {
		t.Errorf("NotAfter %v, want %v", c.NotAfter(), first.NotAfter)
	}
	cfg := certs.ServerConfig(c)
	client := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	st, err := handshake(t, cfg, client)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.PeerCertificates[0].SerialNumber; got.Cmp(first.Serial) != 0 {
		t.Fatalf("served serial %v, want %v", got, first.Serial)
	}

	// A renewal copied over the same files is served after Reload.
	renewed := ca.Issue(t, t.TempDir(), "", 48*time.Hour)
	copyFile(t, renewed.CertFile, first.CertFile)
	copyFile(t, renewed.KeyFile, first.KeyFile)
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if st, err = handshake(t, cfg, client); err != nil {
		t.Fatal(err)
	}
	if got := st.PeerCertificates[0].SerialNumber; got.Cmp(renewed.Serial) != 0 {
		t.Fatalf("after reload served serial %v, want the renewed %v", got, renewed.Serial)
	}

	// A half-written renewal (a key of another pair) is refused and the
	// pair in service kept.
	other := ca.Issue(t, t.TempDir(), "", time.Hour)
	copyFile(t, other.KeyFile, first.KeyFile)
	if err := c.Reload(); !errors.Is(err, certs.ErrKeyMismatch) {
		t.Fatalf("reload with a mismatched key: %v, want ErrKeyMismatch", err)
	}
	if st, err = handshake(t, cfg, client); err != nil || st.PeerCertificates[0].SerialNumber.Cmp(renewed.Serial) != 0 {
		t.Fatalf("after a failed reload: %v, %v", err, st)
	}
	if !c.NotAfter().Equal(renewed.NotAfter) {
		t.Errorf("NotAfter after a failed reload %v, want %v", c.NotAfter(), renewed.NotAfter)
	}
}

func TestLoadRefusesAKeyOthersCanRead(t *testing.T) {
	dir := t.TempDir()
	leaf := testcert.NewCA(t).Issue(t, dir, "", time.Hour)
	if err := os.Chmod(leaf.KeyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := certs.Load(leaf.CertFile, leaf.KeyFile); !errors.Is(err, certs.ErrKeyReadable) {
		t.Fatalf("Load with a 0644 key: %v, want ErrKeyReadable", err)
	}
	if _, err := certs.Load("", leaf.KeyFile); !errors.Is(err, certs.ErrNoCertificate) {
		t.Fatalf("Load without a certificate file: %v", err)
	}
}

// The policy refuses what a careful operator refuses: TLS below 1.2 and
// TLS 1.2 suites without forward secrecy or without AEAD.
func TestServerConfigRefusesOldProtocolsAndWeakSuites(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t)
	leaf := ca.Issue(t, dir, "", time.Hour)
	c, err := certs.Load(leaf.CertFile, leaf.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := certs.ServerConfig(c)
	for _, tc := range []struct {
		name   string
		client *tls.Config
		ok     bool
	}{
		{"TLS 1.3", &tls.Config{MinVersion: tls.VersionTLS13}, true},
		{"TLS 1.2 ECDHE-GCM", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true},
		{"TLS 1.1", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, false},
		{"TLS 1.2 CBC", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}, false},
		{"TLS 1.2 RSA key exchange", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}}, false},
	} {
		tc.client.RootCAs, tc.client.ServerName = ca.Pool(), "localhost"
		_, err := handshake(t, cfg, tc.client)
		if (err == nil) != tc.ok {
			t.Errorf("%s: handshake error %v, want success %v", tc.name, err, tc.ok)
		}
	}
}

// Mutual TLS: with client CAs required, a client without a certificate of
// that CA is refused.
func TestClientCertificatesRequired(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t)
	leaf := ca.Issue(t, dir, "srv-", time.Hour)
	c, err := certs.Load(leaf.CertFile, leaf.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := certs.ServerConfig(c, certs.WithClientCAs(ca.Pool(), true))
	clientLeaf := ca.Issue(t, dir, "client-", time.Hour)
	pair, err := tls.LoadX509KeyPair(clientLeaf.CertFile, clientLeaf.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	stranger := testcert.NewCA(t).Issue(t, dir, "stranger-", time.Hour)
	strangerPair, _ := tls.LoadX509KeyPair(stranger.CertFile, stranger.KeyFile)
	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{{"the CA's client", []tls.Certificate{pair}, true}, {"no certificate", nil, false}, {"another CA's client", []tls.Certificate{strangerPair}, false}} {
		client := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", Certificates: tc.certs, MinVersion: tls.VersionTLS13}
		ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
		if err != nil {
			t.Fatal(err)
		}
		serverErr := make(chan error, 1)
		go func() {
			conn, err := ln.Accept()
			if err != nil {
				serverErr <- err
				return
			}
			serverErr <- conn.(*tls.Conn).Handshake()
			conn.Close()
		}()
		conn, err := tls.Dial("tcp", ln.Addr().String(), client)
		if err == nil {
			conn.Handshake()
			conn.Close()
		}
		got := <-serverErr
		ln.Close()
		if (got == nil) != tc.ok {
			t.Errorf("%s: server handshake %v, want success %v", tc.name, got, tc.ok)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// An IP address cannot be exempt from verification: the check cannot
// see which address a connection is for.
func TestClientConfigRefusesAnInsecureIP(t *testing.T) {
	for _, h := range []string{"192.0.2.1", "[2001:db8::1]", ""} {
		if _, err := certs.ClientConfig(nil, nil, []string{h}); !errors.Is(err, certs.ErrInsecureIP) {
			t.Errorf("insecure host %q: %v, want ErrInsecureIP", h, err)
		}
	}
	c, err := certs.ClientConfig(nil, nil, nil)
	if err != nil || c.InsecureSkipVerify || c.MinVersion != tls.VersionTLS12 {
		t.Fatalf("default client config %+v %v: want Go's own verification, TLS 1.2+", c, err)
	}
}
