package servicetest

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// starter starts children from one OS thread that never ends: Linux sends
// a child its parent-death signal when the thread that started it ends,
// so a child started from this thread is signalled when the process ends,
// whether its tests pass, fail, panic or are killed.
var starter struct {
	once sync.Once
	reqs chan startRequest
}

type startRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// startChild starts cmd, which the kernel sends sig when this process
// ends.
func startChild(cmd *exec.Cmd, sig syscall.Signal) error {
	starter.once.Do(func() {
		starter.reqs = make(chan startRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for r := range starter.reqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = sig
	done := make(chan error)
	starter.reqs <- startRequest{cmd: cmd, done: done}
	return <-done
}
