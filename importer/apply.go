package importer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
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
	ModulePlans:        {"name": true},
	ModuleRoutes:       {"plan": true, "called_prefix": true, "allow": true, "peer1": true, "peer2": true, "peer3": true},
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
			params += len(o.Params) + len(o.Refs)
		}
	}
	// What others refer to goes first: peers and SIP endpoints, plans,
	// then lines and routes.
	sort.SliceStable(live, func(i, j int) bool { return applyRank[live[i].Module] < applyRank[live[j].Module] })
	// Every round drops a parameter or refuses an object, so the loop
	// ends; the bound is a guard against a destination that keeps
	// refusing what is no longer there.
	for round := 0; round <= params+len(live)+1; round++ {
		live = r.dropRefs(live)
		out, err := dst.apply(ctx, live, dryRun)
		if err != nil {
			return err
		}
		if len(out) != len(live) {
			return fmt.Errorf("import: destination answered %d results for %d objects", len(out), len(live))
		}
		retry := false
		next := live[:0:0]
		failing := map[*Object]bool{}
		for i, o := range live {
			if len(out[i].errs) > 0 {
				failing[o] = true
			}
		}
		for i, o := range live {
			a := out[i]
			if len(a.errs) > 0 {
				retry = true
				if r.drop(o, a.errs, failing) {
					next = append(next, o)
				}
				continue
			}
			o.Outcome, o.ID, o.Differs = a.outcome, a.id, a.differs
			if o.NewPassword {
				// The existing line's password is not the random one
				// of this run, and the Asterisk one was refused: not
				// compared.
				o.Differs = slices.DeleteFunc(o.Differs, func(k string) bool { return k == "password" })
				if o.Outcome == OutcomeDiffers && len(o.Differs) == 0 {
					o.Outcome = OutcomeUnchanged
				}
			}
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

// applyRank orders objects so that those others refer to come first.
var applyRank = map[string]int{ModulePeers: 0, ModuleSIPEndpoints: 0, ModulePlans: 1, ModulePhones: 2, ModuleRoutes: 3}

// dropRefs settles references to objects that are not imported: a line
// goes without its plan (the default plan's routes are its, as without
// extensions.conf), a route is not imported (without its plan or a peer
// it would be another route).
func (r *Result) dropRefs(live []*Object) []*Object {
	in := make(map[*Object]bool, len(live))
	for _, o := range live {
		in[o] = true
	}
	out := live[:0:0]
	for _, o := range live {
		keep := true
		for _, param := range slices.Sorted(maps.Keys(o.Refs)) {
			t := o.Refs[param]
			if in[t] && t.Outcome != OutcomeRefused {
				continue
			}
			if o.Module == ModulePhones {
				delete(o.Refs, param)
				r.Findings = append(r.Findings, Finding{Pos: firstPos(o, param), Object: o.What(), Message: fmt.Sprintf("%s not imported: %s is not imported; the line follows the default rate plan", param, t.What())})
				continue
			}
			if keep {
				o.Outcome = OutcomeRefused
				r.Findings = append(r.Findings, Finding{Pos: o.Pos, Object: o.What(), Refused: true, Message: fmt.Sprintf("its %s, %s, is not imported", param, t.What())})
			}
			keep = false
		}
		if keep {
			out = append(out, o)
		} else {
			in[o] = false
		}
	}
	return out
}

func firstPos(o *Object, param string) astconf.Pos {
	if ps := o.From[param]; len(ps) > 0 {
		return ps[0]
	}
	return o.Pos
}

// drop handles the destination's refusal of some of o's parameters; it
// reports whether o stays in the import. A refused reference whose object
// is failing too waits for the next round (dropRefs).
func (r *Result) drop(o *Object, errs engine.FieldErrors, failing map[*Object]bool) bool {
	keep := true
	for _, e := range errs {
		pos := firstPos(o, e.Key)
		if t, ok := o.Refs[e.Key]; ok && failing[t] {
			continue
		}
		if _, ok := o.Refs[e.Key]; ok && o.Module == ModulePhones {
			delete(o.Refs, e.Key)
			r.Findings = append(r.Findings, Finding{Pos: pos, Object: o.What(), Message: "not imported: " + e.Message})
			continue
		}
		option := ""
		if v, ok := o.Params[e.Key]; ok {
			option = optionText(astconf.Option{Name: e.Key, Value: v})
		}
		if o.Module == ModulePhones && e.Key == "password" && !o.NewPassword {
			// A password the API refuses (short, the line's name, with
			// spaces) is a weak one kept if imported as it is; the line
			// without a password is no line. It gets a new random one,
			// which the report never prints.
			o.Params["password"], o.NewPassword = rand.Text(), true
			r.Findings = append(r.Findings, Finding{Pos: pos, Object: o.What(), Option: option,
				Message: "not imported: " + e.Message + "; the line gets a new random password instead: read it with phones/get (or in the switch file) and set it on the phone"})
			continue
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

// NotImported counts the objects an import left out: refused while mapping
// or by the destination, or whose name another kind of object holds (each
// a "NOT IMPORTED" line of the report).
func (r *Result) NotImported() int {
	c := r.Count()
	return c.Refused + c.NameTaken
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
	index := make(map[*Object]int, len(objs))
	for i, o := range objs {
		index[o] = i
	}
	items := make([]engine.BatchItem, len(objs))
	for i, o := range objs {
		in := make(engine.Values, len(o.Params))
		for k, v := range o.Params {
			in[k] = v
		}
		items[i] = engine.BatchItem{Module: o.Module, Input: in}
		for param, t := range o.Refs {
			j, ok := index[t]
			if !ok || j >= i {
				return nil, fmt.Errorf("import: %s refers to %s out of order", o.What(), t.What())
			}
			if items[i].Refs == nil {
				items[i].Refs = map[string]int{}
			}
			items[i].Refs[param] = j
		}
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
