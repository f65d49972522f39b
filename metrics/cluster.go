package metrics

import "github.com/prometheus/client_golang/prometheus"

// ClusterState is what a host of a cluster reports about what it shares
// with the others; each host exports its own (scrape every host).
type ClusterState struct {
	Host     string
	Backend  string        // "sqlite" or "postgres"
	StoreUp  func() bool   // the store answers and (PostgreSQL) its change listener is connected
	Counters bool          // shared limits are on
	RedisUp  func() bool   // the last round trip to Redis succeeded
	Held     func() int    // call-limit slots this host holds
	Failures func() uint64 // failed round trips to Redis
}

// RegisterCluster exports st: sipswitch_host_info, sipswitch_store_up and,
// with shared limits, sipswitch_cluster_redis_up,
// sipswitch_cluster_slots_held and sipswitch_cluster_redis_failures_total.
func (m *Metrics) RegisterCluster(st ClusterState) error {
	b := func(f func() bool) func() float64 {
		return func() float64 {
			if f() {
				return 1
			}
			return 0
		}
	}
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sipswitch_host_info", Help: "1, labelled with this switch host's name (cluster.host) and store backend.",
			ConstLabels: prometheus.Labels{"host": st.Host, "backend": st.Backend}}, func() float64 { return 1 }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sipswitch_store_up", Help: "1 while the store answers (and, on PostgreSQL, the change listener is connected)."}, b(st.StoreUp)),
	}
	if st.Counters {
		cs = append(cs,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sipswitch_cluster_redis_up", Help: "1 while Redis, which holds the shared call-limit slots, answers."}, b(st.RedisUp)),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sipswitch_cluster_slots_held", Help: "Shared call-limit slots this host holds (its limited calls up)."}, func() float64 { return float64(st.Held()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sipswitch_cluster_redis_failures_total", Help: "Round trips to Redis that failed (limited calls refused meanwhile)."}, func() float64 { return float64(st.Failures()) }),
		)
	}
	for _, c := range cs {
		if err := m.Registry.Register(c); err != nil {
			return err
		}
	}
	return nil
}
