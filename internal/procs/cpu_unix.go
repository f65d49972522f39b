//go:build unix

package procs

import (
	"syscall"
	"time"
)

// haveCPUTime: getrusage(2) gives the process's CPU time.
const haveCPUTime = true

// processCPU is the CPU time of every thread of the process so far, user
// and system (getrusage(2), RUSAGE_SELF).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
