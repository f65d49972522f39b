package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
	"gopkg.in/yaml.v3"
)

// A switch file is loaded by creating its objects, one by one, through the
// API's create (Service.createIn: the kind's spec, its defaults for the
// system owner, its checks, the store's UNIQUE rules) in a store of its
// own, then reading that store's snapshot. The loader checks nothing the
// API checks; what it keeps is what only a file has:
//
//   - ids: objects others refer to carry the id the file gives them
//     (required, positive, unique per section; class 1 is the built-in
//     one), stored as that object's id, where the API would let the store
//     number them;
//   - order: sections are created so that what an object refers to exists
//     first (customers parents first, time groups, plans, customers'
//     plans, classes, peers, routes, lines, SIP endpoints, settings);
//   - lines referring to lines (copy_password, lnumber, b/d/unumber,
//     forwarding, mailbox) may refer forwards or in a circle, which no
//     order of creates satisfies: a line is created without the
//     references to other lines of the file, then updated with them
//     (phones/update, the same checks), as an API client would do.
//     copy_password, which a line cannot be created without, orders the
//     lines instead: the source first.
//
// One mistake is reported once: an object that was not created makes no
// "does not exist" errors in the objects referring to it.

// build creates the sections' objects in a temporary store and returns its
// snapshot. Problems of the file go to sf.errs; the error is the store's.
func (sf *switchFile) build(ctx context.Context, settings *fileObject, sections map[string][]*fileObject) (*routing.Snapshot, error) {
	dir, err := os.MkdirTemp("", "sipswitch-switchfile-")
	if err != nil {
		return nil, fmt.Errorf("temporary store: %w", err)
	}
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := storage.Open(ctx, filepath.Join(dir, "switch.db"), storage.WithLogger(quiet))
	if err != nil {
		return nil, fmt.Errorf("temporary store: %w", err)
	}
	defer db.Close()
	svc := NewService(db, WithLogger(quiet))
	svc.noAudit = true
	l := &loader{switchFile: sf, ctx: ctx, svc: svc, a: SystemActor(), failed: map[string]map[string]bool{}}
	_, err = db.Write(ctx, func(tx *storage.Tx) error {
		l.tx = tx
		if _, err := tx.Insert(ctx, "customers", storage.Record{"id": int64(RootCustomer), "name": "System", "parent": int64(0)}); err != nil {
			return err
		}
		l.build(sections)
		return l.err
	})
	if err != nil {
		return nil, err
	}
	if settings != nil {
		if err := l.settings(settings); err != nil {
			return nil, err
		}
	}
	if len(sf.errs) > 0 {
		return nil, nil
	}
	snap, err := l.svc.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	// A file has no revision; the temporary store's counts its writes.
	snap.Revision = 0
	// Lines by name, as the file loader has always given them.
	sortPhonesByName(snap.Phones)
	return snap, nil
}

// loader is one load's state.
type loader struct {
	*switchFile
	ctx context.Context
	svc *Service
	tx  *storage.Tx
	a   *Actor
	// err is the store's failure, which ends the load.
	err error
	// failed holds, by section, the ids (lines: lower-case names) of the
	// file's objects that were not created.
	failed map[string]map[string]bool
	// holders are the file's objects by lower-case section name, to say
	// which one holds a name another wants.
	holders map[string]*fileObject
}

// refSections are the sections the reference parameters point into.
var refSections = map[string]string{
	"parent": "customers", "customer": "customers", "plan_customer": "customers",
	"plan": "plans", "cos_timegroup": "timegroups", "timegroup": "timegroups",
	"peer1": "peers", "peer2": "peers", "peer3": "peers", "cos": "classes",
	"copy_password": "phones", "lnumber": "phones", "bnumber": "phones", "dnumber": "phones",
	"unumber": "phones", "forwarding": "phones", "mailbox": "phones",
	"default_peer": "peers", "default_plan": "plans", "default_cos": "classes",
	"recordgroup": "recordgroups",
}

// refOf is the key under which a reference value is kept in failed.
func refOf(section, v string) string {
	if section == "phones" {
		name, _, _ := strings.Cut(v, "@") // mailbox 2001@default
		return strings.ToLower(name)
	}
	return v
}

func (l *loader) markFailed(section, key string) {
	if l.failed[section] == nil {
		l.failed[section] = map[string]bool{}
	}
	l.failed[section][key] = true
}

// report turns a create's or update's error into the file's errors, and
// reports whether it succeeded.
func (l *loader) report(o *fileObject, err error) bool {
	if err == nil {
		return true
	}
	var fes FieldErrors
	if !errors.As(err, &fes) {
		if l.err == nil {
			l.err = err
		}
		return false
	}
	for _, e := range fes {
		if s := refSections[e.Key]; s != "" && l.failed[s][refOf(s, o.vals[e.Key])] {
			continue // the object referred to has its own error
		}
		msg := e.Message
		if e.Reason == ReasonInUse && e.Key == "name" {
			if h := l.holders[strings.ToLower(o.vals["name"])]; h != nil && h != o {
				msg += "; " + h.name + " of this file has it"
			}
		}
		l.failAt(o, e.Key, msg)
	}
	return false
}

