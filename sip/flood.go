package sip

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// floodGuard drops what a source address sends beyond a rate, before any
// parsing, like Kamailio's pike: a flood of INVITEs, REGISTERs or OPTIONS
// from one host (a scanner, a broken phone in a loop, an attack) costs the
// switch a map lookup per datagram instead of a parse, a transaction and a
// digest challenge each. Each address has a token bucket of limit messages
// per second (burst twice that); an address that empties it is blocked for
// blockFor: its UDP datagrams are dropped, its TCP connections closed.
//
// Only strangers are limited, as pike is deployed behind
// allow_source_address: a peer's source (exactly, as peer_match decides)
// and a source address and port from which a line has authenticated (a
// digest answer proved its password: a registered phone, a PBX, a trunk)
// are exempt for trustFor after the last proof, so a registered phone or a
// trunk is never limited below its own rate, however many calls it
// carries, and the SIPp load of `make loadtest`, all from 127.0.0.1, passes
// untouched. INFERRED: trust by address and port, not by address: phones
// behind one NAT share the address and differ in port, so a flooder behind
// an office's NAT stays limited while the office's phones are not (each
// proves itself when it registers); the address's bucket is shared by its
// untrusted ports.
//
// While an address is blocked a trickle still passes, one message a second
// per source port and at most trickleRate a second for the address, so a
// legitimate phone behind a flooding NAT (another port) still gets its
// REGISTER challenged and answered (about 2 s: the answer to the challenge
// waits for the phone's retransmission), and from then on its port is
// trusted. A flooder on one port gets one message a second; one spraying
// ports gets trickleRate.
type floodGuard struct {
	limit    float64
	burst    float64
	blockFor time.Duration
	trustFor time.Duration
	exempt   func(src netip.AddrPort, transport string) bool
	now      func() time.Time
	onBlock  func(addr netip.Addr)

	mu         sync.Mutex
	sources    map[netip.Addr]*floodSource
	trustedSrc map[netip.AddrPort]int64 // until, Unix nanoseconds
	dropped    atomic.Uint64
	blocks     atomic.Uint64
	trickle    atomic.Uint64
}

type floodSource struct {
	tokens       float64
	last         time.Time
	blockedUntil time.Time
	trickle      *trickleState // while blocked only: most sources never are
}

// trickleState is a blocked address's trickle: a bucket for the address
// and the last pass of the few ports seen most recently.
type trickleState struct {
	tokens float64
	last   time.Time
	ports  [trickleSlots]portPass
}

type portPass struct {
	port uint16
	last int64 // Unix nanoseconds; 0: slot free
}

const (
	// maxFloodSources bounds the addresses tracked, and the addresses
	// trusted; past it new addresses pass untracked (spoofed sources over
	// UDP could otherwise fill memory) and new proofs are not remembered.
	maxFloodSources = 200_000
	// trickleSlots is the ports of a blocked address the trickle tells
	// apart; trickleRate the messages a second it lets through for the
	// whole address (burst the same).
	trickleSlots = 8
	trickleRate  = 4
	// DefaultFloodLimit is calls.flood_limit when not set: messages a
	// second from one untrusted address. Measured (README, "Flood
	// limit"): a stranger's REGISTER costs about 65 us of CPU (parse,
	// challenge, answer: BenchmarkUnauthenticatedRegister), a dropped
	// one about 0.1 us (BenchmarkFloodGuardAllow), and a call on `make
	// loadtest` about 2 ms; so an untrusted address at the limit costs
	// 2 ms of CPU a second, about one call a second's worth, and 200 of
	// them 0.4 of a core. A phone sends two messages (REGISTER, and again
	// with credentials) before its port is trusted, so 30 phones of an
	// office NAT rebooting at once fit the burst of 60. INFERRED, beside
	// Kamailio's usual pike setting of 16 requests per 2 s.
	DefaultFloodLimit = 30
	// DefaultFloodBlock is calls.flood_block when not set.
	DefaultFloodBlock = time.Minute
)

// errFlood closes a TCP connection from a blocked address (sipgo drops the
// connection on a read filter error).
var errFlood = errors.New("source address over the flood limit")

func (s *Server) newFloodGuard() *floodGuard {
	return &floodGuard{
		limit: float64(s.cfg.floodLimit), burst: 2 * float64(s.cfg.floodLimit), blockFor: s.cfg.floodBlock,
		// A registered phone proves itself again within max_expires.
		trustFor: max(time.Hour, s.reg.MaxExpires()+time.Minute),
		// A carrier's source, and the voicemail server, which sends
		// message-waiting NOTIFYs for every box at once when it starts
		// (mwi.go).
		exempt: func(src netip.AddrPort, transport string) bool {
			return s.carrierSource(src, transport) || strings.EqualFold(transport, "udp") && s.isVoicemailSource(src)
		},
		now: s.cfg.now,
		onBlock: func(a netip.Addr) {
			s.cfg.log.Warn("sip source over the flood limit: dropping what it sends (one message a second per port still passes); "+
				"a source that should send more: make it a peer, or let a line authenticate from it, or raise calls.flood_limit",
				"source", a.String(), "limit_per_second", s.cfg.floodLimit, "for", s.cfg.floodBlock.String(),
				"setting", "calls.flood_limit, calls.flood_block")
		},
		sources:    make(map[netip.Addr]*floodSource),
		trustedSrc: make(map[netip.AddrPort]int64),
	}
}

