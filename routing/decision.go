package routing

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// This file is the contract between the routing engine and the parts that
// act on its decisions (the SIP core, the renderer's tests, routes/simulate).

// Presentation says what the caller's number is known as.
type Presentation int

const (
	PresentationAllowed  Presentation = iota // number known and may be shown
	PresentationWithheld                     // number known but withheld (privacy)
	PresentationUnknown                      // no number
)

// CallRequest is everything the engine needs to route one call.
type CallRequest struct {
	Plan         int    // rate plan id
	Called       string // number dialled, as received
	Caller       string // caller's number ("" when unknown)
	Presentation Presentation
	Media        string // MediaVoice or MediaFax; "" means voice
	Now          time.Time
	// Line is the line whose call this is (the caller, or the line that
	// forwards it): its class of service applies. nil for none (a call
	// from a peer, or a simulation by plan).
	Line *Phone
	// Source and UserAgent are where a line's call comes from and its
	// User-Agent, when known (a simulation may give them): the SIP core
	// refuses a line's request from outside its source or without one of
	// its allowed_ua (403) before it routes. Zero: not judged.
	Source    netip.Addr
	UserAgent string
	// CalledLine, in a simulation, is the line the called number names:
	// the SIP core rings it (on its device, CalledDevice: the line
	// itself, or the line a virtual line is logged into) and routes
	// nothing. The SIP core decides this itself (Directory.Phone).
	CalledLine, CalledDevice *Phone
}

// Attempt is one peer to try, in order, with the numbers it is to be sent.
type Attempt struct {
	Peer     *Peer
	Called   string // called number after the peer's called_prefix / called_strip_hash
	CallerID string // caller id after the peer's callerid / callerid_unknown / callerid_withheld; "" = none
}

// Decision is the engine's answer for a CallRequest.
type Decision struct {
	Route    *Route    // the matched route; nil when no route matched
	Attempts []Attempt // peers in failover order; empty when refused
	// COSRule is the class of service rule that barred the call, when one
	// did (ErrCOSBarred; nil also when the class's otherwise barred it).
	COSRule *COSRule
	// Reserved are the peers the route named that are reserved for
	// another customer (Peer.Customer): left out of Attempts.
	Reserved []*Peer
	// Emergency is set when the called number is one of the emergency
	// numbers (emergency.go): the class of service was not applied
	// (COSBypassed: it would have barred the call, by COSRule), and the
	// SIP core applies no spend limit or totalmaximum. Caller and
	// Presentation are then the caller id the attempts were given (the
	// line's callerid_location when it has one).
	Emergency    bool
	COSBypassed  bool
	Caller       string
	Presentation Presentation
}

// Sentinel errors a Decide may return; callers map them to SIP or dialplan
// outcomes (404 no route, 403 forbidden).
var (
	ErrNoRoute      = errors.New("no route for number")
	ErrCallBarred   = errors.New("route forbids the call")
	ErrNoPeer       = errors.New("route has no usable peer")
	ErrUnknownPlan  = errors.New("unknown rate plan")
	ErrLimitReached = errors.New("call limit reached")
	// ErrCOSBarred is ErrCallBarred by the line's class of service, before
	// any route is looked at.
	ErrCOSBarred = fmt.Errorf("class of service bars the number: %w", ErrCallBarred)
)

// AttemptOutcome is how one attempt toward a peer ended.
type AttemptOutcome struct {
	Code         int  // final SIP status; 0 when none was received
	TimedOut     bool // no answer within the peer's no-answer timeout
	LimitReached bool // peer was at its outmaximum, not tried
}
