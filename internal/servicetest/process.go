package servicetest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"time"
)

// freeTCPPort is a loopback port free at the time of asking.
func freeTCPPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// reap waits for a started child and reports its end.
func reap(cmd *exec.Cmd) <-chan error {
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return exited
}

// waitUntil polls ready until it succeeds, the child exits or ctx ends.
func waitUntil(ctx context.Context, exited <-chan error, ready func(context.Context) error) error {
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case e := <-exited:
			return fmt.Errorf("exited before answering: %v", e)
		case <-ctx.Done():
			return fmt.Errorf("did not answer in time: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
