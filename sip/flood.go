package sip

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// floodGuard drops what a source address sends beyond a rate, before any
// parsing, like Kamailio's pike: a flood of INVITEs or REGISTERs from one
// host (a scanner, a broken phone in a loop, an attack) costs the switch a
// map lookup per datagram instead of a parse, a transaction and a digest
// challenge each. Each address has a token bucket of limit messages per
// second (burst twice that); an address that empties it is blocked for
// blockFor: its UDP datagrams are dropped, its TCP connections closed.
// Peers' addresses are never limited: a carrier's traffic is the switch's
// business. Off (limit 0) by default: a PBX behind one line, or a whole
// office behind one NAT address, sends more than any phone.
type floodGuard struct {
	limit    float64
	burst    float64
	blockFor time.Duration
	exempt   func(src netip.AddrPort, transport string) bool
	now      func() time.Time
	onBlock  func(addr netip.Addr)

	mu      sync.Mutex
	sources map[netip.Addr]*floodSource
	dropped atomic.Uint64
	blocks  atomic.Uint64
}

type floodSource struct {
	tokens       float64
	last         time.Time
	blockedUntil time.Time
}

// maxFloodSources bounds the addresses tracked; past it new addresses pass
// untracked (spoofed sources over UDP could otherwise fill memory).
const maxFloodSources = 200_000

// errFlood closes a TCP connection from a blocked address (sipgo drops the
// connection on a read filter error).
var errFlood = errors.New("source address over the flood limit")

func (s *Server) newFloodGuard() *floodGuard {
	return &floodGuard{
		limit: float64(s.cfg.floodLimit), burst: 2 * float64(s.cfg.floodLimit), blockFor: s.cfg.floodBlock,
		exempt: func(src netip.AddrPort, transport string) bool { _, peer := s.peerAt(src, transport); return peer },
		now:    s.cfg.now,
		onBlock: func(a netip.Addr) {
			s.cfg.log.Warn("sip source over the flood limit: dropping what it sends", "source", a.String(),
				"limit_per_second", s.cfg.floodLimit, "for", s.cfg.floodBlock.String())
		},
		sources: make(map[netip.Addr]*floodSource),
	}
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
		g.mu.Unlock()
		g.dropped.Add(1)
		return false
	}
	fs.tokens = min(g.burst, fs.tokens+now.Sub(fs.last).Seconds()*g.limit)
	fs.last = now
	if fs.tokens >= 1 {
		fs.tokens--
		g.mu.Unlock()
		return true
	}
	fs.blockedUntil = now.Add(g.blockFor)
	fs.tokens = g.burst
	g.mu.Unlock()
	g.dropped.Add(1)
	g.blocks.Add(1)
	g.onBlock(addr)
	return false
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

// sweep forgets addresses that are neither blocked nor recently active.
func (g *floodGuard) sweep(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for a, s := range g.sources {
		if now.Sub(s.last) > time.Minute && !now.Before(s.blockedUntil) {
			delete(g.sources, a)
		}
	}
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
