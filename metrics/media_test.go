package metrics

import (
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/sip/media"
)

// The relay's drops show by cause, each one of Engine.Stats, and the
// latches moved after probation.
func TestMediaTotalsInTheScrape(t *testing.T) {
	m := New()
	st := media.EngineStats{Sessions: 2, Forwarded: 100, DroppedSource: 20, DroppedLearning: 3, DroppedInvalid: 4, DroppedNoDest: 5, DroppedAuth: 6, Relatches: 1, DTLSHandshakes: 7, DTLSFailures: 2, ICERefused: 9}
	if err := m.RegisterMedia(func() media.EngineStats { return st }); err != nil {
		t.Fatal(err)
	}
	got := scrape(t, m)
	for _, want := range []string{
		`sipswitch_media_sessions 2`,
		`sipswitch_media_forwarded_packets_total 100`,
		`sipswitch_media_dropped_packets_total{cause="source"} 20`,
		`sipswitch_media_dropped_packets_total{cause="learning"} 3`,
		`sipswitch_media_dropped_packets_total{cause="invalid"} 4`,
		`sipswitch_media_dropped_packets_total{cause="no_destination"} 5`,
		`sipswitch_media_dropped_packets_total{cause="srtp_auth"} 6`,
		`sipswitch_media_relatches_total 1`,
		`sipswitch_media_dtls_handshakes_total{result="keyed"} 7`,
		`sipswitch_media_dtls_handshakes_total{result="failed"} 2`,
		`sipswitch_media_ice_refused_total 9`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}
