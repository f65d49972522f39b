package sipload

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is the switch under load, read from outside: its /proc entries
// (PID) and its /metrics (Metrics, a URL). Linux only.
type Process struct {
	PID     int
	Metrics string
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// CPU is the process's user and system CPU time so far (/proc/PID/stat
// fields 14 and 15).
func (p Process) CPU() (user, system time.Duration, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected %q", p.PID, b)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected %q", p.PID, b)
	}
	return time.Duration(ut) * time.Second / clockTicks, time.Duration(st) * time.Second / clockTicks, nil
}

// RSS is the process's resident set (/proc/PID/status VmRSS), bytes.
func (p Process) RSS() (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", p.PID)
}

// ReadMetrics reads the named unlabelled metrics from /metrics;
// ErrNoMetric names the first missing.
func (p Process) ReadMetrics(ctx context.Context, names ...string) (map[string]float64, error) {
	body, err := p.get(ctx, p.Metrics)
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	out := make(map[string]float64, len(names))
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || !want[name] {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = v
		}
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return out, fmt.Errorf("%w: %s at %s", ErrNoMetric, n, p.Metrics)
		}
	}
	return out, nil
}

// CollectGarbage makes the switch run a garbage collection: GET
// /debug/pprof/heap?gc=1 beside /metrics (the switch's pprof: true).
func (p Process) CollectGarbage(ctx context.Context) error {
	u, err := url.Parse(p.Metrics)
	if err != nil {
		return err
	}
	u.Path, u.RawQuery = "/debug/pprof/heap", "gc=1"
	_, err = p.get(ctx, u.String())
	return err
}

func (p Process) get(ctx context.Context, u string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", u, res.Status)
	}
	return string(b), nil
}

// SelfCPU is this process's user+system CPU time so far.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// EstablishedTo counts the machine's established TCP connections (IPv4,
// /proc/net/tcp of this network namespace) whose far end is to: the
// clients' side of the connections to a listener.
func EstablishedTo(to netip.AddrPort) (int, error) {
	if !to.Addr().Is4() {
		return 0, fmt.Errorf("EstablishedTo %s: IPv4 only", to)
	}
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	// rem_address is the address in host (little-endian on every
	// architecture Linux runs Go on that we load-test) byte order, the
	// port in network order: 0100007F:3AFC.
	a := to.Addr().As4()
	want := strings.ToUpper(hex.EncodeToString([]byte{a[3], a[2], a[1], a[0]})) + ":" + fmt.Sprintf("%04X", to.Port())
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) > 3 && fl[2] == want && fl[3] == "01" {
			n++
		}
	}
	return n, sc.Err()
}
