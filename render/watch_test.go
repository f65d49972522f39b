package render_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/render"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

// A burst of 1,000 committed changes causes a handful of renders, the last
// of which shows the final state, and one reload per render that changed
// files.
func TestWatcherCoalescesBursts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := storage.Open(ctx, storagetest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := engine.NewService(db)
	if _, _, err := svc.Bootstrap(ctx, "watch-admin-pw"); err != nil {
		t.Fatal(err)
	}
	actor, err := svc.Authenticate(ctx, "admin", "watch-admin-pw")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var renders, reloads atomic.Int32
	var mu sync.Mutex
	var reloaded []string
	w := &render.Watcher{
		Dir:      dir,
		Snapshot: func(ctx context.Context) (*routing.Snapshot, error) { renders.Add(1); return svc.Snapshot(ctx) },
		Changed:  db.Changed,
		Reload: func(_ context.Context, changed []string) error {
			reloads.Add(1)
			mu.Lock()
			reloaded = changed
			mu.Unlock()
			return nil
		},
		Debounce: 50 * time.Millisecond,
		MaxDelay: 2 * time.Second,
	}
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	waitFor(t, func() bool { return renders.Load() >= 1 })

	kinds := svc.Kinds()
	for range 1000 {
		if _, err := svc.Create(ctx, actor, kinds["plans"], engine.Values{"name": "p"}, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Create(ctx, actor, kinds["peers"], engine.Values{"name": "last-peer", "type": "sip", "destination": "192.0.2.1"}, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "pjsip.conf"))
		return strings.Contains(string(b), "[last-peer]")
	})
	cancel()
	<-done
	// Without coalescing, 1,001; with it, one per quiet spell of
	// Debounce or per MaxDelay. A loaded machine pauses between commits
	// more often than an idle one (seen: 17-39 renders under load), so
	// the bound is ten-fold coalescing, not a count of quiet spells.
	if n := renders.Load(); n > 100 {
		t.Fatalf("1,001 changes caused %d renders, want them coalesced", n)
	}
	if reloads.Load() == 0 || reloads.Load() > renders.Load() {
		t.Fatalf("reloads %d for %d renders", reloads.Load(), renders.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reloaded) == 0 {
		t.Fatal("reload was not told which files changed")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
