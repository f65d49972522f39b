//go:build linux

// Command relayload drives N concurrent G.711 calls through the media
// relay on 127.0.0.1 and reports loss, latency and the relay's CPU.
//
//	go run ./cmd/relayload -calls 500,1000,1500 -duration 10s
//	go run ./cmd/relayload -calls 1000 -direct   # the same traffic without the relay
//
// The relay (a media.Engine) runs in a child process (this binary with
// -serve), so its CPU time is its own: getrusage of the child over the
// measured window. The generator is this process; it shares the machine's
// cores with the relay. Every call is two streams (caller->callee and
// callee->caller) of 172-byte RTP packets at -pps each (50: 20 ms G.711).
// All callers send from one socket and all callees from another (the
// relay latches each session to them), with sendmmsg/recvmmsg batches, so
// that the generator costs as little CPU as it can. Each stream sends in
// one -slot of its interval; the slots are paced by a timerfd (pace.go).
// -series and -trace are for finding where a latency tail comes from.
//
// With -sip the relay is a running sipswitch's (sip.go): the calls are
// placed through it over SIP and its process's CPU is measured instead
// (scripts/loadtest.sh MODE=media). With -rtpengine it is a running
// rtpengine driven over its ng protocol (rtpengine.go), the yardstick
// (scripts/loadtest-rtpengine.sh).
//
// Each packet carries its send time, taken just before the sendmmsg that
// sends it. Two latencies are kept per packet: "path", the kernel's
// receive time of the datagram on the generator's socket (SO_TIMESTAMPNS)
// minus its send time, which is the relay's added latency plus two
// loopback hops (a few us: -direct measures that floor without the
// relay), and "app", the time the generator's reader had it in hand minus
// its send time, which adds the generator's own wake-up and batch reading
// (a batch is read at one moment). Jitter is RFC 3550's interarrival
// jitter of each stream on the path times (J += (|D| - J) / 16, D the
// change of path latency between consecutive packets), averaged over the
// packets of the window: what the relay adds, as the send times take the
// generator's pacing out. Packets sent in the measured window (after
// -warmup) are counted; a packet not received -drain after the last send
// is lost. Runs are bounded by -warmup + -duration + -drain and stop by
// themselves.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/rtp"

	"github.com/sipswitch/sipswitch/internal/udpbatch"
	"github.com/sipswitch/sipswitch/sip/media"
)

