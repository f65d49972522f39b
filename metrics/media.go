package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sipswitch/sipswitch/sip"
	"github.com/sipswitch/sipswitch/sip/media"
)

// Media quality of relayed calls, by the call's answering peer ("local"
// for a call answered by a line) and leg: caller is what the calling party
// sent to the relay, callee what the answering party sent.
var (
	lossBuckets   = []float64{0, 0.1, 0.5, 1, 2, 3, 5, 10, 20, 50}
	jitterBuckets = []float64{.001, .002, .005, .01, .02, .03, .05, .1, .2}
	// MOS from 1 (bad) to 4.5 (the E-model's best for G.711): finer where
	// calls turn from good (4.3) to poor (3.6).
	mosBuckets = []float64{1, 2, 2.5, 3, 3.3, 3.6, 3.8, 4, 4.1, 4.2, 4.3, 4.4, 4.5}
)

func newMediaHistograms(m *Metrics) {
	m.MediaLoss = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sipswitch_media_loss_percent", Help: "Packet loss of relayed calls' RTP (percent of the packets expected, RFC 3550 A.3), by answering peer and leg.",
		Buckets: lossBuckets,
	}, []string{"peer", "leg"})
	m.MediaJitter = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sipswitch_media_jitter_seconds", Help: "Interarrival jitter of relayed calls' RTP (RFC 3550 A.8) at call end, by answering peer and leg.",
		Buckets: jitterBuckets,
	}, []string{"peer", "leg"})
	m.MediaMOS = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sipswitch_media_mos", Help: "Estimated MOS of relayed calls' RTP at call end (simplified E-model, ITU-T G.107; sip/media), by answering peer and leg.",
		Buckets: mosBuckets,
	}, []string{"peer", "leg"})
}

// ObserveMedia records the quality of one relayed call; a leg that sent no
// RTP is left out (it has no loss or jitter to speak of).
func (m *Metrics) ObserveMedia(r sip.MediaResult) {
	peer := r.Peer
	if peer == "" {
		peer = "local"
	}
	for _, l := range []struct {
		name string
		st   media.StreamStats
	}{{"caller", r.Caller}, {"callee", r.Callee}} {
		if l.st.Packets == 0 {
			continue
		}
		m.MediaLoss.WithLabelValues(peer, l.name).Observe(l.st.LossPercent)
		m.MediaJitter.WithLabelValues(peer, l.name).Observe(l.st.Jitter.Seconds())
		m.MediaMOS.WithLabelValues(peer, l.name).Observe(l.st.MOS)
	}
}

// mediaCollector reads the relay's totals at scrape time.
type mediaCollector struct {
	stats                                                 func() media.EngineStats
	sessions, sessionsTotal, pairs, pairsInUse, forwarded *prometheus.Desc
	dropped, relatches, sendErrors, readErrors, timeouts  *prometheus.Desc
	dtls, iceRefused                                      *prometheus.Desc
}

// RegisterMedia exports the RTP relay's totals (sip/media Engine.Stats).
func (m *Metrics) RegisterMedia(stats func() media.EngineStats) error {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return m.Registry.Register(&mediaCollector{
		stats:         stats,
		sessions:      d("sipswitch_media_sessions", "Relayed calls whose media session is open."),
		sessionsTotal: d("sipswitch_media_sessions_total", "Media sessions created."),
		pairs:         d("sipswitch_media_port_pairs", "RTP/RTCP port pairs in media.port_range."),
		pairsInUse:    d("sipswitch_media_port_pairs_in_use", "Port pairs bound now (two per relayed stream)."),
		forwarded:     d("sipswitch_media_forwarded_packets_total", "Datagrams relayed (RTP, RTCP, UDPTL)."),
		dropped: d("sipswitch_media_dropped_packets_total", "Datagrams dropped by cause: source (from an address never allowed to latch the leg: not its SIP source, not its trusted SDP address), "+
			"learning (from an allowed address other than the latched one, before "+strconv.Itoa(media.Probation)+" consecutive in-sequence packets), invalid (not RTP/RTCP/UDPTL, or a payload type not offered), "+
			"no_destination (the other party's address unknown yet), srtp_auth (SRTP/SRTCP from a party whose media the relay decrypts that failed authentication or the replay check: forged, replayed, or under other keys).", "cause"),
		relatches:  d("sipswitch_media_relatches_total", "Latches moved to another allowed source after its probation (a phone's NAT mapping changed, or another host at the party's address)."),
		sendErrors: d("sipswitch_media_send_errors_total", "Relay send errors."),
		readErrors: d("sipswitch_media_read_errors_total", "Relay read errors."),
		timeouts:   d("sipswitch_media_timeouts_total", "Media timeouts the relay reported (the SIP core ends those calls)."),
		dtls:       d("sipswitch_media_dtls_handshakes_total", "DTLS-SRTP handshakes of browsers' (WebRTC) legs by result: keyed, or failed (a certificate not matching the SDP fingerprint, no SRTP profile, a timeout).", "result"),
		iceRefused: d("sipswitch_media_ice_refused_total", "Connectivity checks (STUN) at browsers' legs refused: another username or a wrong MESSAGE-INTEGRITY, i.e. not the party."),
	})
}

func (c *mediaCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.sessions, c.sessionsTotal, c.pairs, c.pairsInUse, c.forwarded, c.dropped, c.relatches, c.sendErrors, c.readErrors, c.timeouts, c.dtls, c.iceRefused} {
		ch <- d
	}
}

func (c *mediaCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	gauge(c.sessions, s.Sessions)
	counter(c.sessionsTotal, s.SessionsTotal)
	gauge(c.pairs, s.PortPairs)
	gauge(c.pairsInUse, s.PortPairsInUse)
	counter(c.forwarded, s.Forwarded)
	counter(c.dropped, s.DroppedSource, "source")
	counter(c.dropped, s.DroppedLearning, "learning")
	counter(c.dropped, s.DroppedInvalid, "invalid")
	counter(c.dropped, s.DroppedNoDest, "no_destination")
	counter(c.dropped, s.DroppedAuth, "srtp_auth")
	counter(c.relatches, s.Relatches)
	counter(c.sendErrors, s.SendErrors)
	counter(c.readErrors, s.ReadErrors)
	counter(c.timeouts, s.Timeouts)
	counter(c.dtls, s.DTLSHandshakes, "keyed")
	counter(c.dtls, s.DTLSFailures, "failed")
	counter(c.iceRefused, s.ICERefused)
}
