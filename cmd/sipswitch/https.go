package main

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sipswitch/sipswitch/certs"
)

// loadHTTPCertificate reads the http listener's certificate when it
// serves HTTPS (tls.http), before anything else starts: a key others can
// read, or files that do not load, stop the daemon with the file named.
func (d *daemon) loadHTTPCertificate() error {
	on, certFile, keyFile := d.cfg.TLS.HTTPS()
	if !on {
		if host, _, err := net.SplitHostPort(d.cfg.HTTP); err == nil && !isLoopbackHost(host) {
			d.log.Warn("the admin and gateway APIs are served in plain HTTP on an address other hosts reach: passwords and session tokens cross the network in clear; name a certificate (tls.cert_file, tls.key_file)", "http", d.cfg.HTTP)
		}
		return nil
	}
	cert, err := certs.Load(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("https: %w", err)
	}
	d.httpCert = cert
	if left := time.Until(cert.NotAfter()); left < 14*24*time.Hour {
		d.log.Warn("the HTTPS certificate expires soon", "not_after", cert.NotAfter(), "file", certFile)
	}
	return d.metrics.Registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "sipswitch_tls_certificate_expiry_seconds",
		Help:        "When the certificate in service expires, unix seconds (alert on it minus time()).",
		ConstLabels: prometheus.Labels{"listener": "http"},
	}, func() float64 { return float64(cert.NotAfter().Unix()) }))
}

// reloadCertificates re-reads the certificate files on SIGHUP; a pair that
// does not load is logged and the one in service kept. The listeners read
// the certificate at each handshake (certs.Certificate.GetCertificate):
// new connections get the renewal, open ones (HTTP keep-alives, SIP
// phones' registration connections) stay as they are.
func (d *daemon) reloadCertificates() {
	for _, c := range []struct {
		what string
		cert *certs.Certificate
	}{{"HTTPS", d.httpCert}, {"SIP TLS", d.sipCert}} {
		if c.cert == nil {
			continue
		}
		certFile, _ := c.cert.Files()
		if err := c.cert.Reload(); err != nil {
			d.log.Error("reload: the "+c.what+" certificate did not load; keeping the one in service", "error", err)
			continue
		}
		d.log.Info("reload: "+c.what+" certificate read", "file", certFile, "not_after", c.cert.NotAfter())
	}
}

// withHSTS adds Strict-Transport-Security to every answer (RFC 6797): a
// browser that saw it never again talks plain HTTP to this host.
func withHSTS(h http.Handler, maxAge time.Duration) http.Handler {
	if maxAge <= 0 {
		return h
	}
	value := "max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", value)
		h.ServeHTTP(w, r)
	})
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