// create runs k's create over input; fixed are the columns the file sets
// itself (ids).
func (l *loader) create(o *fileObject, k *Kind, input Values, fixed storage.Record) bool {
	if l.err != nil {
		return false
	}
	_, err := l.svc.createWith(l.ctx, l.tx, l.a, k, input, false, fixed)
	ok := l.report(o, err)
	if ok && o.vals["name"] != "" && (k == kindPeer || k == kindPhone || k == kindSIPEndpoint) {
		if l.holders == nil {
			l.holders = map[string]*fileObject{}
		}
		key := strings.ToLower(o.vals["name"])
		if l.holders[key] == nil {
			l.holders[key] = o
		}
	}
	return ok
}

// objectID reads a required positive id, unique in its section.
func (sf *switchFile) objectID(o *fileObject, seen map[int]bool) int {
	v, ok := o.vals["id"]
	if !ok {
		sf.failAt(o, "id", "id is required: other objects refer to this one by id")
		return 0
	}
	id, err := strconv.Atoi(v)
	if err != nil || id < 1 {
		sf.failAt(o, "id", "id must be a positive integer")
		return 0
	}
	if seen[id] {
		sf.failAt(o, "id", fmt.Sprintf("id %d is used twice", id))
		return 0
	}
	seen[id] = true
	return id
}

// withID creates an object the file gives an id, noting it failed when it
// was not created.
func (l *loader) withID(section string, o *fileObject, k *Kind, seen map[int]bool, extra ...string) (int, bool) {
	id := l.objectID(o, seen)
	input := l.input(o, k.Spec, append(extra, "id")...)
	if id == 0 {
		return 0, false
	}
	if !l.create(o, k, input, storage.Record{"id": int64(id)}) {
		l.markFailed(section, strconv.Itoa(id))
		return id, false
	}
	return id, true
}

func (l *loader) build(sections map[string][]*fileObject) {
	// Customers, each after its parent; their rate plans once plans exist
	// (customers/update).
	customers := map[int]bool{RootCustomer: true}
	type customerPlan struct {
		o    *fileObject
		id   int
		plan string
	}
	var plans []customerPlan
	for _, o := range parentsFirst(sections["customers"]) {
		id := l.objectID(o, customers)
		input := l.input(o, customerSpec, "id")
		plan, hasPlan := input["plan"]
		delete(input, "plan")
		if id == 0 {
			continue
		}
		if !l.create(o, kindCustomer, input, storage.Record{"id": int64(id)}) {
			l.markFailed("customers", strconv.Itoa(id))
		} else if hasPlan {
			plans = append(plans, customerPlan{o, id, plan})
		}
	}

	groups := map[int]bool{}
	for _, o := range sections["timegroups"] {
		id, ok := l.withID("timegroups", o, kindTimeGroup, groups, "periods")
		if ok {
			l.children(o, "periods", kindTimePeriod, "timegroup", id)
		}
	}

	recordGroups := map[int]bool{}
	for _, o := range sections["recordgroups"] {
		l.withID("recordgroups", o, kindRecordGroup, recordGroups)
	}

	planIDs := map[int]bool{}
	for _, o := range sections["plans"] {
		l.withID("plans", o, kindPlan, planIDs)
	}
	for _, p := range plans {
		if l.err == nil {
			l.report(p.o, l.svc.updateIn(l.ctx, l.tx, l.a, kindCustomer, strconv.Itoa(p.id), Values{"plan": p.plan}, false))
		}
	}

	classes := map[int]bool{routing.COSAllowAll: true}
	for _, o := range sections["classes"] {
		if atoi(o.vals["id"]) == routing.COSAllowAll {
			l.failAt(o, "id", "class of service 1 is built in (allows every call)")
			continue
		}
		id, ok := l.withID("classes", o, kindCOS, classes, "rules")
		if ok {
			l.children(o, "rules", kindCOSRule, "cos", id)
		}
	}

	peers := map[int]bool{}
	for _, o := range sections["peers"] {
		l.withID("peers", o, kindPeer, peers)
	}

	// Routes may carry an id; the others are numbered by their place in
	// the file, skipping ids already taken.
	routeIDs := map[int]bool{}
	for i, o := range sections["routes"] {
		id := i + 1
		if _, given := o.vals["id"]; given {
			if id = l.objectID(o, routeIDs); id == 0 {
				l.input(o, RouteSpec, "id")
				continue
			}
		} else {
			for routeIDs[id] {
				id++
			}
			routeIDs[id] = true
		}
		l.create(o, kindRoute, l.input(o, RouteSpec, "id"), storage.Record{"id": int64(id)})
	}

	l.phones(sections["phones"])

	for _, o := range sections["sip_endpoints"] {
		l.create(o, kindSIPEndpoint, l.input(o, SIPEndpointSpec, "object_id"), nil)
	}
}

