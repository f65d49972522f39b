package sip

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/certs"
	"github.com/sipswitch/sipswitch/internal/testcert"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// tlsFixture is a switch listening on UDP and TLS with a certificate of
// ca, trusting ca for its own TLS connections.
type tlsFixture struct {
	dir      *testDirectory
	s        *Server
	udp, tls net.Addr
	ca       *testcert.CA
	cert     *certs.Certificate
	leaf     testcert.Leaf
}

func newTLSFixture(t testing.TB, serverOpts []certs.ServerOption, opts ...Option) *tlsFixture {
	return newTLSFixtureInsecure(t, serverOpts, nil, opts...)
}

func newTLSFixtureInsecure(t testing.TB, serverOpts []certs.ServerOption, insecure []string, opts ...Option) *tlsFixture {
	t.Helper()
	ca := testcert.NewCA(t)
	leaf := ca.Issue(t, t.TempDir(), "switch-", time.Hour)
	cert, err := certs.Load(leaf.CertFile, leaf.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := newTestDirectory()
	dir.addPhone(routing.Phone{PresentationExternal: 1, PresentationInternal: 1, ID: 1, Name: "1001", Password: "secret1001", Plan: 1})
	dir.addPhone(routing.Phone{PresentationExternal: 1, PresentationInternal: 1, ID: 2, Name: "1002", Password: "secret1002", Plan: 1})
	client, err := certs.ClientConfig(cert, ca.Pool(), insecure)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := startSwitch(t, dir, append([]Option{WithListen("tls://127.0.0.1:0"), WithTLS(certs.ServerConfig(cert, serverOpts...), client)}, opts...)...)
	f := &tlsFixture{dir: dir, s: s, ca: ca, cert: cert, leaf: leaf}
	for _, a := range s.Addrs() {
		switch a.Network() {
		case "udp":
			f.udp = a
		case "tls":
			f.tls = a
		}
	}
	if f.udp == nil || f.tls == nil {
		t.Fatalf("listeners %v", s.Addrs())
	}
	return f
}

// phoneTLS is the TLS configuration of a phone trusting the switch's CA.
func (f *tlsFixture) phoneTLS() *tls.Config {
	return &tls.Config{RootCAs: f.ca.Pool(), ServerName: "localhost"}
}

// A phone registers over TLS, is called over the connection it
// registered on (it listens nowhere), and calls a carrier over TLS, whose
// certificate the switch verifies against the destination's host name;
// the other leg of each call is UDP.
func TestTLSPhoneRegistersIsCalledAndCallsATLSCarrier(t *testing.T) {
	f := newTLSFixture(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	carrierLeaf := f.ca.Issue(t, t.TempDir(), "carrier-", time.Hour)
	pair, err := tls.LoadX509KeyPair(carrierLeaf.CertFile, carrierLeaf.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	carrier := siptest.NewAgentTLS(t, "carrier", "127.0.0.1", f.phoneTLS(), &tls.Config{Certificates: []tls.Certificate{pair}})
	carrier.Handle(siptest.AnswerWith(carrierSDP))
	peer := &routing.Peer{ID: 11, Name: "tlscarrier", Type: routing.PeerSIP, Destination: "sips:localhost:" + itoa(carrier.Port)}
	// Routed to, not matched by source (the test directory keys peers
	// by IP address): no addPeer.
	f.dir.addRoute("44", 7, peer)

	phone := siptest.NewAgentTLS(t, "tlsphone", "127.0.0.1", f.phoneTLS(), nil)
	phone.Handle(siptest.AnswerWith(carrierSDP))
	if res, _, err := phone.Register(ctx, f.tls, "1002", "secret1002", 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("register over TLS: %v %v", res, err)
	}
	if r := f.s.Registrations(); len(r) != 1 || !strings.EqualFold(r[0].Transport, "tls") {
		t.Fatalf("registration %+v", r)
	}

	// A UDP phone calls the TLS phone.
	udpPhone := siptest.NewAgent(t, "udpphone", "127.0.0.1")
	d, err := udpPhone.Call(ctx, f.udp, "1002", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call to the TLS phone: %v", err)
	}
	inv := phone.Last.Load()
	if inv == nil || !strings.EqualFold(inv.Transport(), "tls") {
		t.Fatalf("TLS phone's INVITE %v", inv)
	}
	if c := inv.Contact(); c == nil || c.Address.Port != f.tls.(TLSAddr).Port || c.Address.UriParams.GetOr("transport", "") != "tls" {
		t.Errorf("switch's Contact to the TLS phone %v, want its TLS listener", c)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "BYE to the TLS phone", func() bool { return phone.Byes.Load() == 1 })

	// The TLS phone calls the TLS carrier.
	d, err = phone.Call(ctx, f.tls, "441234", "1002", "secret1002", callerSDP)
	if err != nil {
		t.Fatalf("call from the TLS phone to the TLS carrier: %v", err)
	}
	if inv := carrier.Last.Load(); inv == nil || !strings.EqualFold(inv.Transport(), "tls") {
		t.Fatalf("carrier's INVITE %v", inv)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "BYE to the carrier", func() bool { return carrier.Byes.Load() == 1 })
	eventually(t, "calls ended", func() bool { return f.s.Stats().ActiveCalls == 0 })
}

// The switch verifies a TLS carrier's certificate against the host its
// destination names: a carrier at 127.0.0.2 showing a certificate for
// localhost and 127.0.0.1 is refused, and so is one at localhost with a
// certificate of a CA the switch does not trust, unless localhost is on
// the (unsafe) list of hosts not verified. A refused carrier gets no
// INVITE.
func TestTLSCarrierCertificateVerifiedAgainstTheHost(t *testing.T) {
	for _, tc := range []struct {
		name, host, dest string
		otherCA          bool
		skip             []string
		ok               bool
	}{
		{"another host's certificate", "127.0.0.2", "127.0.0.2:%d;transport=tls", false, nil, false},
		{"right name, right CA", "127.0.0.1", "sips:localhost:%d", false, nil, true},
		{"unknown CA", "127.0.0.1", "sips:localhost:%d", true, nil, false},
		{"unknown CA, name exempt", "127.0.0.1", "sips:localhost:%d", true, []string{"localhost"}, true},
		{"other name exempt, IP destination", "127.0.0.2", "sips:127.0.0.2:%d", false, []string{"lab.example"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTLSFixtureInsecure(t, nil, tc.skip)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			ca := f.ca
			if tc.otherCA {
				ca = testcert.NewCA(t)
			}
			carrierLeaf := ca.Issue(t, t.TempDir(), "carrier-", time.Hour)
			pair, err := tls.LoadX509KeyPair(carrierLeaf.CertFile, carrierLeaf.KeyFile)
			if err != nil {
				t.Fatal(err)
			}
			carrier := siptest.NewAgentTLS(t, "carrier", tc.host, f.phoneTLS(), &tls.Config{Certificates: []tls.Certificate{pair}})
			carrier.Handle(siptest.AnswerWith(carrierSDP))
			peer := &routing.Peer{ID: 11, Name: "tlscarrier", Type: routing.PeerSIP, Destination: fmt.Sprintf(tc.dest, carrier.Port)}
			f.dir.addRoute("44", 7, peer)
			phone := siptest.NewAgent(t, "phone", "127.0.0.1")
			d, err := phone.Call(ctx, f.udp, "441234", "1001", "secret1001", callerSDP)
			if err == nil {
				d.Bye(ctx)
			}
			if (err == nil) != tc.ok {
				t.Fatalf("call: %v, want success %v", err, tc.ok)
			}
			if !tc.ok && carrier.Invites.Load() != 0 {
				t.Fatalf("a refused carrier got %d INVITEs", carrier.Invites.Load())
			}
		})
	}
}

// Mutual TLS: with client certificates required, a phone with a
// certificate of another CA (or none) cannot even register; one of the
// configured CA can.
func TestTLSClientCertificateOfAnotherCARefused(t *testing.T) {
	clientCA := testcert.NewCA(t)
	f := newTLSFixture(t, []certs.ServerOption{certs.WithClientCAs(clientCA.Pool(), true)})
	load := func(l testcert.Leaf) []tls.Certificate {
		pair, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{pair}
	}
	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{
		{"no certificate", nil, false},
		{"another CA's", load(testcert.NewCA(t).Issue(t, t.TempDir(), "", time.Hour)), false},
		{"the client CA's", load(clientCA.Issue(t, t.TempDir(), "", time.Hour)), true},
	} {
		cfg := f.phoneTLS()
		cfg.Certificates = tc.certs
		phone := siptest.NewAgentTLS(t, "phone", "127.0.0.1", cfg, nil)
		// Under TLS 1.3 the client finishes its handshake before the
		// server has judged its certificate: a refused phone learns it
		// from the closed connection, or not at all, and its REGISTER
		// times out.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		res, _, err := phone.Register(ctx, f.tls, "1001", "secret1001", 300)
		cancel()
		if ok := err == nil && res.StatusCode == 200; ok != tc.ok {
			t.Errorf("%s: register %v %v, want success %v", tc.name, res, err, tc.ok)
		}
	}
	if n := len(f.s.Registrations()); n != 1 {
		t.Errorf("%d registrations, want the one with the CA's certificate", n)
	}
}

// The SIP listener refuses TLS 1.1 (and so anything older).
func TestTLSListenerRefusesTLS11(t *testing.T) {
	f := newTLSFixture(t, nil)
	for _, tc := range []struct {
		max uint16
		ok  bool
	}{{tls.VersionTLS11, false}, {tls.VersionTLS12, true}} {
		cfg := f.phoneTLS()
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tc.max
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", f.tls.String(), cfg)
		if (err == nil) != tc.ok {
			t.Errorf("TLS max version %x: %v, want success %v", tc.max, err, tc.ok)
		}
		if err == nil {
			conn.Close()
		}
	}
}

// A certificate renewed and reloaded (the daemon does it on SIGHUP) is
// shown to the next TLS connection, while a phone registered over a
// connection made before keeps its registration and is still reached
// over that connection.
func TestTLSRenewalSeenByANewConnectionWhileARegistrationStays(t *testing.T) {
	f := newTLSFixture(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	phone := siptest.NewAgentTLS(t, "tlsphone", "127.0.0.1", f.phoneTLS(), nil)
	phone.Handle(siptest.AnswerWith(carrierSDP))
	if res, _, err := phone.Register(ctx, f.tls, "1002", "secret1002", 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("register: %v %v", res, err)
	}

	renewed := f.ca.Issue(t, t.TempDir(), "", 48*time.Hour)
	for from, to := range map[string]string{renewed.CertFile: f.leaf.CertFile, renewed.KeyFile: f.leaf.KeyFile} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.cert.Reload(); err != nil {
		t.Fatal(err)
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", f.tls.String(), f.phoneTLS())
	if err != nil {
		t.Fatal(err)
	}
	serial := conn.ConnectionState().PeerCertificates[0].SerialNumber
	conn.Close()
	if serial.Cmp(renewed.Serial) != 0 {
		t.Fatalf("new connection shown serial %v, want the renewed %v", serial, renewed.Serial)
	}

	if r := f.s.Registrations(); len(r) != 1 {
		t.Fatalf("registrations after the reload: %+v", r)
	}
	udpPhone := siptest.NewAgent(t, "udpphone", "127.0.0.1")
	d, err := udpPhone.Call(ctx, f.udp, "1002", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call to the phone registered before the renewal: %v", err)
	}
	d.Bye(ctx)
}

// A phone registered over TLS whose connection is gone is not reached:
// the switch has nowhere to dial (the phone's source port listens for
// nothing) and the call fails as unreachable; the binding stays until the
// phone registers again or it expires.
func TestTLSPhoneWhoseConnectionIsGone(t *testing.T) {
	f := newTLSFixture(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	phone := siptest.NewAgentTLS(t, "tlsphone", "127.0.0.1", f.phoneTLS(), nil)
	phone.Handle(siptest.AnswerWith(carrierSDP))
	if res, _, err := phone.Register(ctx, f.tls, "1002", "secret1002", 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("register: %v %v", res, err)
	}
	phone.Stop()
	udpPhone := siptest.NewAgent(t, "udpphone", "127.0.0.1")
	start := time.Now()
	_, err := udpPhone.Call(ctx, f.udp, "1002", "1001", "secret1001", callerSDP)
	t.Logf("call to a phone whose connection is gone: %v after %v", err, time.Since(start))
	if err == nil {
		t.Fatal("call reached a phone whose connection is gone")
	}
	if code := siptest.StatusOf(err); code != 480 {
		t.Errorf("caller got %d, want 480", code)
	}
	if r := f.s.Registrations(); len(r) != 1 {
		t.Errorf("registrations %+v, want the binding kept", r)
	}
}

// A caller on TLS gets the switch's answer with a Contact naming the TLS
// listener, and the callee's BYE over the connection it called on (it
// listens nowhere else).
func TestTLSCallerGetsTheCalleesBye(t *testing.T) {
	f := newTLSFixture(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	carrier := siptest.NewAgent(t, "carrier", "127.0.0.2")
	hangup := make(chan struct{})
	carrier.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		d.RespondSDP([]byte(carrierSDP))
		select {
		case <-hangup:
			bctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := d.Bye(bctx); err != nil {
				t.Errorf("callee bye: %v", err)
			}
		case <-d.Context().Done():
		}
	})
	peer := peerFor(carrier, 11)
	f.dir.addPeer(peer)
	f.dir.addRoute("44", 7, peer)
	phone := siptest.NewAgentTLS(t, "tlsphone", "127.0.0.1", f.phoneTLS(), nil)
	d, err := phone.Call(ctx, f.tls, "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if c := d.InviteResponse.Contact(); c == nil || c.Address.Port != f.tls.(TLSAddr).Port || c.Address.UriParams.GetOr("transport", "") != "tls" {
		t.Errorf("switch's Contact in its 200 to the TLS caller %v, want its TLS listener", c)
	}
	close(hangup)
	eventually(t, "TLS caller got the BYE", func() bool { return phone.Byes.Load() == 1 })
	eventually(t, "call ended", func() bool { return f.s.Stats().ActiveCalls == 0 })
}
