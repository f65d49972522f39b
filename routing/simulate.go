package routing

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Simulation is what routes/simulate answers: the route a call would match
// and the peers it would try, in order, with the numbers each is sent.
type Simulation struct {
	Plan    int    `json:"plan"`
	Called  string `json:"called"`
	Caller  string `json:"caller"`
	Media   string `json:"media"`
	Time    string `json:"time"`
	Outcome string `json:"outcome"` // "route", "line", "no_route", "barred", "cos_barred", "no_peer", "unknown_plan", "line_busy", "spend_limit", "outmaximum", "source", "user_agent"
	Route   *Route `json:"route,omitempty"`
	// CalledLine is the line the called number names (outcome "line":
	// the SIP core rings it, no route is looked at) and Device the line
	// whose registered contacts ring: CalledLine itself, or for a
	// virtual line the line it is logged into (routing/virtual.go).
	CalledLine string `json:"called_line,omitempty"`
	Device     string `json:"device,omitempty"`
	// Line, COS and COSRule say whose class of service applied (a
	// simulation for a line) and, when it barred the call, which rule did
	// (none: the class's otherwise).
	Line     string              `json:"line,omitempty"`
	COS      int                 `json:"cos,omitempty"`
	COSRule  *COSRule            `json:"cos_rule,omitempty"`
	Attempts []SimulationAttempt `json:"peers"`
	// Reserved are the peers the route names that no path dials for this
	// call: reserved for another customer (peers/create customer).
	Reserved []SimulationReserved `json:"reserved,omitempty"`
	// Emergency is set for a call to an emergency number; Bypassed are
	// the refusals it was spared (what, and why the check would have
	// refused), CallerID the location number the peers are sent.
	Emergency bool               `json:"emergency,omitempty"`
	Bypassed  []SimulationBypass `json:"bypassed,omitempty"`
	CallerID  string             `json:"emergency_callerid,omitempty"`
}

// SimulationBypass is a refusal an emergency call is spared.
type SimulationBypass struct {
	Check  string `json:"check"`  // "cos", "totalmaximum" or "spend_limit"
	Reason string `json:"reason"` // what that check would have said
}

// SimulationReserved is a peer left out because it is reserved for
// another customer.
type SimulationReserved struct {
	Peer     int    `json:"peer"`
	Name     string `json:"name"`
	Customer int    `json:"customer"` // the customer it is reserved for (and those below)
}

