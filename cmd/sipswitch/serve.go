package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"github.com/redis/go-redis/v9"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/capture"
	"github.com/sipswitch/sipswitch/certs"
	"github.com/sipswitch/sipswitch/cluster"
	"github.com/sipswitch/sipswitch/config"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/metrics"
	"github.com/sipswitch/sipswitch/render"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip"
	"github.com/sipswitch/sipswitch/sip/media"
	"github.com/sipswitch/sipswitch/storage"
)

// listFlag collects a repeatable flag (--sip udp://... --sip tcp://...).
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// serveFlags are the flags of serve; a set flag overrides the file.
type serveFlags struct {
	configPath string
	db, http   string
	sip        listFlag
	renderDir  string
	reloadCmd  string
	set        map[string]bool
}

func parseServeFlags(args []string, stderr io.Writer) (*serveFlags, error) {
	fs := newFlags("serve", stderr)
	f := &serveFlags{}
	fs.StringVar(&f.configPath, "config", "", "configuration file (YAML); flags override it")
	fs.StringVar(&f.db, "db", "", "database: a SQLite file (default ./sipswitch.db) or a postgres:// URL (several hosts on one store)")
	fs.StringVar(&f.http, "http", "", "admin API listen address (default 127.0.0.1:8080)")
	fs.Var(&f.sip, "sip", "SIP listen URI, repeatable (default udp://127.0.0.1:5060 and tcp://127.0.0.1:5060)")
	fs.StringVar(&f.renderDir, "render-dir", "", "render Asterisk configuration into this directory on every change")
	fs.StringVar(&f.reloadCmd, "reload-cmd", "", "command run after rendered files changed")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	return f, nil
}

// loadConfig reads the file (if any) and lays the flags over it.
func (f *serveFlags) loadConfig() (config.Config, error) {
	cfg := config.Default()
	if f.configPath != "" {
		var err error
		if cfg, err = config.LoadFile(f.configPath); err != nil {
			return cfg, err
		}
	}
	if f.set["db"] {
		cfg.Database = f.db
	}
	if f.set["http"] {
		cfg.HTTP = f.http
	}
	if f.set["sip"] {
		cfg.SIP = f.sip
	}
	if f.set["render-dir"] {
		cfg.Render.Dir = f.renderDir
	}
	if f.set["reload-cmd"] {
		cfg.Render.ReloadCmd = f.reloadCmd
	}
	return cfg, cfg.Validate("flags", nil)
}

