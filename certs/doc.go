// Package certs owns the switch's TLS certificates and its TLS policy.
//
// One certificate (tls.cert_file, tls.key_file: PEM, the chain in the
// certificate file leaf first, as Let's Encrypt's fullchain.pem) serves
// every TLS listener of the switch — the admin and gateway API over HTTPS
// today, SIP over TLS and WebSocket listeners as they come — unless a
// listener names its own pair. A Certificate is read once at start and
// again on Reload (the daemon calls it on SIGHUP): a renewed certificate
// is served to new handshakes without a restart and without dropping
// established connections; a pair that does not load is refused and the
// one in service kept, so a half-copied renewal never takes the switch
// off the air. NotAfter feeds sipswitch_tls_certificate_expiry_seconds, so
// an operator alerts before a certificate lapses.
//
// The policy (ServerConfig) is the one of Mozilla's "intermediate"
// configuration: TLS 1.2 and 1.3 only, and on 1.2 only ECDHE key exchange
// with AEAD ciphers (AES-GCM, ChaCha20-Poly1305), so every session has
// forward secrecy; TLS 1.3's suites are Go's, which are all AEAD. Client
// certificates are verified when the listener asks for it (mutual TLS, as
// carriers and Microsoft Teams Direct Routing require of SIP trunks).
package certs
