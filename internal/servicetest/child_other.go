//go:build !linux

package servicetest

import (
	"errors"
	"os/exec"
	"syscall"
)

// startChild needs Linux's parent-death signal, without which a server
// started for the tests would outlive them.
func startChild(*exec.Cmd, syscall.Signal) error {
	return errors.New("starting a server for the tests needs Linux")
}
