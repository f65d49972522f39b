package importer

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/sipswitch/sipswitch/astconf"
	"github.com/sipswitch/sipswitch/engine"
)

// Destination is where an import writes: a database (ToService) or a
// switch file (ToSwitchFile).
type Destination interface {
	// apply validates objs as the destination's own loader would and,
	// unless dryRun or any object has errors, writes them all at once.
	apply(ctx context.Context, objs []*Object, dryRun bool) ([]applied, error)
}

// applied is what a destination did with one object.
type applied struct {
	outcome Outcome
	id      int64
	differs []string
	holder  string
	errs    engine.FieldErrors
}

// Import maps the configuration of opts.Dir and imports it into dst (see
// Result.Apply).
func Import(ctx context.Context, opts Options, dst Destination, dryRun bool) (*Result, error) {
	res, err := Map(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := res.Apply(ctx, dst, dryRun); err != nil {
		return res, err
	}
	return res, nil
}

// essential parameters are not dropped when the destination refuses their
// value: the object is refused instead, since without them it would be
// another object (a name, a destination) or a less protected one (a
// password, a source restriction, inbound authentication).
var essential = map[string]map[string]bool{
	ModulePhones:       {"name": true, "password": true, "source": true},
	ModulePeers:        {"name": true, "type": true, "destination": true},
	ModuleSIPEndpoints: {"name": true, "registration": true, "host": true, "defaultuser": true, "secret": true, "remotesecret": true, "insecure": true, "auth": true},
}

// Apply validates the objects with the destination's own checks (the
// API's for a database, the switch-file loader's for a file). A value the
// checks refuse is dropped and reported at the option it came from, unless
// the parameter is essential, when the object is refused and reported.
// Then every object is written in one go: a database in one transaction,
// a file by one atomic rename; with dryRun nothing is written. Objects
// whose name exists already are left as they are.
func (r *Result) Apply(ctx context.Context, dst Destination, dryRun bool) error {
	var live []*Object
	params := 0
	for _, o := range r.Objects {
		if o.Outcome != OutcomeRefused {
			live = append(live, o)
			params += len(o.Params)
		}
	}
	// Every round drops a parameter or refuses an object, so the loop
	// ends; the bound is a guard against a destination that keeps
	// refusing what is no longer there.
	for round := 0; round <= params+len(live)+1; round++ {
		out, err := dst.apply(ctx, live, dryRun)
		if err != nil {
			return err
		}
		if len(out) != len(live) {
			return fmt.Errorf("import: destination answered %d results for %d objects", len(out), len(live))
		}
		retry := false
		next := live[:0:0]
		for i, o := range live {
			a := out[i]
			if len(a.errs) > 0 {
				retry = true
				if r.drop(o, a.errs) {
					next = append(next, o)
				}
				continue
			}
			o.Outcome, o.ID, o.Differs = a.outcome, a.id, a.differs
			if a.outcome == OutcomeNameTaken {
				r.Findings = append(r.Findings, Finding{Pos: o.Pos, Object: o.What(), Refused: true,
					Message: fmt.Sprintf("the name is used by a %s in the destination; peers, lines and SIP endpoints share one name space", a.holder)})
			}
			next = append(next, o)
		}
		if !retry {
			r.sortFindings()
			return nil
		}
		live = next
	}
	return errors.New("import: the destination keeps refusing objects")
}

// drop handles the destination's refusal of some of o's parameters; it
// reports whether o stays in the import.
func (r *Result) drop(o *Object, errs engine.FieldErrors) bool {
	keep := true
	for _, e := range errs {
		pos := o.Pos
		if ps := o.From[e.Key]; len(ps) > 0 {
			pos = ps[0]
		}
		option := ""
		if v, ok := o.Params[e.Key]; ok {
			option = optionText(astconf.Option{Name: e.Key, Value: v})
		}
		if _, given := o.Params[e.Key]; given && !essential[o.Module][e.Key] {
			delete(o.Params, e.Key)
			r.Findings = append(r.Findings, Finding{Pos: pos, Object: o.What(), Option: option, Message: "not imported: " + e.Message})
			continue
		}
		if keep {
			o.Outcome = OutcomeRefused
			r.Findings = append(r.Findings, Finding{Pos: pos, Object: o.What(), Option: option, Refused: true, Message: e.Message})
		}
		keep = false
	}
	return keep
}

// Counts of a result's outcomes.
type Counts struct {
	Created, Unchanged, Differs, NameTaken, Refused, Findings int
}

// Count tallies the outcomes; objects refused while mapping count as
// refused.
func (r *Result) Count() Counts {
	var c Counts
	for _, o := range r.Objects {
		switch o.Outcome {
		case OutcomeCreated:
			c.Created++
		case OutcomeUnchanged:
			c.Unchanged++
		case OutcomeDiffers:
			c.Differs++
		case OutcomeNameTaken:
			c.NameTaken++
		case OutcomeRefused:
			c.Refused++
		}
	}
	c.Refused += r.mapRefused
	c.Findings = len(r.Findings)
	return c
}

// serviceDest imports into a database through the engine's service.
type serviceDest struct{ svc *engine.Service }

// ToService imports into the service's store, as the system owner, in one
// transaction (engine.Service.CreateBatch).
func ToService(svc *engine.Service) Destination { return serviceDest{svc: svc} }

func (d serviceDest) apply(ctx context.Context, objs []*Object, dryRun bool) ([]applied, error) {
	items := make([]engine.BatchItem, len(objs))
	for i, o := range objs {
		in := make(engine.Values, len(o.Params))
		for k, v := range o.Params {
			in[k] = v
		}
		items[i] = engine.BatchItem{Module: o.Module, Input: in}
	}
	res, err := d.svc.CreateBatch(ctx, engine.SystemActor(), items, dryRun)
	if err != nil && !errors.Is(err, engine.ErrBatchRefused) {
		return nil, fmt.Errorf("import: %w", err)
	}
	out := make([]applied, len(res))
	for i, br := range res {
		a := applied{id: br.ID, differs: br.Differs, holder: br.Holder}
		switch br.Outcome {
		case engine.BatchCreated:
			a.outcome = OutcomeCreated
		case engine.BatchUnchanged:
			a.outcome = OutcomeUnchanged
		case engine.BatchDiffers:
			a.outcome = OutcomeDiffers
		case engine.BatchNameTaken:
			a.outcome = OutcomeNameTaken
		case engine.BatchRefused:
			a.errs = br.Errors
			if len(a.errs) == 0 {
				a.errs = engine.FieldErrors{{Key: "name", Message: "refused"}}
			}
		}
		out[i] = a
	}
	return out, nil
}

// sortedKeys returns a map's keys in order.
func sortedKeys(m engine.Values) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