func newLogger(cfg config.LogConfig, w io.Writer, level *slog.LevelVar) *slog.Logger {
	l, _ := cfg.SlogLevel()
	level.Set(l)
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.Format
	if format == "auto" {
		// systemd sets JOURNAL_STREAM for a unit's stdout/stderr: the
		// journal and its shippers read JSON better than aligned text.
		format = "text"
		if os.Getenv("JOURNAL_STREAM") != "" {
			format = "json"
		}
	}
	if format == "json" {
		opts.ReplaceAttr = durationAsText
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// durationAsText writes a duration as the text handler and the
// configuration file do ("1.5s", "230ms"): slog's JSON handler would
// write a bare count of nanoseconds, which reads as a plain number to
// whoever queries the journal.
func durationAsText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags, err := parseServeFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg, err := flags.loadConfig()
	if err != nil {
		// A bad configuration is a usage error: exit 2 before anything
		// starts, naming the key.
		fmt.Fprintf(stderr, "sipswitch serve: %v\n", err)
		return errUsage
	}
	level := new(slog.LevelVar)
	log := newLogger(cfg.Log, stderr, level)
	d := &daemon{cfg: cfg, flags: flags, log: log, level: level, metrics: metrics.New()}
	return d.run(ctx)
}

// daemon is a running `sipswitch serve`.
type daemon struct {
	cfg     config.Config
	flags   *serveFlags
	log     *slog.Logger
	level   *slog.LevelVar
	metrics *metrics.Metrics

	store   *storage.DB
	svc     *engine.Service
	calls   *routing.CallControl
	sip     *sip.Server
	relay   *media.Engine        // the SIP core's RTP relay
	records *engine.CallRecorder // nil: call_records off
	hep     *capture.Sender      // nil: capture off
	live    *liveState           // the API's view of the SIP core (live.go)
	// httpCert is the http listener's certificate; nil: plain HTTP.
	httpCert *certs.Certificate
	// sipCert is the SIP core's certificate (tls:// listeners, and shown
	// to TLS peers that ask); nil: none configured.
	sipCert *certs.Certificate

	host   string          // cluster.host
	limits *cluster.Limits // nil: limits count this host's calls alone
	redis  *redis.Client

	renderMu     sync.Mutex
	renderCancel context.CancelFunc
	renderDone   chan struct{}
	routingMu    sync.Mutex // serializes rebuildRouting
	// renderSkipped are the objects the last render left out (/healthz).
	renderSkipped atomic.Pointer[[]render.Skipped]
	// auditDays is audit.retention_days, read by pruneAudit.
	auditDays atomic.Int64
	// musicMu serializes hold music loads (recordings.go).
	musicMu sync.Mutex
	// procs keeps GOMAXPROCS (runtime.procs, procs.go).
	procs procsControl
}

// maxHTTPHeaderBytes bounds an HTTP request's line and headers: what a
// client makes the daemon hold before it authenticates.
const maxHTTPHeaderBytes = 64 << 10

func (d *daemon) run(ctx context.Context) error {
	applyRuntime(d.cfg.Runtime, d.log)
	d.procs.apply(d.cfg.Runtime)
	defer d.procs.stop()
	if err := d.procs.register(d.metrics.Registry); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	// sipgo's timers belong to the process: set once, before any SIP user
	// agent exists.
	c := d.cfg.Calls
	if err := sip.SetTransactionTimers(sip.TransactionTimers{T1: c.T1, T2: c.T2, T4: c.T4, Linger: c.TransactionLinger}); err != nil {
		return fmt.Errorf("calls timers: %w", err)
	}
	// Every address is bound, or found unusable, before the store is
	// touched: a port that is taken or not this user's must not leave
	// behind a fresh store whose admin password went by on the terminal.
	if err := d.loadHTTPCertificate(); err != nil {
		return err
	}
	httpLn, err := net.Listen("tcp", d.cfg.HTTP)
	if err != nil {
		return fmt.Errorf("http: listen %s: %w", d.cfg.HTTP, err)
	}
	defer httpLn.Close() // after Shutdown, a no-op
	var metricsLn net.Listener
	if d.cfg.Metrics != "" {
		if metricsLn, err = net.Listen("tcp", d.cfg.Metrics); err != nil {
			return fmt.Errorf("metrics: listen %s: %w", d.cfg.Metrics, err)
		}
		defer metricsLn.Close()
	}
	if err := probeSIPListeners(d.cfg.SIP); err != nil {
		return err
	}
	store, svc, err := openService(ctx, d.cfg.Database, storage.WithLogger(d.log))
	if err != nil {
		return err
	}
	defer store.Close()
	d.store, d.svc = store, svc
	d.host = d.cfg.Cluster.HostName()
	// Shared limits outlive ctx: the slots of calls still draining are
	// renewed until the daemon returns.
	defer d.stopSharedLimits()
	clusterCtx, stopCluster := context.WithCancel(context.Background())
	defer stopCluster()

	if d.hep, err = d.startCapture(); err != nil {
		return err
	}
	if d.hep != nil {
		// After the SIP core has stopped (deferred calls run last first).
		defer d.hep.Close()
	}
	if err := d.startSIP(clusterCtx); err != nil {
		return err
	}
	if err := d.registerClusterMetrics(); err != nil {
		return err
	}
	// The relay outlives the SIP core: calls draining still carry media.
	defer d.relay.Close()
	sipCtx, stopSIP := context.WithCancel(context.Background())
	sipDone := make(chan error, 1)
	go func() { sipDone <- d.sip.Serve(sipCtx) }()
	select {
	case <-d.sip.Ready():
	case err := <-sipDone:
		// Serve has returned (a listen address taken, say): nothing is left
		// to wait for.
		stopSIP()
		return fmt.Errorf("sip: %w", err)
	case <-time.After(10 * time.Second):
		stopSIP()
		d.sip.Close()
		return errors.New("sip: listeners not bound within 10s")
	}
	defer func() { stopSIP(); <-sipDone }()
	go d.followStore(ctx)

	mux := http.NewServeMux()
	apiJSON := api.NewHandler(svc, api.WithLogger(d.log), api.WithObserver(d.metrics.ObserveAPI),
		api.WithRoutingState(d.currentRouting), api.WithAdmissions(d.calls), api.WithLiveState(d.live),
		api.WithRecordings(d.cfg.Media.RecordingsDir))
	mux.Handle("/api/json/", apiJSON)
	mux.Handle(api.EventsPath, api.NewEventsHandler(svc, d.live, api.WithEventLogger(d.log)))
	if err := d.mountConsole(ctx, mux, svc, apiJSON); err != nil {
		return err
	}
	openapi, err := api.NewOpenAPIHandler(svc, version)
	if err != nil {
		return err
	}
	mux.Handle(api.OpenAPIPath, openapi)
	gateway := api.NewGatewayHandler(svc, api.WithGatewayLogger(d.log))
	mux.Handle(api.GatewayLoginPath, gateway)
	mux.Handle(api.GatewayJSONPath, gateway)
	mux.HandleFunc("/healthz", d.serveHealth)
	var servers []*http.Server
	if d.cfg.Metrics == "" {
		mux.Handle("/metrics", d.metrics.Handler())
		d.mountPprof(mux)
	} else {
		mm := http.NewServeMux()
		mm.Handle("/metrics", d.metrics.Handler())
		d.mountPprof(mm)
		servers = append(servers, d.serveHTTP(metricsLn, mm, nil))
	}
	var apiHandler http.Handler = mux
	if d.httpCert != nil {
		apiHandler = withHSTS(mux, d.cfg.TLS.HSTS)
	}
	servers = append(servers, d.serveHTTP(httpLn, apiHandler, d.httpCert))

	d.startRender(ctx)
	d.auditDays.Store(int64(d.cfg.Audit.RetentionDays))
	go d.pruneAudit(ctx)
	go d.sweepRecordings(ctx)
	go d.pollExternalWrites(ctx)
	go returnIdleMemory(ctx, d.log, memoryCheckEvery)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	sddaemon.SdNotify(false, sddaemon.SdNotifyReady)
	d.log.Info("sipswitch ready", "http", d.cfg.HTTP, "https", d.httpCert != nil, "sip", d.cfg.SIP, "db", storage.RedactDSN(d.cfg.Database), "render_dir", d.cfg.Render.Dir, "version", versionString(), "host", d.host, "shared_limits", d.limits != nil)
	watchdog := d.watchdog()

	for {
		select {
		case <-hup:
			d.reload(ctx)
			continue
		case <-watchdog:
			sddaemon.SdNotify(false, sddaemon.SdNotifyWatchdog)
			continue
		case <-ctx.Done():
		}
		break
	}
	sddaemon.SdNotify(false, sddaemon.SdNotifyStopping)
	d.metrics.ShuttingDown.Set(1)
	d.log.Info("sipswitch stopping: new calls get 503, waiting for calls in progress", "drain_timeout", d.cfg.Calls.DrainTimeout, "active_calls", d.sip.Stats().ActiveCalls)
	drainCtx, cancelDrain := context.WithTimeout(context.Background(), d.cfg.Calls.DrainTimeout)
	if err := d.sip.Drain(drainCtx); err != nil {
		d.log.Warn("drain timed out; ending remaining calls", "error", err)
	} else {
		d.log.Info("all calls ended")
	}
	cancelDrain()
	if d.records != nil {
		// Every call that ended has handed over its record: write them all
		// before the store closes.
		recCtx, cancelRec := context.WithTimeout(context.Background(), 30*time.Second)
		if err := d.records.Close(recCtx); err != nil {
			d.log.Error("call records not all written", "error", err)
		}
		cancelRec()
		d.log.Info("call records written", "records", d.records.Written(), "dropped", d.records.Dropped())
	}
	d.stopRender()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("http shutdown", "error", err)
		}
	}
	d.log.Info("sipswitch stopped")
	return nil
}

