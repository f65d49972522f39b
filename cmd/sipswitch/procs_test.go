package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runtime.procs 0 (the default) sizes Go's processors to the load: an idle
// daemon runs on one. A number fixes them, and a reload applies either.
func TestProcessorsFollowRuntimeProcs(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS in the environment overrides runtime.procs")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sipswitch.yaml")
	write := func(procs int) {
		t.Helper()
		if err := os.WriteFile(cfg, fmt.Appendf(nil, "database: %s\nruntime:\n  procs: %d\n", filepath.Join(dir, "s.db"), procs), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(0)
	d := startDaemon(t, "--config", cfg)
	procs := func(want int, what string) {
		t.Helper()
		line := fmt.Sprintf("sipswitch_runtime_procs %d\n", want)
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(d.get("/metrics"), line) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: want %q; metrics:\n%s", what, line, grepLines(d.get("/metrics"), "sipswitch_runtime_procs"))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	procs(1, "idle, sized to the load")
	write(3)
	d.cmd.Process.Signal(syscall.SIGHUP)
	procs(3, "reloaded with procs 3")
	write(0)
	d.cmd.Process.Signal(syscall.SIGHUP)
	procs(1, "reloaded with procs 0, idle")
	if m := d.get("/metrics"); !strings.Contains(m, "sipswitch_runtime_procs_changes_total") {
		t.Fatalf("no count of changes:\n%s", grepLines(m, "sipswitch_runtime"))
	}
}
