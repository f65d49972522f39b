package sip

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/auth"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// The attacks of issue 12 on the call path, each as an attacker would try
// it. Every one of these passed through the switch before its defence.

// forwardingFixture: line 1002 forwards every call to 449999, which the
// route "44" sends to peer1 (carrier1) then peer2 (carrier2).
func forwardingFixture(t *testing.T, opts ...Option) (*fixture, context.Context) {
	f, ctx := newFixture(t, opts...)
	f.dir.edit(func() {
		p := f.dir.phones["1002"]
		p.UseForwarding, p.Forwarding = 1, "449999"
	})
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	f.carrier2.Handle(siptest.AnswerWith(carrierSDP))
	return f, ctx
}

func TestPeerTrustNeedsExactSource(t *testing.T) {
	f, ctx := forwardingFixture(t)
	sw := f.s.Addrs()[0]

	// From carrier1's address but another port, over UDP and over TCP: not
	// the peer, so challenged like anyone else.
	for _, network := range []string{"udp", "tcp"} {
		borrower := siptest.NewAgentOn(t, "borrower-"+network, f.carrier1.Host, network)
		if network == "tcp" {
			sw = tcpAddrOf(t, f.s)
		}
		_, err := borrower.Call(ctx, sw, "1002", "447700900123", "", callerSDP)
		if got := siptest.StatusOf(err); got != 407 {
			t.Fatalf("%s from a peer's address on another port: %d (%v), want 407", network, got, err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := f.carrier1.Invites.Load() + f.carrier2.Invites.Load(); n != 0 {
		t.Fatalf("carriers got %d INVITEs from an unauthenticated caller", n)
	}
	if st := f.s.Stats(); st.ForwardedCalls != 0 {
		t.Errorf("forwarded calls %d", st.ForwardedCalls)
	}
}

// tcpAddrOf starts nothing: the fixture's switch listens on UDP only, so
// TCP attempts go to a second switch on the same directory.
func tcpAddrOf(t *testing.T, s *Server) net.Addr {
	t.Helper()
	port := freePort(t)
	s2, err := New(s.dir, WithListen(fmt.Sprintf("tcp://127.0.0.1:%d", port)), WithLogger(siptest.Logger()), WithRealm("test"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go s2.Serve(ctx)
	t.Cleanup(func() { cancel(); s2.Close() })
	select {
	case <-s2.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("tcp switch not ready")
	}
	return s2.Addrs()[0]
}

// A call from the peer itself to a forwarding line leaves as the line's
// forwarded call: counted, on the line's totalmaximum, with a Diversion
// header naming the line.
func TestForwardedCallIsTheLinesCall(t *testing.T) {
	f, ctx := forwardingFixture(t)
	f.dir.edit(func() { f.dir.phones["1002"].TotalMaximum = 1 })
	sw := f.s.Addrs()[0]

	d, err := f.carrier1.Call(ctx, sw, "1002", "447700900123", "", callerSDP)
	if err != nil {
		t.Fatalf("inbound call to a forwarding line: %v", err)
	}
	inv := f.carrier1.Last.Load()
	if inv.Recipient.User != "449999" {
		t.Fatalf("forwarded to %q", inv.Recipient.User)
	}
	div := inv.GetHeader("Diversion")
	if div == nil || !strings.Contains(div.Value(), "sip:1002@") || !strings.Contains(div.Value(), "reason=unconditional") {
		t.Errorf("Diversion %v, want the forwarding line 1002, unconditional", div)
	}
	if got := inv.From().Address.User; got != "447700900123" {
		t.Errorf("forwarded call shows caller %q", got)
	}
	f.dir.mu.Lock()
	held := f.dir.lineCalls["1002"]
	f.dir.mu.Unlock()
	if held != 1 {
		t.Errorf("forwarding line holds %d slots during the forwarded call, want 1", held)
	}
	// Its totalmaximum is 1: a second forwarded call is refused.
	_, err = f.carrier1.Call(ctx, sw, "1002", "447700900124", "", callerSDP)
	if got := siptest.StatusOf(err); got != 486 {
		t.Errorf("second forwarded call over totalmaximum 1: %d (%v), want 486", got, err)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
	if st := f.s.Stats(); st.ForwardedCalls != 1 {
		t.Errorf("forwarded calls %d, want 1", st.ForwardedCalls)
	}
}

// peer_match address is the documented relaxation: another port of the
// peer's address is the peer.
func TestPeerMatchAddressRelaxesThePort(t *testing.T) {
	f, ctx := forwardingFixture(t, WithPeerMatch(PeerMatchAddress))
	borrower := siptest.NewAgent(t, "pool-port", f.carrier1.Host)
	d, err := borrower.Call(ctx, f.s.Addrs()[0], "1002", "447700900123", "", callerSDP)
	if err != nil {
		t.Fatalf("call from another port with peer_match address: %v", err)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
}

// rawExchange sends msg over conn to the switch and returns the first
// final response (or a 407/401) it gets back, skipping 100 Trying.
func rawExchange(t *testing.T, conn net.PacketConn, sw net.Addr, msg string) *sip.Response {
	t.Helper()
	if _, err := conn.WriteTo([]byte(msg), sw); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	for {
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no response: %v", err)
		}
		m, err := sip.ParseMessage(buf[:n])
		if err != nil {
			t.Fatalf("bad response: %v", err)
		}
		if res, ok := m.(*sip.Response); ok && res.StatusCode >= 200 {
			return res
		}
	}
}

func rawInvite(local, sw, called, callID string, hdrs ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INVITE sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-%s\r\n", called, sw, local, callID)
	fmt.Fprintf(&b, "From: <sip:1001@%s>;tag=a-%s\r\nTo: <sip:%s@%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n", sw, callID, called, sw, callID)
	fmt.Fprintf(&b, "Contact: <sip:1001@%s>\r\nMax-Forwards: 70\r\n", local)
	for _, h := range hdrs {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", len(callerSDP), callerSDP)
	return b.String()
}

func challengeParam(h, name string) string {
	i := strings.Index(h, name+`="`)
	if i < 0 {
		return ""
	}
	v := h[i+len(name)+2:]
	return v[:strings.IndexByte(v, '"')]
}

// Credentials computed for one called number must not place a call to
// another (RFC 3261 22.4): the digest uri is bound to the Request-URI.
func TestDigestBoundToRequestURI(t *testing.T) {
	f, _ := newFixture(t)
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	sw := f.s.Addrs()[0]
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()

	res := rawExchange(t, conn, sw, rawInvite(local, sw.String(), "4400000001", "uri-1"))
	if res.StatusCode != 407 {
		t.Fatalf("first INVITE got %d, want 407", res.StatusCode)
	}
	nonce := challengeParam(res.GetHeader("Proxy-Authenticate").Value(), "nonce")
	creds := auth.Credentials{Username: "1001", Realm: "test", Nonce: nonce, URI: "sip:4400000001@" + sw.String(),
		Qop: "auth", NC: "00000001", CNonce: "c0ffee", Algorithm: "MD5"}
	creds.Response = auth.Response(md5.New, &creds, "INVITE", "secret1001")
	auth := fmt.Sprintf(`Proxy-Authorization: Digest username="1001", realm="test", nonce="%s", uri="%s", response="%s", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"`,
		nonce, creds.URI, creds.Response)
	failures := f.s.Stats().AuthFailures

	res = rawExchange(t, conn, sw, rawInvite(local, sw.String(), "4499999999", "uri-2", auth))
	if res.StatusCode != 403 {
		t.Fatalf("INVITE to another number with credentials for 4400000001 got %d, want 403", res.StatusCode)
	}
	time.Sleep(100 * time.Millisecond)
	if n := f.carrier1.Invites.Load() + f.carrier2.Invites.Load(); n != 0 {
		t.Fatalf("carriers got %d INVITEs", n)
	}
	if got := f.s.Stats().AuthFailures; got != failures+1 {
		t.Errorf("auth failures %d, want %d", got, failures+1)
	}
}

// A phone that reads only the first challenge and always computes MD5
// (many deployed softphones and SIPp do one or the other) registers with
// the default settings, and never counts as a failed login.
func TestDefaultDigestAcceptsFirstChallengeMD5Phones(t *testing.T) {
	s, sw := startSwitch(t, registrarDir())
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, req, err := phone.Register(ctx, sw, "1001", "", 300)
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("challenge: %v %v", res, err)
	}
	first := res.GetHeader("WWW-Authenticate").Value()
	nonce := challengeParam(first, "nonce")
	alg := "MD5"
	if _, after, ok := strings.Cut(first, "algorithm="); ok {
		alg = strings.SplitN(after, ",", 2)[0]
	}
	uri := req.Recipient.String()
	creds := auth.Credentials{Username: "1001", Realm: "test", Nonce: nonce, URI: uri, Qop: "auth", NC: "00000001", CNonce: "abc123"}
	creds.Response = auth.Response(md5.New, &creds, "REGISTER", "secret1001")
	again := req.Clone()
	again.RemoveHeader("Via")
	again.CSeq().SeqNo++
	// The phone echoes the challenge's algorithm, whatever it computed.
	again.AppendHeader(sip.NewHeader("Authorization", fmt.Sprintf(`Digest username="1001", realm="test", nonce="%s", uri="%s", response="%s", algorithm=%s, qop=auth, nc=00000001, cnonce="abc123"`,
		nonce, uri, creds.Response, alg)))
	res, err = phone.Client.Do(ctx, again, sipgo.ClientRequestAddVia)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("first-challenge MD5 phone got %d with the default digest settings, want 200", res.StatusCode)
	}
	if n := s.Stats().AuthFailures; n != 0 {
		t.Errorf("auth failures %d", n)
	}
}

// Garbage from anyone must not flood the log: 2,000 unparseable datagrams
// are counted and summarised, with a short escaped sample.
func TestUnparseableDatagramsDoNotFloodTheLog(t *testing.T) {
	var logs, defaultLogs syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&defaultLogs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	// The flood limit off: every datagram reaches the parser (with it on,
	// the limit drops all but the burst before they are parsed).
	s, sw := startSwitch(t, registrarDir(), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), WithFloodLimit(0, 0))
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	junk := append([]byte("NOT SIP AT ALL\r\n\x1b[31mforged=line\n"), bytes.Repeat([]byte("A"), 2500)...)
	const n = 2000
	for i := range n {
		if _, err := conn.WriteTo(junk, sw); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			time.Sleep(2 * time.Millisecond) // let the read loop keep up: loss is not what is tested
		}
	}
	eventually(t, "datagrams counted", func() bool { return s.Stats().Unparseable >= n/2 })
	time.Sleep(100 * time.Millisecond)
	total := len(logs.String()) + len(defaultLogs.String())
	if total > 4096 {
		t.Fatalf("%d bytes of log for %d garbage datagrams:\n%.2000s", total, n, logs.String()+defaultLogs.String())
	}
	out := logs.String()
	if !strings.Contains(out, "sip unparseable message dropped") || strings.Contains(out, "\x1b") || strings.Count(out, "\n") > 3 {
		t.Errorf("want one escaped summary line, got:\n%s", out)
	}
	if strings.Contains(out, strings.Repeat("A", logSampleBytes+1)) {
		t.Error("log shows more than the sample")
	}
	st := s.transportLog.state
	st.mu.Lock()
	st.interval = 0
	st.mu.Unlock()
	st.flush()
	if !strings.Contains(logs.String(), "count="+strconv.Itoa(int(s.Stats().Unparseable)-1)) {
		t.Errorf("no summary with the count of the suppressed lines:\n%s", logs.String())
	}
}
