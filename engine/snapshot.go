package engine

import (
	"context"
	"fmt"
	"strconv"

	"github.com/sipswitch/sipswitch/storage"
)

// Snapshot reads everything the renderer and the routing table are built
// from, in one read transaction so the parts agree with each other and
// with Revision.
func (s *Service) Snapshot(ctx context.Context) (*Snapshot, error) {
	snap := &Snapshot{}
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
		if snap.Routes, err = loadRoutes(ctx, tx); err != nil {
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
		var periods []TimePeriod
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
		if s.db.Columns("sip_endpoints") != nil {
			if err := loadAll(ctx, tx, "sip_endpoints", &snap.SipEndpoints); err != nil {
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

func revisionIn(ctx context.Context, tx *storage.Tx) (int64, error) {
	var rev int64
	err := tx.QueryRows(ctx, `SELECT value FROM meta WHERE key='revision'`, nil, func(r storage.Scanner) error { return r.Scan(&rev) })
	return rev, err
}

func settingsIn(ctx context.Context, tx *storage.Tx) (Settings, error) {
	var st Settings
	for key, dst := range map[string]*int{"default_peer": &st.DefaultPeer, "default_plan": &st.DefaultPlan} {
		v, err := tx.Setting(ctx, key)
		if err != nil {
			return st, err
		}
		*dst, _ = strconv.Atoi(v)
	}
	return st, nil
}

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

// loadRoutes streams routes straight into structs: a rate deck has a
// million of them, too many to pass through Records.
func loadRoutes(ctx context.Context, tx *storage.Tx) ([]Route, error) {
	n, err := tx.Count(ctx, "plan_routes")
	if err != nil {
		return nil, err
	}
	routes := make([]Route, 0, n)
	err = tx.QueryRows(ctx, `SELECT id, plan, called_prefix, caller_prefix, allow, description, media, peer1, peer2, peer3, timegroup FROM plan_routes ORDER BY id`, nil,
		func(r storage.Scanner) error {
			var rt Route
			if err := r.Scan(&rt.ID, &rt.Plan, &rt.CalledPrefix, &rt.CallerPrefix, &rt.Allow, &rt.Description, &rt.Media, &rt.Peer1, &rt.Peer2, &rt.Peer3, &rt.TimeGroup); err != nil {
				return err
			}
			routes = append(routes, rt)
			return nil
		})
	return routes, err
}

// PeerCosts reads every peer cost row of peers that keep their own costs
// (costs=1); only those take part in least-cost ranking.
func (s *Service) PeerCosts(ctx context.Context) ([]PeerCost, error) {
	var out []PeerCost
	err := s.db.Read(ctx, func(tx *storage.Tx) error {
		return tx.QueryRows(ctx, `SELECT c.id, c.peer, c.called_prefix, c.called_min, c.called_max, c.caller_type, c.caller_prefix, c.connectfee, c.cost, c.days, c."end", c.endhour, c.endminute, c.included, c.increment, c.least_cost, c.media, c.message, c.minimum, c.priority, c.start, c.starthour, c.startminute FROM peer_costs c JOIN peers p ON p.id = c.peer WHERE p.costs = 1 ORDER BY c.id`, nil,
			func(r storage.Scanner) error {
				var c PeerCost
				if err := r.Scan(&c.ID, &c.Peer, &c.CalledPrefix, &c.CalledMin, &c.CalledMax, &c.CallerType, &c.CallerPrefix, &c.ConnectFee, &c.Cost, &c.Days, &c.End, &c.EndHour, &c.EndMinute, &c.Included, &c.Increment, &c.LeastCost, &c.Media, &c.Message, &c.Minimum, &c.Priority, &c.Start, &c.StartHour, &c.StartMinute); err != nil {
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

// SetSettings stores switch-wide settings (default_peer, default_plan) in
// one transaction, checking each object it names exists.
func (s *Service) SetSettings(ctx context.Context, a *Actor, settings map[string]int) error {
	if err := s.authorize(a, []Privilege{PrivSystem}); err != nil {
		return err
	}
	tables := map[string]string{"default_peer": "peers", "default_plan": "plans"}
	_, err := s.db.Write(ctx, func(tx *storage.Tx) error {
		var errs FieldErrors
		for key, value := range settings {
			table := tables[key]
			if table == "" {
				errs = append(errs, FieldError{Key: key, Message: key + " is not a setting (default_peer, default_plan)"})
				continue
			}
			if value != 0 {
				if ok, err := exists(ctx, tx, table, value); err != nil {
					return err
				} else if !ok {
					errs = append(errs, FieldError{Key: key, Message: fmt.Sprintf("%s %d does not exist", key, value)})
					continue
				}
			}
			if err := tx.SetSetting(ctx, key, strconv.Itoa(value)); err != nil {
				return err
			}
		}
		if len(errs) > 0 {
			return errs
		}
		return nil
	})
	return err
}

// Settings reads the switch-wide settings.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	var st Settings
	err := s.db.Read(ctx, func(tx *storage.Tx) error {
		var err error
		st, err = settingsIn(ctx, tx)
		return err
	})
	return st, err
}
