package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"

	"github.com/sipswitch/sipswitch/storage"
)

// Kind describes one object family of the API (peers, phones, plans...):
// where it is stored, how it is keyed, who may do what, and the rules
// beyond single parameters (references, ownership, dependents).
type Kind struct {
	Name  string // "peer", for messages
	Table string
	Key   string // "id" or "name"
	Spec  *Spec

	CreatePriv, UpdatePriv, DeletePriv, GetPriv, ListPriv []Privilege

	// ReturnsID: create answers {"id":N} (Enswitch peers, routes) rather
	// than nothing (phones).
	ReturnsID bool
	// Sorts are the list "sort" values; the first is the default.
	Sorts []string
	// Filters are list parameters matched against columns: "=" exact,
	// "prefix" starting with.
	Filters map[string]string
	// Ranges are list parameters that bound a column: "since" -> start >=.
	Ranges map[string]Range
	// RequiredFilter must be given to list (routes need their plan).
	RequiredFilter string
	// Immutable parameters may be given on update only with their current
	// value.
	Immutable []string

	// defaultsFor fills actor-dependent defaults (customer = the actor's).
	defaultsFor func(a *Actor, input Values) Values
	// visible reports whether the actor may see and act on the object.
	visible func(ctx context.Context, tx *storage.Tx, a *Actor, vals Values) (bool, error)
	// ownerOnly reports whether the actor acts on the object only as its
	// owner: its updates may change only the spec's OwnerManaged
	// parameters.
	ownerOnly func(a *Actor) bool
	// check applies cross-object rules; old is nil on create. It may also
	// rewrite vals (copy_password).
	check func(ctx context.Context, tx *storage.Tx, a *Actor, vals, old Values) (FieldErrors, error)
	// beforeDelete refuses deletes of objects others depend on.
	beforeDelete func(ctx context.Context, tx *storage.Tx, vals Values) error
	// redact removes what the actor may not read.
	redact func(a *Actor, obj map[string]any, opts ListOptions)
	// listScope narrows a list to what the actor may see, in SQL.
	listScope func(a *Actor) []storage.Cond
}

// ReadOnly reports whether nobody may create, update or delete objects of
// the kind through the API (call records are the switch's own).
func (k *Kind) ReadOnly() bool {
	return len(k.CreatePriv) == 0 && len(k.UpdatePriv) == 0 && len(k.DeletePriv) == 0
}

// checkRules applies the kind's cross-object rules, if it has any.
func (k *Kind) checkRules(ctx context.Context, tx *storage.Tx, a *Actor, vals, old Values) (FieldErrors, error) {
	if k.check == nil {
		return nil, nil
	}
	return k.check(ctx, tx, a, vals, old)
}

// Range is a list parameter compared with a column by Op.
type Range struct{ Col, Op string }

// conditions turns list parameters (Filters and Ranges) into conditions,
// typed by the kind's spec.
func (k *Kind) conditions(filters Values) ([]storage.Cond, error) {
	var where []storage.Cond
	typed := func(name, v string) (any, error) {
		if p, ok := k.Spec.Param(name); ok && p.Type == Integer {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, FieldErrors{{Key: name, Message: name + fmt.Sprintf(" must be an integer, got %q", clip(v))}}
			}
			return n, nil
		}
		return v, nil
	}
	for name, op := range k.Filters {
		v, ok := filters[name]
		if !ok {
			continue
		}
		val, err := typed(name, v)
		if err != nil {
			return nil, err
		}
		where = append(where, storage.Cond{Col: name, Op: op, Val: val})
	}
	for name, r := range k.Ranges {
		v, ok := filters[name]
		if !ok {
			continue
		}
		val, err := typed(name, v)
		if err != nil {
			return nil, err
		}
		where = append(where, storage.Cond{Col: r.Col, Op: r.Op, Val: val})
	}
	return where, nil
}

// ListOptions are Enswitch's list parameters.
type ListOptions struct {
	Filters    Values // by Kind.Filters
	Sort       string
	Descending bool
	Limit      int // 0 = all
	Offset     int
	Password   bool // phones: include passwords the actor may read
}

func (s *Service) authorize(a *Actor, privs []Privilege) error {
	if a == nil || !a.Can(privs...) {
		return ErrRoleForbids
	}
	return nil
}