// probeSIPListeners binds and releases each SIP listen address, so that
// one that is taken or not this user's to bind stops the daemon before it
// opens the store; the SIP core binds them for good once the routing
// state is read from the store.
func probeSIPListeners(uris []string) error {
	for _, u := range uris {
		network, addr, err := sip.ParseListenURI(u)
		if err != nil {
			return fmt.Errorf("sip: %w", err)
		}
		var c io.Closer
		if network == "udp" {
			c, err = net.ListenPacket("udp", addr)
		} else {
			c, err = net.Listen("tcp", addr)
		}
		if err != nil {
			return fmt.Errorf("sip: listen %s: %w", u, err)
		}
		c.Close()
	}
	return nil
}

// serveHTTP serves h on ln until Shutdown, over TLS with cert when it is
// not nil (HTTP/2 and HTTP/1.1 by ALPN).
func (d *daemon) serveHTTP(ln net.Listener, h http.Handler, cert *certs.Certificate) *http.Server {
	addr := ln.Addr().String()
	// MaxHeaderBytes: what a connection may make the daemon hold before
	// it authenticates; 64 KiB takes the longest legitimate Enswitch GET
	// (every phones/create parameter, 41 kB) and not Go's 1 MiB default.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second,
		MaxHeaderBytes: maxHTTPHeaderBytes,
		ErrorLog:       slog.NewLogLogger(d.log.Handler(), slog.LevelWarn)}
	if cert != nil {
		srv.TLSConfig = certs.ServerConfig(cert, certs.WithNextProtos("h2", "http/1.1"))
	}
	go func() {
		serve := srv.Serve
		if cert != nil {
			serve = func(ln net.Listener) error { return srv.ServeTLS(ln, "", "") }
		}
		if err := serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("http server", "addr", addr, "error", err)
		}
	}()
	return srv
}

