package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip"
)

// ObserveAttempt counts one call attempt by peer (or "local" for a line)
// and cause.
func (m *Metrics) ObserveAttempt(r sip.AttemptResult) {
	peer := r.Peer
	if peer == "" {
		peer = "local"
	}
	m.CallAttempts.WithLabelValues(peer).Inc()
	if r.Cause == "answered" {
		m.CallsAnswered.WithLabelValues(peer).Inc()
		return
	}
	m.CallsFailed.WithLabelValues(peer, r.Cause).Inc()
}

// ObserveDelay records one span of the call path (sip.WithDelayObserver);
// it does not allocate.
func (m *Metrics) ObserveDelay(stage sip.DelayStage, d time.Duration) {
	if int(stage) < len(m.delays) {
		m.delays[stage].Observe(d.Seconds())
	}
}

// sipCollector reads the SIP core's counters and the live call-limit
// occupancy at scrape time, so the call path only bumps atomics.
type sipCollector struct {
	stats func() sip.Stats
	calls *routing.CallControl

	calls_, failed, failovers, active, regs, authFail, blocked, rejected, overload, shed, statelessChallenges, readLoop, readLoopAnswers, readLoopReads, readLoopDatagrams, sessionLost, unregAlerts, addrAlerts, unreachable, floodDropped, floodBlocks, floodTrickled *prometheus.Desc
	forwarded, unparseable, relayed, mediaTimeouts, inviteRetrans, emergency, completed, talk, sdesRefused                                                                                                                                                              *prometheus.Desc
	mwiSubs, mwiNotifies, mwiForged, mwiDropped                                                                                                                                                                                                                         *prometheus.Desc
	peerActive, peerLimit, phoneActive, phoneLimit                                                                                                                                                                                                                      *prometheus.Desc
}

