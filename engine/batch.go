package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/storage"
)

// BatchItem is one object for CreateBatch: the API module that creates it
// ("peers", "phones", "sip_endpoints", "plans" or "plans/routes") and its
// parameters by API name.
type BatchItem struct {
	Module string
	Input  Values
	// Refs fill parameters with the ids of earlier items of the batch,
	// created or found: a route's plan and peers, a line's plan
	// (parameter -> index of the item).
	Refs map[string]int
}

// BatchOutcome is what CreateBatch did with one item.
type BatchOutcome int

// Outcomes of CreateBatch.
const (
	// BatchCreated: the object was created (or, in a dry run, would be).
	BatchCreated BatchOutcome = iota + 1
	// BatchUnchanged: an object of the kind and name exists and every
	// parameter the item gives has the stored value; nothing is written.
	BatchUnchanged
	// BatchDiffers: an object of the kind and name exists with other
	// values (BatchResult.Differs); it is not updated.
	BatchDiffers
	// BatchNameTaken: another kind (BatchResult.Holder) uses the name as
	// its Asterisk section name; nothing is written.
	BatchNameTaken
	// BatchRefused: the API would refuse the object (BatchResult.Errors).
	BatchRefused
)

// BatchResult is the outcome of one BatchItem.
type BatchResult struct {
	Outcome BatchOutcome
	// ID is the created or existing object's id (peers, SIP endpoints).
	ID      int64
	Differs []string
	Holder  string
	Errors  FieldErrors
}

// ErrBatchRefused reports a batch that wrote nothing because at least one
// item was refused; the results say which and why.
var ErrBatchRefused = errors.New("objects were refused; nothing was written")

// errRollback ends a batch's transaction without writing.
var errRollback = errors.New("roll back")

// CreateBatch is for the system owner's tools (an import at the switch
// host's shell): it tells whether names exist anywhere and compares stored
// values, which only the system owner may learn of every customer.
//
// CreateBatch creates, in one transaction, every item whose name no object
// of its kind has yet (a route: no route of its plan has its prefixes and
// media), with the same validation and checks as the API's create (an
// item may name another item of the batch, e.g. as its mailbox, in any
// order, or take an earlier item's id through Refs). Items whose name exists are left as they are
// (BatchUnchanged or BatchDiffers, never updated), as are those whose name
// another kind holds (BatchNameTaken). When any item is refused nothing is
// written and the error is ErrBatchRefused; with dryRun, or when there is
// nothing to create, nothing is written either.
func (s *Service) CreateBatch(ctx context.Context, a *Actor, items []BatchItem, dryRun bool) ([]BatchResult, error) {
	if a == nil || !a.System() {
		return nil, ErrRoleForbids
	}
	kinds := s.Kinds()
	kinds["sip_endpoints"] = kindSIPEndpoint
	byItem := make([]*Kind, len(items))
	for i, it := range items {
		k, ok := kinds[it.Module]
		if !ok || !hasParam(k.Spec, "name") && batchIdentity[k.Table] == nil {
			return nil, fmt.Errorf("batch item %d: module %q cannot be created by name", i+1, it.Module)
		}
		for param, j := range it.Refs {
			if j < 0 || j >= i {
				return nil, fmt.Errorf("batch item %d: %s refers to item %d, which is not an earlier item", i+1, param, j+1)
			}
		}
		if err := s.authorize(a, k.CreatePriv); err != nil {
			return nil, fmt.Errorf("batch item %d (%s): %w", i+1, it.Module, err)
		}
		byItem[i] = k
	}
	results := make([]BatchResult, len(items))
	created := 0
	err := s.writeAudited(ctx, func(ctx context.Context, tx *storage.Tx) error {
		created = 0
		pending := make([]int, 0, len(items))
		for i := range items {
			pending = append(pending, i)
		}
		// Items may refer to one another (a line's mailbox names another
		// line): retry refused items while a pass creates something.
		for {
			var refused []int
			progress := false
			for _, i := range pending {
				input, r := resolveRefs(items, results, i)
				if r.Outcome == BatchRefused {
					results[i] = r
					refused = append(refused, i)
					continue
				}
				r, err := s.batchOne(ctx, tx, a, byItem[i], input)
				if err != nil {
					return fmt.Errorf("batch item %d (%s %q): %w", i+1, items[i].Module, items[i].Input["name"], err)
				}
				results[i] = r
				switch r.Outcome {
				case BatchRefused:
					refused = append(refused, i)
				case BatchCreated:
					created++
					progress = true
				}
			}
			if len(refused) == 0 || !progress {
				if len(refused) > 0 {
					return ErrBatchRefused
				}
				break
			}
			pending = refused
		}
		if dryRun || created == 0 {
			return errRollback
		}
		return nil
	})
	switch {
	case errors.Is(err, errRollback):
		return results, nil
	case errors.Is(err, ErrBatchRefused):
		return results, ErrBatchRefused
	case err != nil:
		return nil, fmt.Errorf("create batch: %w", err)
	}
	return results, nil
}

// batchIdentity names, for kinds without a name, the parameters that
// find the existing object an item stands for: a plan's route for a
// called and caller prefix and a media.
var batchIdentity = map[string][]string{
	"plan_routes": {"plan", "called_prefix", "caller_prefix", "media"},
}

