//go:build linux

// Command sipload is the load client of the TLS load test
// (scripts/loadtest-tls.sh, `make loadtest-tls`, `TRANSPORT=tls make
// loadtest`): phones registering with a running sipswitch over TLS, TCP
// or UDP, each over its own connection from its own loopback address,
// calling a carrier this process also runs, and the switch's CPU and
// memory read from outside. Package internal/sipload is the client, and
// says why it is not SIPp.
//
//	sipload -gencert DIR
//	    writes DIR/cert.pem and DIR/key.pem, a self-signed certificate
//	    for localhost and 127.0.0.1, for the switch's tls.cert_file
//	sipload -mode calls -switch tls://127.0.0.1:15061 -ca DIR/cert.pem \
//	        -carrier 127.0.0.2:5071 -rate 200 -duration 10s -switch-pid PID
//	    registers -phones phones (the switch's CPU per registration: a
//	    full TLS handshake each), places -rate calls a second for
//	    -duration (CPS, INVITE->200, the switch's CPU per call), then
//	    reconnects every phone (CPU per re-registration on a resumed TLS
//	    session); exits 1 when a registration or a call failed
//	sipload -mode idle -switch tls://127.0.0.1:15061 -ca DIR/cert.pem \
//	        -phones 10000 -hold 10s -switch-pid PID -metrics URL -gc
//	    registers the phones, holds them idle for -hold, and reports the
//	    switch's RSS, Go heap and goroutines per registration (per
//	    connection over TLS/TCP); -gc collects garbage in the switch
//	    (its pprof: true) before each reading
//
// The fleet is bounded: at most 60,000 phones, 1,000,000 calls, each call
// and registration within -timeout.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipswitch/sipswitch/internal/sipload"
)

type flags struct {
	mode, switchURI, ca, serverName, carrier, called, sources, metrics string
	phones, first, parallel, pid, maxInFlight, readBuffer              int
	rate                                                               float64
	duration, hold, timeout                                            time.Duration
	reconnect, gc                                                      bool
	curves                                                             string
}