// RegisterSIP exports the SIP core's counters and the active calls per
// peer and per line against their limits.
func (m *Metrics) RegisterSIP(stats func() sip.Stats, calls *routing.CallControl) error {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return m.Registry.Register(&sipCollector{
		stats: stats, calls: calls,
		calls_:              d("sipswitch_sip_calls_total", "Calls by result (attempted, answered, failed).", "result"),
		failed:              d("sipswitch_sip_calls_failed_by_cause_total", "Failed calls by cause.", "cause"),
		completed:           d("sipswitch_sip_calls_completed_total", "Answered calls that have ended."),
		talk:                d("sipswitch_sip_talk_seconds_total", "Time from answer to end of the completed calls: its rate over that of sipswitch_sip_calls_completed_total is the average call duration."),
		failovers:           d("sipswitch_sip_failovers_total", "Attempts after the first of a call."),
		active:              d("sipswitch_sip_active_calls", "Calls in progress."),
		regs:                d("sipswitch_sip_registrations", "Registered contacts."),
		floodDropped:        d("sipswitch_sip_flood_dropped_total", "Messages dropped unparsed because their source address was over calls.flood_limit."),
		floodBlocks:         d("sipswitch_sip_flood_blocks_total", "Times a source address was blocked by calls.flood_limit."),
		floodTrickled:       d("sipswitch_sip_flood_trickled_total", "Messages from blocked source addresses let through by the trickle (one a second per port)."),
		unreachable:         d("sipswitch_sip_unreachable_contacts", "Registered contacts of ping=1 lines that did not answer their last OPTIONS; calls skip them."),
		authFail:            d("sipswitch_sip_auth_failures_total", "REGISTER/INVITE digest failures by reason (password, unknown_user, algorithm, realm, uri, qop, malformed, nonce) and challenges never answered (unanswered).", "reason"),
		forwarded:           d("sipswitch_sip_forwarded_calls_total", "Calls a line sent on to the outside (forwarding, busy, no-answer or unregistered destinations)."),
		unparseable:         d("sipswitch_sip_unparseable_messages_total", "Datagrams and stream messages that were not SIP and were dropped."),
		inviteRetrans:       d("sipswitch_sip_invite_retransmissions_absorbed_total", "Retransmitted INVITEs of answered calls absorbed after their transaction ended."),
		emergency:           d("sipswitch_emergency_calls_total", "Calls to the emergency numbers (settings emergency_numbers), routed or not: alert on any increase."),
		mwiSubs:             d("sipswitch_sip_mwi_subscriptions", "Message-waiting subscriptions (RFC 3842) the SIP core holds."),
		mwiNotifies:         d("sipswitch_sip_mwi_notifies_total", "Message-waiting NOTIFYs sent to phones for the voicemail server's summaries."),
		mwiForged:           d("sipswitch_sip_mwi_notifies_refused_total", "NOTIFYs refused because they did not come from the voicemail server's address."),
		mwiDropped:          d("sipswitch_sip_mwi_notifies_dropped_total", "Message-waiting NOTIFYs not sent because too many awaited answers."),
		relayed:             d("sipswitch_sip_relayed_calls_total", "Calls whose media went through the switch's RTP relay (media.relay)."),
		sdesRefused:         d("sipswitch_sip_sdes_refused_total", "Offers whose SDES keys (a=crypto) came over UDP or TCP and were not taken (media.sdes_without_tls off)."),
		mediaTimeouts:       d("sipswitch_sip_media_timeouts_total", "Answered calls ended because a party sent no RTP for media.timeout (media.hold_timeout on hold)."),
		blocked:             d("sipswitch_sip_blocked_requests_total", "Requests refused from blocked addresses."),
		rejected:            d("sipswitch_sip_rejected_draining_total", "INVITEs refused while draining."),
		overload:            d("sipswitch_sip_rejected_overload_total", "Calls refused by the call admission limits (calls.max_calls, calls.max_cps) and by overload shedding."),
		shed:                d("sipswitch_sip_shed_overload_total", "New INVITEs refused to keep the wait for a core at calls.overload_delay (overload shedding)."),
		statelessChallenges: d("sipswitch_sip_stateless_challenges_total", "407s to new INVITEs sent by the UDP read loop without a transaction (retransmissions answered included)."),
		readLoop:            d("sipswitch_sip_read_loop_requests_total", "New INVITEs, CANCELs and in-dialog ACKs and BYEs the UDP read loop handed to the call without a transaction of sipgo's."),
		readLoopAnswers:     d("sipswitch_sip_read_loop_responses_total", "Answers to B-legs' requests the UDP read loop handed to the switch's own client transactions, not sipgo's."),
		readLoopReads:       d("sipswitch_sip_read_loop_reads_total", "Reads (recvmmsg system calls) by which the UDP read loops got datagrams."),
		readLoopDatagrams:   d("sipswitch_sip_read_loop_datagrams_total", "Datagrams the UDP read loops read: over sipswitch_sip_read_loop_reads_total, how many a read got."),
		sessionLost:         d("sipswitch_sip_session_timeouts_total", "Answered calls ended because a leg's session timer expired or a refresh failed (RFC 4028)."),
		unregAlerts:         d("sipswitch_sip_unregistered_alerts_total", "Lines expected to be registered (expect_registered 1 or 2) whose last registration lapsed or was removed."),
		addrAlerts:          d("sipswitch_sip_address_change_alerts_total", "Lines with expect_registered 2 that registered from a new IP address."),
		peerActive:          d("sipswitch_peer_active_calls", "Calls holding a slot of the peer's outmaximum.", "peer"),
		peerLimit:           d("sipswitch_peer_call_limit", "The peer's outmaximum (-1: none).", "peer"),
		phoneActive:         d("sipswitch_phone_active_calls", "Calls of a line, for lines with calls up.", "phone"),
		phoneLimit:          d("sipswitch_phone_call_limit", "The line's totalmaximum, for lines with calls up.", "phone"),
	})
}

