package certs

import (
	"crypto/tls"
	"crypto/x509"
)

// cipherSuites are the TLS 1.2 suites offered: ECDHE with AEAD only
// (Mozilla "intermediate"). TLS 1.3 suites are not configurable in Go and
// are all AEAD.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ServerOption adjusts a listener's tls.Config.
type ServerOption func(*tls.Config)

// WithClientCAs makes the listener ask for a client certificate and
// verify it against pool (mutual TLS); required says a client without
// one is refused.
func WithClientCAs(pool *x509.CertPool, required bool) ServerOption {
	return func(c *tls.Config) {
		c.ClientCAs = pool
		c.ClientAuth = tls.VerifyClientCertIfGiven
		if required {
			c.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
}

// WithNextProtos sets ALPN protocols (e.g. "h2", "http/1.1" for HTTPS).
func WithNextProtos(protos ...string) ServerOption {
	return func(c *tls.Config) { c.NextProtos = protos }
}

// ServerConfig is the switch's TLS policy for a listener serving cert.
func ServerConfig(cert *Certificate, opts ...ServerOption) *tls.Config {
	c := &tls.Config{
		MinVersion:       tls.VersionTLS12,
		CipherSuites:     cipherSuites,
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384},
		GetCertificate:   cert.GetCertificate,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}