// watchdog ticks at half the interval systemd expects pings at; nil (never
// ticks) when no watchdog is configured.
func (d *daemon) watchdog() <-chan time.Time {
	interval, err := sddaemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return nil
	}
	return time.NewTicker(interval / 2).C
}

// pollExternalWrites notices commits by other processes (`sipswitch costs
// import` beside the daemon) by polling the store revision.
func (d *daemon) pollExternalWrites(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if rev, err := d.store.PollRevision(ctx); err == nil {
				d.metrics.StoreRevision.Set(float64(rev))
			}
		}
	}
}

// reload re-reads the configuration file on SIGHUP. Settings that can
// change live (log level and format, rendering, call admission limits,
// drain time) take effect; listeners and the database keep running, so
// calls and registrations are not touched.
func (d *daemon) reload(ctx context.Context) {
	sddaemon.SdNotify(false, sddaemon.SdNotifyReloading)
	defer sddaemon.SdNotify(false, sddaemon.SdNotifyReady)
	cfg, err := d.flags.loadConfig()
	if err != nil {
		d.metrics.ConfigReloads.WithLabelValues("error").Inc()
		d.log.Error("reload: configuration rejected; keeping the running one", "error", err)
		return
	}
	// The config's reload:"live" tags say what a reload applies; the rest
	// (listeners, the store, SIP timers and bounds) is fixed at start.
	if keys := config.RestartOnlyChanges(d.cfg, cfg); len(keys) > 0 {
		d.log.Warn("reload: these settings change only on restart; the running values stay", "keys", strings.Join(keys, ","))
	}
	d.reloadCertificates()
	d.stopRender()
	config.ApplyLive(&d.cfg, cfg)
	d.auditDays.Store(int64(d.cfg.Audit.RetentionDays))
	applyRuntime(d.cfg.Runtime, d.log)
	d.procs.apply(d.cfg.Runtime)
	if l, err := d.cfg.Log.SlogLevel(); err == nil {
		d.level.Set(l)
	}
	d.sip.SetCallAdmission(d.cfg.Calls.MaxCalls, d.cfg.Calls.MaxCPS)
	if mode, err := media.ParseMode(d.cfg.Media.Relay); err == nil {
		d.sip.SetMediaRelay(mode)
	}
	d.loadMusic()
	d.startRender(ctx)
	if _, err := d.store.PollRevision(ctx); err != nil {
		d.log.Error("reload: re-reading the store", "error", err)
	}
	if err := d.rebuildRouting(ctx); err != nil {
		d.log.Error("reload: routing rebuild failed; keeping the running table", "error", err)
	}
	d.metrics.ConfigReloads.WithLabelValues("ok").Inc()
	d.log.Info("reloaded configuration", "config", d.flags.configPath)
}

