package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

// Snapshot reads everything the renderer and the routing table are built
// from, in one read transaction so the parts agree with each other and
// with Revision.
func (s *Service) Snapshot(ctx context.Context) (*routing.Snapshot, error) {
	snap := &routing.Snapshot{}
	err := s.db.Read(ctx, func(tx *storage.Tx) error {
		var err error
		if snap.Revision, err = revisionIn(ctx, tx); err != nil {
			return err
		}
		if snap.Settings, err = settingsIn(ctx, tx); err != nil {
			return err
		}
		if err := loadAll(ctx, tx, "customers", &snap.Customers); err != nil {
			return err
		}
		if err := loadAll(ctx, tx, "plans", &snap.Plans); err != nil {
			return err
		}
		if snap.Routes, err = s.loadRoutes(ctx, tx, snap.Revision); err != nil {
			return err
		}
		if err := loadAll(ctx, tx, "peers", &snap.Peers); err != nil {
			return err
		}
		if err := loadAll(ctx, tx, "phones", &snap.Phones); err != nil {
			return err
		}
		if err := loadAll(ctx, tx, "timegroups", &snap.TimeGroups); err != nil {
			return err
		}
		var periods []routing.TimePeriod
		if err := loadAll(ctx, tx, "timeperiods", &periods); err != nil {
			return err
		}
		byGroup := make(map[int]int, len(snap.TimeGroups))
		for i, g := range snap.TimeGroups {
			byGroup[g.ID] = i
		}
		for _, p := range periods {
			if i, ok := byGroup[p.TimeGroup]; ok {
				snap.TimeGroups[i].Periods = append(snap.TimeGroups[i].Periods, p)
			}
		}
		if snap.Classes, err = loadClasses(ctx, tx); err != nil {
			return err
		}
		if err := loadAll(ctx, tx, "recordgroups", &snap.RecordGroups); err != nil {
			return err
		}
		if s.db.Columns("sip_endpoints") != nil {
			if err := loadAll(ctx, tx, "sip_endpoints", &snap.SIPEndpoints); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return snap, nil
}

func revisionIn(ctx context.Context, tx *storage.Tx) (int64, error) { return tx.Revision(ctx) }

// loadAll reads a whole table into a slice of T, ordered by id.
func loadAll[T any](ctx context.Context, tx *storage.Tx, table string, dst *[]T) error {
	recs, err := tx.List(ctx, table, storage.Query{})
	if err != nil {
		return err
	}
	out := make([]T, len(recs))
	for i, rec := range recs {
		bindRecord(&out[i], rec)
	}
	*dst = out
	return nil
}

// routeColumns are the plan_routes columns a Route is scanned from: its
// fields' json tags, which are the column names.
var routeColumns = columnsOf[routing.Route]()

// parallelRoutesFrom is the table size from which routes load in parallel:
// the SQLite driver's per-column work is most of building a big deck.
var parallelRoutesFrom = 100_000

// loadRoutes reads every route in id order. A big table is read in id
// ranges by one read transaction per CPU: each checks that it sees the
// revision of the snapshot's own transaction (every committed write
// increases it), and if any does not, a write came in between and the
// routes are read again within the snapshot's transaction.
func (s *Service) loadRoutes(ctx context.Context, tx *storage.Tx, revision int64) ([]routing.Route, error) {
	n, err := tx.Count(ctx, "plan_routes")
	if err != nil {
		return nil, err
	}
	parts := min(runtime.GOMAXPROCS(0), 4)
	if n < parallelRoutesFrom || parts < 2 {
		return scanAllRoutes(ctx, tx, n)
	}
	lo, hi, err := tx.IDRange(ctx, "plan_routes")
	if err != nil {
		return nil, err
	}
	// Each reader fills its own stretch of one slice: appending chunks
	// afterwards would copy a million structs under GC write barriers.
	type idRange struct{ from, to, off, count int64 }
	step := (hi - lo + int64(parts)) / int64(parts)
	ranges := make([]idRange, parts)
	var off int64
	for i := range ranges {
		r := &ranges[i]
		r.from, r.to, r.off = lo+int64(i)*step, lo+int64(i+1)*step-1, off
		n, err := tx.Count(ctx, "plan_routes", idBetween(r.from, r.to)...)
		if err != nil {
			return nil, err
		}
		r.count = int64(n)
		off += r.count
	}
	routes := make([]routing.Route, n)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for i, r := range ranges {
		wg.Go(func() {
			errs[i] = s.db.Read(ctx, func(ptx *storage.Tx) error {
				rev, err := revisionIn(ctx, ptx)
				if err != nil {
					return err
				}
				if rev != revision {
					return errRevisionMoved
				}
				return scanRoutesInto(ctx, ptx, idBetween(r.from, r.to), routes[r.off:r.off+r.count])
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		if errors.Is(err, errRevisionMoved) {
			return scanAllRoutes(ctx, tx, n)
		}
		return nil, err
	}
	return routes, nil
}

// errRevisionMoved says a parallel reader saw another store revision.
var errRevisionMoved = errors.New("store revision moved during a parallel read")

// scanAllRoutes reads the n routes of the transaction's table.
func scanAllRoutes(ctx context.Context, tx *storage.Tx, n int) ([]routing.Route, error) {
	routes := make([]routing.Route, n)
	return routes, scanRoutesInto(ctx, tx, nil, routes)
}

// idBetween selects the ids from..to, both included.
func idBetween(from, to int64) []storage.Cond {
	return []storage.Cond{{Col: "id", Op: ">=", Val: from}, {Col: "id", Op: "<=", Val: to}}
}

// scanRoutesInto streams routes straight into dst (a rate deck has a
// million of them and the generic record path would box every column);
// other than exactly len(dst) rows is errRevisionMoved.
func scanRoutesInto(ctx context.Context, tx *storage.Tx, where []storage.Cond, dst []routing.Route) error {
	i := 0
	args := make([]any, len(routeColumns.names))
	err := tx.Scan(ctx, "plan_routes", routeColumns.names, where,
		func(r storage.Scanner) error {
			if i == len(dst) {
				return errRevisionMoved
			}
			routeColumns.targets(&dst[i], args)
			i++
			return r.Scan(args...)
		})
	if err == nil && i != len(dst) {
		err = errRevisionMoved
	}
	return err
}

// peerCostColumns are the peer_costs columns a PeerCost is scanned from
// (its fields' json tags): all but the description, which ranking never
// reads.
var peerCostColumns = columnsOf[routing.PeerCost]("description")

// PeerCosts reads every peer cost row of peers that keep their own costs
// (costs=1); only those take part in least-cost ranking.
func (s *Service) PeerCosts(ctx context.Context) ([]routing.PeerCost, error) {
	var out []routing.PeerCost
	err := s.db.Read(ctx, func(tx *storage.Tx) error {
		ownCosts, err := tx.List(ctx, "peers", storage.Query{Where: []storage.Cond{{Col: "costs", Op: "=", Val: 1}}})
		if err != nil {
			return err
		}
		ids := make([]any, len(ownCosts))
		for i, p := range ownCosts {
			ids[i] = p["id"]
		}
		args := make([]any, len(peerCostColumns.names))
		return tx.Scan(ctx, "peer_costs", peerCostColumns.names, []storage.Cond{{Col: "peer", Op: "in", Val: ids}},
			func(r storage.Scanner) error {
				var c routing.PeerCost
				peerCostColumns.targets(&c, args)
				if err := r.Scan(args...); err != nil {
					return err
				}
				out = append(out, c)
				return nil
			})
	})
	if err != nil {
		return nil, fmt.Errorf("peer costs: %w", err)
	}
	return out, nil
}
