package sip

import "sync/atomic"

// Stats are the SIP core's counters, cheap to bump on the call path and
// meant to be exported as metrics. Read them with Server.Stats.
type Stats struct {
	CallsAttempted uint64 // authenticated INVITEs (and inbound peer INVITEs) taken for routing
	CallsAnswered  uint64 // calls whose B-leg answered and whose A-leg ACKed
	CallsFailed    uint64 // calls that ended without an answer (sum of the causes below)
	// CallsCompleted counts answered calls that have ended, TalkMillis
	// their summed time from answer to end: the average call duration
	// over a window is the change of one over the change of the other.
	CallsCompleted uint64
	TalkMillis     uint64
	FailedNoRoute  uint64 // 404: no route, or unknown local number on inbound calls
	FailedBarred   uint64 // 403: route forbids the call
	FailedBusy     uint64 // 486/600/603 final from the callee or a line at totalmaximum
	FailedNoAnswer uint64 // nobody answered within the ring time
	FailedCanceled uint64 // caller cancelled
	FailedLimit    uint64 // every peer was at outmaximum
	FailedMedia    uint64 // 488/606/415: no common codec, an SDP not usable
	FailedUnavail  uint64 // 5xx from every peer tried, or none reachable
	FailedOther    uint64 // any other final failure
	Failovers      uint64 // attempts after the first one of a call
	ActiveCalls    int64  // calls in progress (ringing or answered)
	Registrations  int64  // registered contacts now
	AuthFailures   uint64 // REGISTER/INVITE digest failures and unanswered challenges (sum of AuthFailuresBy)
	// AuthFailuresBy counts them by reason.
	AuthFailuresBy  [numAuthReasons]uint64
	BlockedRequests uint64 // requests refused because their IP address is blocked
	Rejected503     uint64 // INVITEs refused while draining
	// RejectedOverload counts calls refused by the call admission limits
	// and by overload shedding; ShedOverload those of the shedding alone
	// (WithOverloadDelay: the wait of new INVITEs for a core stayed past
	// its target).
	RejectedOverload uint64
	ShedOverload     uint64
	// StatelessChallenges counts the 407s the UDP read loop sent from an
	// INVITE's raw bytes (challengeraw.go), retransmissions answered
	// included.
	StatelessChallenges uint64
	// ReadLoopRequests counts the in-dialog ACKs and BYEs the UDP read
	// loop handed to their handlers without sipgo's transaction layer
	// (readdialog.go).
	ReadLoopRequests uint64
	// ReadLoopResponses counts the answers to B-legs' requests the UDP
	// read loop handed to their client transactions (clienttx.go).
	ReadLoopResponses uint64
	// ReadLoopReads and ReadLoopDatagrams count the UDP read loops' reads
	// (recvmmsg calls that got something) and the datagrams they got: their
	// ratio is how many queued while the loop worked (readconn.go).
	ReadLoopReads, ReadLoopDatagrams uint64
	// SessionTimeouts counts answered calls ended because a leg's session
	// timer expired or a refresh of ours failed (RFC 4028): a leg vanished.
	SessionTimeouts uint64
	// UnregisteredAlerts counts lines with expect_registered >= 1 whose
	// last registration lapsed or was removed; AddressChangeAlerts lines
	// with expect_registered 2 that registered from a new IP address.
	UnregisteredAlerts  uint64
	AddressChangeAlerts uint64
	// UnreachableContacts is the number of registered contacts of ping=1
	// lines that did not answer their last OPTIONS (calls skip them).
	UnreachableContacts int64
	// FloodDropped counts messages dropped by the flood limit, FloodBlocks
	// the times a source address was blocked by it.
	// FloodTrickled counts messages from blocked addresses let through by
	// the trickle (one a second per port).
	FloodDropped  uint64
	FloodBlocks   uint64
	FloodTrickled uint64
	// ForwardedCalls counts calls a line sent on to the outside
	// (forwarding, busy, no-answer or unregistered destinations).
	ForwardedCalls uint64
	// Unparseable counts received messages that were not SIP (dropped).
	Unparseable uint64
	// RelayedCalls counts calls whose media the relay anchored;
	// MediaTimeouts answered calls it ended because a party sent no RTP
	// for media.timeout (media.hold_timeout on hold).
	RelayedCalls uint64
	// EmergencyCalls counts calls to the emergency numbers
	// (routing/emergency.go), routed or not: an alert metric.
	EmergencyCalls uint64
	MediaTimeouts  uint64
	// SDESRefused counts offers whose SDES keys (a=crypto) came over a
	// transport they may not travel on (UDP, TCP) and were not taken
	// (sip package documentation, SRTP).
	SDESRefused uint64
	// InviteRetransmissions counts retransmitted INVITEs of answered calls
	// absorbed after their transaction ended (see acceptedInvites).
	InviteRetransmissions uint64
	// Recordings counts calls recorded (callrecord.go); RecordFailures
	// the calls a record group wanted recorded that were not (no relay,
	// no recordings directory, a file that could not be created).
	Recordings     uint64
	RecordFailures uint64
	// Message waiting (mwi.go): MWISubscriptions are the subscriptions
	// held now; MWINotifies the NOTIFYs sent to phones for the voicemail
	// server's summaries; MWIForged the NOTIFYs refused because they did
	// not come from the voicemail server's address; MWIDropped NOTIFYs
	// not sent because too many awaited answers.
	MWISubscriptions int64
	MWINotifies      uint64
	MWIForged        uint64
	MWIDropped       uint64
	// WebSocketRefused counts connections to ws:// and wss:// listeners
	// refused before SIP (a failed TLS handshake, an upgrade request that
	// is incomplete, not for the sip subprotocol, or from an origin not
	// allowed; transports_ws.go).
	WebSocketRefused uint64
}