func main() {
	serve := flag.Bool("serve", false, "run the relay (child process; reads commands on stdin)")
	calls := flag.String("calls", "1000", "comma separated call counts, one run each")
	duration := flag.Duration("duration", 10*time.Second, "measured time per run")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured time before (latching, ramp)")
	drain := flag.Duration("drain", 500*time.Millisecond, "wait for packets in flight after sending stops")
	pps := flag.Int("pps", 50, "packets per second per stream")
	ports := flag.String("ports", "20000-59999", "relay port range")
	batch := flag.Int("batch", media.DefaultBatch, "relay batch size")
	direct := flag.Bool("direct", false, "send party to party without the relay (baseline latency)")
	slot := flag.Duration("slot", 200*time.Microsecond, "sending is paced in slots of this length (each stream sends in one slot of its interval)")
	pacing := flag.String("pacing", "timer", "how the slots are paced: timer (a timerfd: pace.go) or sleep (time.Sleep: bursts of about 1 ms)")
	poll := flag.Int("poll", runtime.GOMAXPROCS(0), "relay epoll workers (0: a goroutine per socket)")
	cpuProfile := flag.String("cpuprofile", "", "write the relay's CPU profile of the measured window(s) to this file")
	traceFile := flag.String("trace", "", "write the relay child's runtime/trace of the measured window(s) to this file")
	series := flag.String("series", "", "append, per run, the worst path latency of every 10 ms of the window (by send time) to this file: when the tail happens")
	var sc sipConfig
	flag.StringVar(&sc.switchURI, "sip", "", "measure a running sipswitch's relay: place the calls through it over SIP at this udp://host:port")
	flag.StringVar(&sc.carrier, "carrier", "127.0.0.2:5071", "with -sip: the address of the carrier the called number routes to (this process answers there)")
	flag.StringVar(&sc.phone, "phone", "2000000", "with -sip: the calling line")
	flag.StringVar(&sc.password, "password", "pw2000000", "with -sip: its password")
	flag.StringVar(&sc.called, "called", "15000123456", "with -sip: the number called")
	flag.IntVar(&sc.pid, "switch-pid", 0, "with -sip: the switch's process id (its CPU time is the relay's)")
	flag.StringVar(&sc.metrics, "metrics", "", "with -sip: the switch's /metrics URL (relay totals)")
	flag.IntVar(&sc.parallel, "parallel", 16, "with -sip: calls set up at once")
	var rc rtpengineConfig
	flag.StringVar(&rc.ng, "rtpengine", "", "measure a running rtpengine: its ng control address (host:port)")
	flag.IntVar(&rc.pid, "rtpengine-pid", 0, "with -rtpengine: its process id (its CPU time is the relay's)")
	flag.Parse()
	if *serve {
		if err := runServe(*ports, *batch, *poll, *cpuProfile, *traceFile); err != nil {
			fmt.Fprintln(os.Stderr, "relayload -serve:", err)
			os.Exit(1)
		}
		return
	}
	if *duration <= 0 || *duration > 10*time.Minute || *pps <= 0 || *pps > 1000 || *slot < 10*time.Microsecond || (*pacing != "timer" && *pacing != "sleep") {
		fmt.Fprintln(os.Stderr, "relayload: -duration must be in (0, 10m], -pps in (0, 1000], -slot at least 10us, -pacing timer or sleep")
		os.Exit(2)
	}
	if sc.switchURI != "" && (*direct || sc.pid <= 0 || rc.ng != "") {
		fmt.Fprintln(os.Stderr, "relayload: -sip needs -switch-pid and excludes -direct and -rtpengine")
		os.Exit(2)
	}
	if rc.ng != "" && (*direct || rc.pid <= 0) {
		fmt.Fprintln(os.Stderr, "relayload: -rtpengine needs -rtpengine-pid and excludes -direct")
		os.Exit(2)
	}
	printHeader()
	best := 0
	for _, f := range strings.Split(*calls, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || n > 4800 {
			fmt.Fprintf(os.Stderr, "relayload: bad call count %q (1-4800)\n", f)
			os.Exit(2)
		}
		res, err := run(runConfig{calls: n, duration: *duration, warmup: *warmup, drain: *drain, pps: *pps, ports: *ports, batch: *batch, direct: *direct, poll: *poll, slot: *slot, pacing: *pacing, cpuProfile: *cpuProfile, trace: *traceFile, series: *series, sip: sc, rtpengine: rc})
		if err != nil {
			fmt.Fprintln(os.Stderr, "relayload:", err)
			os.Exit(1)
		}
		res.print()
		if res.lossPercent() < 0.1 {
			best = max(best, n)
		}
	}
	fmt.Printf("highest call count with loss < 0.1%%: %d\n", best)
}

type runConfig struct {
	calls                   int
	duration, warmup, drain time.Duration
	pps                     int
	ports                   string
	batch                   int
	direct                  bool
	poll                    int
	slot                    time.Duration
	pacing                  string
	cpuProfile, trace       string
	series                  string
	sip                     sipConfig       // switchURI set: through a sipswitch
	rtpengine               rtpengineConfig // ng set: through an rtpengine
}

type result struct {
	cfg            runConfig
	sent, received uint64
	rx             rxStats // both sockets'
	relayCPU       time.Duration
	genCPU         time.Duration
	machineCPU     time.Duration // every process's, the kernel's included
	relay          media.EngineStats
	late           []int64 // per seriesBin: how late the senders were (ns)
}

