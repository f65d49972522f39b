package api_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkPhonesCreateHTTP creates lines one after another over one
// keep-alive connection against a file database, as an operator's
// provisioning script does. It reports creates/s and latency percentiles.
func BenchmarkPhonesCreateHTTP(b *testing.B) {
	ts := newTestSwitch(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	// Authenticate once outside the timer: the first call pays bcrypt.
	warm, err := client.Get(ts.url + "plans/list/?auth_username=admin;auth_password=" + adminPassword)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, warm.Body)
	warm.Body.Close()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		resp, err := client.Get(fmt.Sprintf("%sphones/create/?auth_username=admin;auth_password=%s;name=%d;password=secret-%d", ts.url, adminPassword, 100000+i, i))
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
		if !strings.HasPrefix(string(body), `{"responses":[{"code":"204",`) {
			b.Fatalf("create %d: %s", i, body)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "creates/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
