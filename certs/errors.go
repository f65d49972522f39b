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
	// ErrUnverified: a server's certificate does not chain to a trusted
	// root or does not name the host the connection is for.
	ErrUnverified = errors.New("server certificate not verified")
	// ErrInsecureIP: an IP address among the hosts exempt from
	// certificate verification (see ClientConfig).
	ErrInsecureIP = errors.New("only host names can be exempt from certificate verification")
)
