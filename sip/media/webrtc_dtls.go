package media

import (
	"context"
	"crypto"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/fingerprint"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/logging"
	"github.com/pion/srtp/v3"
	"github.com/pion/transport/v5/deadline"
)

// DTLS-SRTP (RFC 5763, RFC 5764) on a WebRTC end: the relay is the DTLS
// server (setup:passive in its answers, actpass in its offers; a browser
// answering actpass takes active), the party's certificate must hash to
// the fingerprint of its SDP (RFC 5763 6.2, RFC 8827 6.5), and the SRTP
// master keys are exported from the handshake (RFC 5764 4.2) into the
// stream end's SRTP transform (srtp.go), which the forwarding path uses as
// it uses SDES keys.

// dtlsHandshakeTimeout bounds a handshake from the party's first DTLS
// datagram. INFERRED: browsers finish in a few round trips; a handshake
// that has not finished in 30 s is not going to.
const dtlsHandshakeTimeout = 30 * time.Second

// dtlsQueue is how many DTLS datagrams wait for the handshake goroutine; a
// full queue drops (DTLS retransmits).
const dtlsQueue = 16

// ErrFingerprint is the handshake's failure when the party's certificate
// does not hash to the fingerprint its SDP announced.
var ErrFingerprint = errors.New("media: DTLS certificate does not match the SDP fingerprint")

// dtlsProfiles are the SRTP protection profiles offered to the DTLS
// client, preferred first: AES-GCM (RFC 7714) and the mandatory
// AES_CM_128_HMAC_SHA1_80 (RFC 8827 6.5).
var dtlsProfiles = []dtls.SRTPProtectionProfile{
	dtls.SRTP_AEAD_AES_128_GCM,
	dtls.SRTP_AES128_CM_HMAC_SHA1_80,
}

// dtlsCert is the relay's DTLS certificate: self-signed, ECDSA P-256,
// made once per Engine on the first WebRTC stream, with its SHA-256
// fingerprint as SDP writes it. INFERRED: one per engine (Asterisk's
// dtls_auto_generate_cert and rtpengine make one per process); the
// fingerprint in each SDP is what authenticates it, not a CA.
type dtlsCert struct {
	cert        tls.Certificate
	fingerprint string // "sha-256 AB:CD:..."
}

func (e *Engine) dtlsCertificate() (*dtlsCert, error) {
	e.certOnce.Do(func() {
		cert, err := selfsign.GenerateSelfSigned()
		if err != nil {
			e.certErr = fmt.Errorf("media: DTLS certificate: %w", err)
			return
		}
		x, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			e.certErr = fmt.Errorf("media: DTLS certificate: %w", err)
			return
		}
		fp, err := fingerprint.Fingerprint(x, crypto.SHA256)
		if err != nil {
			e.certErr = fmt.Errorf("media: DTLS certificate: %w", err)
			return
		}
		e.cert = &dtlsCert{cert: cert, fingerprint: "sha-256 " + strings.ToUpper(fp)}
	})
	return e.cert, e.certErr
}

// dtlsSide runs one end's DTLS handshake on a goroutine of its own, fed by
// the reader through a pipe (the relay's socket stays the reader's).
type dtlsSide struct {
	w       *webrtcEnd
	pipe    *dtlsPipe
	start   sync.Once
	started atomic.Bool // the handshake goroutine runs
	done    atomic.Bool // keys installed
	failed  atomic.Bool
}

func newDTLSSide(w *webrtcEnd) *dtlsSide {
	return &dtlsSide{w: w, pipe: newDTLSPipe(w)}
}

// input hands a DTLS datagram from src (a source that passed a
// connectivity check) to the handshake, starting it on the first one.
// Called with end.mu held; b is copied.
func (d *dtlsSide) input(b []byte, src netip.AddrPort) {
	d.pipe.remote.Store(&src)
	select {
	case d.pipe.in <- append([]byte(nil), b...):
	default:
	}
	d.start.Do(func() {
		d.started.Store(true)
		s := d.w.end.s
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			d.run()
		}()
	})
}

// run makes the handshake, installs the keys, then reads the connection
// until the session closes (the party's retransmitted final flight and
// alerts are answered by pion/dtls meanwhile).
func (d *dtlsSide) run() {
	end := d.w.end
	s := end.s
	log := s.e.log.With("session", s.id, "leg", end.leg.side.String(), "port", end.pair.port)
	cert, err := s.e.dtlsCertificate()
	if err != nil {
		d.fail(log, err)
		return
	}
	conn, err := dtls.ServerWithOptions(d.pipe, d.pipe.addr(),
		dtls.WithCertificates(cert.cert),
		dtls.WithSRTPProtectionProfiles(dtlsProfiles...),
		dtls.WithClientAuth(dtls.RequireAnyClientCert),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
		dtls.WithVerifyPeerCertificate(d.verify),
		dtls.WithLoggerFactory(&logging.DefaultLoggerFactory{Writer: io.Discard, DefaultLogLevel: logging.LogLevelDisabled}),
	)
	if err != nil {
		d.fail(log, err)
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), dtlsHandshakeTimeout)
	err = conn.HandshakeContext(ctx)
	cancel()
	if err != nil {
		d.fail(log, err)
		return
	}
	keys, err := dtlsSRTPKeys(conn)
	if err != nil {
		d.fail(log, err)
		return
	}
	if end.wrtc.Load() != d.w {
		return // the leg was reset (failover) during the handshake
	}
	if err := end.setSRTP(keys); err != nil {
		d.fail(log, err)
		return
	}
	d.done.Store(true)
	end.keyed()
	s.e.counters.dtlsHandshakes.Add(1)
	log.Debug("media DTLS-SRTP keyed", "profile", keys.Profile.String())
	buf := make([]byte, 1500)
	for {
		if _, err := conn.Read(buf); err != nil {
			return // closed with the session, or an alert
		}
	}
}