func main() {
	var fl flags
	gencert := flag.String("gencert", "", "write a self-signed certificate and key for localhost/127.0.0.1 to this directory and exit")
	flag.StringVar(&fl.mode, "mode", "calls", "calls (register, calls, reconnect) or idle (register and hold)")
	flag.StringVar(&fl.switchURI, "switch", "tls://127.0.0.1:15061", "the switch's listener: udp://, tcp:// or tls://IP:port")
	flag.StringVar(&fl.ca, "ca", "", "PEM file of the roots the switch's certificate chains to (TLS)")
	flag.StringVar(&fl.serverName, "server-name", "", "name to verify the switch's certificate against (default: the address dialled)")
	flag.StringVar(&fl.carrier, "carrier", "127.0.0.2:5071", "calls: the address the called number routes to (this process answers there)")
	flag.StringVar(&fl.called, "called", "15000123456", "calls: the number called")
	flag.IntVar(&fl.phones, "phones", 1000, "phones (lines -first, -first+1...; password pw<name>)")
	flag.IntVar(&fl.first, "first", 2000000, "the first phone's line")
	flag.StringVar(&fl.sources, "sources", "127.1.0.1", "the first phone's source address (phone i: this plus i)")
	flag.IntVar(&fl.parallel, "parallel", 32, "registrations at once")
	flag.Float64Var(&fl.rate, "rate", 100, "calls: calls per second")
	flag.DurationVar(&fl.duration, "duration", 10*time.Second, "calls: time calls are placed for")
	flag.DurationVar(&fl.hold, "hold", time.Second, "calls: each call's length after the answer; idle: time the registrations are held")
	flag.IntVar(&fl.maxInFlight, "max-inflight", 0, "calls: calls up at once (0: rate * (hold + 10 s))")
	flag.DurationVar(&fl.timeout, "timeout", 30*time.Second, "bound of each registration and of each call's wait for its answer")
	flag.BoolVar(&fl.reconnect, "reconnect", true, "calls: reconnect and register every phone again after the calls (TLS: resumed sessions)")
	flag.IntVar(&fl.pid, "switch-pid", 0, "the switch's process id (CPU and RSS from /proc); 0: not measured")
	flag.StringVar(&fl.metrics, "metrics", "", "the switch's /metrics URL (heap, goroutines, registrations)")
	flag.BoolVar(&fl.gc, "gc", false, "idle: collect garbage in the switch before each memory reading (needs its pprof: true)")
	flag.StringVar(&fl.curves, "curves", "", "TLS: the key exchanges the phones offer, comma separated (x25519mlkem768, x25519, p256); default Go's")
	flag.IntVar(&fl.readBuffer, "read-buffer", 8192, "sipgo's read buffer per connection of this client, bytes (its default 32768 is 320 MB at 10,000 phones)")
	flag.Parse()
	if *gencert != "" {
		certFile, keyFile, err := sipload.WriteCertificate(*gencert)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sipload -gencert:", err)
			os.Exit(2)
		}
		fmt.Println(certFile, keyFile)
		return
	}
	if fl.readBuffer < 4096 || fl.readBuffer > 65535 {
		fmt.Fprintln(os.Stderr, "sipload: -read-buffer must be 4096..65535")
		os.Exit(2)
	}
	sip.TransportBufferReadSize = uint16(fl.readBuffer)
	// sipgo's package logger warns on every connection a phone closes
	// ("TCP ref went negative"): errors only.
	sip.SetDefaultLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch fl.mode {
	case "calls":
		err = runCalls(ctx, fl)
	case "idle":
		err = runIdle(ctx, fl)
	default:
		err = fmt.Errorf("%w: -mode must be calls or idle, got %q", sipload.ErrBadOption, fl.mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sipload:", err)
		if errors.Is(err, sipload.ErrBadOption) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var curveIDs = map[string]tls.CurveID{"x25519mlkem768": tls.X25519MLKEM768, "x25519": tls.X25519, "p256": tls.CurveP256}

// newFleet makes the fleet of the flags.
func newFleet(fl flags) (*sipload.Fleet, error) {
	src, err := netip.ParseAddr(fl.sources)
	if err != nil {
		return nil, fmt.Errorf("%w: -sources: %v", sipload.ErrBadOption, err)
	}
	opts := []sipload.Option{sipload.WithPhones(fl.phones), sipload.WithLines(fl.first, "pw"), sipload.WithSources(src),
		sipload.WithParallel(fl.parallel), sipload.WithTimeout(fl.timeout)}
	if strings.HasPrefix(fl.switchURI, "tls://") {
		cfg := &tls.Config{ServerName: fl.serverName}
		for c := range strings.SplitSeq(fl.curves, ",") {
			id, ok := curveIDs[strings.TrimSpace(c)]
			if c != "" && !ok {
				return nil, fmt.Errorf("%w: -curves: %q is not x25519mlkem768, x25519 or p256", sipload.ErrBadOption, c)
			}
			if ok {
				cfg.CurvePreferences = append(cfg.CurvePreferences, id)
			}
		}
		if fl.ca != "" {
			pem, err := os.ReadFile(fl.ca)
			if err != nil {
				return nil, fmt.Errorf("%w: -ca: %v", sipload.ErrBadOption, err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%w: -ca %s: no certificate", sipload.ErrBadOption, fl.ca)
			}
		}
		opts = append(opts, sipload.WithTLS(cfg))
	}
	return sipload.NewFleet(fl.switchURI, opts...)
}

// cpuMeter is the switch's CPU (when its pid is known) and this
// process's over a phase.
type cpuMeter struct {
	p          sipload.Process
	u, s, self time.Duration
}

func startCPU(p sipload.Process) *cpuMeter {
	m := &cpuMeter{p: p, self: sipload.SelfCPU()}
	if p.PID > 0 {
		m.u, m.s, _ = p.CPU()
	}
	return m
}

// per prints the switch's CPU over the phase per event, and the client's.
func (m *cpuMeter) per(label string, n int, what string) {
	self := sipload.SelfCPU() - m.self
	if n <= 0 {
		return
	}
	if m.p.PID <= 0 {
		fmt.Printf("%-22s (no -switch-pid); client %.0f us per %s\n", label+":", us(self)/float64(n), what)
		return
	}
	u, s, err := m.p.CPU()
	if err != nil {
		fmt.Printf("%-22s %v\n", label+":", err)
		return
	}
	du, ds := u-m.u, s-m.s
	fmt.Printf("%-22s %.2f s, %.0f us per %s (%.0f us in the kernel); client %.0f us per %s\n",
		label+":", (du + ds).Seconds(), us(du+ds)/float64(n), what, us(ds)/float64(n), us(self)/float64(n), what)
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// printRound prints a registration round.
func printRound(label string, fleet *sipload.Fleet, r sipload.PhaseResult) {
	fmt.Printf("%-22s %d ok, %d failed in %.2f s (%.0f/s)", label+":", r.OK, r.Failed, r.Elapsed.Seconds(), float64(r.OK+r.Failed)/r.Elapsed.Seconds())
	if fleet.Network() == "tls" {
		fmt.Printf("; TLS handshakes full %d resumed %d", r.Full, r.Resumed)
	}
	fmt.Println()
	fmt.Printf("%-22s %s\n", label+" time ms:", r.Register.Summary())
	if r.FirstError != nil {
		fmt.Printf("%-22s %v\n", label+" first error:", r.FirstError)
	}
}

func runCalls(ctx context.Context, fl flags) error {
	plan := sipload.CallPlan{Called: fl.called, Rate: fl.rate, Duration: fl.duration, Hold: fl.hold, MaxInFlight: fl.maxInFlight}
	fleet, err := newFleet(fl)
	if err != nil {
		return err
	}
	carrier, err := sipload.StartCarrier(fl.carrier, nil)
	if err != nil {
		return err
	}
	defer carrier.Close()
	defer fleet.Close()
	sw := sipload.Process{PID: fl.pid, Metrics: fl.metrics}
	fmt.Printf("== sipload calls: %s, %d phones from %s, %g calls/s for %s held %s, carrier %s\n",
		fl.switchURI, fleet.Phones(), fl.sources, fl.rate, fl.duration, fl.hold, carrier.Addr())

	m := startCPU(sw)
	reg := fleet.Register(ctx)
	printRound("register", fleet, reg)
	m.per("switch CPU register", reg.OK+reg.Failed, "registration")
	if reg.Failed > 0 {
		return fmt.Errorf("%d of %d registrations failed; first: %w", reg.Failed, fleet.Phones(), reg.FirstError)
	}

	m = startCPU(sw)
	res, err := fleet.Calls(ctx, plan)
	if err != nil {
		return err
	}
	fmt.Printf("%-22s %d\n%-22s %d\n%-22s %d %s\n", "calls attempted:", res.Attempted, "calls answered:", res.Answered, "calls failed:", res.Failed, res.FailureCauses())
	fmt.Printf("%-22s %.1f (target %g; %d calls in %.2f s)\n", "achieved CPS:", res.CPS(), fl.rate, res.Attempted, res.Generation.Seconds())
	fmt.Printf("%-22s %s\n", "INVITE->200 ms:", res.Invite.Summary())
	fmt.Printf("%-22s %s\n", "BYE->200 ms:", res.Bye.Summary())
	m.per("switch CPU calls", res.Attempted, "call")
	inv, ans, byes := carrier.Counts()
	fmt.Printf("%-22s %d INVITEs, %d answered, %d BYEs\n", "carrier:", inv, ans, byes)
	if res.FirstError != nil {
		fmt.Printf("%-22s %v\n", "first call error:", res.FirstError)
	}

	var rec sipload.PhaseResult
	if fl.reconnect && ctx.Err() == nil {
		m = startCPU(sw)
		rec = fleet.Reconnect(ctx)
		printRound("reconnect", fleet, rec)
		m.per("switch CPU reconnect", rec.OK+rec.Failed, "re-registration")
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case res.Failed > 0 || res.Answered != plan.Calls():
		return fmt.Errorf("%d of %d calls failed (%s); first: %w", res.Failed, plan.Calls(), res.FailureCauses(), res.FirstError)
	case rec.Failed > 0:
		return fmt.Errorf("%d of %d re-registrations failed; first: %w", rec.Failed, fleet.Phones(), rec.FirstError)
	}
	fmt.Println("sipload: OK")
	return nil
}

// memory is the switch's memory at one moment.
type memory struct {
	rss, heap, stack, goroutines, regs float64
}

// readMemory reads the switch's memory; with gc, after a garbage
// collection and once its RSS has settled (the runtime returns freed
// pages to the system in the background: up to 10 s, until two readings
// 500 ms apart differ by less than 256 KiB).
func readMemory(ctx context.Context, sw sipload.Process, gc bool) (memory, error) {
	var m memory
	if gc {
		if err := sw.CollectGarbage(ctx); err != nil {
			return m, fmt.Errorf("collect garbage in the switch (its pprof: true?): %w", err)
		}
	}
	if sw.PID > 0 {
		rss, err := sw.RSS()
		if err != nil {
			return m, err
		}
		for i := 0; gc && i < 20; i++ {
			t := time.NewTimer(500 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return m, ctx.Err()
			}
			next, err := sw.RSS()
			if err != nil {
				return m, err
			}
			settled := max(rss-next, next-rss) < 256<<10
			rss = next
			if settled {
				break
			}
		}
		m.rss = float64(rss)
	}
	if sw.Metrics != "" {
		v, err := sw.ReadMetrics(ctx, "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes", "go_goroutines", "sipswitch_sip_registrations")
		if err != nil {
			return m, err
		}
		m.heap, m.stack, m.goroutines, m.regs = v["go_memstats_heap_inuse_bytes"], v["go_memstats_stack_inuse_bytes"], v["go_goroutines"], v["sipswitch_sip_registrations"]
	}
	return m, nil
}

func (m memory) String() string {
	return fmt.Sprintf("RSS %.1f MiB, Go heap in use %.1f MiB, stacks %.1f MiB, goroutines %.0f, registrations %.0f",
		m.rss/(1<<20), m.heap/(1<<20), m.stack/(1<<20), m.goroutines, m.regs)
}

func runIdle(ctx context.Context, fl flags) error {
	if fl.hold <= 0 || fl.hold > 10*time.Minute {
		return fmt.Errorf("%w: -hold must be in (0, 10m] in idle mode", sipload.ErrBadOption)
	}
	fleet, err := newFleet(fl)
	if err != nil {
		return err
	}
	defer fleet.Close()
	sw := sipload.Process{PID: fl.pid, Metrics: fl.metrics}
	fmt.Printf("== sipload idle: %s, %d phones from %s, held %s\n", fl.switchURI, fleet.Phones(), fl.sources, fl.hold)
	before, err := readMemory(ctx, sw, fl.gc)
	if err != nil {
		return err
	}
	m := startCPU(sw)
	reg := fleet.Register(ctx)
	printRound("register", fleet, reg)
	m.per("switch CPU register", reg.OK+reg.Failed, "registration")
	if reg.Failed > 0 {
		return fmt.Errorf("%d of %d registrations failed; first: %w", reg.Failed, fleet.Phones(), reg.FirstError)
	}
	t := time.NewTimer(fl.hold)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	}
	after, err := readMemory(ctx, sw, fl.gc)
	if err != nil {
		return err
	}
	held, closed := "registrations held", 0
	if fleet.Network() != "udp" {
		_, addr, _ := strings.Cut(fl.switchURI, "://")
		n, err := sipload.EstablishedTo(netip.MustParseAddrPort(addr))
		if err != nil {
			return err
		}
		held = fmt.Sprintf("%d connections established", n)
		closed = fleet.Phones() - n
	}
	fmt.Printf("%-22s %s after %s; switch registrations %.0f\n", "held:", held, fl.hold, after.regs)
	fmt.Printf("%-22s %s\n%-22s %s\n", "switch before:", before, "switch after:", after)
	n := float64(fleet.Phones())
	fmt.Printf("%-22s RSS %.1f KiB, Go heap in use %.1f KiB, stacks %.1f KiB, goroutines %.2f\n", "per registration:",
		(after.rss-before.rss)/n/1024, (after.heap-before.heap)/n/1024, (after.stack-before.stack)/n/1024, (after.goroutines-before.goroutines)/n)
	if closed > 0 {
		return fmt.Errorf("%d of %d connections were closed while idle", closed, fleet.Phones())
	}
	if sw.Metrics != "" && int(after.regs-before.regs) != fleet.Phones() {
		return fmt.Errorf("the switch holds %.0f registrations more than before, want %d", after.regs-before.regs, fleet.Phones())
	}
	fmt.Println("sipload: OK")
	return nil
}
