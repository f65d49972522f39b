package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sipswitch/sipswitch/config"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/storage"
)

// callJournalDir is call_records_journal, or its default: beside a SQLite
// database; with PostgreSQL, in systemd's StateDirectory when it set one
// (the first, of a list), else in the working directory.
func callJournalDir(cfg config.Config) string {
	if cfg.CallRecordsJournal != "" {
		return cfg.CallRecordsJournal
	}
	if !storage.IsPostgresDSN(cfg.Database) {
		return cfg.Database + ".calls"
	}
	if state, _, _ := strings.Cut(os.Getenv("STATE_DIRECTORY"), ":"); state != "" {
		return filepath.Join(state, "calls")
	}
	return "sipswitch.calls"
}

// startCallRecords opens the call journal, starts the recorder on it and
// commits what an earlier process left in it.
func (d *daemon) startCallRecords(ctx context.Context) error {
	dir := callJournalDir(d.cfg)
	j, err := engine.OpenCallJournal(dir)
	if err != nil {
		return fmt.Errorf("call_records_journal: %w", err)
	}
	d.records = engine.NewCallRecorder(d.store, engine.WithRecordLogger(d.log), engine.WithRecordHost(d.host), engine.WithRecordJournal(j))
	n, err := d.records.Replay(ctx)
	switch {
	case err != nil:
		d.log.Error("call journal: records of an earlier run not yet committed; retrying", "journal", dir, "committed", n, "error", err)
	case n > 0:
		d.log.Warn("call journal: records of an earlier run committed (it did not stop cleanly)", "journal", dir, "records", n)
	default:
		d.log.Info("call journal", "journal", dir)
	}
	return nil
}
