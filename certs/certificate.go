package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Certificate is a certificate and key pair read from files, served to TLS
// handshakes and replaced by Reload. Safe for concurrent use.
type Certificate struct {
	certFile, keyFile string
	current           atomic.Pointer[loaded]
}

type loaded struct {
	cert     *tls.Certificate
	notAfter time.Time
}

// Load reads the pair certFile/keyFile (PEM). The key file must not be
// readable by other users (mode o-r): a key others can read is a key
// others have.
func Load(certFile, keyFile string) (*Certificate, error) {
	if certFile == "" || keyFile == "" {
		return nil, ErrNoCertificate
	}
	c := &Certificate{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again. On error the certificate in service is
// kept and the error says which file failed and why.
func (c *Certificate) Reload() error {
	l, err := read(c.certFile, c.keyFile)
	if err != nil {
		return err
	}
	c.current.Store(l)
	return nil
}

func read(certFile, keyFile string) (*loaded, error) {
	if fi, err := os.Stat(keyFile); err != nil {
		return nil, fmt.Errorf("tls key file: %w", err)
	} else if fi.Mode().Perm()&0o004 != 0 {
		return nil, fmt.Errorf("tls key file %s (mode %04o): %w; chmod o-r it", keyFile, fi.Mode().Perm(), ErrKeyReadable)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			return nil, fmt.Errorf("tls %s and %s: %w", certFile, keyFile, ErrKeyMismatch)
		}
		return nil, fmt.Errorf("tls %s and %s: %w", certFile, keyFile, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls certificate %s: %w", certFile, err)
		}
		pair.Leaf = leaf
	}
	return &loaded{cert: &pair, notAfter: leaf.NotAfter}, nil
}

// NotAfter is when the certificate in service expires.
func (c *Certificate) NotAfter() time.Time { return c.current.Load().notAfter }

// Files are the certificate and key file names.
func (c *Certificate) Files() (cert, key string) { return c.certFile, c.keyFile }

// GetCertificate serves the pair in service (tls.Config.GetCertificate):
// each handshake reads the current one, so Reload needs no new listener.
func (c *Certificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	l := c.current.Load()
	if l == nil {
		return nil, errors.New("certs: no certificate loaded")
	}
	return l.cert, nil
}
