package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/storage"
)

// The daemon trims the audit log to audit.retention_days at start: a row
// past it goes, a recent one and the daemon's own writes stay.
func TestServePrunesTheAuditLog(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	store, err := storage.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err = store.AppendState(context.Background(), "audit", []string{"time", "username", "customer", "function", "object"}, [][]any{
		{now.Add(-40 * 24 * time.Hour).Unix(), "admin", int64(1), "phones/create", "phones/old"},
		{now.Add(-20 * 24 * time.Hour).Unix(), "admin", int64(1), "phones/create", "phones/recent"},
	})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, "database: %s\naudit:\n  retention_days: 30\n", db), 0o600)
	d := startDaemon(t, "--config", cfg)
	d.waitLog("audit: deleted rows past audit.retention_days", 10*time.Second)
	d.create("plans/create/?" + adminAuth + ";name=Retail")
	list := d.get("/api/json/audit/list/?" + adminAuth)
	if strings.Contains(list, "phones/old") || !strings.Contains(list, "phones/recent") || !strings.Contains(list, `"function":"plans/create"`) {
		t.Fatalf("audit/list after the prune: %s", list)
	}
}
