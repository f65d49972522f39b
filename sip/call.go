package sip

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/media"
	"github.com/sipswitch/sipswitch/sip/sessiontimer"
)

// maxHops bounds how often one call may be sent on (forwarding, busy,
// no-answer and unregistered destinations) so that two lines forwarding
// to each other cannot loop.
const maxHops = 5

// byeTimeout bounds the BYE we send when tearing a call down.
const byeTimeout = 4 * time.Second

// dialogTable maps dialog IDs of both legs to their call: the A-leg in
// UAS form, the B-leg in UAC form (they never collide: each leg has its
// own Call-ID).
type dialogTable struct{ m sync.Map }

func (t *dialogTable) put(id string, c *call) { t.m.Store(id, c) }

func (t *dialogTable) del(id string) { t.m.Delete(id) }

func (t *dialogTable) get(id string) *call {
	v, ok := t.m.Load(id)
	if !ok {
		return nil
	}
	return v.(*call)
}

// call is one A-leg and the B-legs it spawns. Its fields are owned by the
// A-leg INVITE handler goroutine, except b (read by in-dialog handlers).
type call struct {
	s        *Server
	a        *sipgo.DialogServerSession
	aTx      sip.ServerTransaction // the caller's INVITE's (writeAnswerAgain)
	callID   string
	caller   string // caller number as routed
	pres     routing.Presentation
	extName  string // display name the B-legs to peers show ("" none)
	fromUser string // From user the B-legs to phones show
	fromName string // display name the B-legs to phones show
	intPres  routing.Presentation
	start    time.Time
	events   chan legEvent
	done     chan struct{} // closed when the call stops collecting leg events
	releases []func()
	// pendingLine is the calling line whose totalmaximum slot the call
	// has yet to take: routed out, with its first admitted attempt (one
	// round trip with the peer's slot and the spend's first step on a
	// host of a cluster); before a local line or a trunk is rung
	// otherwise (takeLine).
	pendingLine *routing.Phone
	b           atomic.Pointer[leg]
	attempts    int
	// diversions are the lines that sent the call on, oldest first.
	diversions []diversion
	// line is whose call this is (record.go): it pays, its spend limit
	// applies. rec is the call's record, recorded once it is handed on.
	line     *routing.Phone
	rec      records.Call
	recorded bool
	// charge holds the line to its spend limit once the call is answered
	// (the answering leg's reservation).
	charge *routing.Charge
	// callerBye is set before the caller's BYE is handed to sipgo. The
	// dialog state cannot tell it: an ACK handled after the BYE (each
	// request has its own goroutine) moves the state back to confirmed.
	callerBye atomic.Bool
	// bridged is set as the answer is sent to the caller: from then on the
	// call's goroutine ends the call on the caller's BYE (handleBye pokes
	// it) and hands the record over before the BYE is answered;
	// recordTaken is done once it has.
	bridged     atomic.Bool
	recordTaken sync.WaitGroup
	// operatorHangup is closed by calls/hangup (live.go; nil until the
	// call is listed).
	operatorHangup <-chan struct{}
	// aTimer is the caller leg's session timer (nil when none); the
	// callee's is on its leg. refreshed wakes the bridge when either leg
	// refreshed its session.
	aTimer    *sessiontimer.Timer
	refreshed chan struct{}
	// Media (callmedia.go). callerPhone and callerPeer are who called (one
	// of them, or neither for a call in the test harness): their codec
	// policy shapes the offers. mode is media.relay when the call began;
	// media is its relay session (nil: SDP end to end); bOffered is set
	// once a callee leg was offered through it. sentA is the last SDP sent
	// to the caller; ackBody the caller's ACK body (a late-offer answer).
	callerPhone *routing.Phone
	callerPeer  *routing.Peer
	// emergencyLine is the line whose emergency call this is (routeOut),
	// whose location peers that take it are sent (emergency.go).
	emergencyLine *routing.Phone
	mode          media.Mode
	callerNAT     bool
	callerWebRTC  bool             // the caller's SDP is WebRTC's (DTLS-SRTP, ICE): relayed whatever media.relay says
	callerEnc     media.Encryption // the caller leg's SRTP (callsrtp.go)
	media         *media.Session
	bOffered      bool
	sentA         sdpSent
	ackBody       atomic.Pointer[[]byte]
	// received is when the handler of the call's INVITE began, routeTimed
	// whether its first B-leg was timed (DelayRoute); zero when nothing
	// is timed.
	received   time.Time
	routeTimed bool
	// Recording and hold music (callrecord.go): the group that records
	// the call and the customer of its line, the recording once
	// answered; whether the caller's and the rung line's features need
	// the relay, and their music classes.
	recGroup                 *routing.RecordGroup
	recCustomer              int
	recording                *media.Recording
	callerForce, calleeForce bool
	callerMusic, calleeMusic string
}

// poke tells the bridge that a session timer moved.
func (c *call) poke() {
	select {
	case c.refreshed <- struct{}{}:
	default:
	}
}

type legEvent struct {
	leg      *leg
	res      *sip.Response
	err      error
	final    bool
	answered bool
}

// result is how ringing one or more legs ended.
type result struct {
	answered *leg
	code     int
	reason   string
	timedOut bool
	canceled bool // the caller cancelled, or (operator) calls/hangup ended it
	operator bool
	limit    bool
}
