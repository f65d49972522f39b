package render

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/render/dialplantest"
	"github.com/sipswitch/sipswitch/routing"
)

// The dialplan's route choice is checked against the engine's rule with
// dialplantest, which models Asterisk 20's extension order and matching.

// bruteForceRoute is the reference: longest called prefix, then longest
// caller prefix, then media-specific over voice_fax, then lowest id.
func bruteForceRoute(routes []routing.Route, plan int, called, caller string, fax bool) *routing.Route {
	var best *routing.Route
	for i := range routes {
		r := &routes[i]
		if r.Plan != plan || !routeServes(r, fax) || !strings.HasPrefix(called, r.CalledPrefix) {
			continue
		}
		if r.CallerPrefix != "" && !strings.HasPrefix(caller, r.CallerPrefix) {
			continue
		}
		if best == nil ||
			len(r.CalledPrefix) > len(best.CalledPrefix) ||
			len(r.CalledPrefix) == len(best.CalledPrefix) && (len(r.CallerPrefix) > len(best.CallerPrefix) ||
				len(r.CallerPrefix) == len(best.CallerPrefix) && (mediaRank(r.Media) < mediaRank(best.Media) ||
					mediaRank(r.Media) == mediaRank(best.Media) && r.ID < best.ID)) {
			best = r
		}
	}
	return best
}

func routeIDFromApp(app string) int {
	const pfx = "Gosub(route-"
	if !strings.HasPrefix(app, pfx) {
		return -1
	}
	rest := app[len(pfx):]
	n, err := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
	if err != nil {
		return -1
	}
	return n
}

const prefixAlphabet = "0144*#+"

func randString(rng *rand.Rand, maxLen int) string {
	n := rng.Intn(maxLen + 1)
	b := make([]byte, n)
	for i := range b {
		b[i] = prefixAlphabet[rng.Intn(len(prefixAlphabet))]
	}
	return string(b)
}

func TestDialplanPicksEngineRoute(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	tables, lookups := 2000, 40
	if testing.Short() {
		tables = 200
	}
	medias := []string{routing.MediaVoice, routing.MediaFax, routing.MediaVoiceFax}
	checked := 0
	for tbl := 0; tbl < tables; tbl++ {
		snap := &routing.Snapshot{Plans: []routing.Plan{{ID: 1}}, Peers: []routing.Peer{{ID: 1, Name: "p", Type: routing.PeerPJSIP, Destination: "192.0.2.1", OutMaximum: -1}}}
		n := 1 + rng.Intn(25)
		for i := range n {
			snap.Routes = append(snap.Routes, routing.Route{
				ID: i + 1, Plan: 1, CalledPrefix: randString(rng, 4), CallerPrefix: randString(rng, 3),
				Allow: rng.Intn(2), Media: medias[rng.Intn(3)], Peer1: 1,
			})
			if rng.Intn(3) == 0 {
				snap.Routes[i].CallerPrefix = ""
			}
		}
		files, err := Render(snap)
		if err != nil {
			t.Fatal(err)
		}
		secs := parseConf(t, files[FileExtensions])
		dp, err := dialplantest.Parse(files[FileExtensions])
		if err != nil {
			t.Fatal(err)
		}
		for _, fax := range []bool{false, true} {
			for range lookups {
				called := randString(rng, 6)
				if rng.Intn(4) == 0 { // a number equal to a prefix
					called = snap.Routes[rng.Intn(n)].CalledPrefix
				}
				if called == "" {
					called = "4"
				}
				caller := randString(rng, 5)
				want := bruteForceRoute(snap.Routes, 1, called, caller, fax)
				got := dp.Find(planContext(1, fax), called, caller)
				wantID, gotID := 0, 0
				if want != nil {
					wantID = want.ID
				}
				if got != "" {
					gotID = routeIDFromApp(got)
				}
				if wantID != gotID {
					var rs []string
					for _, r := range snap.Routes {
						rs = append(rs, fmt.Sprintf("%d:%q/%q/%s", r.ID, r.CalledPrefix, r.CallerPrefix, r.Media))
					}
					t.Fatalf("fax=%v called %q caller %q: dialplan picks route %d, engine rule picks %d\nroutes: %s", fax, called, caller, gotID, wantID, strings.Join(rs, " "))
				}
				if wantID != 0 {
					r := bruteForceRoute(snap.Routes, 1, called, caller, fax)
					sec := findSection(secs, routeContext(r.ID), "")
					forbid := sec != nil && strings.Join(sec.get("same"), "") == "n,Hangup(21)"
					if forbid != (r.Allow == routing.AllowForbid) {
						t.Fatalf("route %d allow=%d rendered forbid=%v", r.ID, r.Allow, forbid)
					}
				}
				checked++
			}
		}
	}
	t.Logf("%d lookups agree", checked)
}
