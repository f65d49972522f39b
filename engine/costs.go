package engine

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

// A peer's own cost table (Enswitch peers/costs/*), read by least-cost
// routing.

// peerCostSpec is peers/costs/create.
var peerCostSpec = newSpec(
	required(Param{Name: "peer", Type: Integer, Min: 1, MinSet: true}),
	integer("called_max", "100", 1, 100),
	integer("called_min", "1", 0, 100),
	prefixParam(str("called_prefix", "", nil)),
	enum("caller_type", String, "prefix", "prefix", "group"),
	prefixParam(str("caller_prefix", "", nil)),
	Param{Name: "connectfee", Type: Decimal, Default: "0", Min: 0, MinSet: true},
	Param{Name: "cost", Type: Decimal, Default: "0", Min: 0, MinSet: true},
	str("days", "1234567", checkDays),
	str("description", "", nil),
	Param{Name: "end", Type: Integer, Default: "-1", Min: -1, MinSet: true},
	integer("endhour", "23", 0, 23),
	integer("endminute", "59", 0, 59),
	Param{Name: "included", Type: Integer, Default: "0", Min: 0, MinSet: true},
	Param{Name: "increment", Type: Integer, Default: "1", Min: 1, MinSet: true},
	flag("least_cost", "1"),
	enum("media", String, routing.MediaVoiceFax, routing.MediaFax, routing.MediaVoice, routing.MediaVoiceFax),
	Param{Name: "message", Type: Decimal, Default: "0", Min: 0, MinSet: true},
	Param{Name: "minimum", Type: Decimal, Default: "0", Min: 0, MinSet: true},
	integer("priority", "1", 1, 10),
	Param{Name: "start", Type: Integer, Default: "-1", Min: -1, MinSet: true},
	integer("starthour", "0", 0, 23),
	integer("startminute", "0", 0, 59),
	validationParam,
)

// kindPeerCost is peers/costs/*: system owner only.
var kindPeerCost = &Kind{
	Name: "peer cost", Table: "peer_costs", Key: "id", Spec: peerCostSpec, ReturnsID: true,
	CreatePriv: []Privilege{PrivSystem}, UpdatePriv: []Privilege{PrivSystem}, DeletePriv: []Privilege{PrivSystem},
	GetPriv: []Privilege{PrivSystem}, ListPriv: []Privilege{PrivSystem},
	Sorts:          []string{"called_prefix", "media", "cost"},
	Filters:        map[string]string{"peer": "=", "called_prefix": "prefix", "media": "="},
	RequiredFilter: "peer",
	check: func(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
		if ok, err := exists(ctx, tx, "peers", atoi(v["peer"])); err != nil || ok {
			return nil, err
		}
		return FieldErrors{{Key: "peer", Message: fmt.Sprintf("peer %s does not exist", v["peer"])}}, nil
	},
	visible: func(context.Context, *storage.Tx, *Actor, Values) (bool, error) { return true, nil },
}

// ImportCosts loads a peer's cost table from CSV (header row of API
// parameter names) in one transaction: every row is stored, or none is.
// With replace the peer's existing rows are removed first.
// costImportColumns are the peer_costs columns an import writes: a
// PeerCost's fields (json tags) but the id the store gives.
var costImportColumns = columnsOf[routing.PeerCost]("id")

func (s *Service) ImportCosts(ctx context.Context, a *Actor, peer int, csv io.Reader, replace bool) (int, error) {
	if err := s.authorize(a, []Privilege{PrivSystem}); err != nil {
		return 0, err
	}
	reader, err := newCostsCSVReader(csv, peer)
	if err != nil {
		return 0, FieldErrors{{Key: "csv", Message: err.Error()}}
	}
	n := 0
	err = s.writeAudited(ctx, func(ctx context.Context, tx *storage.Tx) error {
		n = 0
		if ok, err := exists(ctx, tx, "peers", peer); err != nil {
			return err
		} else if !ok {
			return FieldErrors{{Key: "peer", Message: fmt.Sprintf("peer %d does not exist", peer)}}
		}
		if replace {
			if err := tx.DeleteWhere(ctx, "peer_costs", storage.Cond{Col: "peer", Op: "=", Val: peer}); err != nil {
				return err
			}
		}
		ins, err := tx.Inserter(ctx, "peer_costs", costImportColumns.names, false)
		if err != nil {
			return err
		}
		defer ins.Close()
		args := make([]any, len(costImportColumns.names))
		for {
			c, err := reader.Read()
			if err == io.EOF {
				changes := map[string]string{"rows": strconv.Itoa(n)}
				if replace {
					changes["replace"] = "1"
				}
				return s.audit(ctx, tx, a, "peers/costs/import", "peers/"+strconv.Itoa(peer), changes)
			}
			if err != nil {
				return FieldErrors{{Key: "csv", Message: err.Error()}}
			}
			costImportColumns.values(&c, args)
			if err := ins.Insert(args...); err != nil {
				return fmt.Errorf("insert cost row %d: %w", n+1, err)
			}
			n++
		}
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
