package routing

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestValidPrefix(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", true},
		{"44", true},
		{"+44*1#", true},
		{"0123456789*#+", true},
		{"44a", false},
		{" 44", false},
		{"4-4", false},
		{strings.Repeat("1", MaxPrefixLen), true},
		{strings.Repeat("1", MaxPrefixLen+1), false},
	}
	for _, tt := range tests {
		if got := ValidPrefix(tt.in); got != tt.want {
			t.Errorf("ValidPrefix(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

var monday = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) // a Monday

func TestRouteTableLookup(t *testing.T) {
	plans := []Plan{{ID: 1, COSTimeGroup: 9}, {ID: 2}}
	groups := []TimeGroup{
		{ID: 9, Periods: []TimePeriod{{Days: "12345", EndHour: 23, EndMinute: 59}}}, // weekdays
		{ID: 8, Periods: []TimePeriod{{Days: "67", EndHour: 23, EndMinute: 59}}},    // weekend
	}
	routes := []Route{
		{ID: 1, Plan: 1, CalledPrefix: "", Allow: 1, Media: "voice_fax", Peer1: 10},
		{ID: 2, Plan: 1, CalledPrefix: "44", Allow: 1, Media: "voice_fax", Peer1: 11},
		{ID: 3, Plan: 1, CalledPrefix: "449", Allow: 0, Media: "voice_fax"},
		{ID: 4, Plan: 1, CalledPrefix: "447", Allow: 1, Media: "voice_fax", Description: "UK mobile"},
		{ID: 5, Plan: 1, CalledPrefix: "447", CallerPrefix: "331", Allow: 1, Media: "voice_fax"},
		{ID: 6, Plan: 1, CalledPrefix: "447", Allow: 1, Media: "fax"},
		{ID: 7, Plan: 1, CalledPrefix: "4480", Allow: 2, Media: "voice_fax"},               // plan group 9: weekdays
		{ID: 8, Plan: 1, CalledPrefix: "4481", Allow: 3, Media: "voice_fax"},               // not weekdays
		{ID: 9, Plan: 1, CalledPrefix: "4482", Allow: 2, Media: "voice_fax", TimeGroup: 8}, // weekends
		{ID: 10, Plan: 1, CalledPrefix: "4483", Allow: 2, Media: "voice_fax", TimeGroup: 77},
		{ID: 11, Plan: 2, CalledPrefix: "1", Allow: 1, Media: "voice"},
		{ID: 12, Plan: 2, CalledPrefix: "1", Allow: 2, Media: "voice_fax"}, // no group at all: refuse
		{ID: 13, Plan: 2, CalledPrefix: "2", Allow: 3, Media: "voice_fax"}, // no group at all: allow
		{ID: 14, Plan: 1, CalledPrefix: "447", CallerPrefix: "33", Allow: 1, Media: "voice"},
	}
	table, err := CompileRouteTable(plans, routes, groups)
	if err != nil {
		t.Fatal(err)
	}
	sunday := monday.AddDate(0, 0, 6)
	tests := []struct {
		plan                  int
		called, caller, media string
		now                   time.Time
		wantID                int
		wantErr               error
	}{
		{1, "123", "", "", monday, 1, nil},
		{1, "4412", "", "", monday, 2, nil},
		{1, "449000", "", "", monday, 3, ErrCallBarred}, // no fallback to "44"
		{1, "447700", "", "voice", monday, 4, nil},
		{1, "447700", "", "fax", monday, 6, nil},        // exact media beats voice_fax
		{1, "447700", "3319", "fax", monday, 5, nil},    // longer caller prefix beats media
		{1, "447700", "3329", "voice", monday, 14, nil}, // caller prefix "33"
		{1, "447700", "3329", "fax", monday, 6, nil},    // "33" is voice only
		{1, "448000", "", "", monday, 7, nil},
		{1, "448000", "", "", sunday, 7, ErrCallBarred},
		{1, "448100", "", "", monday, 8, ErrCallBarred},
		{1, "448100", "", "", sunday, 8, nil},
		{1, "448200", "", "", sunday, 9, nil},
		{1, "448200", "", "", monday, 9, ErrCallBarred},
		{1, "448300", "", "", sunday, 10, ErrCallBarred}, // unknown group: inactive
		{2, "1555", "", "", monday, 11, nil},
		{2, "1555", "", "fax", monday, 12, ErrCallBarred},
		{2, "2555", "", "", monday, 13, nil},
		{2, "3555", "", "", monday, 0, ErrNoRoute},
		{2, "x1", "", "", monday, 0, ErrNoRoute},
		{3, "1", "", "", monday, 0, ErrUnknownPlan},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("plan%d/%s/%s/%s/%s", tt.plan, tt.called, tt.caller, tt.media, tt.now.Weekday())
		r, err := table.Lookup(tt.plan, tt.called, tt.caller, tt.media, tt.now)
		if !errors.Is(err, tt.wantErr) || r.ID != tt.wantID {
			t.Errorf("%s: got route %d err %v, want %d %v", name, r.ID, err, tt.wantID, tt.wantErr)
		}
	}
	r, _ := table.Lookup(1, "4477", "", "", monday)
	want := Route{ID: 4, Plan: 1, CalledPrefix: "447", Allow: 1, Media: "voice_fax", Description: "UK mobile"}
	if r != want {
		t.Errorf("route fields: got %+v, want %+v", r, want)
	}
	if n := testing.AllocsPerRun(100, func() { table.Lookup(1, "447700", "3319", "fax", monday) }); n != 0 {
		t.Errorf("Lookup allocates %v times", n)
	}
	r, _ = table.Lookup(1, "447700", "3319", "fax", monday)
	if r.CallerPrefix != "331" || r.CalledPrefix != "447" {
		t.Errorf("route 5 strings: got %+v", r)
	}
}

func TestCompileRouteTableErrors(t *testing.T) {
	plans := []Plan{{ID: 1}}
	tests := []struct {
		route Route
		want  string
	}{
		{Route{ID: 1, Plan: 2, CalledPrefix: "1", Allow: 1}, "plan 2"},
		{Route{ID: 1, Plan: 1, CalledPrefix: "1a", Allow: 1}, "called_prefix"},
		{Route{ID: 1, Plan: 1, CallerPrefix: "x", Allow: 1}, "caller_prefix"},
		{Route{ID: 1, Plan: 1, Allow: 4}, "allow"},
		{Route{ID: 1, Plan: 1, Allow: 1, Media: "video"}, "media"},
		{Route{ID: 1, Plan: 1, Allow: 1, Peer2: -2}, "peer2"},
	}
	for _, tt := range tests {
		if err := checkRoute(&tt.route); tt.want != "plan 2" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("checkRoute(%+v) = %v, want mention of %q", tt.route, err, tt.want)
		}
		_, err := CompileRouteTable(plans, []Route{tt.route}, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err %v, want mention of %q", tt.route, err, tt.want)
		}
	}
	if _, err := CompileRouteTable([]Plan{{ID: 1}, {ID: 1}}, nil, nil); err == nil {
		t.Error("duplicate plan id accepted")
	}
	_, err := CompileRouteTable(plans, nil, []TimeGroup{{ID: 1, Periods: []TimePeriod{{Timezone: "Mars/Olympus"}}}})
	if err == nil || !strings.Contains(err.Error(), "Mars/Olympus") {
		t.Errorf("bad timezone: err %v", err)
	}
}

// bruteLookup is the specification of Lookup written as a scan.
func bruteLookup(plans []Plan, routes []Route, weekdayGroups map[int]string, plan int, called, caller, media string, now time.Time) (int, error) {
	var pl *Plan
	for i := range plans {
		if plans[i].ID == plan {
			pl = &plans[i]
		}
	}
	if pl == nil {
		return 0, ErrUnknownPlan
	}
	if media == "" {
		media = "voice"
	}
	var best *Route
	better := func(a, b *Route) bool { // a beats b
		if len(a.CalledPrefix) != len(b.CalledPrefix) {
			return len(a.CalledPrefix) > len(b.CalledPrefix)
		}
		if len(a.CallerPrefix) != len(b.CallerPrefix) {
			return len(a.CallerPrefix) > len(b.CallerPrefix)
		}
		ae, be := a.Media != "voice_fax", b.Media != "voice_fax"
		if ae != be {
			return ae
		}
		return a.ID < b.ID
	}
	for i := range routes {
		r := &routes[i]
		if r.Plan != plan || !strings.HasPrefix(called, r.CalledPrefix) || !strings.HasPrefix(caller, r.CallerPrefix) {
			continue
		}
		if r.Media != "voice_fax" && r.Media != media {
			continue
		}
		if best == nil || better(r, best) {
			best = r
		}
	}
	if best == nil {
		return 0, ErrNoRoute
	}
	group := best.TimeGroup
	if group == 0 {
		group = pl.COSTimeGroup
	}
	days, known := weekdayGroups[group]
	wd := int(now.Weekday())
	if wd == 0 {
		wd = 7
	}
	active := known && strings.ContainsRune(days, rune('0'+wd))
	switch {
	case best.Allow == 1, best.Allow == 2 && active, best.Allow == 3 && !active:
		return best.ID, nil
	}
	return best.ID, ErrCallBarred
}

func TestRouteTableMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randDigits := func(alphabet string, max int) string {
		n := rng.IntN(max + 1)
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	// Groups active on some weekdays; 0 and 99 are not defined.
	weekdayGroups := map[int]string{1: "135", 2: "67", 3: "1234567", 4: ""}
	var groups []TimeGroup
	for id, days := range weekdayGroups {
		g := TimeGroup{ID: id}
		if days != "" {
			g.Periods = []TimePeriod{{Days: days, EndHour: 23, EndMinute: 59}}
		}
		groups = append(groups, g)
	}
	weekdayGroups[4] = "" // a group without periods is never active
	plans := []Plan{{ID: 1, COSTimeGroup: 1}, {ID: 2, COSTimeGroup: 0}, {ID: 3, COSTimeGroup: 99}}
	medias := []string{"voice", "fax", "voice_fax"}
	tgs := []int{0, 0, 1, 2, 3, 4, 99}
	for round := range 5 {
		var routes []Route
		for range 3000 {
			r := Route{
				ID:           rng.IntN(100000),
				Plan:         plans[rng.IntN(len(plans))].ID,
				CalledPrefix: randDigits("123#", 5),
				Allow:        rng.IntN(4),
				Media:        medias[rng.IntN(3)],
				TimeGroup:    tgs[rng.IntN(len(tgs))],
			}
			if rng.IntN(4) == 0 {
				r.CallerPrefix = randDigits("12", 3)
			}
			routes = append(routes, r)
		}
		if round%2 == 1 {
			// A prefix too long for the plan's hash index makes the
			// plans fall back to their tries: test both indexes.
			for _, p := range plans {
				routes = append(routes, Route{ID: 200000 + p.ID, Plan: p.ID, CalledPrefix: strings.Repeat("1", 20), Allow: 1, Media: "voice_fax"})
			}
		}
		table, err := CompileRouteTable(plans, routes, groups)
		if err != nil {
			t.Fatal(err)
		}
		for i := range table.plans {
			if table.plans[i].index.hashed != (round%2 == 0) {
				t.Fatalf("round %d: plan %d hashed=%v", round, table.plans[i].id, table.plans[i].index.hashed)
			}
		}
		for range 20000 {
			plan := rng.IntN(4) + 1
			called := randDigits("123#*", 8)
			if rng.IntN(50) == 0 {
				called = strings.Repeat("1", 18+rng.IntN(6))
			}
			caller := randDigits("12", 4)
			media := []string{"", "voice", "fax"}[rng.IntN(3)]
			now := monday.AddDate(0, 0, rng.IntN(7))
			wantID, wantErr := bruteLookup(plans, routes, weekdayGroups, plan, called, caller, media, now)
			r, err := table.Lookup(plan, called, caller, media, now)
			if r.ID != wantID || !errors.Is(err, wantErr) || (err == nil) != (wantErr == nil) {
				t.Fatalf("Lookup(%d, %q, %q, %q, %s) = %d %v, brute force %d %v", plan, called, caller, media, now.Weekday(), r.ID, err, wantID, wantErr)
			}
		}
	}
}

// rateDeck generates a deck like a real one: prefixes of 1-15 digits that
// share leading digits (country, area, operator blocks), 5% with a caller prefix.
func rateDeck(nplans, perPlan int, seed uint64) ([]Plan, []Route) {
	rng := rand.New(rand.NewPCG(seed, 7))
	plans := make([]Plan, nplans)
	routes := make([]Route, 0, nplans*perPlan)
	descs := make([]string, 300)
	for i := range descs {
		descs[i] = fmt.Sprintf("Destination %d", i)
	}
	id := 1
	buf := make([]byte, 0, 16)
	for p := range plans {
		plans[p] = Plan{ID: p + 1}
		seen := make(map[string]bool, perPlan)
		var pool []string
		for len(seen) < perPlan {
			buf = buf[:0]
			if len(pool) > 0 && rng.IntN(10) < 8 {
				buf = append(buf, pool[rng.IntN(len(pool))]...)
			}
			add := 1 + rng.IntN(3)
			for k := 0; k < add && len(buf) < 15; k++ {
				buf = append(buf, byte('0'+rng.IntN(10)))
			}
			s := string(buf)
			if seen[s] {
				continue
			}
			seen[s] = true
			pool = append(pool, s)
			r := Route{ID: id, Plan: p + 1, CalledPrefix: s, Allow: 1, Media: "voice_fax", Peer1: 1 + rng.IntN(50), Description: descs[rng.IntN(len(descs))]}
			if rng.IntN(20) == 0 {
				r.CallerPrefix = fmt.Sprintf("%d", 1+rng.IntN(999))
			}
			id++
			routes = append(routes, r)
		}
	}
	return plans, routes
}

func heapAlloc() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func BenchmarkRouteTable(b *testing.B) {
	plans, routes := rateDeck(100, 10000, 42)
	b.Run("Compile", func(b *testing.B) {
		for b.Loop() {
			if _, err := CompileRouteTable(plans, routes, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	before := heapAlloc()
	table, err := CompileRouteTable(plans, routes, nil)
	if err != nil {
		b.Fatal(err)
	}
	after := heapAlloc()
	bytesPerRoute := float64(after-before) / float64(len(routes))
	uniform := rateQueries(routes, 1<<16, func(rng *rand.Rand) int { return rng.IntN(len(routes)) })
	zipf := rand.NewZipf(rand.New(rand.NewPCG(5, 6)), 1.2, 1, uint64(len(routes)-1))
	skewed := rateQueries(routes, 1<<16, func(*rand.Rand) int { return int(zipf.Uint64()) })
	// One plan of 10,000 routes fits the CPU caches: the table's own cost
	// without memory latency.
	small, err := CompileRouteTable(plans[:1], routes[:10000], nil)
	if err != nil {
		b.Fatal(err)
	}
	cached := rateQueries(routes[:10000], 1<<16, func(rng *rand.Rand) int { return rng.IntN(10000) })
	for _, bc := range []struct {
		name    string
		table   *RouteTable
		queries []rateQuery
	}{{"Lookup/uniform", table, uniform}, {"Lookup/zipf", table, skewed}, {"Lookup/cached", small, cached}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			table, queries := bc.table, bc.queries
			i := 0
			for b.Loop() {
				q := &queries[i&(len(queries)-1)]
				if _, err := table.Lookup(q.plan, q.called, q.caller, "", monday); err != nil && err != ErrNoRoute {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(bytesPerRoute, "B/route")
		})
	}
	runtime.KeepAlive(table)
}

type rateQuery struct {
	plan           int
	called, caller string
}

// rateQueries builds numbers under the prefixes of routes picked by pick;
// the numbers share one backing string as a parsed request would be in
// cache, so that the benchmark measures the table, not the test's heap.
func rateQueries(routes []Route, n int, pick func(*rand.Rand) int) []rateQuery {
	rng := rand.New(rand.NewPCG(3, 4))
	var sb strings.Builder
	type span struct{ plan, off, n, coff, cn int }
	spans := make([]span, n)
	for i := range spans {
		r := &routes[pick(rng)]
		off := sb.Len()
		sb.WriteString(r.CalledPrefix)
		for k := len(r.CalledPrefix); k < 12; k++ {
			sb.WriteByte(byte('0' + rng.IntN(10)))
		}
		coff := sb.Len()
		fmt.Fprintf(&sb, "%d", 1+rng.Int64N(1e11))
		spans[i] = span{r.Plan, off, coff - off, coff, sb.Len() - coff}
	}
	all := sb.String()
	qs := make([]rateQuery, n)
	for i, s := range spans {
		qs[i] = rateQuery{s.plan, all[s.off : s.off+s.n], all[s.coff : s.coff+s.cn]}
	}
	return qs
}

// FuzzRouteTableLookup feeds Lookup numbers as a SIP request could carry
// them (any bytes) and checks the answer against the brute-force scan, on
// a hashed plan (1) and a trie plan (2).
func FuzzRouteTableLookup(f *testing.F) {
	plans := []Plan{{ID: 1, COSTimeGroup: 1}, {ID: 2}}
	routes := []Route{
		{ID: 1, Plan: 1, CalledPrefix: "", Allow: 1, Media: "voice_fax"},
		{ID: 2, Plan: 1, CalledPrefix: "44", Allow: 1, Media: "voice"},
		{ID: 3, Plan: 1, CalledPrefix: "44", CallerPrefix: "1", Allow: 0, Media: "voice_fax"},
		{ID: 4, Plan: 1, CalledPrefix: "+44*#", Allow: 2, Media: "fax"},
		{ID: 5, Plan: 1, CalledPrefix: "123456789012345", Allow: 3, Media: "voice_fax"},
		{ID: 6, Plan: 2, CalledPrefix: "1234567890123456789", Allow: 1, Media: "voice_fax"},
		{ID: 7, Plan: 2, CalledPrefix: "12", CallerPrefix: "#", Allow: 1, Media: "voice_fax"},
		{ID: 8, Plan: 2, CalledPrefix: "1", Allow: 1, Media: "fax"},
	}
	groups := []TimeGroup{{ID: 1, Periods: []TimePeriod{{Days: "135", EndHour: 23, EndMinute: 59}}}}
	table, err := CompileRouteTable(plans, routes, groups)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(1, "4420", "1", "")
	f.Add(2, "12345678901234567890", "#1", "fax")
	f.Add(1, "+44*#9", "", "fax")
	f.Add(1, "1234567890123456", "x", "voice")
	f.Add(2, "12\x00", "#", "")
	f.Fuzz(func(t *testing.T, plan int, called, caller, media string) {
		if media != "fax" && media != "voice" {
			media = ""
		}
		want, wantErr := bruteLookup(plans, routes, map[int]string{1: "135"}, plan, called, caller, media, monday)
		r, err := table.Lookup(plan, called, caller, media, monday)
		if r.ID != want || !errors.Is(err, wantErr) || (err == nil) != (wantErr == nil) {
			t.Fatalf("Lookup(%d, %q, %q, %q) = %d %v, brute force %d %v", plan, called, caller, media, r.ID, err, want, wantErr)
		}
	})
}
