package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/redis/go-redis/v9"

	"github.com/sipswitch/sipswitch/cluster/clustertest"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// scriptCalls is how many scripts Redis has run (EVALSHA and EVAL, those
// that failed included): every admission, renewal and spend write of a
// host is one.
func scriptCalls(t *testing.T, rdb *redis.Client) int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for line := range strings.SplitSeq(info, "\n") {
		name, stats, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (name != "cmdstat_evalsha" && name != "cmdstat_eval") {
			continue
		}
		for field := range strings.SplitSeq(stats, ",") {
			if k, v, _ := strings.Cut(field, "="); k == "calls" || k == "rejected_calls" {
				c, _ := strconv.ParseInt(v, 10, 64)
				n += c
			}
		}
	}
	return n
}

// countingCarrier answers every call and sends, at each INVITE, how many
// scripts Redis had run by then.
func countingCarrier(t *testing.T, name, host string, rdb *redis.Client) (*siptest.Agent, chan int64) {
	seen := make(chan int64, 4)
	a := siptest.NewAgent(t, name, host)
	answer := siptest.AnswerWith(testSDP)
	a.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		seen <- scriptCalls(t, rdb)
		answer(d, req)
	})
	return a, seen
}

// TestCallAdmissionIsOneRedisRoundTrip runs a host of a cluster on a
// Redis of its own and counts the scripts Redis runs while a call is
// admitted: a line limited in calls (totalmaximum) and spend
// (call_maximum) calling through a limited peer that charges takes its
// line's slot, the peer's and the first billing step in one round trip
// before the INVITE leaves; a call whose first peer is full across the
// hosts costs one round trip per peer tried. Nothing else of the call
// reaches Redis before its INVITE does.
func TestCallAdmissionIsOneRedisRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a daemon and a redis-server")
	}
	rds := clustertest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: rds.Addr})
	t.Cleanup(func() { rdb.Close() })
	carrierA, seenA := countingCarrier(t, "carrier-a", "127.0.0.2", rdb)
	carrierB, seenB := countingCarrier(t, "carrier-b", "127.0.0.3", rdb)
	phone := siptest.NewAgent(t, "2001", "127.0.0.4")
	sipAddr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: freePort(t, "udp")}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sipswitch.yaml")
	// A lease of 5 minutes: no renewal (every 100 s) falls in the test.
	os.WriteFile(cfg, fmt.Appendf(nil, `database: %q
log: {level: info}
calls: {drain_timeout: 5s}
cluster: {host: solo, redis: "redis://%s/0", lease: 5m, redis_timeout: 500ms}
`, filepath.Join(dir, "s.db"), rds.Addr), 0o644)
	d := startDaemon(t, "--config", cfg, "--sip", "udp://"+sipAddr.String())
	d.waitHealth(200, "counters redis ok", 5*time.Second)
	auth := adminAuth
	// Costs with 600 s included: a call's first step pays for its first
	// ten minutes, so the ledger's grants need no extension (a round
	// trip a second) while the test runs.
	d.create(
		"plans/create/?"+auth+";name=Retail",
		fmt.Sprintf("peers/create/?%s;name=carrier-a;type=sip;destination=127.0.0.2:%d;outmaximum=2;costs=1", auth, carrierA.Port),
		fmt.Sprintf("peers/create/?%s;name=carrier-b;type=sip;destination=127.0.0.3:%d;outmaximum=2;costs=1", auth, carrierB.Port),
		"plans/routes/create/?"+auth+";plan=1;called_prefix=44;peer1=1;peer2=2",
		"peers/costs/create/?"+auth+";peer=1;called_prefix=44;connectfee=0.10;cost=0.60;included=600",
		"peers/costs/create/?"+auth+";peer=2;called_prefix=44;connectfee=0.20;cost=0.60;included=600",
		"phones/create/?"+auth+";name=2001;password=phone-secret-1;plan=1;totalmaximum=3;call_maximum=10",
	)
	waitRevision(t, d, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	zcard := func(key string) int64 {
		t.Helper()
		n, err := rdb.ZCard(ctx, "{sipswitch}:limit:"+key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	held := func() string {
		t.Helper()
		keys, err := rdb.Keys(ctx, "{sipswitch}:spend:*:2001").Result()
		if err != nil || len(keys) != 1 {
			all, _ := rdb.Keys(ctx, "*").Result()
			t.Fatalf("spend hashes of 2001: %v %v (keys %v)\n%s", keys, err, all, d.log())
		}
		return rdb.HGet(ctx, keys[0], "solo").Val()
	}

	// The first call: one round trip before carrier A sees its INVITE.
	before := scriptCalls(t, rdb)
	first, err := phone.Call(ctx, sipAddr, "441000", "2001", "phone-secret-1", testSDP)
	if err != nil {
		t.Fatal(err)
	}
	if at := <-seenA; at-before != 1 {
		t.Fatalf("the call's admission ran %d scripts in Redis, want 1", at-before)
	}
	if zcard("line:1") != 1 || zcard("peer:1") != 1 || held() != "0.1" {
		t.Fatalf("after the admission: line slots %d, carrier-a slots %d, spend held %q; want 1, 1, 0.1", zcard("line:1"), zcard("peer:1"), held())
	}

	// Carrier A's last slot is taken by another host: the next call is
	// refused there in one round trip and admitted on carrier B in one
	// more, with its line's slot.
	if err := rdb.ZAdd(ctx, "{sipswitch}:limit:peer:1", redis.Z{Score: float64(time.Now().Add(time.Hour).UnixMilli()), Member: "other-host"}).Err(); err != nil {
		t.Fatal(err)
	}
	before = scriptCalls(t, rdb)
	second, err := phone.Call(ctx, sipAddr, "442000", "2001", "phone-secret-1", testSDP)
	if err != nil {
		t.Fatal(err)
	}
	if at := <-seenB; at-before != 2 {
		t.Fatalf("a call admitted on its second peer ran %d scripts in Redis, want 2 (one per peer)", at-before)
	}
	if n := carrierA.Invites.Load(); n != 1 {
		t.Fatalf("carrier A saw %d INVITEs past its outmaximum across hosts", n)
	}
	if zcard("line:1") != 2 || zcard("peer:2") != 1 || held() != "0.3" {
		t.Fatalf("after the second admission: line slots %d, carrier-b slots %d, spend held %q; want 2, 1, 0.3", zcard("line:1"), zcard("peer:2"), held())
	}
	for _, dlg := range []*sipgo.DialogClientSession{first, second} {
		if err := dlg.Bye(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Released: the line's slots go with the calls.
	deadline := time.Now().Add(10 * time.Second)
	for zcard("line:1") != 0 || zcard("peer:2") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after the calls ended: line slots %d, carrier-b slots %d", zcard("line:1"), zcard("peer:2"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
