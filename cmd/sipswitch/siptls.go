package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sipswitch/sipswitch/certs"
	"github.com/sipswitch/sipswitch/sip"
)

// sipTLSOption builds the SIP core's TLS: the tls:// listeners serve
// tls.cert_file (read again on SIGHUP by reloadCertificates: new
// connections get the renewal, open ones, and the registrations and calls
// on them, stay), ask for client certificates as tls.verify_clients says,
// and the switch's own TLS connections to peers verify them against
// tls.peer_ca_file (or the system's roots) unless tls.insecure_peers
// exempts them. nil when there is nothing to configure: no certificate
// and no TLS listener (calls out over TLS then use Go's defaults, the
// system roots).
func (d *daemon) sipTLSOption() (sip.Option, error) {
	t := d.cfg.TLS
	listens := slices.ContainsFunc(d.cfg.SIP, func(u string) bool {
		u = strings.ToLower(u)
		return strings.HasPrefix(u, "tls:") || strings.HasPrefix(u, "wss:")
	})
	if t.CertFile == "" && t.PeerCAFile == "" && len(t.InsecurePeers) == 0 {
		return nil, nil
	}
	var err error
	if t.CertFile != "" {
		if d.sipCert, err = certs.Load(t.CertFile, t.KeyFile); err != nil {
			return nil, fmt.Errorf("sip tls: %w", err)
		}
		if err := d.metrics.Registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "sipswitch_tls_certificate_expiry_seconds",
			Help:        "When the certificate in service expires, unix seconds (alert on it minus time()).",
			ConstLabels: prometheus.Labels{"listener": "sip"},
		}, func() float64 { return float64(d.sipCert.NotAfter().Unix()) })); err != nil {
			return nil, fmt.Errorf("sip tls metric: %w", err)
		}
		if left := time.Until(d.sipCert.NotAfter()); listens && left < 14*24*time.Hour {
			d.log.Warn("the SIP TLS certificate expires soon", "not_after", d.sipCert.NotAfter(), "file", t.CertFile)
		}
	}
	var roots *x509.CertPool
	if t.PeerCAFile != "" {
		if roots, err = readPool(t.PeerCAFile); err != nil {
			return nil, fmt.Errorf("tls.peer_ca_file: %w", err)
		}
	}
	client, err := certs.ClientConfig(d.sipCert, roots, t.InsecurePeers)
	if err != nil {
		return nil, fmt.Errorf("tls.insecure_peers: %w", err)
	}
	if len(t.InsecurePeers) > 0 {
		d.log.Warn("TLS peers whose certificate is NOT verified (tls.insecure_peers): their calls can be read and changed by anyone on the path", "hosts", strings.Join(t.InsecurePeers, ","))
	}
	var server *tls.Config
	if d.sipCert != nil {
		var opts []certs.ServerOption
		if t.VerifyClients == "optional" || t.VerifyClients == "required" {
			pool, err := readPool(t.ClientCAFile)
			if err != nil {
				return nil, fmt.Errorf("tls.client_ca_file: %w", err)
			}
			opts = append(opts, certs.WithClientCAs(pool, t.VerifyClients == "required"))
		}
		server = certs.ServerConfig(d.sipCert, opts...)
	}
	return sip.WithTLS(server, client), nil
}

// readPool reads PEM certificates into a pool.
func readPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}