type counters struct {
	callsAttempted, callsAnswered, callsFailed            atomic.Uint64
	failedNoRoute, failedBarred, failedBusy               atomic.Uint64
	failedNoAnswer, failedCanceled, failedLimit, failedOt atomic.Uint64
	failedMedia, failedUnavailable                        atomic.Uint64
	failovers, blocked, rejected503                       atomic.Uint64
	rejectedOverload, sessionTimeouts, forwarded          atomic.Uint64
	relayedCalls, mediaTimeouts, inviteRetransmissions    atomic.Uint64
	activeCalls                                           atomic.Int64
	emergencyCalls, shedOverload, statelessChallenges     atomic.Uint64
	recordings, recordFailures                            atomic.Uint64
	callsCompleted, talkMillis                            atomic.Uint64
	wsRefused, readLoopRequests, readLoopResponses        atomic.Uint64
	readLoopReads, readLoopDatagrams                      atomic.Uint64
	sdesRefused                                           atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	reg := s.reg.Stats()
	st := Stats{
		CallsAttempted:      c.callsAttempted.Load(),
		CallsAnswered:       c.callsAnswered.Load(),
		CallsFailed:         c.callsFailed.Load(),
		CallsCompleted:      c.callsCompleted.Load(),
		TalkMillis:          c.talkMillis.Load(),
		FailedNoRoute:       c.failedNoRoute.Load(),
		FailedBarred:        c.failedBarred.Load(),
		FailedBusy:          c.failedBusy.Load(),
		FailedNoAnswer:      c.failedNoAnswer.Load(),
		FailedCanceled:      c.failedCanceled.Load(),
		FailedLimit:         c.failedLimit.Load(),
		FailedMedia:         c.failedMedia.Load(),
		FailedUnavail:       c.failedUnavailable.Load(),
		FailedOther:         c.failedOt.Load(),
		Failovers:           c.failovers.Load(),
		ActiveCalls:         c.activeCalls.Load(),
		Registrations:       reg.Registrations,
		BlockedRequests:     c.blocked.Load(),
		Rejected503:         c.rejected503.Load(),
		RejectedOverload:    c.rejectedOverload.Load(),
		ShedOverload:        c.shedOverload.Load(),
		StatelessChallenges: c.statelessChallenges.Load(),
		ReadLoopRequests:    c.readLoopRequests.Load(),
		ReadLoopResponses:   c.readLoopResponses.Load(),
		ReadLoopReads:       c.readLoopReads.Load(),
		ReadLoopDatagrams:   c.readLoopDatagrams.Load(),
		SessionTimeouts:     c.sessionTimeouts.Load(),
		UnregisteredAlerts:  reg.UnregisteredAlerts,
		AddressChangeAlerts: reg.AddressChangeAlerts,
		UnreachableContacts: reg.UnreachableContacts,
		FloodDropped:        s.flood.droppedCount(),
		FloodBlocks:         s.flood.blockCount(),
		FloodTrickled:       s.flood.trickleCount(),
		ForwardedCalls:      c.forwarded.Load(),
		Unparseable:         s.transportLog.state.dropped.Load(),
		RelayedCalls:        c.relayedCalls.Load(),
		EmergencyCalls:      c.emergencyCalls.Load(),
		MediaTimeouts:       c.mediaTimeouts.Load(),
		SDESRefused:         c.sdesRefused.Load(),

		InviteRetransmissions: c.inviteRetransmissions.Load(),
		Recordings:            c.recordings.Load(),
		RecordFailures:        c.recordFailures.Load(),
		MWISubscriptions:      int64(s.mwi.count()),
		MWINotifies:           s.mwi.relayed.Load(),
		MWIForged:             s.mwi.forged.Load(),
		MWIDropped:            s.mwi.dropped.Load(),
		WebSocketRefused:      c.wsRefused.Load(),
	}
	st.AuthFailuresBy = s.auth.Failures()
	for _, n := range st.AuthFailuresBy {
		st.AuthFailures += n
	}
	return st
}