// printHeader names the columns of print: latencies in us (path: kernel
// receive time; app: the generator's read), jit_us the mean RFC 3550
// jitter, CPU in % of a core (others: the rest of the machine's busy time
// over the window, other processes' and the kernel's: how quiet the box
// was), and the relay's CPU in ms per second per 1,000 streams.
func printHeader() {
	fmt.Printf("%-6s %-7s %9s %9s %8s %8s %8s %8s %8s %8s %7s %9s %9s %9s %12s\n",
		"calls", "mode", "sent", "received", "loss%", "p50_us", "p99_us", "max_us", "app_p50", "app_p99", "jit_us", "relay_cpu", "gen_cpu", "others", "ms_cpu/s/1k")
}

// mode names what relayed the run.
func (r *result) mode() string {
	switch {
	case r.cfg.direct:
		return "direct"
	case r.cfg.sip.switchURI != "":
		return "switch"
	case r.cfg.rtpengine.ng != "":
		return "rtpeng"
	case r.cfg.poll > 0:
		return "epoll" + strconv.Itoa(r.cfg.poll)
	}
	return "gor"
}

func (r *result) print() {
	mode := r.mode()
	loss := r.lossPercent()
	secs := r.cfg.duration.Seconds()
	relayCores := r.relayCPU.Seconds() / secs
	streams := float64(2 * r.cfg.calls)
	perK := r.relayCPU.Seconds() * 1000 / secs / streams * 1000 // ms of CPU per second per 1000 streams
	others := (r.machineCPU - r.relayCPU - r.genCPU).Seconds() / secs
	fmt.Printf("%-6d %-7s %9d %9d %8.4f %8.0f %8.0f %8.0f %8.0f %8.0f %7.1f %8.1f%% %8.1f%% %8.1f%% %12.1f\n",
		r.cfg.calls, mode, r.sent, r.received, loss,
		r.rx.path.quantile(0.50), r.rx.path.quantile(0.99), r.rx.path.max,
		r.rx.app.quantile(0.50), r.rx.app.quantile(0.99), r.rx.meanJitter(),
		relayCores*100, r.genCPU.Seconds()/secs*100, max(others, 0)*100, perK)
	if !r.cfg.direct && r.cfg.rtpengine.ng == "" {
		fmt.Printf("       relay: forwarded %d, dropped source %d invalid %d no-dest %d, send errors %d, sessions %d\n",
			r.relay.Forwarded, r.relay.DroppedSource, r.relay.DroppedInvalid, r.relay.DroppedNoDest, r.relay.SendErrors, r.relay.Sessions)
	}
}

// lossPercent is the share of the window's packets that never arrived.
func (r *result) lossPercent() float64 {
	if r.sent == 0 {
		return 0
	}
	return float64(r.sent-min(r.sent, r.received)) / float64(r.sent) * 100
}

// payload layout after the 12-byte RTP header: send time (ns since the
// generator's epoch), call index, direction.
const (
	rtpHeaderLen = 12
	payloadLen   = 160
	packetLen    = rtpHeaderLen + payloadLen
	genBatch     = 64
)

