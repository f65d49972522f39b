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
	// The timer starts when the pacer is made, somewhere between start
	// and made: the intervals counted by the last wait are those between
	// then and its return (end), whatever the scheduler did in between.
	start := time.Now()
	p, err := newPacer(interval)
	if err != nil {
		t.Fatal(err)
	}
	made := time.Now()
	defer p.close()
	var total uint64
	waits := 0
	end := made
	for end.Sub(start) < 100*time.Millisecond {
		n, err := p.wait()
		end = time.Now()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("wait returned with no interval passed")
		}
		total += n
		waits++
	}
	most := uint64(end.Sub(start) / interval)
	least := uint64(end.Sub(made)/interval) - 1
	if total < least || total > most {
		t.Fatalf("%d intervals counted from between %v and %v before the last wait's return, want %d to %d", total, end.Sub(start), end.Sub(made), least, most)
	}
	t.Logf("%d intervals in %d waits", total, waits)
}