// The causes of a failed call or attempt: one vocabulary for the call
// log's outcome, the attempt metric's cause label and the per-call failure
// counters, so an operator reading "outcome=busy" finds it under
// cause="busy". The far end's reason text goes beside it, never instead.
const (
	causeAnswered    = "answered"
	causeNoRoute     = "no_route"    // 404, 484, 604
	causeBarred      = "barred"      // 403: a route, a class of service
	causeBusy        = "busy"        // 486, 600, 603
	causeNoAnswer    = "no_answer"   // 480, 408: rang out
	causeCanceled    = "canceled"    // 487: the caller hung up first
	causeLimit       = "limit"       // every peer at outmaximum
	causeSpendLimit  = "spend_limit" // the line at its daily spend limit
	causeTimeout     = "timeout"     // no provisional response within the peer timeout
	causeMedia       = "media"       // 488, 606, 415: no common codec, bad SDP
	causeUnavailable = "unavailable" // 5xx, a peer not reachable
	causeOther       = "other"
)

// causeOfStatus is the cause a final status code is filed under.
func causeOfStatus(code int) string {
	switch {
	case code == 404 || code == 484 || code == 604:
		return causeNoRoute
	case code == 403:
		return causeBarred
	case code == 486 || code == 600 || code == 603:
		return causeBusy
	case code == 480 || code == 408:
		return causeNoAnswer
	case code == 487:
		return causeCanceled
	case code == 488 || code == 606 || code == 415:
		return causeMedia
	case code >= 500 && code < 600:
		return causeUnavailable
	}
	return causeOther
}

// countFailure files a call that ended with final status code under its cause.
func (c *counters) countFailure(code int, canceled, limit bool) {
	c.callsFailed.Add(1)
	cause := causeOfStatus(code)
	switch {
	case canceled:
		cause = causeCanceled
	case limit:
		cause = causeLimit
	}
	switch cause {
	case causeCanceled:
		c.failedCanceled.Add(1)
	case causeLimit:
		c.failedLimit.Add(1)
	case causeNoRoute:
		c.failedNoRoute.Add(1)
	case causeBarred:
		c.failedBarred.Add(1)
	case causeBusy:
		c.failedBusy.Add(1)
	case causeNoAnswer:
		c.failedNoAnswer.Add(1)
	case causeMedia:
		c.failedMedia.Add(1)
	case causeUnavailable:
		c.failedUnavailable.Add(1)
	default:
		c.failedOt.Add(1)
	}
}