func run(cfg runConfig) (*result, error) {
	res := &result{cfg: cfg}
	sockA, err := listen()
	if err != nil {
		return nil, err
	}
	defer sockA.Close()
	sockB, err := listen()
	if err != nil {
		return nil, err
	}
	defer sockB.Close()
	addrA, addrB := sockA.LocalAddr().(*net.UDPAddr).AddrPort(), sockB.LocalAddr().(*net.UDPAddr).AddrPort()

	// dst[0][i]: where call i's caller sends; dst[1][i]: its callee.
	var dst [2][]udpbatch.Dest
	var relay relayUnderTest // nil: direct
	if cfg.direct {
		for range cfg.calls {
			dst[0] = append(dst[0], udpbatch.NewDest(addrB))
			dst[1] = append(dst[1], udpbatch.NewDest(addrA))
		}
	} else {
		switch {
		case cfg.sip.switchURI != "":
			relay, err = newSIPSwitch(cfg.sip)
		case cfg.rtpengine.ng != "":
			relay, err = newRTPEngine(cfg.rtpengine)
		default:
			relay, err = startChild(cfg)
		}
		if err != nil {
			return nil, err
		}
		defer relay.stop()
		ports, err := relay.setup(cfg.calls, addrA, addrB)
		if err != nil {
			return nil, err
		}
		for i := range cfg.calls {
			dst[0] = append(dst[0], udpbatch.NewDest(netip.AddrPortFrom(addrA.Addr(), uint16(ports[2*i]))))
			dst[1] = append(dst[1], udpbatch.NewDest(netip.AddrPortFrom(addrA.Addr(), uint16(ports[2*i+1]))))
		}
	}

	// The wall clock, as the kernel's receive times are.
	epoch := time.Now().UnixNano()
	now := func() int64 { return time.Now().UnixNano() - epoch }
	winStart := int64(cfg.warmup)
	winEnd := winStart + int64(cfg.duration)
	var sent atomic.Uint64
	var wg sync.WaitGroup
	stopRecv := make(chan struct{})
	bins := int((cfg.duration + seriesBin - 1) / seriesBin)
	rx := [2]*rxStats{newRxStats(cfg.calls, bins), newRxStats(cfg.calls, bins)}
	for side, sock := range []*net.UDPConn{sockA, sockB} {
		r, err := udpbatch.NewReader(sock, genBatch, 2048)
		if err != nil {
			return nil, err
		}
		if err := r.EnableTimestamps(); err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			receive(r, epoch, now, winStart, winEnd, rx[side], stopRecv)
		}()
	}
	late := [2][]int64{make([]int64, bins), make([]int64, bins)}
	var sendWG sync.WaitGroup
	for side, sock := range []*net.UDPConn{sockA, sockB} {
		sendWG.Add(1)
		go func() {
			defer sendWG.Done()
			sent.Add(send(sock, dst[side], side, cfg, now, winEnd, late[side]))
		}()
	}
	// The measured window: CPU of both processes from its start to its end.
	relayCPU := func() time.Duration {
		if relay == nil {
			return 0
		}
		return relay.cpu()
	}
	time.Sleep(time.Duration(winStart - now()))
	cpu0, gen0, box0 := relayCPU(), selfCPU(), readMachine()
	time.Sleep(time.Duration(winEnd - now()))
	cpu1, gen1, box1 := relayCPU(), selfCPU(), readMachine()
	sendWG.Wait()
	time.Sleep(cfg.drain)
	close(stopRecv)
	sockA.SetReadDeadline(time.Now())
	sockB.SetReadDeadline(time.Now())
	wg.Wait()
	res.sent = sent.Load()
	res.rx = *rx[0]
	res.rx.merge(rx[1])
	res.received = res.rx.received
	res.late = late[0]
	for i, l := range late[1] {
		res.late[i] = max(res.late[i], l)
	}
	if cfg.series != "" {
		if err := res.writeSeries(cfg.series); err != nil {
			return nil, err
		}
	}
	res.relayCPU, res.genCPU = cpu1-cpu0, gen1-gen0
	if box1.total > box0.total {
		// The machine's busy time in core-seconds over the window.
		res.machineCPU = time.Duration(float64(box1.busy-box0.busy) / float64(box1.total-box0.total) * float64(runtime.NumCPU()) * float64(cfg.duration))
	}
	if relay != nil {
		res.relay, err = relay.stats()
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

func listen() (*net.UDPConn, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	// 100,000 packets/s through one socket: room for 40 ms of them.
	_ = c.SetReadBuffer(4 << 20)
	_ = c.SetWriteBuffer(4 << 20)
	return c, nil
}

// send paces cfg.pps packets per second to every destination, spread
// over slots of cfg.slot, until winEnd; it returns the packets sent in
// the measured window. A batch is stamped with its send time just before
// its sendmmsg, so time the sender spent building it is not latency.
func send(sock *net.UDPConn, dsts []udpbatch.Dest, side int, cfg runConfig, now func() int64, winEnd int64, late []int64) uint64 {
	w, err := udpbatch.NewWriter(sock, genBatch)
	if err != nil {
		panic(err)
	}
	bufs := make([][]byte, genBatch)
	for i := range bufs {
		bufs[i] = make([]byte, packetLen)
	}
	seqs := make([]uint16, len(dsts))
	interval := time.Second / time.Duration(cfg.pps)
	slots := max(int(interval/cfg.slot), 1)
	slotLen := interval / time.Duration(slots)
	hdr := rtp.Header{Version: 2, PayloadType: 0}
	var inWindow uint64
	winStart := int64(cfg.warmup)
	var due int64
	flush := func() {
		t := now()
		if bin := (t - winStart) / int64(seriesBin); bin >= 0 && bin < int64(len(late)) {
			late[bin] = max(late[bin], t-due)
		}
		for _, b := range bufs[:w.Len()] {
			binary.BigEndian.PutUint64(b[rtpHeaderLen:], uint64(t))
		}
		if t >= winStart && t < winEnd {
			inWindow += uint64(w.Len())
		}
		w.Flush()
	}
	var p *pacer
	if cfg.pacing == "timer" {
		if p, err = newPacer(slotLen); err != nil {
			panic(err)
		}
		defer p.close()
	}
	start := now()
	if p != nil {
		start += int64(slotLen) // the timer's first expiration
	}
	var expired uint64 // timer: slots due and not yet sent
	for tick := 0; ; tick++ {
		due = start + int64(tick)*int64(slotLen)
		if p == nil {
			if d := due - now(); d > 0 {
				time.Sleep(time.Duration(d))
			}
		} else {
			for expired == 0 {
				if expired, err = p.wait(); err != nil {
					panic(err)
				}
			}
			expired--
		}
		if now() >= winEnd {
			break
		}
		slot := tick % slots
		for i := slot; i < len(dsts); i += slots {
			b := bufs[w.Len()]
			seqs[i]++
			hdr.SequenceNumber = seqs[i]
			hdr.Timestamp = uint32(seqs[i]) * 160
			hdr.SSRC = uint32(i<<1 | side)
			if _, err := hdr.MarshalTo(b); err != nil {
				panic(err)
			}
			binary.BigEndian.PutUint32(b[rtpHeaderLen+8:], uint32(i))
			w.Add(b, &dsts[i])
			if w.Full() {
				flush()
			}
		}
		if w.Len() > 0 {
			flush()
		}
	}
	return inWindow
}

// rxStats is what one socket's reader measured of the window's packets.
type rxStats struct {
	received  uint64
	path, app histogram
	jitSum    float64 // sum over packets of their stream's jitter (ns)
	jitN      uint64
	streams   []streamJitter // by call index
	worst     []int64        // per seriesBin of the window by send time: the worst path latency (ns)
}

// seriesBin is the resolution of -series.
const seriesBin = 10 * time.Millisecond

// streamJitter is RFC 3550's jitter estimator of one stream.
type streamJitter struct {
	transit int64 // last packet's path latency (ns)
	j       float64
	seen    bool
}

func newRxStats(calls, bins int) *rxStats {
	return &rxStats{streams: make([]streamJitter, calls), worst: make([]int64, bins)}
}

func (s *rxStats) merge(o *rxStats) {
	s.received += o.received
	s.path.merge(&o.path)
	s.app.merge(&o.app)
	s.jitSum += o.jitSum
	s.jitN += o.jitN
	for i, w := range o.worst {
		s.worst[i] = max(s.worst[i], w)
	}
}

// writeSeries appends the run's worst path latency per 10 ms to name:
// "calls mode ms_into_window worst_us sender_late_us", one line per bin
// (the last: how far behind its slots the generator's sending was).
func (r *result) writeSeries(name string) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("-series: %w", err)
	}
	w := bufio.NewWriter(f)
	for i, ns := range r.rx.worst {
		fmt.Fprintf(w, "%d %s %d %d %d\n", r.cfg.calls, r.mode(), i*int(seriesBin/time.Millisecond), ns/1e3, r.late[i]/1e3)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("-series: %w", err)
	}
	return f.Close()
}

