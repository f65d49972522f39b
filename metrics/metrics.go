// Package metrics owns sipswitch's Prometheus metrics: their names,
// labels and help texts, registered once on a registry of their own so
// tests can read them and nothing global is shared.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sipswitch/sipswitch/sip"
)

// Metrics are the daemon's collectors.
type Metrics struct {
	Registry *prometheus.Registry

	APIRequests *prometheus.CounterVec   // function, code
	APIDuration *prometheus.HistogramVec // function

	RenderDuration prometheus.Histogram
	RenderFailures prometheus.Counter
	RenderSkipped  prometheus.Gauge

	CallAttempts  *prometheus.CounterVec // peer
	CallsAnswered *prometheus.CounterVec // peer
	CallsFailed   *prometheus.CounterVec // peer, cause
	RoutingBuild  prometheus.Histogram
	StoreRevision prometheus.Gauge
	StoreReloads  prometheus.Counter
	ConfigReloads *prometheus.CounterVec // result
	ShuttingDown  prometheus.Gauge

	MediaLoss   *prometheus.HistogramVec // peer, leg
	MediaJitter *prometheus.HistogramVec // peer, leg
	MediaMOS    *prometheus.HistogramVec // peer, leg

	// SIPDelay is where post-dial delay goes (sip.DelayStage), by stage;
	// delays holds its observers resolved once, for the call path.
	SIPDelay *prometheus.HistogramVec // stage
	delays   [sip.NumDelayStages]prometheus.Observer
}

// New creates and registers every collector.
func New() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.APIRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sipswitch_api_requests_total", Help: "Admin API calls by function and Enswitch response code.",
	}, []string{"function", "code"})
	m.APIDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sipswitch_api_request_duration_seconds", Help: "Admin API call latency.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"function"})
	m.RenderDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "sipswitch_render_duration_seconds", Help: "Time to render Asterisk configuration.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
	})
	m.RenderFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sipswitch_render_failures_total", Help: "Renders that failed; the last good files were kept.",
	})
	m.RenderSkipped = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sipswitch_render_skipped_objects", Help: "Objects the last render left out because Asterisk cannot take them (each logged and on /healthz); everything else was written.",
	})
	m.CallAttempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sipswitch_call_attempts_total", Help: "Call attempts toward a peer (or a local line).",
	}, []string{"peer"})
	m.CallsAnswered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sipswitch_calls_answered_total", Help: "Attempts answered, by peer.",
	}, []string{"peer"})
	m.CallsFailed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sipswitch_calls_failed_total", Help: "Attempts that failed, by peer and cause (SIP code, timeout, limit).",
	}, []string{"peer", "cause"})
	m.RoutingBuild = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "sipswitch_routing_build_duration_seconds", Help: "Time to rebuild the routing table from the store.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
	})
	m.StoreRevision = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sipswitch_store_revision", Help: "Store revision the routing table was built from.",
	})
	m.StoreReloads = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sipswitch_routing_reloads_total", Help: "Routing table rebuilds after store changes or SIGHUP.",
	})
	m.ConfigReloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sipswitch_config_reloads_total", Help: "SIGHUP configuration reloads by result.",
	}, []string{"result"})
	m.ShuttingDown = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sipswitch_draining", Help: "1 while the daemon drains calls before exiting.",
	})
	newMediaHistograms(m)
	m.SIPDelay = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sipswitch_sip_delay_seconds",
		Help:    "Wall time on the call path by stage: read (a datagram's time in a socket's read loop), route (INVITE handler start to the first B-leg INVITE), answer (callee's 2xx to the caller's).",
		Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"stage"})
	for i := range m.delays {
		m.delays[i] = m.SIPDelay.WithLabelValues(sip.DelayStage(i).String())
	}
	m.Registry.MustRegister(
		m.MediaLoss, m.MediaJitter, m.MediaMOS, m.SIPDelay,
		m.APIRequests, m.APIDuration, m.RenderDuration, m.RenderFailures, m.RenderSkipped,
		m.CallAttempts, m.CallsAnswered, m.CallsFailed, m.RoutingBuild,
		m.StoreRevision, m.StoreReloads, m.ConfigReloads, m.ShuttingDown,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// ObserveAPI records one admin API call.
func (m *Metrics) ObserveAPI(function, code string, took time.Duration) {
	m.APIRequests.WithLabelValues(function, code).Inc()
	m.APIDuration.WithLabelValues(function).Observe(took.Seconds())
}

// ObserveRender records one render.
func (m *Metrics) ObserveRender(took time.Duration, err error) {
	m.RenderDuration.Observe(took.Seconds())
	if err != nil {
		m.RenderFailures.Inc()
	}
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
