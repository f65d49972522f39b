package media

import (
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strings"
	"time"
)

// Stats are a session's statistics: per leg, per relayed stream, what the
// relay received from that leg's party.
type Stats struct {
	ID     string
	OnHold bool
	Legs   [2]LegStats // SideA, SideB
}

// LegStats are one leg's streams.
type LegStats struct {
	Side    Side
	NAT     bool
	Sources []netip.Addr // the addresses its SIP came from (SetSources)
	Streams []StreamStats
}

// StreamStats describe what one party sent on one stream (m= line).
type StreamStats struct {
	Index     int            // m= line index
	Media     string         // "audio", "image", ...
	Codec     string         // name of the last payload type received ("ulaw", ...)
	Direction string         // as the party last signalled it
	Local     netip.AddrPort // relay address:port the party sends to (advertised address)
	Remote    netip.AddrPort // where the party's media goes: latched, else signalled
	Latched   bool

	Packets     uint64 // RTP (or UDPTL) packets accepted
	Bytes       uint64 // their bytes, and RTCP's
	RTCPPackets uint64
	Expected    uint64  // from sequence numbers (RFC 3550 A.3)
	Lost        uint64  // Expected - received, never negative
	LossPercent float64 // Lost / Expected * 100
	Jitter      time.Duration
	MaxJitter   time.Duration
	SSRC        uint32
	SSRCChanges uint64
	Relatches   uint64 // times the latch moved to another source after probation

	DroppedSource   uint64 // from an address never allowed to latch the party's media
	DroppedLearning uint64 // from an allowed address other than the latched one, on probation
	DroppedInvalid  uint64 // not RTP/RTCP/UDPTL, or a payload type not in the SDP
	DroppedNoDest   uint64 // accepted, but the other party's address was not known
	DroppedAuth     uint64 // SRTP/SRTCP that failed authentication or the replay check
	SRTP            bool   // the party's media is SRTP, terminated by the relay

	// RFactor and MOS estimate the quality of what the party sent as far
	// as the relay (see the E-model note in stats.go); 0 without RTP.
	RFactor float64
	MOS     float64

	// Reported is what the party said in RTCP about what it receives.
	Reported ReceptionReport
}

func (end *streamEnd) stats(index int) StreamStats {
	cfg := end.cfg.Load()
	st := StreamStats{
		Index:     index,
		Media:     cfg.media,
		Direction: cfg.dir.String(),
		Local:     netip.AddrPortFrom(end.s.e.cfg.advertised, uint16(end.pair.port)),
	}
	if d := end.dstRTP.Load(); d != nil {
		st.Remote, st.Latched = d.ap, d.latched
	}
	end.mu.Lock()
	rx := end.rx
	end.mu.Unlock()
	st.Codec = cfg.names[rx.lastPT]
	st.Packets, st.Bytes, st.RTCPPackets = rx.packets, rx.bytes, rx.rtcpPackets
	st.SSRC, st.SSRCChanges, st.Relatches = rx.ssrc, rx.ssrcChanges, rx.relatches
	st.DroppedSource, st.DroppedLearning = rx.droppedSource, rx.droppedLearn
	st.DroppedInvalid, st.DroppedNoDest = rx.droppedInvalid, rx.droppedNoDest
	st.DroppedAuth, st.SRTP = rx.droppedAuth, end.srtp.Load() != nil
	st.Reported = rx.report
	if cfg.kind != kindRTP || rx.packets == 0 {
		return st
	}
	st.Expected, st.Lost = rx.seq.expected(), rx.seq.lost()
	if st.Expected > 0 {
		st.LossPercent = float64(st.Lost) / float64(st.Expected) * 100
	}
	clock := cfg.clocks[rx.jit.pt]
	st.Jitter = tsDuration(rx.jit.jitter, clock)
	st.MaxJitter = tsDuration(rx.jit.max, clock)
	st.RFactor, st.MOS = quality(st.LossPercent, st.Jitter, cfg.ptime, st.Codec)
	return st
}

// quality applies the simplified E-model (stats.go): one-way delay is the
// packetisation time (ptime, default 20 ms) plus a jitter buffer of twice
// the jitter.
func quality(lossPct float64, jitter time.Duration, ptime int, codec string) (r, m float64) {
	if ptime <= 0 {
		ptime = 20
	}
	delay := float64(ptime) + 2*float64(jitter)/float64(time.Millisecond)
	ie, bpl := codecImpairment(codec)
	r = rFactor(lossPct, delay, ie, bpl)
	r = math.Round(r*10) / 10
	return r, math.Round(mos(r)*100) / 100
}

// LogValue makes Stats one structured log attribute per leg and stream
// (slog.LogValuer), for the call's end log line.
func (s Stats) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Bool("hold", s.OnHold)}
	for _, l := range s.Legs {
		for _, st := range l.Streams {
			attrs = append(attrs, slog.Group(fmt.Sprintf("%s%d", l.Side, st.Index),
				slog.String("media", st.Media),
				slog.String("codec", st.Codec),
				slog.String("remote", st.Remote.String()),
				slog.Bool("latched", st.Latched),
				slog.Uint64("packets", st.Packets),
				slog.Uint64("lost", st.Lost),
				slog.Float64("loss_pct", math.Round(st.LossPercent*100)/100),
				slog.Float64("jitter_ms", math.Round(float64(st.Jitter)/float64(time.Microsecond))/1000),
				slog.Uint64("ssrc_changes", st.SSRCChanges),
				slog.Uint64("relatches", st.Relatches),
				slog.Uint64("dropped_source", st.DroppedSource),
				slog.Uint64("dropped_learning", st.DroppedLearning),
				slog.Uint64("dropped_auth", st.DroppedAuth),
				slog.Bool("srtp", st.SRTP),
				slog.Float64("mos", st.MOS),
			))
		}
	}
	return slog.GroupValue(attrs...)
}

// Mode is the config's media.relay: which calls are relayed.
type Mode string

const (
	// ModeAuto relays a call when a line in it is behind NAT (BehindNAT).
	ModeAuto Mode = "auto"
	// ModeAlways relays every call.
	ModeAlways Mode = "always"
	// ModeNever passes SDP end to end (media flows between the parties).
	ModeNever Mode = "never"
)

// ParseMode reads media.relay; "" is ModeAuto.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return ModeAuto, nil
	case ModeAuto, ModeAlways, ModeNever:
		return m, nil
	}
	return "", fmt.Errorf("%w: media.relay %q (auto, always or never)", ErrBadOption, s)
}

// Relay reports whether a call is relayed, given whether its caller line
// and its called line (false for a peer) are behind NAT.
func (m Mode) Relay(callerNAT, calleeNAT bool) bool {
	switch m {
	case ModeAlways:
		return true
	case ModeNever:
		return false
	}
	return callerNAT || calleeNAT
}
