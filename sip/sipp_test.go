package sip

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sippRun is one SIPp process running a scenario of testdata/sipp in a
// directory of its own (for its -trace_err and -trace_logs files).
type sippRun struct {
	t      *testing.T
	name   string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // the exit status, once exited is closed
}

// needSIPp skips the test without SIPp.
func needSIPp(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Skip("sipp not installed (Debian/Ubuntu: apt-get install sip-tester)")
	}
}

// freeUDPPort is a UDP port free now on host.
func freeUDPPort(t *testing.T, host string) int {
	t.Helper()
	c, err := net.ListenPacket("udp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startSIPp runs scenario (a file of testdata/sipp) from host:port
// against the switch at sw (nil: a UAS waiting for calls) for one call,
// with extra arguments.
func startSIPp(t *testing.T, name, scenario, host string, port int, sw net.Addr, extra ...string) *sippRun {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "testdata", "sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	r := &sippRun{t: t, name: name, dir: t.TempDir(), exited: make(chan struct{})}
	args := []string{"-sf", path, "-i", host, "-p", strconv.Itoa(port), "-mi", host, "-mp", strconv.Itoa(freeUDPPort(t, host)),
		"-m", "1", "-nostdin", "-trace_err", "-trace_logs", "-timeout", "30s", "-timeout_error"}
	args = append(args, extra...)
	if sw != nil {
		args = append(args, sw.String())
	}
	r.cmd = exec.Command("sipp", args...)
	r.cmd.Dir = r.dir
	out, err := os.Create(filepath.Join(r.dir, "sipp.out"))
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stdout, r.cmd.Stderr = out, out
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start sipp %s: %v", name, err)
	}
	go func() {
		r.err = r.cmd.Wait()
		out.Close()
		close(r.exited)
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.exited
	})
	return r
}

// wait waits for SIPp to exit and fails the test unless its one call
// succeeded (exit 0), showing its error trace.
func (r *sippRun) wait(within time.Duration) {
	r.t.Helper()
	select {
	case <-r.exited:
	case <-time.After(within):
		r.cmd.Process.Kill()
		<-r.exited
		r.t.Fatalf("sipp %s still running after %v:\n%s", r.name, within, r.files())
	}
	if r.err != nil {
		r.t.Fatalf("sipp %s: %v (its call failed)\n%s", r.name, r.err, r.files())
	}
}

// logs is what the scenario's <log> actions wrote.
func (r *sippRun) logs() string {
	files, _ := filepath.Glob(filepath.Join(r.dir, "*_logs.log"))
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		b.Write(data)
	}
	return b.String()
}

func (r *sippRun) files() string {
	var trace []string
	files, _ := filepath.Glob(filepath.Join(r.dir, "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		trace = append(trace, fmt.Sprintf("== %s\n%s", filepath.Base(f), b[max(0, len(b)-4000):]))
	}
	return strings.Join(trace, "\n")
}