// resolveRefs returns item i's input with its Refs filled from the
// results of the items they name; a reference to a refused item refuses
// it (for now: a later pass may create the item named).
func resolveRefs(items []BatchItem, results []BatchResult, i int) (Values, BatchResult) {
	it := items[i]
	if len(it.Refs) == 0 {
		return it.Input, BatchResult{}
	}
	in := make(Values, len(it.Input)+len(it.Refs))
	maps.Copy(in, it.Input)
	var errs FieldErrors
	for _, param := range slices.Sorted(maps.Keys(it.Refs)) {
		j := it.Refs[param]
		r := results[j]
		if r.ID <= 0 || r.Outcome == BatchRefused || r.Outcome == BatchNameTaken {
			errs = append(errs, FieldError{Key: param, Message: fmt.Sprintf("%s refers to batch item %d (%s %q), which is not created", param, j+1, items[j].Module, items[j].Input["name"])})
			continue
		}
		in[param] = strconv.FormatInt(r.ID, 10)
	}
	if len(errs) > 0 {
		return nil, BatchResult{Outcome: BatchRefused, Errors: errs}
	}
	return in, BatchResult{}
}

func hasParam(spec *Spec, name string) bool {
	_, ok := spec.Param(name)
	return ok
}

// batchOne handles one item inside the batch's transaction: an error is a
// failure of the store, a refusal is a result.
func (s *Service) batchOne(ctx context.Context, tx *storage.Tx, a *Actor, k *Kind, input Values) (BatchResult, error) {
	if ids := batchIdentity[k.Table]; ids != nil {
		return s.batchByIdentity(ctx, tx, a, k, input, ids)
	}
	name := input["name"]
	if name != "" && k == kindPlan {
		// A plan's name is no Asterisk section name: found by it, in
		// no shared name space.
		rec, err := tx.Get(ctx, k.Table, "name", name)
		switch {
		case err == nil:
			return s.batchExisting(k, a, input, valuesOfRecord(rec)), nil
		case !errors.Is(err, storage.ErrNotFound):
			return BatchResult{}, err
		}
	} else if name != "" {
		rec, err := tx.Get(ctx, k.Table, "name", name)
		switch {
		case err == nil:
			return s.batchExisting(k, a, input, valuesOfRecord(rec)), nil
		case !errors.Is(err, storage.ErrNotFound):
			return BatchResult{}, err
		}
		holder, err := sectionNameTaken(ctx, tx, name, k.Table)
		if err != nil {
			return BatchResult{}, err
		}
		if holder != "" {
			return BatchResult{Outcome: BatchNameTaken, Holder: holder}, nil
		}
	}
	return s.batchCreate(ctx, tx, a, k, input)
}

// batchByIdentity handles an item of a kind without a name: the stored
// object with the same identity parameters (canonical, defaults applied)
// is compared, else the item is created.
func (s *Service) batchByIdentity(ctx context.Context, tx *storage.Tx, a *Actor, k *Kind, input Values, ids []string) (BatchResult, error) {
	canon, errs := k.Spec.Validate(input, nil)
	if len(errs) > 0 {
		return BatchResult{Outcome: BatchRefused, Errors: errs}, nil
	}
	conds := make([]storage.Cond, 0, len(ids))
	for _, col := range ids {
		var val any = canon[col]
		if p, ok := k.Spec.Param(col); ok && p.Type == Integer {
			val = atoi(canon[col])
		}
		conds = append(conds, storage.Cond{Col: col, Op: "=", Val: val})
	}
	recs, err := tx.List(ctx, k.Table, storage.Query{Where: conds, Limit: 1})
	if err != nil {
		return BatchResult{}, err
	}
	if len(recs) > 0 {
		return s.batchExisting(k, a, input, valuesOfRecord(recs[0])), nil
	}
	return s.batchCreate(ctx, tx, a, k, input)
}

// batchCreate creates an item: refused (its field errors) or created.
func (s *Service) batchCreate(ctx context.Context, tx *storage.Tx, a *Actor, k *Kind, input Values) (BatchResult, error) {
	id, err := s.createIn(ctx, tx, a, k, input, false)
	var fe FieldErrors
	if errors.As(err, &fe) {
		return BatchResult{Outcome: BatchRefused, Errors: fe}, nil
	}
	if err != nil {
		return BatchResult{}, err
	}
	return BatchResult{Outcome: BatchCreated, ID: id}, nil
}

// batchExisting compares the parameters an item gives with the stored
// object of the same name, both in canonical form.
func (s *Service) batchExisting(k *Kind, a *Actor, input, stored Values) BatchResult {
	var id int64
	for _, col := range []string{k.Key, "id"} {
		if n, err := strconv.ParseInt(stored[col], 10, 64); err == nil {
			id = n
			break
		}
	}
	if k.defaultsFor != nil {
		input = k.defaultsFor(a, input)
	}
	want, errs := k.Spec.Validate(input, nil)
	if len(errs) > 0 {
		// Refused whether or not the name exists, so a caller that
		// drops refused values sees the same answer on every run.
		return BatchResult{Outcome: BatchRefused, ID: id, Errors: errs}
	}
	var differs []string
	for key := range input {
		p, ok := k.Spec.Param(key)
		if !ok || p.NotStored {
			continue
		}
		same := want[key] == stored[key]
		if key == "name" {
			// Found by name, which Asterisk compares without case.
			same = strings.EqualFold(want[key], stored[key])
		}
		if !same {
			differs = append(differs, key)
		}
	}
	sort.Strings(differs)
	if len(differs) > 0 {
		return BatchResult{Outcome: BatchDiffers, ID: id, Differs: differs}
	}
	return BatchResult{Outcome: BatchUnchanged, ID: id}
}

// String names an outcome for reports.
func (o BatchOutcome) String() string {
	switch o {
	case BatchCreated:
		return "created"
	case BatchUnchanged:
		return "exists, unchanged"
	case BatchDiffers:
		return "exists, differs: not updated"
	case BatchNameTaken:
		return "name used by another kind"
	case BatchRefused:
		return "refused"
	}
	return "outcome " + strconv.Itoa(int(o))
}
