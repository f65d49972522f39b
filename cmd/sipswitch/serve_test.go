package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the sipswitch binary: with this variable set,
// TestMain runs main() instead of the tests, so daemon tests start the
// real program as a separate process with real signals.
const beDaemonEnv = "SIPSWITCH_TEST_BE_DAEMON"

// The daemons of the tests start with this admin password; adminAuth is
// the API's credentials parameters for it.
const (
	adminPassword = "daemon-admin-pw"
	adminAuth     = "auth_username=admin;auth_password=" + adminPassword
)

func TestMain(m *testing.M) {
	if os.Getenv(beDaemonEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

type daemonProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan error
	http   string
}

func freePort(t *testing.T, network string) int { return freePortOn(t, "127.0.0.1", network) }

// freePortOn is a port free on host (a loopback address) for network.
func freePortOn(t *testing.T, host, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", host+":0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startDaemon(t *testing.T, args ...string) *daemonProc {
	t.Helper()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	sipPort := freePort(t, "udp")
	return startDaemonWith(t, httpAddr, append([]string{"--http", httpAddr, "--sip", fmt.Sprintf("udp://127.0.0.1:%d", sipPort)}, args...)...)
}

// startDaemonWith runs `sipswitch serve args...` whose API listens on
// httpAddr.
func startDaemonWith(t *testing.T, httpAddr string, args ...string) *daemonProc {
	t.Helper()
	full := append([]string{"serve"}, args...)
	cmd := exec.Command(os.Args[0], full...)
	// STATE_DIRECTORY as systemd sets it: a daemon on PostgreSQL keeps
	// its call journal there, one of its own (call_records_journal).
	cmd.Env = append(os.Environ(), beDaemonEnv+"=1", "SIPSWITCH_ADMIN_PASSWORD="+adminPassword, "STATE_DIRECTORY="+t.TempDir())
	p := &daemonProc{t: t, cmd: cmd, done: make(chan error, 1), http: "http://" + httpAddr}
	pipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		// Kill is a no-op on a process that has exited (it answers
		// os.ErrProcessDone); ProcessState is the waiter's to read.
		cmd.Process.Kill()
	})
	p.waitLog("sipswitch ready", 20*time.Second)
	return p
}

