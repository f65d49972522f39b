package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
	"strings"
)

// ClientConfig is the switch's TLS policy for the connections it opens
// itself (SIP over TLS to peers): the same versions and suites as
// ServerConfig, the server's certificate verified against roots (nil: the
// system's) and against the host name the connection is for (sipgo puts
// the destination's host in ServerName: a name, or an IP address checked
// against the certificate's IP SANs). cert, when not nil, is presented to
// servers that ask for a client certificate (mutual TLS: carriers and
// Teams Direct Routing want the switch's own), the one in service after a
// Reload.
//
// insecureHosts lists destination host NAMES whose certificate is NOT
// verified: UNSAFE, for a lab carrier with a self-signed certificate only.
// Anyone on the path to such a host can read and alter its calls,
// including the digest exchange and the SDP (with SDES, the media keys).
// Names are compared case-insensitively with the host as the peer's
// destination writes it. IP addresses cannot be listed (ErrInsecureIP):
// Go's TLS client tells the verification callback the name it sent in
// SNI, and for an IP address it sends none, so the exemption could not
// tell one address from another; a lab carrier gets a name (/etc/hosts).
// With the list empty, crypto/tls verifies every server itself; with it
// set, Go's own check (which cannot be skipped per host) is off and
// VerifyConnection does the same check for every unlisted name, and
// refuses destinations given by IP address, whose address it cannot see.
func ClientConfig(cert *Certificate, roots *x509.CertPool, insecureHosts []string) (*tls.Config, error) {
	skip := make(map[string]bool, len(insecureHosts))
	for _, h := range insecureHosts {
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
			return nil, fmt.Errorf("tls insecure peer %q: %w", h, ErrInsecureIP)
		}
		if h == "" {
			return nil, fmt.Errorf("tls insecure peer: empty name: %w", ErrInsecureIP)
		}
		skip[h] = true
	}
	c := &tls.Config{
		MinVersion:       tls.VersionTLS12,
		CipherSuites:     cipherSuites,
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384},
		RootCAs:          roots,
	}
	if len(skip) > 0 {
		c.InsecureSkipVerify = true // VerifyConnection verifies instead
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if skip[strings.ToLower(cs.ServerName)] {
				return nil
			}
			return verifyServer(cs, roots)
		}
	}
	if cert != nil {
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return cert.GetCertificate(nil)
		}
	}
	return c, nil
}

// verifyServer is crypto/tls's own client verification: the chain to
// roots, for server authentication, naming cs.ServerName.
func verifyServer(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("tls: server %q sent no certificate: %w", cs.ServerName, ErrUnverified)
	}
	if cs.ServerName == "" {
		return fmt.Errorf("tls: a destination given by IP address cannot be verified while tls insecure peers are set; name it: %w", ErrUnverified)
	}
	opts := x509.VerifyOptions{
		Roots:         roots,
		DNSName:       cs.ServerName,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, ic := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(ic)
	}
	if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
		return fmt.Errorf("tls: server %q: %w: %w", cs.ServerName, ErrUnverified, err)
	}
	return nil
}