func (d *daemon) startRender(ctx context.Context) {
	// sip_endpoint.save warns about the options this driver ignores.
	d.svc.SetEndpointDriver(d.cfg.Render.PhoneDriver)
	if d.cfg.Render.Dir == "" {
		return
	}
	driver := render.DriverPJSIP
	if d.cfg.Render.PhoneDriver == "sip" {
		driver = render.DriverChanSIP
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	w := &render.Watcher{
		// WriteFiles creates the directory (0700, 0750 with the group).
		Dir: d.cfg.Render.Dir,
		Options: []render.Option{render.WithSIPDriver(driver), render.WithTLSCertificate(d.cfg.Render.TLSCert, d.cfg.Render.TLSKey),
			render.WithMedia(mediaPolicy(d.cfg.Media)), render.WithRealm(d.cfg.Render.Realm)},
		WriteOptions: writeOptions(d.cfg.Render.Group),
		Snapshot:     d.svc.Snapshot,
		Costs:        d.svc.PeerCosts,
		Changed:      d.store.Changed,
		Debounce:     d.cfg.Render.Debounce,
		Log:          d.log,
		Observe:      d.metrics.ObserveRender,
		Skipped: func(sk []render.Skipped) {
			d.metrics.RenderSkipped.Set(float64(len(sk)))
			d.renderSkipped.Store(&sk)
		},
	}
	if cmd := d.cfg.Render.ReloadCmd; cmd != "" {
		w.Reload = func(ctx context.Context, changed []string) error { return d.runReloadCmd(ctx, cmd, changed) }
	}
	go func() { defer close(done); w.Run(rctx) }()
	d.renderMu.Lock()
	d.renderCancel, d.renderDone = cancel, done
	d.renderMu.Unlock()
}

// writeOptions are the rendered files' permissions: readable by group
// when one is named (render.group, --group), else by their owner alone.
func writeOptions(group string) []render.WriteOption {
	if group == "" {
		return nil
	}
	return []render.WriteOption{render.WithGroup(group)}
}

// applyRuntime sets the garbage collector from the runtime section; GOGC
// and GOMEMLIMIT in the environment win (the runtime applied them). The
// processors are procsControl's (procs.go).
func applyRuntime(r config.RuntimeConfig, log *slog.Logger) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(r.GCPercent)
	} else {
		log.Info("GOGC from the environment overrides runtime.gc_percent", "GOGC", os.Getenv("GOGC"))
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		limit, _ := r.MemoryLimitBytes() // validated with the configuration
		if limit == 0 {
			limit = math.MaxInt64
		}
		debug.SetMemoryLimit(limit)
	} else {
		log.Info("GOMEMLIMIT from the environment overrides runtime.memory_limit", "GOMEMLIMIT", os.Getenv("GOMEMLIMIT"))
	}
	if os.Getenv("GOMAXPROCS") != "" {
		log.Info("GOMAXPROCS from the environment overrides runtime.procs", "GOMAXPROCS", os.Getenv("GOMAXPROCS"))
	}
}

// mediaPolicy is the media section as the rendered files carry it, in
// the whole seconds Asterisk takes (rounded up).
func mediaPolicy(m config.MediaConfig) render.MediaPolicy {
	secs := func(d time.Duration) int { return int(math.Ceil(d.Seconds())) }
	return render.MediaPolicy{Relay: m.Relay, Timeout: secs(m.Timeout), HoldTimeout: secs(m.HoldTimeout)}
}

func (d *daemon) stopRender() {
	d.renderMu.Lock()
	cancel, done := d.renderCancel, d.renderDone
	d.renderCancel, d.renderDone = nil, nil
	d.renderMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// runReloadCmd runs the operator's reload command through the shell, as a
// systemd ExecReload= line would, and logs what it printed.
func (d *daemon) runReloadCmd(ctx context.Context, command string, changed []string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Env = append(os.Environ(), "SIPSWITCH_CHANGED="+strings.Join(changed, " "))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%q: %w: %s", command, err, strings.TrimSpace(string(out)))
	}
	d.log.Info("reload command ran", "cmd", command, "output", strings.TrimSpace(string(out)))
	return nil
}