func (d *dtlsSide) fail(log interface{ Info(string, ...any) }, err error) {
	if d.w.closing.Load() {
		return // the session ended first
	}
	d.failed.Store(true)
	d.w.end.s.e.counters.dtlsFailures.Add(1)
	log.Info("media DTLS handshake failed", "err", err.Error())
}

// verify checks the party's certificate against its SDP fingerprint.
// A browser that answers the relay's offer starts ICE and DTLS as soon as
// it has the offer, while its answer (and fingerprint) may still be on
// its way through the SIP core: the check waits for it, within the
// handshake's time.
func (d *dtlsSide) verify(raw [][]byte, _ [][]*x509.Certificate) error {
	select {
	case <-d.w.signalled:
	case <-d.pipe.closed:
		return net.ErrClosed
	case <-time.After(dtlsHandshakeTimeout):
	}
	r := d.w.remote.Load()
	if r == nil || r.fp == nil || len(raw) == 0 {
		return fmt.Errorf("%w: none announced", ErrFingerprint)
	}
	h := r.fpHash.New()
	h.Write(raw[0])
	if subtle.ConstantTimeCompare(h.Sum(nil), r.fp) != 1 {
		return ErrFingerprint
	}
	return nil
}

// dtlsSRTPKeys exports the SRTP master keys of the negotiated profile
// (RFC 5764 4.2); the relay is the server: the party's keys are the
// client's write keys.
func dtlsSRTPKeys(conn *dtls.Conn) (*SRTPKeys, error) {
	p, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return nil, errors.New("media: DTLS handshake negotiated no SRTP profile (use_srtp)")
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return nil, errors.New("media: DTLS connection has no state")
	}
	cfg := srtp.Config{Profile: srtp.ProtectionProfile(p)}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, false); err != nil {
		return nil, fmt.Errorf("media: DTLS-SRTP keys: %w", err)
	}
	return &SRTPKeys{
		Profile:   cfg.Profile,
		RemoteKey: cfg.Keys.RemoteMasterKey, RemoteSalt: cfg.Keys.RemoteMasterSalt,
		LocalKey: cfg.Keys.LocalMasterKey, LocalSalt: cfg.Keys.LocalMasterSalt,
	}, nil
}

// dtlsPipe is the net.PacketConn pion/dtls runs on: datagrams the reader
// hands over, and writes from the end's own socket to the source of the
// last DTLS datagram.
type dtlsPipe struct {
	w      *webrtcEnd
	in     chan []byte
	remote atomic.Pointer[netip.AddrPort]
	rd     *deadline.Deadline
	closed chan struct{}
	once   sync.Once
}

func newDTLSPipe(w *webrtcEnd) *dtlsPipe {
	return &dtlsPipe{w: w, in: make(chan []byte, dtlsQueue), rd: deadline.New(), closed: make(chan struct{})}
}

func (p *dtlsPipe) addr() net.Addr {
	if ap := p.remote.Load(); ap != nil {
		return net.UDPAddrFromAddrPort(*ap)
	}
	return &net.UDPAddr{}
}

func (p *dtlsPipe) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case pkt := <-p.in:
		return copy(b, pkt), p.addr(), nil
	case <-p.closed:
		return 0, nil, net.ErrClosed
	case <-p.rd.Done():
		return 0, nil, os.ErrDeadlineExceeded
	}
}

func (p *dtlsPipe) WriteTo(b []byte, _ net.Addr) (int, error) {
	if p.isClosed() {
		return 0, net.ErrClosed
	}
	ap := p.remote.Load()
	if ap == nil || !p.w.send(b, *ap) {
		return 0, errors.New("media: DTLS datagram not sent")
	}
	return len(b), nil
}

func (p *dtlsPipe) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

func (p *dtlsPipe) isClosed() bool {
	select {
	case <-p.closed:
		return true
	default:
		return false
	}
}

func (p *dtlsPipe) LocalAddr() net.Addr {
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.w.end.s.e.cfg.addr, uint16(p.w.end.pair.port)))
}

func (p *dtlsPipe) SetDeadline(t time.Time) error     { p.rd.Set(t); return nil }
func (p *dtlsPipe) SetReadDeadline(t time.Time) error { p.rd.Set(t); return nil }
func (p *dtlsPipe) SetWriteDeadline(time.Time) error  { return nil }