func (c *sipCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.calls_, c.failed, c.failovers, c.active, c.regs, c.authFail, c.blocked, c.rejected, c.overload, c.shed, c.statelessChallenges, c.readLoop, c.readLoopAnswers, c.readLoopReads, c.readLoopDatagrams, c.sessionLost, c.unregAlerts, c.addrAlerts, c.unreachable, c.floodDropped, c.floodBlocks, c.floodTrickled, c.forwarded, c.unparseable, c.inviteRetrans, c.relayed, c.emergency, c.mediaTimeouts, c.completed, c.talk, c.sdesRefused, c.mwiSubs, c.mwiNotifies, c.mwiForged, c.mwiDropped, c.peerActive, c.peerLimit, c.phoneActive, c.phoneLimit} {
		ch <- d
	}
}

func (c *sipCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter(c.calls_, s.CallsAttempted, "attempted")
	counter(c.calls_, s.CallsAnswered, "answered")
	counter(c.calls_, s.CallsFailed, "failed")
	for cause, v := range map[string]uint64{"no_route": s.FailedNoRoute, "barred": s.FailedBarred, "busy": s.FailedBusy,
		"no_answer": s.FailedNoAnswer, "canceled": s.FailedCanceled, "limit": s.FailedLimit, "media": s.FailedMedia, "unavailable": s.FailedUnavail, "other": s.FailedOther} {
		counter(c.failed, v, cause)
	}
	counter(c.completed, s.CallsCompleted)
	ch <- prometheus.MustNewConstMetric(c.talk, prometheus.CounterValue, float64(s.TalkMillis)/1000)
	counter(c.failovers, s.Failovers)
	gauge(c.active, s.ActiveCalls)
	gauge(c.regs, s.Registrations)
	gauge(c.unreachable, s.UnreachableContacts)
	counter(c.floodDropped, s.FloodDropped)
	counter(c.floodBlocks, s.FloodBlocks)
	counter(c.floodTrickled, s.FloodTrickled)
	for r, v := range s.AuthFailuresBy {
		counter(c.authFail, v, sip.AuthReason(r).String())
	}
	counter(c.forwarded, s.ForwardedCalls)
	counter(c.unparseable, s.Unparseable)
	counter(c.inviteRetrans, s.InviteRetransmissions)
	counter(c.relayed, s.RelayedCalls)
	counter(c.emergency, s.EmergencyCalls)
	counter(c.sdesRefused, s.SDESRefused)
	counter(c.mediaTimeouts, s.MediaTimeouts)
	gauge(c.mwiSubs, s.MWISubscriptions)
	counter(c.mwiNotifies, s.MWINotifies)
	counter(c.mwiForged, s.MWIForged)
	counter(c.mwiDropped, s.MWIDropped)
	counter(c.blocked, s.BlockedRequests)
	counter(c.rejected, s.Rejected503)
	counter(c.overload, s.RejectedOverload)
	counter(c.shed, s.ShedOverload)
	counter(c.statelessChallenges, s.StatelessChallenges)
	counter(c.readLoop, s.ReadLoopRequests)
	counter(c.readLoopAnswers, s.ReadLoopResponses)
	counter(c.readLoopReads, s.ReadLoopReads)
	counter(c.readLoopDatagrams, s.ReadLoopDatagrams)
	counter(c.sessionLost, s.SessionTimeouts)
	counter(c.unregAlerts, s.UnregisteredAlerts)
	counter(c.addrAlerts, s.AddressChangeAlerts)
	if c.calls == nil {
		return
	}
	for _, p := range c.calls.Peers() {
		gauge(c.peerActive, int64(c.calls.ActivePeerCalls(p.ID)), p.Name)
		gauge(c.peerLimit, int64(p.OutMaximum), p.Name)
	}
	c.calls.EachActivePhone(func(p *routing.Phone, active int) {
		gauge(c.phoneActive, int64(active), p.Name)
		gauge(c.phoneLimit, int64(p.TotalMaximum), p.Name)
	})
}
