package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/sipswitch/sipswitch/sip/siptest"
	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

// Call records survive the ways a daemon stops. Calls run from eight
// phones at once; the daemon is killed with SIGKILL while they do; every
// call whose BYE the phone saw answered before the kill has exactly one
// record after the next start (the journal's replay), and none of them
// twice. Then a SIGTERM drain writes the records of the calls that
// follow, and leaves the journal empty. On SQLite and PostgreSQL.
func TestCallRecordsSurviveKillUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon twice and places calls under load")
	}
	storagetest.Each(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		journal := filepath.Join(dir, "journal")
		carrier := carrier(t, "carrier", "127.0.0.2")
		phone := siptest.NewAgent(t, "phone", "127.0.0.1")
		cfg := filepath.Join(dir, "sipswitch.yaml")
		os.WriteFile(cfg, fmt.Appendf(nil, "database: %q\ncall_records_journal: %q\n", dsn, journal), 0o644)
		start := func() (*daemonProc, *net.UDPAddr) {
			port := freePort(t, "udp")
			httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
			return startDaemonWith(t, httpAddr, "--config", cfg, "--http", httpAddr, "--sip", fmt.Sprintf("udp://127.0.0.1:%d", port)),
				&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
		}
		d, sw := start()
		d.create(
			"plans/create/?"+adminAuth+";name=Retail",
			fmt.Sprintf("peers/create/?%s;name=carrier;type=sip;destination=127.0.0.2:%d", adminAuth, carrier.Port),
			"plans/routes/create/?"+adminAuth+";plan=1;called_prefix=44;peer1=1",
			"phones/create/?"+adminAuth+";name=2001;password=phone-secret;plan=1",
		)
		waitRevision(t, d, 5)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()

		// Calls until the kill: a call is completed when the phone has the
		// 200 to its BYE. After the kill, a BYE waiting for its answer
		// gives up at once (callCtx), and so does an INVITE: the cause
		// tells sipgo not to CANCEL it towards a daemon that is gone
		// (a CANCEL would wait out Timer F, and the phone closing under
		// it at the end of the test crashed sipgo v1.7.2's
		// inviteCancel).
		const want = 150
		callCtx, stopCalls := context.WithCancelCause(ctx)
		var (
			mu        sync.Mutex
			completed []string
			stopped   bool // no BYE starts after the kill
			enough    = make(chan struct{})
			byes      sync.WaitGroup
			workers   sync.WaitGroup
		)
		defer workers.Wait()
		defer stopCalls(sipgo.WaitAnswerForceCancelErr)
		for w := range 8 {
			workers.Add(1)
			go func() {
				defer workers.Done()
				for i := 0; callCtx.Err() == nil; i++ {
					dlg, err := phone.Call(callCtx, sw, fmt.Sprintf("44207%02d%04d", w, i), "2001", "phone-secret", testSDP)
					if err != nil {
						continue
					}
					mu.Lock()
					if stopped {
						mu.Unlock()
						return
					}
					byes.Add(1)
					mu.Unlock()
					if dlg.Bye(callCtx) == nil {
						mu.Lock()
						completed = append(completed, dlg.InviteRequest.CallID().Value())
						if len(completed) == want {
							close(enough)
						}
						mu.Unlock()
					}
					byes.Done()
				}
			}()
		}
		select {
		case <-enough:
		case <-ctx.Done():
			t.Fatalf("%d calls completed before the deadline, want %d\n%s", len(completed), want, d.log())
		}
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
		stopCalls(sipgo.WaitAnswerForceCancelErr)
		mu.Lock()
		stopped = true
		mu.Unlock()
		byes.Wait()
		workers.Wait()
		mu.Lock()
		done := append([]string(nil), completed...)
		mu.Unlock()

		// The kill came between two commits: some completed calls' records
		// are in the journal alone, or this proves nothing.
		if stored := callIDs(t, dsn); len(stored) >= len(done) {
			t.Fatalf("%d records in the store at the kill for %d completed calls: nothing was left to the journal", len(stored), len(done))
		}

		d, sw = start()
		if !strings.Contains(d.log(), "records of an earlier run committed") {
			t.Errorf("the restart did not say it committed the journal's records:\n%s", d.log())
		}
		stored := callIDs(t, dsn)
		for _, id := range done {
			if n := stored[id]; n != 1 {
				t.Errorf("call %s completed before the kill: %d records", id, n)
			}
		}
		for id, n := range stored {
			if n != 1 {
				t.Errorf("call %s: %d records", id, n)
			}
		}
		t.Logf("%d calls completed before the kill, %d records after the restart", len(done), len(stored))

		for i := range 3 {
			dlg, err := phone.Call(ctx, sw, fmt.Sprintf("44208%06d", i), "2001", "phone-secret", testSDP)
			if err != nil {
				t.Fatalf("call after the restart: %v\n%s", err, d.log())
			}
			if err := dlg.Bye(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.stop(syscall.SIGTERM, 20*time.Second); err != nil {
			t.Fatalf("stop: %v\n%s", err, d.log())
		}
		if got := len(callIDs(t, dsn)); got != len(stored)+3 {
			t.Fatalf("after a SIGTERM drain: %d records, want %d", got, len(stored)+3)
		}
		if segs, _ := filepath.Glob(filepath.Join(journal, "*.calls")); len(segs) != 0 {
			t.Errorf("journal segments left after a clean stop: %v", segs)
		}
		if !strings.Contains(d.log(), "call records written") {
			t.Errorf("the drain did not say it wrote the records:\n%s", d.log())
		}
	})
}

// callIDs counts the records of each Call-ID in the store.
func callIDs(t *testing.T, dsn string) map[string]int {
	t.Helper()
	db, err := storage.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]int{}
	err = db.Read(context.Background(), func(tx *storage.Tx) error {
		recs, err := tx.List(context.Background(), "calls", storage.Query{})
		for _, r := range recs {
			out[r["call_id"].(string)]++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