// children creates the nested objects (a time group's periods, a class's
// rules) of o's list key as objects of k whose parent parameter is id.
func (l *loader) children(o *fileObject, key string, k *Kind, parent string, id int) {
	n, ok := o.nodes[key]
	if !ok {
		return
	}
	if n.Kind != yaml.SequenceNode {
		l.fail(n.Line, o.name, key, key+" must be a list")
		return
	}
	for j, item := range n.Content {
		c := l.object(item, fmt.Sprintf("%s.%s[%d]", o.name, key, j))
		if c == nil {
			continue
		}
		input := l.input(c, k.Spec, parent)
		input[parent] = strconv.Itoa(id)
		l.create(c, k, input, nil)
	}
}

// lineRefPairs are a line's destination type and number parameters; the
// number may name another line.
var lineRefPairs = [][2]string{{"ltype", "lnumber"}, {"btype", "bnumber"}, {"dtype", "dnumber"}, {"utype", "unumber"}}

// phones creates the file's lines: copy_password sources first, each line
// without its references to other lines of the file, then those
// references as an update.
func (l *loader) phones(objs []*fileObject) {
	inFile := make(map[string]bool, len(objs))
	for _, o := range objs {
		inFile[strings.ToLower(o.vals["name"])] = true
	}
	type update struct {
		o     *fileObject
		input Values
	}
	var updates []update
	index := make(map[*fileObject]int, len(objs))
	for i, o := range objs {
		index[o] = i
	}
	for _, o := range copySourcesFirst(objs) {
		input := l.input(o, PhoneSpec)
		self := strings.ToLower(input["name"])
		other := func(v string) bool {
			name, _, _ := strings.Cut(v, "@")
			name = strings.ToLower(name)
			return name != "" && name != self && inFile[name]
		}
		later := Values{}
		move := func(keys ...string) {
			for _, k := range keys {
				if v, ok := input[k]; ok {
					later[k] = v
					delete(input, k)
				}
			}
		}
		for _, p := range lineRefPairs {
			if other(input[p[1]]) {
				move(p[0], p[1])
			}
		}
		if other(input["forwarding"]) {
			move("forwarding")
		}
		if other(input["mailbox"]) {
			move("mailbox")
		}
		if !l.create(o, kindPhone, input, storage.Record{"id": int64(index[o] + 1)}) {
			l.markFailed("phones", self)
			continue
		}
		if len(later) > 0 {
			updates = append(updates, update{o, later})
		}
	}
	for _, u := range updates {
		if l.err == nil {
			l.report(u.o, l.svc.updateIn(l.ctx, l.tx, l.a, kindPhone, u.o.vals["name"], u.input, false))
		}
	}
}

// copySourcesFirst orders lines so that the line a copy_password names
// comes before the line copying it; otherwise the file's order.
func copySourcesFirst(objs []*fileObject) []*fileObject {
	byName := make(map[string]*fileObject, len(objs))
	for _, o := range objs {
		byName[strings.ToLower(o.vals["name"])] = o
	}
	out := make([]*fileObject, 0, len(objs))
	done := make(map[*fileObject]bool, len(objs))
	var visit func(o *fileObject)
	visit = func(o *fileObject) {
		if done[o] {
			return
		}
		done[o] = true // a circle of copies: the create reports it
		if src := byName[strings.ToLower(o.vals["copy_password"])]; src != nil {
			visit(src)
		}
		out = append(out, o)
	}
	for _, o := range objs {
		visit(o)
	}
	return out
}

// parentsFirst orders customers so that a parent comes before its
// children; otherwise the file's order.
func parentsFirst(objs []*fileObject) []*fileObject {
	byID := make(map[string]*fileObject, len(objs))
	for _, o := range objs {
		if _, dup := byID[o.vals["id"]]; !dup {
			byID[o.vals["id"]] = o
		}
	}
	out := make([]*fileObject, 0, len(objs))
	done := make(map[*fileObject]bool, len(objs))
	var visit func(o *fileObject)
	visit = func(o *fileObject) {
		if done[o] {
			return
		}
		done[o] = true
		if p := byID[o.vals["parent"]]; p != nil {
			visit(p)
		}
		out = append(out, o)
	}
	for _, o := range objs {
		visit(o)
	}
	return out
}

// settings stores the file's settings through settings/update.
func (l *loader) settings(o *fileObject) error {
	values := map[string]string{}
	for k, v := range o.vals {
		if k == SettingEmergencyNumbers {
			values[k] = v // a list, checked by SetSettings
			continue
		}
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			l.failAt(o, k, k+" must be an id, or 0 for none")
			continue
		}
		values[k] = v
	}
	for k := range o.nodes {
		l.failAt(o, k, k+" must be an id, or 0 for none")
	}
	err := l.svc.SetSettings(l.ctx, l.a, values)
	if err != nil && !l.report(o, err) {
		return l.err
	}
	return nil
}

func sortPhonesByName(phones []routing.Phone) {
	slices.SortFunc(phones, func(a, b routing.Phone) int { return strings.Compare(a.Name, b.Name) })
}
