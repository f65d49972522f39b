package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sipswitch/sipswitch/sip"
	"github.com/sipswitch/sipswitch/sip/media"
)

// The relay's line features (issue 29): recordings and hold music.

type mediaFeatureCollector struct {
	stats                       func() media.EngineStats
	calls                       func() sip.Stats
	recordings, dropped, musics *prometheus.Desc
	recorded, failed            *prometheus.Desc
}

// RegisterMediaFeatures exports the relay's recording and hold music
// counters and the SIP core's recorded calls, read from stats and calls
// on every scrape.
func (m *Metrics) RegisterMediaFeatures(stats func() media.EngineStats, calls func() sip.Stats) error {
	return m.Registry.Register(&mediaFeatureCollector{
		stats:    stats,
		calls:    calls,
		recorded: prometheus.NewDesc("sipswitch_sip_recorded_calls_total", "Calls a record group had recorded.", nil, nil),
		failed: prometheus.NewDesc("sipswitch_sip_recording_failures_total",
			"Calls a record group wanted recorded that were not (no relay, no media.recordings_dir, a file that could not be created): alert on it.", nil, nil),
		recordings: prometheus.NewDesc("sipswitch_media_recordings_total", "Calls the relay started recording (record groups).", nil, nil),
		dropped: prometheus.NewDesc("sipswitch_media_record_dropped_packets_total",
			"RTP packets left out of recordings because the recording's writer was behind (its buffer full: a slow disk); their time is silence in the file.", nil, nil),
		musics: prometheus.NewDesc("sipswitch_media_music_packets_total", "Hold music RTP packets the relay sent to held parties.", nil, nil),
	})
}

func (c *mediaFeatureCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.recordings
	ch <- c.dropped
	ch <- c.musics
	ch <- c.recorded
	ch <- c.failed
}

func (c *mediaFeatureCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.recordings, prometheus.CounterValue, float64(s.Recordings))
	ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(s.RecordDropped))
	ch <- prometheus.MustNewConstMetric(c.musics, prometheus.CounterValue, float64(s.MusicPackets))
	cs := c.calls()
	ch <- prometheus.MustNewConstMetric(c.recorded, prometheus.CounterValue, float64(cs.Recordings))
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(cs.RecordFailures))
}
