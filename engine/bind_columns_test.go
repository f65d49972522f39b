package engine

import (
	"slices"
	"testing"

	"github.com/sipswitch/sipswitch/routing"
)

// TestColumnsOf: the column lists come from the json tags, in field
// order, and the scan targets and insert values are the fields they name.
func TestColumnsOf(t *testing.T) {
	t.Parallel()
	want := []string{"id", "plan", "called_prefix", "caller_prefix", "allow", "description", "media", "peer1", "peer2", "peer3", "timegroup"}
	if !slices.Equal(routeColumns.names, want) {
		t.Fatalf("route columns %q, want %q", routeColumns.names, want)
	}
	if slices.Contains(peerCostColumns.names, "description") || slices.Contains(costImportColumns.names, "id") {
		t.Fatalf("except ignored: %q %q", peerCostColumns.names, costImportColumns.names)
	}
	var r routing.Route
	args := make([]any, len(routeColumns.names))
	routeColumns.targets(&r, args)
	*args[0].(*int) = 7
	*args[2].(*string) = "44"
	*args[10].(*int) = 3
	if r.ID != 7 || r.CalledPrefix != "44" || r.TimeGroup != 3 {
		t.Fatalf("targets do not point at the fields: %+v", r)
	}
	c := routing.PeerCost{Peer: 2, Cost: 0.5, Start: -1, CallerType: "prefix"}
	vals := make([]any, len(costImportColumns.names))
	costImportColumns.values(&c, vals)
	for i, name := range costImportColumns.names {
		switch name {
		case "peer":
			if vals[i] != 2 {
				t.Errorf("peer = %v", vals[i])
			}
		case "cost":
			if vals[i] != 0.5 {
				t.Errorf("cost = %v", vals[i])
			}
		case "start":
			if vals[i] != int64(-1) {
				t.Errorf("start = %v", vals[i])
			}
		case "caller_type":
			if vals[i] != "prefix" {
				t.Errorf("caller_type = %v", vals[i])
			}
		}
	}
}

// BenchmarkColumnTargets is the per-row cost of a route scan's targets.
func BenchmarkColumnTargets(b *testing.B) {
	rs := make([]routing.Route, 1024)
	args := make([]any, len(routeColumns.names))
	for i := 0; b.Loop(); i++ {
		routeColumns.targets(&rs[i%len(rs)], args)
	}
}
