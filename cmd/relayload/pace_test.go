//go:build linux

package main

import (
	"testing"
	"time"
)

// The pacer counts every interval that passed, also those its goroutine
// was too late to see one by one: a late sender sends every slot due.
func TestPacerCountsIntervals(t *testing.T) {
	const interval = 200 * time.Microsecond
	p, err := newPacer(interval)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	start := time.Now()
	var total uint64
	waits := 0
	for time.Since(start) < 100*time.Millisecond {
		n, err := p.wait()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("wait returned with no interval passed")
		}
		total += n
		waits++
	}
	elapsed := time.Since(start)
	want := uint64(elapsed / interval)
	if total+1 < want || total > want+1 {
		t.Fatalf("%d intervals counted in %v, want %d (+-1)", total, elapsed, want)
	}
	t.Logf("%d intervals in %d waits", total, waits)
}
