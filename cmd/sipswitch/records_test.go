package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/sip/siptest"
	"github.com/sipswitch/sipswitch/storage"
)

// Call records survive the ways a daemon stops: a SIGTERM drain writes
// them all, and a SIGKILL loses at most the last batch (the calls of the
// last second, call_records' interval): the calls that ended a second and
// more before the kill are all in the store.
func TestCallRecordsSurviveKillAndDrain(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "s.db")
	carrier := carrier(t, "carrier", "127.0.0.2")
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, []byte("database: "+dbPath+"\n"), 0o644)

	start := func() (*daemonProc, *net.UDPAddr) {
		port := freePort(t, "udp")
		return startDaemon(t, "--config", cfg, "--sip", fmt.Sprintf("udp://127.0.0.1:%d", port)), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	}
	d, sw := start()
	auth := adminAuth
	d.create(
		"plans/create/?"+auth+";name=Retail",
		fmt.Sprintf("peers/create/?%s;name=carrier;type=sip;destination=127.0.0.2:%d", auth, carrier.Port),
		"plans/routes/create/?"+auth+";plan=1;called_prefix=44;peer1=1",
		"phones/create/?"+auth+";name=2001;password=phone-secret;plan=1",
	)
	waitRevision(t, d, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call := func(n int) {
		t.Helper()
		for i := range n {
			dlg, err := phone.Call(ctx, sw, fmt.Sprintf("44207%06d", i), "2001", "phone-secret", testSDP)
			if err != nil {
				t.Fatalf("call %d: %v\n%s", i, err, d.log())
			}
			if err := dlg.Bye(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	call(5)
	// The recorder's interval (a second) writes the batch while the
	// daemon runs: wait for it in the store, then kill without a drain.
	for deadline := time.Now().Add(10 * time.Second); countRecords(t, dbPath) != 5; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the 5 records of ended calls were not written within 10 s while the daemon ran\n%s", d.log())
		}
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	if got := countRecords(t, dbPath); got != 5 {
		t.Fatalf("after SIGKILL: %d records of the 5 calls written before it", got)
	}

	d, sw = start()
	call(3)
	if err := d.stop(syscall.SIGTERM, 20*time.Second); err != nil {
		t.Fatalf("stop: %v\n%s", err, d.log())
	}
	if got := countRecords(t, dbPath); got != 8 {
		t.Fatalf("after a SIGTERM drain: %d records of 8 calls", got)
	}
	if !strings.Contains(d.log(), "call records written") {
		t.Errorf("the drain did not say it wrote the records:\n%s", d.log())
	}
}

func countRecords(t *testing.T, path string) int {
	t.Helper()
	db, err := storage.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	db.Read(context.Background(), func(tx *storage.Tx) error {
		n, err = tx.Count(context.Background(), "calls", storage.Cond{Col: "cause", Op: "=", Val: 200})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