// trust exempts src from the limit until now+trustFor: a line has just
// authenticated from it. The address's other ports stay limited (and
// blocked, if they were).
func (g *floodGuard) trust(src netip.AddrPort, now time.Time) {
	if g == nil || !src.IsValid() {
		return
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	until := now.Add(g.trustFor).UnixNano()
	g.mu.Lock()
	if old, ok := g.trustedSrc[src]; ok || len(g.trustedSrc) < maxFloodSources {
		g.trustedSrc[src] = max(old, until)
	}
	g.mu.Unlock()
}

// trusted reports whether a line has proved itself from src lately.
func (g *floodGuard) trusted(src netip.AddrPort) bool {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	now := g.now().UnixNano()
	g.mu.Lock()
	until, ok := g.trustedSrc[src]
	g.mu.Unlock()
	return ok && now < until
}

// allow takes one message from src, received over transport; false means
// drop it. Buckets are per address: a source does not escape by changing
// ports.
func (g *floodGuard) allow(src netip.AddrPort, transport string) bool {
	if g.exempt(src, transport) {
		return true
	}
	addr := src.Addr()
	now := g.now()
	g.mu.Lock()
	if until, ok := g.trustedSrc[src]; ok && now.UnixNano() < until {
		g.mu.Unlock()
		return true
	}
	fs, ok := g.sources[addr]
	if !ok {
		if len(g.sources) >= maxFloodSources {
			g.mu.Unlock()
			return true
		}
		fs = &floodSource{tokens: g.burst, last: now}
		g.sources[addr] = fs
	}
	if now.Before(fs.blockedUntil) {
		pass := fs.trickle.pass(src.Port(), now)
		g.mu.Unlock()
		if pass {
			g.trickle.Add(1)
			return true
		}
		g.dropped.Add(1)
		return false
	}
	fs.trickle = nil
	fs.tokens = min(g.burst, fs.tokens+now.Sub(fs.last).Seconds()*g.limit)
	fs.last = now
	if fs.tokens >= 1 {
		fs.tokens--
		g.mu.Unlock()
		return true
	}
	fs.blockedUntil = now.Add(g.blockFor)
	fs.tokens = g.burst
	fs.trickle = &trickleState{last: now}
	g.mu.Unlock()
	g.dropped.Add(1)
	g.blocks.Add(1)
	g.onBlock(addr)
	return false
}

// pass reports whether a message from port of a blocked address passes:
// one a second per port, trickleRate a second for the address. The ports
// remembered are the most recent trickleSlots; a port forgotten passes
// again at once, within the address's rate.
func (ts *trickleState) pass(port uint16, now time.Time) bool {
	t := now.UnixNano()
	slot := -1
	oldest := 0
	for i := range ts.ports {
		p := &ts.ports[i]
		if p.last != 0 && p.port == port {
			slot = i
			break
		}
		if p.last < ts.ports[oldest].last {
			oldest = i
		}
	}
	if slot >= 0 && time.Duration(t-ts.ports[slot].last) < time.Second {
		return false
	}
	ts.tokens = min(trickleRate, ts.tokens+now.Sub(ts.last).Seconds()*trickleRate)
	ts.last = now
	if ts.tokens < 1 {
		return false
	}
	ts.tokens--
	if slot < 0 {
		slot = oldest
	}
	ts.ports[slot] = portPass{port: port, last: t}
	return true
}

// filter is the transport read filter: UDP datagrams over the limit are
// dropped (an error would stop sipgo's UDP listener), TCP connections
// closed (dropping part of a stream would corrupt it).
func (g *floodGuard) filter(info sip.TransportReadProps, data []byte) ([]byte, error) {
	var src netip.AddrPort
	transport := "UDP"
	switch a := info.RemoteAddr.(type) {
	case *net.UDPAddr:
		src = a.AddrPort()
	case *net.TCPAddr:
		src, transport = a.AddrPort(), "TCP"
	default:
		return data, nil
	}
	if g.allow(netip.AddrPortFrom(src.Addr().Unmap(), src.Port()), transport) {
		return data, nil
	}
	if _, udp := info.RemoteAddr.(*net.UDPAddr); udp {
		return nil, nil
	}
	return nil, errFlood
}

// sweep forgets addresses that are neither blocked nor recently active,
// and trust that has lapsed.
func (g *floodGuard) sweep(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for a, s := range g.sources {
		if now.Sub(s.last) > time.Minute && !now.Before(s.blockedUntil) {
			delete(g.sources, a)
		}
	}
	t := now.UnixNano()
	for a, until := range g.trustedSrc {
		if t >= until {
			delete(g.trustedSrc, a)
		}
	}
}

func (g *floodGuard) trickleCount() uint64 {
	if g == nil {
		return 0
	}
	return g.trickle.Load()
}

func (g *floodGuard) droppedCount() uint64 {
	if g == nil {
		return 0
	}
	return g.dropped.Load()
}

func (g *floodGuard) blockCount() uint64 {
	if g == nil {
		return 0
	}
	return g.blocks.Load()
}
