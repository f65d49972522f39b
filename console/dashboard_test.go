package console

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
)

// The dashboard's figures are over the samples' window: the ASR and the
// failures by cause of the last hour, not since start; peers and lines
// busiest first against their limits.
func TestDashboardFigures(t *testing.T) {
	now := Counters{CallsAttempted: 300, CallsAnswered: 150, CallsCompleted: 130, TalkMillis: 4_000_000, Failures: map[string]int64{"busy": 40, "no_route": 10}}
	c := &Console{samples: newSampler(5*time.Second, time.Hour), counters: func() Counters { return now },
		usage: func() Usage {
			return Usage{
				Peers: []PeerUsage{{"idle", 0, 10}, {"full", 5, 5}, {"open", 3, -1}},
				Lines: []LineSpend{{"cheap", 1, 10}, {"spent", 9, 10}},
			}
		}}
	c.samples.add(time.Now().Add(-time.Hour), Counters{CallsAttempted: 100, CallsAnswered: 100, CallsCompleted: 90, TalkMillis: 1_600_000, Failures: map[string]int64{"busy": 40}})
	c.samples.add(time.Now().Add(-time.Minute), Counters{CallsAttempted: 250, CallsAnswered: 140, Failures: map[string]int64{"busy": 40, "no_route": 5}})
	d := c.dashData(httptest.NewRequest("GET", "/", nil), &api.Session{Actor: engine.SystemActor()})
	cards := map[string]string{}
	for _, cd := range d.Cards {
		cards[cd.Label] = cd.Value
	}
	// 200 attempted and 50 answered in the window: 25%, not 50%.
	if got := cards["Answered ("+d.Window+")"]; got != "25.0%" {
		t.Errorf("ASR %q (cards %v)", got, cards)
	}
	// 40 calls ended in the window with 2,400 s of talk: 1m0s each, not
	// the 30.8 s since start.
	if got := cards["Average call ("+d.Window+")"]; got != "1m0s" {
		t.Errorf("average call duration %q (cards %v)", got, cards)
	}
	if len(d.Failures) != 1 || d.Failures[0].Label != "no_route" || d.Failures[0].Value != 10 {
		t.Errorf("failures in the window: %+v", d.Failures)
	}
	if len(d.Peers) != 3 || d.Peers[0].Label != "full" || !d.Peers[0].Full || d.Peers[2].Label != "idle" {
		t.Errorf("peers: %+v", d.Peers)
	}
	if d.Lines[0].Label != "spent" {
		t.Errorf("lines: %+v", d.Lines)
	}
	if d.Chart == nil || d.Chart.CPS == "" {
		t.Errorf("chart: %+v", d.Chart)
	}
	// Another role sees none of the switch's figures.
	user := &engine.Actor{User: engine.User{Role: "commerce"}}
	if d := c.dashData(httptest.NewRequest("GET", "/", nil), &api.Session{Actor: user}); d.Chart != nil || len(d.Peers) > 0 || len(d.Cards) > 0 {
		t.Errorf("a commerce login's dashboard: %+v", d)
	}
}