// SimulationAttempt is one peer of a Simulation, and what each path does
// with it: the switch's own SIP core dials sip and pjsip peers and skips
// the others (without counting a failure: the next attempt follows);
// Asterisk, running the rendered files, dials every type.
type SimulationAttempt struct {
	Order    int    `json:"order"`
	Peer     int    `json:"peer"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Called   string `json:"called"`
	CallerID string `json:"callerid"`
	// From is the From user a SIP peer's INVITE carries (SentFrom):
	// the caller id, or anonymous; "" for other types.
	From     string `json:"from,omitempty"`
	SIPCore  string `json:"sip_core"`         // "dial", "skip" or "fail"
	Asterisk string `json:"asterisk"`         // "dial" or "fail"
	Reason   string `json:"reason,omitempty"` // why the SIP core skips or fails it (Reason*)
	// FailPercent is the share of calls the peer fails on purpose
	// (fail_percent) on both paths, as a 503: 100 is "fail" on both.
	FailPercent int `json:"fail_percent,omitempty"`
	// Codecs is the codec policy of the SIP core's offer to the peer
	// (PeerCodecOffer): the peer's codecs in its order with the calling
	// line's codec first, or "any"; TelephoneEvent whether RFC 4733 DTMF
	// stays in it (dtmfmode). No common codec fails the attempt with 488
	// and the next peer follows; Asterisk would transcode instead
	// (render/README.md).
	Codecs         string `json:"codecs"`
	TelephoneEvent bool   `json:"telephone_event"`
	// Location is set when the SIP core's INVITE to the peer carries the
	// line's civic address (an emergency call, Peer.SendsLocation).
	Location bool `json:"location,omitempty"`
}

// Path outcomes of a SimulationAttempt.
const (
	PathDial = "dial"
	PathSkip = "skip"
	PathFail = "fail" // fail_percent 100: a 503 without a call
)

// Admissions is what the live switch (CallControl) tells a simulation of
// the admission decisions the SIP core makes at this moment: calls in
// progress against totalmaximum and outmaximum (this host's), and what a
// limited line has spent and holds today. Without it a simulation judges
// the route alone.
type Admissions interface {
	ActivePeerCalls(id int) int
	ActivePhoneCalls(id int) int
	Tariff(peer *Peer, called, caller, media string, now time.Time) (Tariff, bool)
	SpendHeld(line string, now time.Time) float64
}

// Skip and outcome reasons of a simulation.
const (
	ReasonNotSIP      = "not_sip"      // the SIP core dials sip and pjsip peers only
	ReasonOutMaximum  = "outmaximum"   // the peer's calls are at its outmaximum
	ReasonSpendLimit  = "spend_limit"  // what is left of call_maximum does not cover the first billing step
	ReasonFailPercent = "fail_percent" // fail_percent 100
	ReasonSource      = "source"       // the line's source does not hold the caller's address (403)
	ReasonUserAgent   = "user_agent"   // the caller's User-Agent is not one of the line's allowed_ua (403)
)

// Simulate decides req on state and describes the decision. With live
// admissions (nil: none) it also shows what the SIP core would refuse now:
// a line at its totalmaximum (outcome "line_busy", 486), peers at their
// outmaximum, chargeable attempts the line's spend limit does not cover
// (skipped; "spend_limit" when they are all the route has, 403).
func Simulate(state *RoutingState, req CallRequest, live Admissions) Simulation {
	if req.Now.IsZero() {
		req.Now = time.Now()
	}
	if req.Media == "" {
		req.Media = MediaVoice
	}
	sim := Simulation{Plan: req.Plan, Called: req.Called, Caller: req.Caller, Media: req.Media, Time: req.Now.UTC().Format(time.RFC3339), Attempts: []SimulationAttempt{}}
	if req.Line != nil {
		// The SIP core's order: the request is authenticated and its
		// source and User-Agent judged before the call takes a slot.
		switch {
		case req.Source.IsValid() && !SourceAllows(req.Line.Source, req.Source):
			sim.Line, sim.Outcome = req.Line.Name, ReasonSource
			return sim
		case req.UserAgent != "" && !UserAgentAllows(req.Line.AllowedUA, req.UserAgent):
			sim.Line, sim.Outcome = req.Line.Name, ReasonUserAgent
			return sim
		}
	}
	emergency := state.IsEmergency(req.Called) && req.CalledLine == nil
	if live != nil && req.Line != nil && req.Line.TotalMaximum >= 0 && live.ActivePhoneCalls(req.Line.ID) >= req.Line.TotalMaximum {
		// The SIP core takes the calling line's slot before it routes.
		if !emergency {
			sim.Line, sim.Outcome = req.Line.Name, "line_busy"
			return sim
		}
		sim.Bypassed = append(sim.Bypassed, SimulationBypass{Check: "totalmaximum",
			Reason: fmt.Sprintf("line %s is at its totalmaximum %d", req.Line.Name, req.Line.TotalMaximum)})
	}
	if req.CalledLine != nil {
		// A call to a line rings it (its forwarding, dnd and destinations
		// are the called line's, which simulation does not follow).
		sim.Outcome, sim.CalledLine, sim.Device = "line", req.CalledLine.Name, req.CalledLine.Name
		if req.CalledDevice != nil {
			sim.Device = req.CalledDevice.Name
		}
		if req.Line != nil {
			sim.Line, sim.COS = req.Line.Name, state.EffectiveCOS(req.Line)
		}
		return sim
	}
	d, err := state.Decide(req)
	if d.Emergency {
		sim.Emergency, sim.CallerID = true, d.Caller
		if d.COSBypassed {
			r := fmt.Sprintf("class of service %d bars it (no rule matches; otherwise deny)", state.EffectiveCOS(req.Line))
			if d.COSRule != nil {
				r = fmt.Sprintf("class of service %d bars it (rule %d, prefix %q)", state.EffectiveCOS(req.Line), d.COSRule.ID, d.COSRule.Prefix)
			}
			sim.Bypassed = append([]SimulationBypass{{Check: "cos", Reason: r}}, sim.Bypassed...)
		}
	}
	sim.Route = d.Route
	if req.Line != nil {
		sim.Line, sim.COS = req.Line.Name, state.EffectiveCOS(req.Line)
	}
	switch {
	case err == nil:
		sim.Outcome = "route"
	case errors.Is(err, ErrCOSBarred):
		sim.Outcome, sim.COSRule = "cos_barred", d.COSRule
	case errors.Is(err, ErrCallBarred):
		sim.Outcome = "barred"
	case errors.Is(err, ErrNoPeer):
		sim.Outcome = "no_peer"
	case errors.Is(err, ErrUnknownPlan):
		sim.Outcome = "unknown_plan"
	default:
		sim.Outcome = "no_route"
	}
	overSpend, limited, tried := 0, 0, 0
	spendNoted := false
	pres := req.Presentation
	if d.Emergency {
		pres = d.Presentation
	}
	for i, a := range d.Attempts {
		at := SimulationAttempt{Order: i + 1, Peer: a.Peer.ID, Name: a.Peer.Name, Type: a.Peer.Type, Called: a.Called, CallerID: a.CallerID,
			SIPCore: PathDial, Asterisk: PathDial, FailPercent: a.Peer.FailPercent}
		if a.Peer.IsSIP() {
			at.From = SentFrom(a.Peer, a.CallerID, pres)
		}
		codecs := PeerCodecOffer(a.Peer, req.Line)
		at.Codecs, at.TelephoneEvent = codecs.List(), codecs.TelephoneEvent
		at.Location = d.Emergency && a.Peer.SendsLocation(req.Line)
		if emergency && !spendNoted && a.Peer.IsSIP() && live != nil && req.Line != nil && !coversFirstStep(live, state, req, a.Peer) {
			// Never refused for spend: the check is noted, the attempt
			// dialled (the SIP core reserves nothing).
			sim.Bypassed = append(sim.Bypassed, SimulationBypass{Check: ReasonSpendLimit,
				Reason: fmt.Sprintf("line %s's spend limit does not cover the first billing step", req.Line.Name)})
			spendNoted = true
		}
		// The SIP core's order (sip's routeOut): type, spend, outmaximum,
		// fail_percent.
		switch {
		case !a.Peer.IsSIP():
			at.SIPCore, at.Reason = PathSkip, ReasonNotSIP
		case live != nil && req.Line != nil && !emergency && !coversFirstStep(live, state, req, a.Peer):
			at.SIPCore, at.Reason = PathSkip, ReasonSpendLimit
			overSpend++
		case live != nil && a.Peer.OutMaximum >= 0 && live.ActivePeerCalls(a.Peer.ID) >= a.Peer.OutMaximum:
			// The dialplan counts the same calls only when Asterisk
			// carries them; this is the SIP core's count.
			at.SIPCore, at.Reason = PathSkip, ReasonOutMaximum
			limited++
		case a.Peer.FailPercent >= 100:
			at.SIPCore, at.Reason = PathFail, ReasonFailPercent
			tried++
		default:
			tried++
		}
		if a.Peer.FailPercent >= 100 {
			at.Asterisk = PathFail
		}
		sim.Attempts = append(sim.Attempts, at)
	}
	// What the SIP core answers when it tried no peer (sip's routeOut).
	switch {
	case sim.Outcome != "route" || tried > 0:
	case overSpend > 0:
		sim.Outcome = ReasonSpendLimit // 403
	case limited > 0:
		sim.Outcome = ReasonOutMaximum // 503
	}
	for _, p := range d.Reserved {
		sim.Reserved = append(sim.Reserved, SimulationReserved{Peer: p.ID, Name: p.Name, Customer: p.Customer})
	}
	return sim
}

// coversFirstStep reports whether what line has left today covers the
// first billing step of peer's tariff for the call (SpendLedger.Reserve's
// rule; a peer that charges nothing is always covered).
func coversFirstStep(live Admissions, state *RoutingState, req CallRequest, peer *Peer) bool {
	if req.Line.CallMaximum < 0 {
		return true
	}
	t, chargeable := live.Tariff(peer, req.Called, req.Caller, req.Line.CallMedia(), req.Now)
	if !chargeable || !t.Chargeable() {
		return true
	}
	first, _ := t.Charge(time.Nanosecond)
	return live.SpendHeld(req.Line.Name, req.Now)+first <= req.Line.CallMaximum
}

// String prints a simulation for a terminal (`sipswitch route`).
func (s Simulation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plan %d, called %s, caller %q, media %s, at %s\n", s.Plan, s.Called, s.Caller, s.Media, s.Time)
	if s.Route != nil {
		r := s.Route
		fmt.Fprintf(&b, "route %d: called_prefix %q caller_prefix %q media %s allow %d\n", r.ID, r.CalledPrefix, r.CallerPrefix, r.Media, r.Allow)
	}
	switch s.Outcome {
	case "route":
		for _, a := range s.Attempts {
			fmt.Fprintf(&b, "  %d. peer %d %s (%s): send %s, callerid %q, codecs %s", a.Order, a.Peer, a.Name, a.Type, a.Called, a.CallerID, a.Codecs)
			if !a.TelephoneEvent {
				b.WriteString(" (telephone-event removed)")
			}
			switch a.Reason {
			case ReasonNotSIP:
				b.WriteString(" (Asterisk only: the SIP core skips a peer it cannot dial)")
			case ReasonSpendLimit:
				b.WriteString(" (the SIP core skips it: the line's spend limit does not cover the first billing step)")
			case ReasonOutMaximum:
				b.WriteString(" (skipped: the peer's calls are at its outmaximum)")
			}
			switch {
			case a.FailPercent >= 100:
				b.WriteString(" (fails every call: fail_percent 100)")
			case a.FailPercent > 0:
				fmt.Fprintf(&b, " (fails %d%% of calls: fail_percent)", a.FailPercent)
			}
			b.WriteString("\n")
		}
	case "line":
		if s.Device != s.CalledLine {
			fmt.Fprintf(&b, "rings line %s on the device of line %s (virtual line logged in)\n", s.CalledLine, s.Device)
		} else {
			fmt.Fprintf(&b, "rings line %s\n", s.CalledLine)
		}
	case "barred":
		b.WriteString("refused: the route forbids the call\n")
	case "cos_barred":
		if s.COSRule != nil {
			fmt.Fprintf(&b, "refused: class of service %d of line %s bars it (rule %d, prefix %q)\n", s.COS, s.Line, s.COSRule.ID, s.COSRule.Prefix)
		} else {
			fmt.Fprintf(&b, "refused: class of service %d of line %s bars it (no rule matches; otherwise deny)\n", s.COS, s.Line)
		}
	case "no_peer":
		b.WriteString("refused: the route has no usable peer\n")
	case "line_busy":
		fmt.Fprintf(&b, "refused 486: line %s is at its totalmaximum\n", s.Line)
	case ReasonSpendLimit:
		fmt.Fprintf(&b, "refused 403: line %s's spend limit covers no attempt's first billing step\n", s.Line)
	case ReasonOutMaximum:
		b.WriteString("refused 503: every peer is at its outmaximum\n")
	case "unknown_plan":
		b.WriteString("refused: no such rate plan\n")
	default:
		b.WriteString("refused: no route matches\n")
	}
	if s.Emergency {
		fmt.Fprintf(&b, "emergency call: caller id %q\n", s.CallerID)
		for _, by := range s.Bypassed {
			fmt.Fprintf(&b, "  not refused by %s: %s\n", by.Check, by.Reason)
		}
	}
	for _, r := range s.Reserved {
		fmt.Fprintf(&b, "  left out: peer %d %s is reserved for customer %d\n", r.Peer, r.Name, r.Customer)
	}
	return b.String()
}
