package main

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sipswitch/sipswitch/capture"
)

// startCapture sends every SIP message to the HEP capture server
// (capture.address) from now on; nil when capture is off. It must run
// before the SIP core's transports start: sipgo's tracer is the process's.
func (d *daemon) startCapture() (*capture.Sender, error) {
	c := d.cfg.Capture
	if c.Address == "" {
		return nil, nil
	}
	s, err := capture.New(c.Address, capture.WithCaptureID(c.ID), capture.WithAuthKey(c.Password),
		capture.WithQueue(c.Queue), capture.WithFlush(c.Flush), capture.WithLogger(d.log))
	if err != nil {
		return nil, fmt.Errorf("capture.address: %w", err)
	}
	counter := func(result string, v func(capture.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "sipswitch_capture_packets_total",
			Help:        "SIP messages copied to the HEP capture server: sent, dropped with the queue full, failed to send.",
			ConstLabels: prometheus.Labels{"result": result},
		}, func() float64 { return float64(v(s.Stats())) })
	}
	for _, col := range []prometheus.Collector{
		counter("sent", func(st capture.Stats) uint64 { return st.Sent }),
		counter("dropped", func(st capture.Stats) uint64 { return st.Dropped }),
		counter("failed", func(st capture.Stats) uint64 { return st.Failed }),
	} {
		if err := d.metrics.Registry.Register(col); err != nil {
			s.Close()
			return nil, err
		}
	}
	capture.Install(s)
	d.log.Info("capturing SIP to a HEP server", "address", c.Address, "capture_id", c.ID, "flush", c.Flush)
	return s, nil
}
