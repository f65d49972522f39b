package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/redis/go-redis/v9"

	"github.com/sipswitch/sipswitch/cluster"
	"github.com/sipswitch/sipswitch/cluster/clustertest"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

// clusterHost is one `sipswitch serve` of the cluster.
type clusterHost struct {
	name string
	*daemonProc
	sip *net.UDPAddr
}

// limitedCarrier answers every call and records, at each INVITE, how many
// of its calls are up from hosts still alive: what a carrier enforcing
// its channel count would see.
type limitedCarrier struct {
	*siptest.Agent
	mu   sync.Mutex
	live map[string]string // Call-ID -> the sending host's address
	dead map[string]bool   // hosts killed: their calls are orphans
	peak int
}

func newLimitedCarrier(t *testing.T, host string) *limitedCarrier {
	c := &limitedCarrier{Agent: siptest.NewAgent(t, "carrier", host), live: map[string]string{}, dead: map[string]bool{}}
	c.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		src, _, _ := net.SplitHostPort(req.Source())
		c.mu.Lock()
		c.live[req.CallID().Value()] = src
		n := 0
		for _, h := range c.live {
			if !c.dead[h] {
				n++
			}
		}
		c.peak = max(c.peak, n)
		c.mu.Unlock()
		d.RespondSDP([]byte(testSDP))
		<-d.Context().Done()
	})
	// The BYE is counted before it is answered: the switch frees the
	// slot only after the carrier's 200, so a new INVITE can never be
	// counted beside a call already ended.
	c.HandleBye(func(req *sip.Request) {
		c.mu.Lock()
		delete(c.live, req.CallID().Value())
		c.mu.Unlock()
	})
	return c
}

func (c *limitedCarrier) peakCalls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peak
}

func (c *limitedCarrier) hostDied(addr string) {
	c.mu.Lock()
	c.dead[addr] = true
	c.mu.Unlock()
}

