package certs

import "errors"

// Errors of this package.
var (
	// ErrNoCertificate: a TLS listener is configured without a
	// certificate and key file.
	ErrNoCertificate = errors.New("no TLS certificate configured")
	// ErrKeyMismatch: the key file does not hold the private key of the
	// certificate file's leaf.
	ErrKeyMismatch = errors.New("private key does not match the certificate")
	// ErrKeyReadable: the key file can be read by users other than the
	// service user and its group.
	ErrKeyReadable = errors.New("private key file is readable by other users")
)
