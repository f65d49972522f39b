package main

import (
	"context"
	"time"

	"github.com/sipswitch/sipswitch/sip/media"
)

// recordingSweepEvery is how often recordings past their record group's
// retention are deleted.
const recordingSweepEvery = time.Hour

// sweepRecordings deletes, at start and every hour, the recordings older
// than their record group's retention (sip.Server.SweepRecordings).
func (d *daemon) sweepRecordings(ctx context.Context) {
	t := time.NewTicker(recordingSweepEvery)
	defer t.Stop()
	for {
		n, err := d.sip.SweepRecordings(time.Now())
		if err != nil && ctx.Err() == nil {
			d.log.Error("recordings: old files not all deleted", "error", err)
		}
		if n > 0 {
			d.log.Info("recordings: deleted files past their record group's retention", "files", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// loadMusic reads media.music_dir into the relay's hold music, at start
// and on reload, in the background: resampling a long class takes
// seconds, during which calls go on with the music they had (none at
// start). Loads run one at a time, the latest configuration last. A
// directory that cannot be read leaves the relay without music and says
// so.
func (d *daemon) loadMusic() {
	dir := d.cfg.Media.MusicDir
	go func() {
		d.musicMu.Lock()
		defer d.musicMu.Unlock()
		if dir == "" {
			d.relay.SetMusic(nil)
			return
		}
		start := time.Now()
		lib, problems, err := media.LoadMusic(dir)
		if err != nil {
			d.log.Error("media.music_dir: no hold music", "dir", dir, "error", err)
			d.relay.SetMusic(nil)
			return
		}
		for _, p := range problems {
			d.log.Warn("media.music_dir: file left out", "error", p)
		}
		d.relay.SetMusic(lib)
		d.log.Info("hold music loaded", "dir", dir, "classes", lib.Classes(), "took", time.Since(start).Round(time.Millisecond).String())
	}()
}