// keyArg checks the key a request names the object by.
func (k *Kind) keyArg(key string) (any, error) {
	if k.Key == "name" {
		if key == "" {
			return nil, FieldErrors{{Key: "name", Message: "name is required"}}
		}
		return key, nil
	}
	n, err := strconv.ParseInt(key, 10, 64)
	if err != nil || n < 1 {
		if key == "" {
			return nil, FieldErrors{{Key: k.Key, Message: k.Key + " is required"}}
		}
		return nil, FieldErrors{{Key: k.Key, Message: k.Key + fmt.Sprintf(" must be a positive integer, got %q", clip(key))}}
	}
	return n, nil
}

// load reads the object keyed by key, or ErrNotFound when it does not
// exist or the actor may not see it (Enswitch answers both with 404).
func (s *Service) load(ctx context.Context, tx *storage.Tx, a *Actor, k *Kind, key string) (Values, storage.Record, error) {
	kv, err := k.keyArg(key)
	if err != nil {
		return nil, nil, err
	}
	rec, err := tx.Get(ctx, k.Table, k.Key, kv)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", k.Name, err)
	}
	vals := valuesOfRecord(rec)
	if k.visible != nil {
		ok, err := k.visible(ctx, tx, a, vals)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return nil, nil, ErrNotFound
		}
	}
	return vals, rec, nil
}

// Create validates input and stores a new object, returning its id. With
// validateOnly it runs every check, writes nothing and returns
// ErrValidated.
func (s *Service) Create(ctx context.Context, a *Actor, k *Kind, input Values, validateOnly bool) (int64, error) {
	if err := s.authorize(a, k.CreatePriv); err != nil {
		return 0, err
	}
	var id int64
	var err error
	if validateOnly {
		// validation=1 runs the whole create, the store's uniqueness rules
		// included, and rolls it back: it answers 201 exactly when the
		// real create would succeed.
		err = s.writeAudited(ctx, func(ctx context.Context, tx *storage.Tx) error {
			if _, err := s.createIn(ctx, tx, a, k, input, false); err != nil {
				return err
			}
			return ErrValidated
		})
	} else {
		err = s.writeAudited(ctx, func(ctx context.Context, tx *storage.Tx) error {
			id, err = s.createIn(ctx, tx, a, k, input, false)
			return err
		})
		s.touched(k)
	}
	return id, err
}

// createIn is Create inside the caller's transaction, for calls that
// decide between create and update in the same transaction.
func (s *Service) createIn(ctx context.Context, tx *storage.Tx, a *Actor, k *Kind, input Values, validateOnly bool) (int64, error) {
	return s.createWith(ctx, tx, a, k, input, validateOnly, nil)
}

// createWith is createIn storing the columns of fixed beside the validated
// values: the switch-file loader gives objects the ids the file names them
// by (the API lets the store number them).
func (s *Service) createWith(ctx context.Context, tx *storage.Tx, a *Actor, k *Kind, input Values, validateOnly bool, fixed storage.Record) (int64, error) {
	if k.defaultsFor != nil {
		input = k.defaultsFor(a, input)
	}
	vals, errs := k.Spec.Validate(input, nil)
	more, err := k.checkRules(ctx, tx, a, vals, nil)
	if err != nil {
		return 0, err
	}
	if errs = append(errs, more...); len(errs) > 0 {
		return 0, errs
	}
	if validateOnly {
		return 0, ErrValidated
	}
	rec := recordOf(k.Spec, vals, s.db.Columns(k.Table))
	maps.Copy(rec, fixed)
	id, err := tx.Insert(ctx, k.Table, rec)
	if errors.Is(err, storage.ErrConflict) {
		return 0, FieldErrors{conflictError(k)}
	}
	if err != nil {
		return 0, err
	}
	key := strconv.FormatInt(id, 10)
	if k.Key == "name" {
		key = vals["name"]
	}
	return id, s.audit(ctx, tx, a, auditFunction(k, "create"), auditObject(k, key), createChanges(k.Spec, input, vals))
}

func conflictError(k *Kind) FieldError {
	if k == kindRoute {
		return routeExists()
	}
	return FieldError{Key: "name", Message: "name is already used by another " + k.Name, Reason: ReasonInUse}
}