// startSIP builds the call-path view of the store and the SIP core on it.
func (d *daemon) startSIP(ctx context.Context) error {
	snap, err := d.svc.Snapshot(ctx)
	if err != nil {
		return err
	}
	costs, err := d.svc.PeerCosts(ctx)
	if err != nil {
		return err
	}
	loc, err := d.cfg.Location()
	if err != nil {
		return fmt.Errorf("time_zone: %w", err)
	}
	ccOpts, err := d.startSharedLimits(ctx)
	if err != nil {
		return err
	}
	if d.cfg.CallRecords {
		// Before the spend is read: the records a crash left in the
		// journal count towards it.
		if err := d.startCallRecords(ctx); err != nil {
			return err
		}
	}
	// Today's spend of every line, from its call records, so a restart
	// does not reset daily limits.
	spend, err := d.spendLedger(ctx, loc)
	if err != nil {
		return err
	}
	d.calls, err = routing.NewCallControl(ctx, snap, costs, append(ccOpts, routing.WithSpendLedger(spend))...)
	if err != nil {
		return fmt.Errorf("routing: %w", err)
	}
	c := d.cfg.Calls
	regs := engine.NewRegistrationStore(d.store, engine.WithRegistrarHost(d.host))
	d.live = newLiveState(d.host, d.cfg.Events.Flush)
	peerMatch, err := sip.ParsePeerMatch(c.PeerMatch)
	if err != nil {
		return fmt.Errorf("calls.peer_match: %w", err)
	}
	opts := []sip.Option{
		sip.WithPeerMatch(peerMatch),
		sip.WithListen(d.cfg.SIP...),
		sip.WithRealm(d.cfg.Realm),
		sip.WithDigestAlgorithms(d.cfg.DigestAlgorithms...),
		sip.WithLogger(d.log),
		sip.WithRegistrationStore(liveRegs{regs, d.live}),
		sip.WithPeerTimeout(c.NoAnswerTimeout),
		sip.WithMaxCallDuration(c.MaxDuration),
		sip.WithRegisterExpiry(int(c.MinExpires.Seconds()), int(c.MaxExpires.Seconds()), int(c.DefaultExpires.Seconds())),
		sip.WithCallAdmission(c.MaxCalls, c.MaxCPS),
		sip.WithOverloadDelay(c.OverloadDelay),
		sip.WithSessionTimers(c.SessionExpires, c.MinSE),
		sip.WithPing(c.PingInterval, c.PingTimeout),
		sip.WithFloodLimit(c.FloodLimit, c.FloodBlock),
		sip.WithAttemptObserver(d.metrics.ObserveAttempt),
		sip.WithDelayObserver(d.metrics.ObserveDelay),
	}
	if len(d.cfg.SIPWebSocketOrigins) > 0 {
		opts = append(opts, sip.WithWebSocketOrigins(d.cfg.SIPWebSocketOrigins...))
	}
	if d.cfg.SIPAdvertise != "" {
		opts = append(opts, sip.WithAdvertiseHost(d.cfg.SIPAdvertise))
	}
	if c.VoicemailServer != "" {
		opts = append(opts, sip.WithVoicemail(c.VoicemailServer))
	}
	if d.records != nil {
		opts = append(opts, sip.WithCallRecords(d.records.Record))
	}
	relayOpts, mode, err := d.mediaOptions()
	if err != nil {
		return err
	}
	// The engine binds nothing until a call needs ports; it exists even
	// with relay never, so that a reload can turn the relay on.
	if d.relay, err = media.New(relayOpts...); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	opts = append(opts, sip.WithMediaRelay(d.relay, mode), sip.WithMediaObserver(d.metrics.ObserveMedia),
		sip.WithRecordings(d.cfg.Media.RecordingsDir), sip.WithSDESWithoutTLS(d.cfg.Media.SDESWithoutTLS))
	d.loadMusic()
	tlsOpt, err := d.sipTLSOption()
	if err != nil {
		d.relay.Close()
		return err
	}
	if tlsOpt != nil {
		opts = append(opts, tlsOpt)
	}
	if d.hep != nil {
		// What the read loop takes without sipgo, sipgo's tracer never sees.
		opts = append(opts, sip.WithSIPTracer(d.hep))
	}
	d.sip, err = sip.New(d.calls, opts...)
	if err != nil {
		d.relay.Close()
		return fmt.Errorf("sip: %w", err)
	}
	d.live.attach(d.sip)
	d.procs.watchQueue(d.sip.QueueDelay)
	if err := d.live.registerMetrics(d.metrics.Registry); err != nil {
		return err
	}
	d.metrics.StoreRevision.Set(float64(snap.Revision))
	d.followRegistrations(ctx, regs)
	if err := d.metrics.RegisterMedia(d.relay.Stats); err != nil {
		return err
	}
	if err := d.metrics.RegisterMediaFeatures(d.relay.Stats, d.sip.Stats); err != nil {
		return err
	}
	if err := d.metrics.RegisterTrunks(d.sip.Trunks); err != nil {
		return err
	}
	return d.metrics.RegisterSIP(d.sip.Stats, d.calls)
}