// meanJitter in us.
func (s *rxStats) meanJitter() float64 {
	if s.jitN == 0 {
		return 0
	}
	return s.jitSum / float64(s.jitN) / 1e3
}

// receive counts the packets sent in the window, their latencies and
// their streams' jitter. epoch converts the kernel's receive times (wall
// clock, ns since 1970) to now's.
func receive(r *udpbatch.Reader, epoch int64, now func() int64, winStart, winEnd int64, st *rxStats, stop chan struct{}) {
	for {
		n, err := r.Read()
		if err != nil {
			select {
			case <-stop:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		t := now()
		for i := range n {
			b, _ := r.Msg(i)
			if len(b) < packetLen {
				continue
			}
			sentAt := int64(binary.BigEndian.Uint64(b[rtpHeaderLen:]))
			if sentAt < winStart || sentAt >= winEnd {
				continue
			}
			arrived := t
			if ts := r.Timestamp(i); ts != 0 {
				arrived = ts - epoch
			}
			st.received++
			st.app.add(time.Duration(t - sentAt))
			transit := arrived - sentAt
			st.path.add(time.Duration(transit))
			if bin := int((sentAt - winStart) / int64(seriesBin)); bin < len(st.worst) {
				st.worst[bin] = max(st.worst[bin], transit)
			}
			if call := int(binary.BigEndian.Uint32(b[rtpHeaderLen+8:])); call < len(st.streams) {
				js := &st.streams[call]
				if js.seen {
					d := float64(transit - js.transit)
					js.j += (math.Abs(d) - js.j) / 16
					st.jitSum += js.j
					st.jitN++
				}
				js.transit, js.seen = transit, true
			}
		}
	}
}

// histogram of latencies in 1 us buckets up to 100 ms.
type histogram struct {
	buckets [100000]uint64
	over    uint64
	count   uint64
	max     float64 // us
}

func (h *histogram) add(d time.Duration) {
	us := float64(d) / float64(time.Microsecond)
	h.count++
	h.max = math.Max(h.max, us)
	i := int(d / time.Microsecond)
	if i < 0 {
		i = 0
	}
	if i >= len(h.buckets) {
		h.over++
		return
	}
	h.buckets[i]++
}

func (h *histogram) merge(o *histogram) {
	for i := range h.buckets {
		h.buckets[i] += o.buckets[i]
	}
	h.over += o.over
	h.count += o.count
	h.max = math.Max(h.max, o.max)
}

// quantile returns the upper edge of the bucket holding quantile q, in us.
func (h *histogram) quantile(q float64) float64 {
	if h.count == 0 {
		return 0
	}
	want := uint64(math.Ceil(q * float64(h.count)))
	var acc uint64
	for i, c := range h.buckets {
		acc += c
		if acc >= want {
			return float64(i + 1)
		}
	}
	return h.max
}

// machineTicks is the first line of /proc/stat: the machine's busy and
// total clock ticks.
type machineTicks struct{ busy, total uint64 }

func readMachine() machineTicks {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineTicks{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return machineTicks{}
	}
	var t machineTicks
	for i, s := range f[1:9] { // user nice system idle iowait irq softirq steal
		v, _ := strconv.ParseUint(s, 10, 64)
		t.total += v
		if i != 3 && i != 4 {
			t.busy += v
		}
	}
	return t
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// relayChild is the relay process and its command pipe.
type relayChild struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startChild(cfg runConfig) (*relayChild, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve", "-ports", cfg.ports, "-batch", strconv.Itoa(cfg.batch), "-poll", strconv.Itoa(cfg.poll), "-cpuprofile", cfg.cpuProfile, "-trace", cfg.trace)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &relayChild{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}, nil
}

func (c *relayChild) ask(cmd string) (string, error) {
	if _, err := io.WriteString(c.in, cmd+"\n"); err != nil {
		return "", err
	}
	line, err := c.out.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("relay child: %w", err)
	}
	if strings.HasPrefix(line, "error ") {
		return "", errors.New(strings.TrimSpace(line))
	}
	return strings.TrimSpace(line), nil
}

func (c *relayChild) setup(n int, a, b netip.AddrPort) ([]int, error) {
	line, err := c.ask(fmt.Sprintf("setup %d %s %s", n, a, b))
	if err != nil {
		return nil, err
	}
	f := strings.Fields(line)
	if len(f) != 2*n {
		return nil, fmt.Errorf("relay child: %d ports for %d calls", len(f), n)
	}
	ports := make([]int, len(f))
	for i, s := range f {
		if ports[i], err = strconv.Atoi(s); err != nil {
			return nil, err
		}
	}
	return ports, nil
}

func (c *relayChild) cpu() time.Duration {
	line, err := c.ask("cpu")
	if err != nil {
		return 0
	}
	ns, _ := strconv.ParseInt(line, 10, 64)
	return time.Duration(ns)
}

func (c *relayChild) stats() (media.EngineStats, error) {
	var st media.EngineStats
	line, err := c.ask("stats")
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal([]byte(line), &st)
}

func (c *relayChild) stop() {
	io.WriteString(c.in, "quit\n")
	c.in.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// runServe is the child: a relay engine driven by lines on stdin.
func runServe(ports string, batch, poll int, cpuProfile, traceFile string) error {
	lo, hi, ok := strings.Cut(ports, "-")
	minP, err1 := strconv.Atoi(lo)
	maxP, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("bad -ports %q", ports)
	}
	e, err := media.New(media.WithPortRange(minP, maxP), media.WithBatchSize(batch), media.WithPollWorkers(poll),
		media.WithTimeout(0), media.WithHoldTimeout(0),
		media.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		return err
	}
	defer e.Close()
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	var profFile, trFile *os.File
	profiling, tracing := false, false
	reply := func(s string) { out.WriteString(s + "\n"); out.Flush() }
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "setup":
			if len(f) != 4 {
				reply("error setup N A B")
				continue
			}
			line, err := setupSessions(e, f[1], f[2], f[3])
			if err != nil {
				reply("error " + err.Error())
				continue
			}
			reply(line)
		case "cpu":
			// The first cpu starts the measured window, the second ends it.
			if cpuProfile != "" {
				if profiling {
					pprof.StopCPUProfile()
					profFile.Close()
				} else if profFile, err = os.Create(cpuProfile); err == nil {
					pprof.StartCPUProfile(profFile)
				}
				profiling = !profiling
			}
			if traceFile != "" {
				if tracing {
					trace.Stop()
					trFile.Close()
				} else if trFile, err = os.Create(traceFile); err == nil {
					trace.Start(trFile)
				}
				tracing = !tracing
			}
			reply(strconv.FormatInt(int64(selfCPU()), 10))
		case "stats":
			b, _ := json.Marshal(e.Stats())
			reply(string(b))
		case "quit":
			return nil
		default:
			reply("error unknown command")
		}
	}
	return in.Err()
}

