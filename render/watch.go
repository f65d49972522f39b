package render

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sipswitch/sipswitch/routing"
)

// Watcher re-renders a directory when the store changes. Changes are
// coalesced: after a change it waits for Debounce of quiet (at most
// MaxDelay in all), renders the latest snapshot once, and runs Reload only
// when a file's bytes changed. A burst of a thousand API calls therefore
// costs a handful of renders, not a thousand.
type Watcher struct {
	Dir     string
	Options []Option
	// WriteOptions are given to WriteFiles (WithGroup).
	WriteOptions []WriteOption
	Snapshot     func(ctx context.Context) (*routing.Snapshot, error)
	// Costs, when set, gives the cost rows least-cost routes are rendered
	// from (WithCosts); read after every snapshot whose revision changed.
	Costs func(ctx context.Context) ([]routing.PeerCost, error)
	// Changed returns a channel closed at the next store change.
	Changed func() <-chan struct{}
	// Reload runs after files changed (e.g. asterisk -rx "core reload").
	Reload   func(ctx context.Context, changed []string) error
	Debounce time.Duration
	MaxDelay time.Duration
	Log      *slog.Logger
	// Observe, when set, is told how long each render took.
	Observe func(took time.Duration, err error)
	// Skipped, when set, is told after each render which objects it left
	// out (none: an empty list), for metrics and health checks.
	Skipped func([]Skipped)

	lastRevision int64
	rendered     bool
}

// Run renders once at start, then after every burst of changes, until ctx
// ends.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Log == nil {
		w.Log = slog.Default()
	}
	if w.MaxDelay == 0 {
		w.MaxDelay = 10 * w.Debounce
		if w.MaxDelay == 0 {
			w.MaxDelay = time.Second
		}
	}
	changed := w.Changed()
	w.renderNow(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
		changed = w.settle(ctx)
		if ctx.Err() != nil {
			return nil
		}
		w.renderNow(ctx)
	}
}

// settle waits until changes stop for Debounce, or MaxDelay passed, and
// returns the channel for the change after that.
func (w *Watcher) settle(ctx context.Context) <-chan struct{} {
	deadline := time.NewTimer(w.MaxDelay)
	defer deadline.Stop()
	for {
		next := w.Changed()
		quiet := time.NewTimer(w.Debounce)
		select {
		case <-ctx.Done():
			quiet.Stop()
			return next
		case <-deadline.C:
			quiet.Stop()
			return w.Changed()
		case <-quiet.C:
			return next
		case <-next:
			quiet.Stop()
		}
	}
}

// renderNow renders the current snapshot; a failure is logged and the
// last good files stay in place.
func (w *Watcher) renderNow(ctx context.Context) {
	start := time.Now()
	changed, rev, err := w.renderOnce(ctx)
	if w.Observe != nil {
		w.Observe(time.Since(start), err)
	}
	if err != nil {
		w.Log.Error("render failed; last good configuration kept", "dir", w.Dir, "error", err)
		return
	}
	if len(changed) == 0 {
		w.Log.Debug("render: no change", "revision", rev)
		return
	}
	w.Log.Info("rendered Asterisk configuration", "dir", w.Dir, "revision", rev, "files", changed, "took", time.Since(start))
	if w.Reload == nil {
		return
	}
	if err := w.Reload(ctx, changed); err != nil {
		w.Log.Error("reload command failed", "error", err)
	}
}

func (w *Watcher) renderOnce(ctx context.Context) ([]string, int64, error) {
	snap, err := w.Snapshot(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("snapshot: %w", err)
	}
	if w.rendered && snap.Revision == w.lastRevision {
		return nil, snap.Revision, nil
	}
	opts := w.Options
	if w.Costs != nil {
		costs, err := w.Costs(ctx)
		if err != nil {
			return nil, snap.Revision, fmt.Errorf("peer costs: %w", err)
		}
		opts = append(opts[:len(opts):len(opts)], WithCosts(costs))
	}
	files, err := Render(snap, opts...)
	partial := AsPartial(err)
	if err != nil && partial == nil {
		return nil, snap.Revision, err
	}
	// Objects Asterisk cannot take are left out, named, and everything
	// else is written: one bad object never holds back the rest.
	var skipped []Skipped
	if partial != nil {
		skipped = partial.Skipped
		for _, sk := range skipped {
			w.Log.Error("render left an object out; everything else is written", "object", sk.Object, "revision", snap.Revision, "error", sk.Err)
		}
	}
	if w.Skipped != nil {
		w.Skipped(skipped)
	}
	changed, err := WriteFiles(w.Dir, files, w.WriteOptions...)
	if err != nil {
		return nil, snap.Revision, err
	}
	w.lastRevision, w.rendered = snap.Revision, true
	return changed, snap.Revision, nil
}