func (p *daemonProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func (p *daemonProc) waitLog(substr string, within time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(p.log(), substr) {
		if time.Now().After(deadline) {
			p.t.Fatalf("daemon did not log %q within %s; log:\n%s", substr, within, p.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *daemonProc) get(path string) string {
	p.t.Helper()
	resp, err := http.Get(p.http + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// create runs API calls (query strings below /api/json/) that must all
// answer a 20x code.
func (p *daemonProc) create(queries ...string) {
	p.t.Helper()
	for _, q := range queries {
		if r := p.get("/api/json/" + q); !strings.Contains(r, `"code":"20`) {
			p.t.Fatalf("%s: %s", q, r)
		}
	}
}

func (p *daemonProc) stop(sig syscall.Signal, within time.Duration) error {
	p.t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		return err
	case <-time.After(within):
		p.t.Fatalf("daemon still running %s after %v; log:\n%s", within, sig, p.log())
		return nil
	}
}

func TestServeBadConfigExits2NamingKey(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(cfg, []byte("database: x.db\ncalls:\n  no_answer_timeout: soon\n"), 0o644)
	cmd := exec.Command(os.Args[0], "serve", "--config", cfg)
	cmd.Env = append(os.Environ(), beDaemonEnv+"=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit: %v; output %s", err, out)
	}
	if !strings.Contains(string(out), "bad.yaml:3") || !strings.Contains(string(out), "no_answer_timeout") {
		t.Fatalf("error does not name key and line: %s", out)
	}
}

// A SIP address already taken (another switch, an Asterisk) stops serve at
// once with exit 1 and the address named; it used to hang silently.
func TestServeSIPPortTakenExits1NamingAddress(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.LocalAddr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "serve", "--db", filepath.Join(t.TempDir(), "t.db"),
		"--http", fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp")), "--sip", "udp://"+addr)
	// STATE_DIRECTORY as systemd sets it: a daemon on PostgreSQL keeps
	// its call journal there, one of its own (call_records_journal).
	cmd.Env = append(os.Environ(), beDaemonEnv+"=1", "SIPSWITCH_ADMIN_PASSWORD="+adminPassword, "STATE_DIRECTORY="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("serve did not exit with its SIP address taken; output %s", out)
	}
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v; output %s", err, out)
	}
	if !strings.Contains(string(out), addr) || !strings.Contains(string(out), "address already in use") {
		t.Fatalf("error does not name the address: %s", out)
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

func TestServeAPIMetricsRenderReloadAndStop(t *testing.T) {
	dir := t.TempDir()
	renderDir := filepath.Join(dir, "asterisk")
	marker := filepath.Join(dir, "reloaded")
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, "database: %s\npprof: true\nrender:\n  dir: %s\n  reload_cmd: echo $SIPSWITCH_CHANGED >> %s\n  debounce: 20ms\n", filepath.Join(dir, "s.db"), renderDir, marker), 0o644)
	d := startDaemon(t, "--config", cfg)
	if got := d.get("/debug/pprof/cmdline"); !strings.Contains(got, "serve") {
		t.Fatalf("pprof: true but /debug/pprof/cmdline says %q", got)
	}

	if got := d.get("/healthz"); got != "ok\nstore sqlite ok\ncounters local\n" {
		t.Fatalf("healthz: %q", got)
	}
	auth := adminAuth
	if r := d.get("/api/json/peers/create/?" + auth + ";name=carrier-m;type=pjsip;destination=192.0.2.77"); !strings.Contains(r, `"code":"200"`) {
		t.Fatalf("peers/create: %s", r)
	}
	// The committed change is rendered and the reload command runs.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(renderDir, "pjsip.conf"))
		m, _ := os.ReadFile(marker)
		if strings.Contains(string(b), "[carrier-m]") && strings.Contains(string(m), "pjsip.conf") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("render/reload did not happen; log:\n%s", d.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	metrics := d.get("/metrics")
	if !strings.Contains(metrics, `sipswitch_api_requests_total{code="200",function="peers/create"} 1`) {
		t.Fatalf("metrics do not count the API call:\n%s", grepLines(metrics, "sipswitch_api"))
	}
	if !strings.Contains(metrics, "sipswitch_render_duration_seconds_count") {
		t.Fatal("metrics lack render durations")
	}

	// SIGHUP re-reads the file: a bad edit is refused and the daemon keeps
	// running; a good one is applied.
	os.WriteFile(cfg, []byte("calls:\n  t1: never\n"), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog("configuration rejected", 10*time.Second)
	os.WriteFile(cfg, fmt.Appendf(nil, "database: %s\nlog: {level: debug}\n", filepath.Join(dir, "s.db")), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog("reloaded configuration", 10*time.Second)
	if got := d.get("/healthz"); !strings.HasPrefix(got, "ok\n") {
		t.Fatalf("healthz after reload: %q", got)
	}
	if err := d.stop(syscall.SIGTERM, 20*time.Second); err != nil {
		t.Fatalf("SIGTERM exit: %v; log:\n%s", err, d.log())
	}
	if !strings.Contains(d.log(), "sipswitch stopped") {
		t.Fatalf("no clean stop logged:\n%s", d.log())
	}
	if strings.Contains(d.log(), adminPassword) {
		t.Fatal("the admin password appeared in the log")
	}
}

func grepLines(s, substr string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	unit, err := os.ReadFile("../../dist/sipswitch.service")
	if err != nil {
		t.Fatal(err)
	}
	// verify checks that ExecStart exists: point it at this binary.
	dir := t.TempDir()
	path := filepath.Join(dir, "sipswitch.service")
	os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/local/bin/sipswitch"), []byte(os.Args[0])), 0o644)
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	for line := range strings.SplitSeq(string(out), "\n") {
		// Outside a booted systemd, verify also complains about the host
		// (missing units it links against); only the unit's own lines count.
		if strings.Contains(line, "sipswitch.service") {
			t.Errorf("systemd-analyze: %s", line)
		}
	}
	_ = err
	for _, want := range []string{"Type=notify", "WatchdogSec=", "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "User=sipswitch"} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("unit lacks %s", want)
		}
	}
}

// The unit keeps what the daemon creates from other local users: UMask
// (the store and rendered files hold SIP passwords) and a private state
// directory. Read from the file, so it runs where systemd-analyze does
// not.
func TestSystemdUnitKeepsFilesPrivate(t *testing.T) {
	unit, err := os.ReadFile("../../dist/sipswitch.service")
	if err != nil {
		t.Fatal(err)
	}
	service := map[string]string{}
	section := ""
	for line := range strings.SplitSeq(string(unit), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = line
		case section == "[Service]":
			k, v, _ := strings.Cut(line, "=")
			service[k] = v
		}
	}
	for k, want := range map[string]string{"UMask": "0077", "StateDirectoryMode": "0700", "User": "sipswitch"} {
		if service[k] != want {
			t.Errorf("[Service] %s=%q, want %q", k, service[k], want)
		}
	}
}
