package main

import (
	"io"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

var memorySink [][]byte

// After a burst of garbage and a quiet spell, the free heap goes back to
// the OS without any allocation driving a GC.
func TestReturnIdleMemory(t *testing.T) {
	for range 256 {
		memorySink = append(memorySink, make([]byte, 1<<20))
	}
	memorySink = nil
	runtime.GC() // the burst is garbage now; the pages stay with the process
	read := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	before := read()
	ctx := t.Context()
	go returnIdleMemory(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), 50*time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for read() < before+128<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("released heap %d MiB, want at least %d MiB more than before", read()>>20, before>>20+128)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var memoryLive [][]byte

// A large live heap forced once (20,000 calls up), then freed with less
// new allocation than its GC goal (the calls end): no runtime GC comes, and
// the garbage still goes back at the next quiet check.
func TestReturnIdleMemoryAfterHeldCallsEnd(t *testing.T) {
	for range 160 {
		memoryLive = append(memoryLive, make([]byte, 1<<20))
	}
	runtime.GC()
	released := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	ctx := t.Context()
	go returnIdleMemory(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), 50*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // the first, forced collection of the live heap
	before := released()
	memoryLive = nil
	for range 24 { // the last calls' ending allocates a little
		memorySink = append(memorySink, make([]byte, 1<<20))
	}
	memorySink = nil
	deadline := time.Now().Add(10 * time.Second)
	for released() < before+128<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("released %d MiB since the calls ended, want at least 128", (int64(released())-int64(before))>>20)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