// Update merges input over the stored object, validates the whole and
// stores it: every omitted parameter keeps its current value.
func (s *Service) Update(ctx context.Context, a *Actor, k *Kind, key string, input Values, validateOnly bool) error {
	if err := s.authorize(a, k.UpdatePriv); err != nil {
		return err
	}
	if validateOnly {
		// As for Create: the whole update, rolled back.
		return s.writeAudited(ctx, func(ctx context.Context, tx *storage.Tx) error {
			if err := s.updateIn(ctx, tx, a, k, key, input, false); err != nil {
				return err
			}
			return ErrValidated
		})
	}
	err := s.writeAudited(ctx, func(ctx context.Context, tx *storage.Tx) error {
		return s.updateIn(ctx, tx, a, k, key, input, validateOnly)
	})
	s.touched(k)
	return err
}

// updateIn is Update inside the caller's transaction.
func (s *Service) updateIn(ctx context.Context, tx *storage.Tx, a *Actor, k *Kind, key string, input Values, validateOnly bool) error {
	old, _, err := s.load(ctx, tx, a, k, key)
	if err != nil {
		return err
	}
	if k.ownerOnly != nil && k.ownerOnly(a) {
		// Refused before anything else is looked at: an owner learns
		// nothing from probing values it may not set.
		if keys := k.Spec.Unmanaged(input, old); len(keys) > 0 {
			return ForbiddenParams(keys)
		}
	}
	var errs FieldErrors
	for _, p := range k.Immutable {
		if v, ok := input[p]; ok && v != old[p] {
			errs = append(errs, FieldError{Key: p, Message: p + " cannot be changed; create a new object instead"})
		}
	}
	vals, verrs := k.Spec.Validate(input, old)
	errs = append(errs, verrs...)
	more, err := k.checkRules(ctx, tx, a, vals, old)
	if err != nil {
		return err
	}
	if errs = append(errs, more...); len(errs) > 0 {
		return errs
	}
	if validateOnly {
		return ErrValidated
	}
	kv, _ := k.keyArg(key)
	err = tx.Update(ctx, k.Table, k.Key, kv, recordOf(k.Spec, vals, s.db.Columns(k.Table)))
	if errors.Is(err, storage.ErrConflict) {
		return FieldErrors{conflictError(k)}
	}
	if err != nil {
		return err
	}
	return s.audit(ctx, tx, a, auditFunction(k, "update"), auditObject(k, fmt.Sprint(kv)), updateChanges(k.Spec, old, vals))
}

// touched notes a write to k; customer changes alter actors' trees.
func (s *Service) touched(k *Kind) {
	if k.Table == "customers" {
		s.identityGen.Add(1)
	}
}

// Delete removes the object unless others depend on it.
func (s *Service) Delete(ctx context.Context, a *Actor, k *Kind, key string) error {
	if err := s.authorize(a, k.DeletePriv); err != nil {
		return err
	}
	err := s.writeAudited(ctx, func(ctx context.Context, tx *storage.Tx) error {
		vals, _, err := s.load(ctx, tx, a, k, key)
		if err != nil {
			return err
		}
		if k.beforeDelete != nil {
			if err := k.beforeDelete(ctx, tx, vals); err != nil {
				return err
			}
		}
		kv, _ := k.keyArg(key)
		if err := tx.Delete(ctx, k.Table, k.Key, kv); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, auditFunction(k, "delete"), auditObject(k, fmt.Sprint(kv)), nil)
	})
	s.touched(k)
	return err
}

// Get returns the object with the API's field names.
func (s *Service) Get(ctx context.Context, a *Actor, k *Kind, key string, opts ListOptions) (map[string]any, error) {
	if err := s.authorize(a, k.GetPriv); err != nil {
		return nil, err
	}
	var obj map[string]any
	err := s.db.Read(ctx, func(tx *storage.Tx) error {
		_, rec, err := s.load(ctx, tx, a, k, key)
		if err != nil {
			return err
		}
		obj = s.present(a, k, rec, opts)
		return nil
	})
	return obj, err
}

func (s *Service) present(a *Actor, k *Kind, rec storage.Record, opts ListOptions) map[string]any {
	obj := make(map[string]any, len(rec))
	for c, v := range rec {
		if c == "password_hash" {
			continue
		}
		obj[c] = v
	}
	if k.redact != nil {
		k.redact(a, obj, opts)
	}
	return obj
}

