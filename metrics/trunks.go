package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sipswitch/sipswitch/sip"
)

// trunkCollector reads the state of the sip_endpoints the SIP core serves
// as trunks (sip.Server.Trunks) at scrape time: their outbound
// registrations and qualify.
type trunkCollector struct {
	states                          func() []sip.TrunkState
	registered, failures, reachable *prometheus.Desc
}

// RegisterTrunks exports, per sip_endpoint with registration=out, whether
// its registration holds and how many REGISTERs failed since the last
// success, and per qualified one whether it answers.
func (m *Metrics) RegisterTrunks(states func() []sip.TrunkState) error {
	return m.Registry.Register(&trunkCollector{
		states: states,
		registered: prometheus.NewDesc("sipswitch_sip_endpoint_registered",
			"1 while the registration the switch sends for a sip_endpoint with registration=out holds, else 0.", []string{"endpoint"}, nil),
		failures: prometheus.NewDesc("sipswitch_sip_endpoint_registration_failures",
			"REGISTERs of a sip_endpoint with registration=out that failed since its last success.", []string{"endpoint"}, nil),
		reachable: prometheus.NewDesc("sipswitch_sip_endpoint_reachable",
			"1 while a qualified sip_endpoint trunk answers OPTIONS (calls to it are refused at 0).", []string{"endpoint"}, nil),
	})
}

func (c *trunkCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.registered
	ch <- c.failures
	ch <- c.reachable
}

func (c *trunkCollector) Collect(ch chan<- prometheus.Metric) {
	one := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	for _, st := range c.states() {
		if st.Registers {
			ch <- prometheus.MustNewConstMetric(c.registered, prometheus.GaugeValue, one(st.Registered), st.Endpoint)
			ch <- prometheus.MustNewConstMetric(c.failures, prometheus.GaugeValue, float64(st.Failures), st.Endpoint)
		}
		if st.Qualified {
			ch <- prometheus.MustNewConstMetric(c.reachable, prometheus.GaugeValue, one(st.Reachable), st.Endpoint)
		}
	}
}
