package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/cluster/clustertest"
	"github.com/sipswitch/sipswitch/sip/siptest"
	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

// tcpCut forwards a loopback port to a server and can cut it: every
// connection through it is reset and new ones are refused, as when the
// network to the server fails, until restore.
type tcpCut struct {
	t        *testing.T
	addr     string
	upstream string
	mu       sync.Mutex
	ln       net.Listener
	conns    []net.Conn
}

func newTCPCut(t *testing.T, upstream string) *tcpCut {
	c := &tcpCut{t: t, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp")), upstream: upstream}
	c.restore()
	t.Cleanup(c.cut)
	return c
}

func (c *tcpCut) restore() {
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.ln = ln
	c.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", c.upstream)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
}

func (c *tcpCut) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln != nil {
		c.ln.Close()
		c.ln = nil
	}
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// healthz returns /healthz's status and body.
func (p *daemonProc) healthz() (int, string) {
	resp, err := http.Get(p.http + "/healthz")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (p *daemonProc) waitHealth(status int, substr string, within time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, body := p.healthz()
		if code == status && strings.Contains(body, substr) {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("healthz %d %q, want %d with %q", code, body, status, substr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHostRidesOutStoreAndCounterOutages cuts a host off Redis, then off
// PostgreSQL, with a call up each time: limited calls get 503 while the
// counters are away, unlimited ones and the call in progress go on,
// /healthz says what is down, calls route from the last table while the
// store is away, and the host recovers by itself; every call's record
// reaches the store.
func TestHostRidesOutStoreAndCounterOutages(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a daemon and a redis-server")
	}
	if os.Getenv("SIPSWITCH_TEST_POSTGRES") == "off" {
		t.Skip("SIPSWITCH_TEST_POSTGRES=off")
	}
	dsn := storagetest.Postgres(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pg := newTCPCut(t, u.Host)
	u.Host = pg.addr
	viaCut := u.String()
	rds := clustertest.Start(t)

	limited := carrier(t, "limited", "127.0.0.2")
	unlimited := carrier(t, "unlimited", "127.0.0.3")
	phone := siptest.NewAgent(t, "2001", "127.0.0.4")
	sipAddr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: freePort(t, "udp")}
	cfg := filepath.Join(t.TempDir(), "sipswitch.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, `database: %q
log: {level: info}
calls: {drain_timeout: 5s}
cluster: {host: solo, redis: "redis://%s/0", lease: 2s, redis_timeout: 200ms}
`, viaCut, rds.Addr), 0o644)
	d := startDaemon(t, "--config", cfg, "--sip", "udp://"+sipAddr.String())
	d.waitHealth(200, "counters redis ok", 5*time.Second)

	auth := adminAuth
	d.create(
		"plans/create/?"+auth+";name=Retail",
		fmt.Sprintf("peers/create/?%s;name=limited;type=sip;destination=127.0.0.2:%d;outmaximum=3", auth, limited.Port),
		fmt.Sprintf("peers/create/?%s;name=unlimited;type=sip;destination=127.0.0.3:%d", auth, unlimited.Port),
		"plans/routes/create/?"+auth+";plan=1;called_prefix=44;peer1=1",
		"plans/routes/create/?"+auth+";plan=1;called_prefix=45;peer1=2",
		"phones/create/?"+auth+";name=2001;password=phone-secret-1;plan=1",
	)
	waitRevision(t, d, 7)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	placed := 0
	call := func(called string) error {
		placed++
		dlg, err := phone.Call(ctx, sipAddr, called, "2001", "phone-secret-1", testSDP)
		if err == nil {
			err = dlg.Bye(ctx)
		}
		return err
	}
	placed++
	up, err := phone.Call(ctx, sipAddr, "441000", "2001", "phone-secret-1", testSDP)
	if err != nil {
		t.Fatal(err)
	}

	// Redis gone.
	rds.Kill()
	d.waitHealth(503, "counters redis unreachable", 5*time.Second)
	if err := call("442000"); siptest.StatusOf(err) != 503 {
		t.Fatalf("limited call with Redis down: %v, want 503", err)
	}
	if err := call("452000"); err != nil {
		t.Fatalf("unlimited call with Redis down: %v", err)
	}
	if up.Context().Err() != nil {
		t.Fatal("the call in progress ended with Redis")
	}
	rds.Restart(t)
	d.waitHealth(200, "counters redis ok", 10*time.Second)
	if err := call("443000"); err != nil {
		t.Fatalf("limited call after Redis came back: %v", err)
	}

	// PostgreSQL gone.
	pg.cut()
	d.waitHealth(503, "store postgres unreachable", 10*time.Second)
	if err := call("454000"); err != nil {
		t.Fatalf("call with the store down (routes from the last table): %v", err)
	}
	if r := d.get("/api/json/phones/create/?" + auth + ";name=2009;password=phone-secret-9;plan=1"); strings.Contains(r, `"code":"20`) {
		t.Fatalf("a write was acknowledged with the store down: %s", r)
	}
	if err := up.Bye(ctx); err != nil {
		t.Fatalf("the call in progress could not end: %v", err)
	}
	pg.restore()
	d.waitHealth(200, "store postgres ok", 15*time.Second)
	d.create("phones/create/?" + auth + ";name=2009;password=phone-secret-9;plan=1") // the store is back
	if err := call("445000"); err != nil {
		t.Fatalf("call after the store came back: %v", err)
	}

	if err := d.stop(syscall.SIGTERM, 30*time.Second); err != nil {
		t.Fatalf("stop: %v\n%s", err, d.log())
	}
	db, err := storage.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.Read(ctx, func(tx *storage.Tx) error {
		var err error
		n, err = tx.Count(ctx, "calls", storage.Cond{Col: "host", Op: "=", Val: "solo"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n != placed {
		t.Fatalf("%d call records for %d calls (the ones during the outage must be written after it)\n%s", n, placed, d.log())
	}
}