func setupSessions(e *media.Engine, nStr, aStr, bStr string) (string, error) {
	n, err := strconv.Atoi(nStr)
	if err != nil {
		return "", err
	}
	a, err := netip.ParseAddrPort(aStr)
	if err != nil {
		return "", err
	}
	b, err := netip.ParseAddrPort(bStr)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for i := range n {
		s, err := e.NewSession(context.Background(), "load-"+strconv.Itoa(i))
		if err != nil {
			return "", err
		}
		toB, err := s.Offer(media.SideA, partySDP(a))
		if err != nil {
			return "", err
		}
		toA, err := s.Answer(media.SideB, partySDP(b))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&sb, "%d %d ", mPort(toA), mPort(toB))
	}
	runtime.GC()
	return sb.String(), nil
}

func partySDP(a netip.AddrPort) []byte {
	return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=ptime:20\r\n",
		a.Addr(), a.Addr(), a.Port()))
}

// mPort reads the port of the first m= line of an SDP the relay wrote.
func mPort(body []byte) int {
	for _, line := range strings.Split(string(body), "\r\n") {
		if rest, ok := strings.CutPrefix(line, "m=audio "); ok {
			p, _, _ := strings.Cut(rest, " ")
			n, _ := strconv.Atoi(p)
			return n
		}
	}
	return 0
}
