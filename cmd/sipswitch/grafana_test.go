package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/cluster/clustertest"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// grafanaDashboard is the part of dist/grafana/sipswitch.json the test
// reads: every panel's queries, rows' nested panels included.
type grafanaDashboard struct {
	Panels []grafanaPanel `json:"panels"`
}

type grafanaPanel struct {
	Title   string         `json:"title"`
	Type    string         `json:"type"`
	Panels  []grafanaPanel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

var metricName = regexp.MustCompile(`\bsipswitch_[a-z0-9_]+\b`)

// dashboardMetrics maps each metric a panel queries to the panels that
// do.
func dashboardMetrics(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string][]string{}
	var walk func(ps []grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				names := metricName.FindAllString(tg.Expr, -1)
				if len(names) == 0 {
					t.Errorf("panel %q queries no sipswitch metric: %s", p.Title, tg.Expr)
				}
				for _, n := range names {
					out[n] = append(out[n], p.Title)
				}
			}
		}
	}
	walk(d.Panels)
	return out
}

// exposedMetrics are the sample names of a /metrics page (histograms'
// _bucket, _sum and _count as they are written).
func exposedMetrics(page string) map[string]bool {
	out := map[string]bool{}
	for line := range strings.SplitSeq(page, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, " ")
		name, _, _ = strings.Cut(name, "{")
		out[name] = true
	}
	return out
}

// TestGrafanaDashboardQueriesExportedMetrics runs the daemon with shared
// limits and the media relay, makes it do what every panel shows (an
// answered relayed call after a failover, a failed call, a wrong
// password, API calls), and checks that every metric the dashboard's
// panels query is on its /metrics page: a renamed or removed metric fails
// here, not on an operator's empty graph.
func TestGrafanaDashboardQueriesExportedMetrics(t *testing.T) {
	wanted := dashboardMetrics(t, "../../dist/grafana/sipswitch.json")
	prefix := clustertest.Prefix(t) // Redis, or skipped (failed under CI)
	dir := t.TempDir()
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	phoneRTP := siptest.NewRTPParty(t, "127.0.0.1", 0x1111)
	carrierRTP := siptest.NewRTPParty(t, "127.0.0.2", 0x2222)
	carrierA := siptest.NewAgent(t, "carrier-a", "127.0.0.2")
	carrierA.Handle(siptest.AnswerWith(sdpAt("127.0.0.2", carrierRTP.Port(), "0")))
	carrierB := siptest.NewAgent(t, "carrier-b", "127.0.0.3")
	carrierB.Handle(siptest.RejectWith(503))

	swAddr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: freePort(t, "udp")}
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, `database: %s
media: {relay: always, port_range: 15900-15999}
cluster: {host: grafana, redis: "redis://%s/0", key_prefix: %s}
`, filepath.Join(dir, "s.db"), clustertest.Addr(), prefix), 0o600)
	d := startDaemon(t, "--config", cfg, "--sip", "udp://"+swAddr.String())
	d.create(
		"plans/create/?"+adminAuth+";name=Retail",
		fmt.Sprintf("peers/create/?%s;name=carrier-a;type=sip;destination=127.0.0.2:%d;outmaximum=5", adminAuth, carrierA.Port),
		fmt.Sprintf("peers/create/?%s;name=carrier-b;type=sip;destination=127.0.0.3:%d", adminAuth, carrierB.Port),
		"plans/routes/create/?"+adminAuth+";plan=1;called_prefix=44;peer1=2;peer2=1",
		"plans/routes/create/?"+adminAuth+";plan=1;called_prefix=33;peer1=2",
		"phones/create/?"+adminAuth+";name=2001;password=phone-secret;plan=1",
	)
	waitRevision(t, d, 7)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := phone.Call(ctx, swAddr, "441234567890", "2001", "wrong-secret", testSDP); err == nil {
		t.Fatal("a call with a wrong password went through")
	}
	if _, err := phone.Call(ctx, swAddr, "331234567", "2001", "phone-secret", testSDP); siptest.StatusOf(err) < 500 {
		t.Fatalf("a call to carrier-b alone: %v, want its 503", err)
	}
	call, err := phone.Call(ctx, swAddr, "441234567890", "2001", "phone-secret", sdpAt("127.0.0.1", phoneRTP.Port(), "0"))
	if err != nil {
		t.Fatalf("call failing over to carrier-a: %v\n%s", err, d.log())
	}
	relayA, errA := siptest.MediaAddr(call.InviteResponse.Body())
	relayB, errB := siptest.MediaAddr(carrierA.Last.Load().Body())
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	phoneRTP.Send(relayA, 10)
	carrierRTP.Send(relayB, 10)
	for deadline := time.Now().Add(5 * time.Second); carrierRTP.Received(0x1111) < 10 || phoneRTP.Received(0x2222) < 10; {
		if time.Now().After(deadline) {
			t.Fatal("the relay did not carry the call's RTP")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := call.Bye(ctx); err != nil {
		t.Fatal(err)
	}

	var page string
	for deadline := time.Now().Add(5 * time.Second); ; {
		page = d.get("/metrics")
		if strings.Contains(page, "sipswitch_media_mos_count") || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	exposed := exposedMetrics(page)
	var missing []string
	for name, panels := range wanted {
		if !exposed[name] {
			missing = append(missing, fmt.Sprintf("%s (panels %q)", name, panels))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("the dashboard queries metrics /metrics does not have:\n%s\n/metrics:\n%s", strings.Join(missing, "\n"), grepLines(page, "sipswitch_"))
	}
	if len(wanted) < 30 {
		t.Fatalf("the dashboard queries only %d metrics", len(wanted))
	}
	// The daemon serves the OpenAPI description beside the API, without
	// credentials.
	if doc := d.get("/api/openapi.json"); !strings.Contains(doc, `"openapi": "3.0.3"`) || !strings.Contains(doc, `"/api/json/audit/list/"`) {
		t.Fatalf("/api/openapi.json: %.200s", doc)
	}
}