// mediaOptions maps the media section onto the relay's options.
func (d *daemon) mediaOptions() ([]media.Option, media.Mode, error) {
	m := d.cfg.Media
	mode, err := media.ParseMode(m.Relay)
	if err != nil {
		return nil, "", fmt.Errorf("media.relay: %w", err)
	}
	lo, hi, err := m.Ports()
	if err != nil {
		return nil, "", fmt.Errorf("media.port_range: %w", err)
	}
	bind, advertised, key, err := d.cfg.MediaAddresses()
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", key, err)
	}
	return []media.Option{
		media.WithMediaAddress(bind), media.WithAdvertisedAddress(advertised), media.WithPortRange(lo, hi),
		media.WithTimeout(m.Timeout), media.WithHoldTimeout(m.HoldTimeout), media.WithLogger(d.log),
	}, mode, nil
}

// followStore rebuilds the routing view after every burst of store
// changes. Lookups keep using the old view until the new one is swapped
// in whole.
func (d *daemon) followStore(ctx context.Context) {
	changed := d.store.Changed()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		// Let a burst of API writes finish before building once.
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
		changed = d.store.Changed()
		if err := d.rebuildRouting(ctx); err != nil {
			d.log.Error("routing rebuild failed; keeping the running table", "error", err)
		}
	}
}

// currentRouting is the live routing state for route simulation, brought
// up to the store's revision first: the table is rebuilt after a burst of
// writes settles, and a client that writes a route and simulates at once
// must see its write (read-your-writes on this host).
func (d *daemon) currentRouting(ctx context.Context) (*routing.RoutingState, error) {
	if d.calls.Revision() < d.store.Revision() {
		if err := d.rebuildRouting(ctx); err != nil {
			return nil, fmt.Errorf("routing rebuild: %w", err)
		}
	}
	return d.calls.State(), nil
}

func (d *daemon) rebuildRouting(ctx context.Context) error {
	// One rebuild at a time (the store follower and simulations).
	d.routingMu.Lock()
	defer d.routingMu.Unlock()
	start := time.Now()
	snap, err := d.svc.Snapshot(ctx)
	if err != nil {
		return err
	}
	if snap.Revision == d.calls.Revision() {
		return nil
	}
	costs, err := d.svc.PeerCosts(ctx)
	if err != nil {
		return err
	}
	if err := d.calls.Reload(ctx, snap, costs); err != nil {
		return err
	}
	// sip_endpoints registered or qualified by the switch follow the new
	// set at once: a deleted or changed one is unregistered.
	if d.sip != nil {
		d.sip.SyncTrunks()
	}
	d.metrics.RoutingBuild.Observe(time.Since(start).Seconds())
	d.metrics.StoreReloads.Inc()
	d.metrics.StoreRevision.Set(float64(snap.Revision))
	d.log.Info("routing rebuilt", "revision", snap.Revision, "routes", len(snap.Routes), "took", time.Since(start))
	return nil
}

// mountPprof adds net/http/pprof's handlers when the config asks for them,
// on the listener that serves /metrics (operators firewall both alike).
func (d *daemon) mountPprof(mux *http.ServeMux) {
	if !d.cfg.Pprof {
		return
	}
	// Block and mutex profiles sample only when asked to: an event in
	// every 10 us blocked, one contention in 100. Enough to find what
	// makes the read loop wait, at a cost the load test does not show.
	runtime.SetBlockProfileRate(10_000)
	runtime.SetMutexProfileFraction(100)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
