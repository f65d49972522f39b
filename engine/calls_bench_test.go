//go:build unix

package engine

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

// BenchmarkCommitCallRecords is the writer's cost of committing call
// records from the journal to the store (commitJournal: read the closed
// segment back, turn each record into a row, insert the batch, remove
// the segment), apart from the call path's Record and the journal's sync. An op is one record:
// the records go into the journal in segments of one batch (1,000, the
// default) with the timer stopped, and each segment's commit is timed, so
// ns/op and allocs/op are per record. cpu-ns/op is the process's CPU
// time (user and system, every goroutine: the driver's and the
// collector's too) per record, which a loaded machine's wall clock
// overstates.
func BenchmarkCommitCallRecords(b *testing.B) {
	const batch = 1000
	for _, backend := range storagetest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			ctx := context.Background()
			db, err := storage.Open(ctx, backend.DSN(b))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			j, err := OpenCallJournal(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			// The writer's own ticks never come within the benchmark.
			r := NewCallRecorder(db, WithRecordInterval(time.Hour, batch), WithRecordJournal(j))
			defer r.Close(ctx)
			rec := benchCallRecord()
			b.ReportAllocs()
			var cpu time.Duration
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(batch, b.N-done)
				b.StopTimer()
				for i := range n {
					rec.CallID = "bench-" + strconv.Itoa(done+i)
					if _, err := j.append(&rec); err != nil {
						b.Fatal(err)
					}
				}
				// The segment is closed (and synced: a disk's wait, not
				// the writer's CPU) outside the timing.
				if err := j.rotate(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				before := processCPU(b)
				got, err := r.commitJournal(ctx, false)
				cpu += processCPU(b) - before
				if err != nil || got != n {
					b.Fatalf("committed %d of %d: %v", got, n, err)
				}
				done += n
			}
			b.StopTimer()
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			if stored := countCalls(b, db); stored != b.N {
				b.Fatalf("%d records stored, want %d", stored, b.N)
			}
		})
	}
}

// benchCallRecord is an answered, relayed outbound call, as the SIP core
// reports most of them under load.
func benchCallRecord() CallRecord {
	return CallRecord{CallID: "bench", Start: 1_800_000_000, Answer: 1_800_000_001, End: 1_800_000_061, Direction: CallOutbound,
		Line: "2001", Customer: 1, Caller: "+442071234567", Called: "4420712345", CalledSent: "94420712345", Route: 7,
		PeersTried: "carrier-a", Peer: "carrier-a", Cause: 200, Hangup: "caller", Duration: 61, Billsec: 60, Cost: 0.012, CostRow: 3,
		Relayed: 1, CallerPackets: 3050, CallerLoss: 0.25, CallerJitter: 1.5, CallerMOS: 4.31,
		CalleePackets: 3048, CalleeLoss: 0.5, CalleeJitter: 2.25, CalleeMOS: 4.28, Host: "switch-1"}
}

// processCPU is the CPU time the process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