// List returns the objects matching opts that the actor may see, and how
// many match in all (before limit and offset).
func (s *Service) List(ctx context.Context, a *Actor, k *Kind, opts ListOptions) ([]map[string]any, int, error) {
	if err := s.authorize(a, k.ListPriv); err != nil {
		return nil, 0, err
	}
	q := storage.Query{Descending: opts.Descending, Limit: opts.Limit, Offset: opts.Offset}
	sort := opts.Sort
	if sort == "" && len(k.Sorts) > 0 {
		sort = k.Sorts[0]
	}
	if sort != "" {
		if !contains(k.Sorts, sort) {
			return nil, 0, FieldErrors{{Key: "sort", Message: "sort" + fmt.Sprintf(" must be one of %s", quoteList(k.Sorts))}}
		}
		q.OrderBy = []string{sort}
	}
	if k.RequiredFilter != "" && opts.Filters[k.RequiredFilter] == "" {
		return nil, 0, FieldErrors{{Key: k.RequiredFilter, Message: k.RequiredFilter + " is required"}}
	}
	where, err := k.conditions(opts.Filters)
	if err != nil {
		return nil, 0, err
	}
	q.Where = append(q.Where, where...)
	if k.listScope != nil {
		q.Where = append(q.Where, k.listScope(a)...)
	}
	// Objects whose visibility is no condition on their own row are
	// filtered one by one, here.
	perRow := k.listScope == nil && k.visible != nil && k.RequiredFilter == ""
	var out []map[string]any
	var total int
	err = s.db.Read(ctx, func(tx *storage.Tx) error {
		if k.RequiredFilter != "" && k.visible != nil {
			// The parent object (a route's plan) must be the actor's.
			if err := s.checkParentVisible(ctx, tx, a, k, opts.Filters[k.RequiredFilter]); err != nil {
				return err
			}
		}
		if !perRow {
			// The conditions say what the actor sees: the store counts
			// and pages (audit and call records run to millions of rows).
			if total, err = tx.Count(ctx, k.Table, q.Where...); err != nil {
				return err
			}
			recs, err := tx.List(ctx, k.Table, q)
			if err != nil {
				return err
			}
			out = make([]map[string]any, 0, len(recs))
			for _, rec := range recs {
				out = append(out, s.present(a, k, rec, opts))
			}
			return nil
		}
		recs, err := tx.List(ctx, k.Table, storage.Query{Where: q.Where, OrderBy: q.OrderBy, Descending: q.Descending})
		if err != nil {
			return err
		}
		visible := recs[:0]
		for _, rec := range recs {
			if perRow {
				ok, err := k.visible(ctx, tx, a, valuesOfRecord(rec))
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
			}
			visible = append(visible, rec)
		}
		total = len(visible)
		if q.Offset > len(visible) {
			visible = nil
		} else {
			visible = visible[q.Offset:]
		}
		if q.Limit > 0 && len(visible) > q.Limit {
			visible = visible[:q.Limit]
		}
		out = make([]map[string]any, 0, len(visible))
		for _, rec := range visible {
			out = append(out, s.present(a, k, rec, opts))
		}
		return nil
	})
	return out, total, err
}

func (s *Service) checkParentVisible(ctx context.Context, tx *storage.Tx, a *Actor, k *Kind, parent string) error {
	n, err := strconv.ParseInt(parent, 10, 64)
	if err != nil {
		return FieldErrors{{Key: k.RequiredFilter, Message: k.RequiredFilter + fmt.Sprintf(" must be an integer, got %q", clip(parent))}}
	}
	ok, err := k.visible(ctx, tx, a, Values{k.RequiredFilter: strconv.FormatInt(n, 10)})
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotFound
	}
	return nil
}

// Kinds returns every object kind of the Enswitch API keyed by its module
// path ("peers", "plans/routes", ...). The kinds are shared and read-only.
func (s *Service) Kinds() map[string]*Kind {
	return map[string]*Kind{
		"peers":              kindPeer,
		"phones":             kindPhone,
		"plans":              kindPlan,
		"plans/routes":       kindRoute,
		"timegroups":         kindTimeGroup,
		"timegroups/periods": kindTimePeriod,
		"recordgroups":       kindRecordGroup,
		"peers/costs":        kindPeerCost,
		"customers":          kindCustomer,
		"cos":                kindCOS,
		"cos/rules":          kindCOSRule,
		"calls":              kindCall,
		"audit":              kindAudit,
	}
}
