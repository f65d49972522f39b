package metrics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/sip"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestObservationsShowInTheScrape(t *testing.T) {
	m := New()
	m.ObserveAttempt(sip.AttemptResult{Peer: "carrier-a", Cause: "unavailable"})
	m.ObserveAttempt(sip.AttemptResult{Peer: "carrier-b", Cause: "answered"})
	m.ObserveAttempt(sip.AttemptResult{Phone: "1001", Cause: "no_answer"})
	m.ObserveAPI("phones/create", "204", 3*time.Millisecond)
	m.ObserveRender(40*time.Millisecond, nil)
	m.ObserveRender(time.Millisecond, errors.New("disk full"))
	stats := sip.Stats{CallsAttempted: 7, CallsAnswered: 5, CallsFailed: 2, FailedBusy: 2, ActiveCalls: 3, RejectedOverload: 4, SessionTimeouts: 6, UnregisteredAlerts: 8, AddressChangeAlerts: 9, UnreachableContacts: 2, FloodDropped: 11, FloodBlocks: 3, FloodTrickled: 5}
	if err := m.RegisterSIP(func() sip.Stats { return stats }, nil); err != nil {
		t.Fatal(err)
	}
	got := scrape(t, m)
	for _, want := range []string{
		`sipswitch_call_attempts_total{peer="carrier-a"} 1`,
		`sipswitch_calls_failed_total{cause="unavailable",peer="carrier-a"} 1`,
		`sipswitch_calls_answered_total{peer="carrier-b"} 1`,
		`sipswitch_calls_failed_total{cause="no_answer",peer="local"} 1`,
		`sipswitch_api_requests_total{code="204",function="phones/create"} 1`,
		`sipswitch_render_failures_total 1`,
		`sipswitch_sip_calls_total{result="attempted"} 7`,
		`sipswitch_sip_calls_failed_by_cause_total{cause="busy"} 2`,
		`sipswitch_sip_active_calls 3`,
		`sipswitch_sip_rejected_overload_total 4`,
		`sipswitch_sip_session_timeouts_total 6`,
		`sipswitch_sip_unregistered_alerts_total 8`,
		`sipswitch_sip_address_change_alerts_total 9`,
		`sipswitch_sip_unreachable_contacts 2`,
		`sipswitch_sip_flood_dropped_total 11`,
		`sipswitch_sip_flood_blocks_total 3`,
		`sipswitch_sip_flood_trickled_total 5`,
		`go_goroutines `,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", got)
	}
}
