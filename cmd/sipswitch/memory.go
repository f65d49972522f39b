package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Memory given back to the OS after a burst of calls. Go's scavenger only
// returns memory above the heap goal of the last GC, and an idle switch
// allocates too little to run a GC: after a peak of 20,000 calls the heap
// falls to a few MiB while the process keeps its peak RSS for minutes,
// which looks like a leak to anyone watching the host.
const (
	memoryCheckEvery = 30 * time.Second
	// memoryFreeMin is the idle, unreleased heap worth a forced return.
	memoryFreeMin = 64 << 20
	// memoryReforceMin is the allocation since the last forced return that
	// makes another one worth it without a runtime GC in between: the last
	// calls of a burst ending after a forced return leave about that much.
	memoryReforceMin = 16 << 20
)

// returnIdleMemory forces a GC and returns free heap pages to the OS once
// per quiet stretch: when no GC ran during the last interval (the
// switch allocates little, so calls have ebbed) and the heap holds more
// than memoryFreeMin. Forcing again waits until memoryReforceMin more has
// been allocated (or the runtime ran a GC of its own), so a large but idle
// heap (many established calls) is not collected over and over, while the
// garbage of those calls ending (their BYEs allocate, but less than the
// large heap's GC goal) is returned at the next quiet check rather than
// at the runtime's 2-minute forced GC.
func returnIdleMemory(ctx context.Context, log *slog.Logger, every time.Duration) {
	samples := []metrics.Sample{
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/memory/classes/heap/free:bytes"},    // free, not yet returned
		{Name: "/memory/classes/heap/objects:bytes"}, // live and not yet swept
		{Name: "/gc/heap/allocs:bytes"},              // allocated since start
	}
	metrics.Read(samples)
	lastCycles, forcedAt, allocsAtForce := samples[0].Value.Uint64(), uint64(0), uint64(0)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(samples)
		cycles, heap := samples[0].Value.Uint64(), samples[1].Value.Uint64()+samples[2].Value.Uint64()
		quiet := cycles == lastCycles
		lastCycles = cycles
		allocatedSince := samples[3].Value.Uint64() - allocsAtForce
		if !quiet || heap < memoryFreeMin || (cycles == forcedAt && allocatedSince < memoryReforceMin) {
			continue
		}
		start := time.Now()
		debug.FreeOSMemory()
		metrics.Read(samples)
		lastCycles, forcedAt, allocsAtForce = samples[0].Value.Uint64(), samples[0].Value.Uint64(), samples[3].Value.Uint64()
		log.Debug("idle heap returned to the OS", "heap_bytes_before", heap,
			"heap_bytes_after", samples[1].Value.Uint64()+samples[2].Value.Uint64(), "took", time.Since(start).String())
	}
}
