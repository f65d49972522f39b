//go:build !unix

package procs

import "time"

// haveCPUTime: no portable CPU time of the process here; Run leaves the
// runtime's default.
const haveCPUTime = false

func processCPU() time.Duration { return 0 }