// TestClusterOfThreeHosts runs three `sipswitch serve` on 127.0.0.1-3 on
// one PostgreSQL store and one Redis: calls spread over the three never
// put more than outmaximum calls on the carrier, a write through one host
// routes the next call on another, a line registered on host 1 is called
// through host 3, and a host killed with SIGKILL frees its slots within
// the lease while the others keep routing, losing no acknowledged write
// or record.
func TestClusterOfThreeHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three daemons")
	}
	if os.Getenv("SIPSWITCH_TEST_POSTGRES") == "off" {
		t.Skip("SIPSWITCH_TEST_POSTGRES=off")
	}
	const (
		outMax = 5
		lease  = 2 * time.Second
	)
	dsn := storagetest.Postgres(t)
	prefix := clustertest.Prefix(t)
	carrierA := newLimitedCarrier(t, "127.0.0.4")
	carrierB := carrier(t, "carrier-b", "127.0.0.4")
	phone := siptest.NewAgent(t, "2001", "127.0.0.5")
	callee := siptest.NewAgent(t, "2002", "127.0.0.6")
	callee.Handle(siptest.AnswerWith(testSDP))

	dir := t.TempDir()
	hosts := make([]*clusterHost, 3)
	var wg sync.WaitGroup
	for i := range hosts {
		addr := fmt.Sprintf("127.0.0.%d", i+1)
		name := fmt.Sprintf("host%d", i+1)
		httpAddr := fmt.Sprintf("%s:%d", addr, freePortOn(t, addr, "tcp"))
		sipAddr := &net.UDPAddr{IP: net.ParseIP(addr), Port: freePortOn(t, addr, "udp")}
		cfg := filepath.Join(dir, name+".yaml")
		os.WriteFile(cfg, fmt.Appendf(nil, `database: %q
http: %s
sip: ["udp://%s"]
log: {level: info}
calls: {drain_timeout: 5s}
render: {dir: %q, debounce: 100ms}
cluster:
  host: %s
  redis: redis://%s/0
  key_prefix: %s
  lease: %s
  redis_timeout: 300ms
`, dsn, httpAddr, sipAddr, filepath.Join(dir, name+"-asterisk"), name, clustertest.Addr(), prefix, lease), 0o644)
		// All three start at once on the empty store: one migrates and
		// bootstraps, the others wait and find it done.
		wg.Go(func() {
			hosts[i] = &clusterHost{name: name, daemonProc: startDaemonWith(t, httpAddr, "--config", cfg), sip: sipAddr}
		})
	}
	wg.Wait()
	for _, h := range hosts {
		if h == nil {
			t.FailNow()
		}
	}
	h1, h2, h3 := hosts[0], hosts[1], hosts[2]
	if got := h1.get("/healthz"); got != "ok\nstore postgres ok\ncounters redis ok\n" {
		t.Fatalf("healthz: %q", got)
	}

	auth := adminAuth
	api := func(h *clusterHost, q string) string {
		t.Helper()
		r := h.get("/api/json/" + q)
		if !strings.Contains(r, `"code":"20`) {
			t.Fatalf("%s on %s: %s", q, h.name, r)
		}
		return r
	}
	// Each host takes some of the writes.
	api(h1, "plans/create/?"+auth+";name=Retail")
	api(h2, fmt.Sprintf("peers/create/?%s;name=carrier-a;type=sip;destination=127.0.0.4:%d;outmaximum=%d", auth, carrierA.Port, outMax))
	api(h3, fmt.Sprintf("peers/create/?%s;name=carrier-b;type=sip;destination=127.0.0.4:%d", auth, carrierB.Port))
	api(h1, "plans/routes/create/?"+auth+";plan=1;called_prefix=44;peer1=1")
	api(h2, "phones/create/?"+auth+";name=2001;password=phone-secret-1;plan=1")
	api(h3, "phones/create/?"+auth+";name=2002;password=phone-secret-2;plan=1")
	db, err := storage.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Every host follows the store's revision, whichever host wrote.
	caughtUp := func(hs ...*clusterHost) int64 {
		t.Helper()
		rev, err := db.PollRevision(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hs {
			waitRevision(t, h.daemonProc, int(rev))
		}
		return rev
	}
	caughtUp(hosts...)

	placed := map[string]*atomic.Int32{}
	for _, h := range hosts {
		placed[h.name] = new(atomic.Int32)
	}
	call := func(ctx context.Context, h *clusterHost, called string) (*sipgo.DialogClientSession, error) {
		placed[h.name].Add(1)
		return phone.Call(ctx, h.sip, called, "2001", "phone-secret-1", testSDP)
	}

	// Load: 60 calls, one every 40 ms, round robin over the hosts, each
	// held 400 ms: about ten want the carrier at once, five may have it.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var answered, refused atomic.Int32
	for i := range 60 {
		time.Sleep(40 * time.Millisecond)
		wg.Go(func() {
			d, err := call(ctx, hosts[i%3], fmt.Sprintf("4420000%04d", i))
			if err != nil {
				if siptest.StatusOf(err) == 503 {
					refused.Add(1)
					return
				}
				t.Errorf("call %d through %s: %v", i, hosts[i%3].name, err)
				return
			}
			answered.Add(1)
			time.Sleep(400 * time.Millisecond)
			if err := d.Bye(ctx); err != nil {
				t.Errorf("bye %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	t.Logf("load: %d answered, %d refused 503 at the limit; carrier peak %d calls", answered.Load(), refused.Load(), carrierA.peakCalls())
	if p := carrierA.peakCalls(); p > outMax {
		t.Fatalf("the carrier saw %d calls at once, outmaximum is %d", p, outMax)
	}
	if answered.Load() < outMax || refused.Load() == 0 {
		t.Fatalf("the load never filled the limit: %d answered, %d refused", answered.Load(), refused.Load())
	}

	// A line registered through host 1 is called through host 3.
	if res, _, err := callee.Register(ctx, h1.sip, "2002", "phone-secret-2", 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("register through host 1: %v %v", res, err)
	}
	var local *sipgo.DialogClientSession
	for deadline := time.Now().Add(10 * time.Second); ; {
		d, err := call(ctx, h3, "2002")
		if err == nil {
			local = d
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host 3 never reached the line registered on host 1: %v\n%s", err, h3.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if callee.Invites.Load() != 1 {
		t.Fatalf("the registered line got %d INVITEs", callee.Invites.Load())
	}
	// The live state (issue 27): every host lists the shared binding with
	// the host that took it; only the host carrying the call lists it.
	if got := h3.get("/api/json/registrations/list/?" + adminAuth + ";line=2002"); !strings.Contains(got, `"host":"host1"`) {
		t.Errorf("host 3's registrations/list of the line registered on host 1: %s", got)
	}
	if got := h3.get("/api/json/calls/active/?" + adminAuth + ";line=2002"); !strings.Contains(got, `"host":"host3"`) || !strings.Contains(got, `"state":"up"`) {
		t.Errorf("host 3's calls/active: %s", got)
	}
	if got := h1.get("/api/json/calls/active/?" + adminAuth + ";count=1"); !strings.Contains(got, `"count":0`) {
		t.Errorf("host 1 lists another host's call: %s", got)
	}
	if err := local.Bye(ctx); err != nil {
		t.Fatal(err)
	}

	// A write through host 2 routes the next call on host 1, and host 3
	// renders it.
	rev := caughtUp(hosts...)
	start := time.Now()
	api(h2, "plans/routes/update/?"+auth+";id=1;peer1=2")
	waitRevision(t, h1.daemonProc, int(rev)+1)
	propagated := time.Since(start)
	rendered := filepath.Join(dir, "host3-asterisk", "extensions.conf")
	for want := fmt.Sprintf("snapshot revision %d.", rev+1); ; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(rendered); strings.Contains(string(b), want) {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("host 3 never rendered revision %d", rev+1)
		}
	}
	t.Logf("route change through host 2: in host 1's routing table after %v, in host 3's rendered files after %v (render debounce 100ms)", propagated, time.Since(start))
	d, err := call(ctx, h1, "442000009999")
	if err != nil || carrierB.Invites.Load() != 1 {
		t.Fatalf("call on host 1 after the change: %v, carrier B got %d", err, carrierB.Invites.Load())
	}
	d.Bye(ctx)
	api(h2, "plans/routes/update/?"+auth+";id=1;peer1=1")
	caughtUp(hosts...)

	// Host 3 takes every slot and is killed with them held.
	held := make([]*sipgo.DialogClientSession, 0, outMax)
	for i := range outMax {
		d, err := call(ctx, h3, fmt.Sprintf("4430000%04d", i))
		if err != nil {
			t.Fatalf("call %d through host 3: %v", i, err)
		}
		held = append(held, d)
	}
	if _, err := call(ctx, h1, "4431000000"); siptest.StatusOf(err) != 503 {
		t.Fatalf("host 1 with every slot held on host 3: %v, want 503", err)
	}
	// Acknowledged before the kill: a write through host 3.
	api(h3, "phones/create/?"+auth+";name=2003;password=phone-secret-3;plan=1")
	// Host 3's records of the load (20 calls and the line-to-line call,
	// all ended) are committed by its recorder's interval: wait for them
	// in the store before the kill.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var n int
		err := db.Read(ctx, func(tx *storage.Tx) (err error) {
			n, err = tx.Count(ctx, "calls", storage.Cond{Col: "host", Op: "=", Val: h3.name})
			return err
		})
		if err == nil && n >= 21 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host 3's records before the kill: %d (%v), want at least 21", n, err)
		}
	}
	rdb := redis.NewClient(&redis.Options{Addr: clustertest.Addr()})
	defer rdb.Close()
	var slots *cluster.Limits
	slots, err = cluster.NewLimits(rdb, "test", cluster.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer slots.Close()
	peer1 := routing.LimitKey{Kind: routing.LimitPeer, ID: 1}
	if n, err := slots.Active(ctx, peer1); err != nil || n != outMax {
		t.Fatalf("slots before the kill: %d (%v)", n, err)
	}
	killed := time.Now()
	h3.cmd.Process.Signal(syscall.SIGKILL)
	carrierA.hostDied("127.0.0.3")
	for {
		n, err := slots.Active(ctx, peer1)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Since(killed) > 3*lease {
			t.Fatalf("the dead host's %d slots outlived three leases", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	freed := time.Since(killed)
	t.Logf("host 3 killed holding %d slots: freed after %v (lease %v)", outMax, freed, lease)
	_ = held

	// The other hosts route on: calls through hosts 1 and 2 take the
	// freed slots, and never more than outmaximum of them.
	for i := range 2 * outMax {
		wg.Go(func() {
			h := hosts[i%2]
			d, err := call(ctx, h, fmt.Sprintf("4440000%04d", i))
			if err != nil {
				if siptest.StatusOf(err) != 503 {
					t.Errorf("call through %s after the kill: %v", h.name, err)
				}
				return
			}
			time.Sleep(300 * time.Millisecond)
			d.Bye(ctx)
		})
	}
	wg.Wait()
	if p := carrierA.peakCalls(); p > outMax {
		t.Fatalf("after the kill the carrier saw %d live calls at once, outmaximum is %d", p, outMax)
	}
	if r := api(h1, "phones/list/?"+auth); !strings.Contains(r, `"2003"`) {
		t.Fatalf("the line created through host 3 before the kill is lost: %s", r)
	}

	// Hosts 1 and 2 stop (their records flush); every call they took has
	// its record, and host 3's records of the load survived its death.
	for _, h := range []*clusterHost{h1, h2} {
		if err := h.stop(syscall.SIGTERM, 20*time.Second); err != nil {
			t.Fatalf("%s: %v\n%s", h.name, err, h.log())
		}
	}
	byHost := map[string]int{}
	err = db.Read(ctx, func(tx *storage.Tx) error {
		for _, h := range hosts {
			n, err := tx.Count(ctx, "calls", storage.Cond{Col: "host", Op: "=", Val: h.name})
			if err != nil {
				return err
			}
			byHost[h.name] = n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("call records by host: %v; calls placed: host1 %d, host2 %d, host3 %d", byHost, placed["host1"].Load(), placed["host2"].Load(), placed["host3"].Load())
	for _, h := range []*clusterHost{h1, h2} {
		if byHost[h.name] != int(placed[h.name].Load()) {
			t.Errorf("%s: %d call records for %d calls", h.name, byHost[h.name], placed[h.name].Load())
		}
	}
	// Host 3 took 20 calls of the load and the line-to-line call, all
	// ended seconds before its death; the calls it held when killed never
	// ended and have no record.
	if byHost["host3"] < 21 {
		t.Errorf("host 3's committed records: %d, want at least 21", byHost["host3"])
	}
}
