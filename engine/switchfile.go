package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
	"gopkg.in/yaml.v3"
)

// ErrSwitchFile marks a switch file that does not describe a valid switch.
var ErrSwitchFile = errors.New("invalid switch file")

// SwitchFileError is one problem in a switch file: the same key and message
// the API would give, with where it is.
type SwitchFileError struct {
	File    string
	Line    int
	Object  string // e.g. "peers[2]"
	Key     string
	Message string
}

func (e SwitchFileError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Object, e.Message)
}

// SwitchFileErrors are every problem found in one pass.
type SwitchFileErrors []SwitchFileError

func (es SwitchFileErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

func (es SwitchFileErrors) Unwrap() error { return ErrSwitchFile }

// A switch file keeps a switch's configuration as code: the same objects
// and parameter names as the API, validated by the same specs.
//
//	settings: {default_peer: 1, default_plan: 1}
//	customers: [{id: 2, name: Acme, parent: 1}]
//	timegroups:
//	  - id: 1
//	    name: office hours
//	    periods: [{days: "12345", starthour: 9, endhour: 17, endminute: 0, timezone: Europe/London}]
//	plans:  [{id: 1, name: Retail, cos_timegroup: 1}]
//	routes: [{plan: 1, called_prefix: "44", peer1: 1}]
//	peers:  [{id: 1, name: carrier-a, type: sip, destination: 192.0.2.10}]
//	phones: [{name: "2001", password: secret99, plan: 1, cos: 2}]
//	classes:
//	  - id: 2
//	    name: no premium
//	    otherwise: allow
//	    rules: [{position: 1, prefix: "09", allow: 0}]
//
// Objects that others refer to by id (customers, time groups, plans,
// peers) carry their id; routes may.
type switchFile struct {
	file string
	errs SwitchFileErrors
}

func (sf *switchFile) fail(line int, object, key, msg string) {
	sf.errs = append(sf.errs, SwitchFileError{File: sf.file, Line: line, Object: object, Key: key, Message: msg})
}

// fileObject is one mapping of the file as Values, with each key's line.
type fileObject struct {
	name  string // "peers[0]"
	line  int
	vals  Values
	lines map[string]int
	nodes map[string]*yaml.Node // non-scalar members (periods)
}

func (o *fileObject) lineOf(key string) int {
	if l, ok := o.lines[key]; ok {
		return l
	}
	return o.line
}

// LoadSwitchFile parses and validates a switch file into a snapshot. name
// is used in error positions. Every problem is reported, as
// SwitchFileErrors.
func LoadSwitchFile(r io.Reader, name string) (*routing.Snapshot, error) {
	data, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	sf := &switchFile{file: name}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrSwitchFile, err)
	}
	snap := &routing.Snapshot{}
	if doc.Kind == 0 {
		return snap, nil // empty file: an empty switch
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		sf.fail(root.Line, "file", "", "the file must be a mapping of sections (plans, routes, peers, phones, ...)")
		return nil, sf.errs
	}
	sections := map[string][]*fileObject{}
	var settings *fileObject
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		switch key.Value {
		case "settings":
			settings = sf.object(val, "settings")
		case "customers", "timegroups", "plans", "routes", "peers", "phones", "sip_endpoints", "classes":
			if val.Kind != yaml.SequenceNode {
				sf.fail(val.Line, key.Value, "", key.Value+" must be a list")
				continue
			}
			for j, item := range val.Content {
				if o := sf.object(item, fmt.Sprintf("%s[%d]", key.Value, j)); o != nil {
					sections[key.Value] = append(sections[key.Value], o)
				}
			}
		default:
			sf.fail(key.Line, key.Value, "", fmt.Sprintf("unknown section %q (settings, customers, timegroups, plans, routes, peers, phones, sip_endpoints, classes)", key.Value))
		}
	}
	sf.build(snap, settings, sections)
	if len(sf.errs) > 0 {
		sort.SliceStable(sf.errs, func(i, j int) bool { return sf.errs[i].Line < sf.errs[j].Line })
		return nil, sf.errs
	}
	return snap, nil
}

func (sf *switchFile) object(n *yaml.Node, name string) *fileObject {
	if n.Kind != yaml.MappingNode {
		sf.fail(n.Line, name, "", name+" must be a mapping of parameter: value")
		return nil
	}
	o := &fileObject{name: name, line: n.Line, vals: Values{}, lines: map[string]int{}, nodes: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := o.lines[k.Value]; dup {
			sf.fail(k.Line, name, k.Value, k.Value+" is given twice")
			continue
		}
		o.lines[k.Value] = k.Line
		switch v.Kind {
		case yaml.ScalarNode:
			if v.Tag == "!!null" {
				o.vals[k.Value] = ""
			} else {
				o.vals[k.Value] = v.Value
			}
		default:
			o.nodes[k.Value] = v
		}
	}
	return o
}

// validate runs spec over the object like the API does, reporting FieldErrors
// at their keys' lines. id, when allowed, is taken out first.
func (sf *switchFile) validate(o *fileObject, spec *Spec, extra ...string) (Values, bool) {
	input := Values{}
	for k, v := range o.vals {
		if _, known := spec.Param(k); !known && !contains(extra, k) {
			sf.fail(o.lineOf(k), o.name, k, fmt.Sprintf("unknown parameter %q", k))
			continue
		}
		input[k] = v
	}
	for k, n := range o.nodes {
		if p, known := spec.Param(k); known && p.Canon != nil {
			// Lists and objects (transport: [UDP], audio_codecs) reach
			// the spec as the JSON text the API would pass.
			var v any
			if err := n.Decode(&v); err != nil {
				sf.fail(o.lineOf(k), o.name, k, k+" cannot be read: "+err.Error())
				continue
			}
			b, err := json.Marshal(v)
			if err != nil {
				sf.fail(o.lineOf(k), o.name, k, k+" must be a list of values or of mappings with string keys")
				continue
			}
			input[k] = string(b)
			continue
		}
		// Nested lists the caller reads itself (a time group's periods,
		// a class's rules) are named in extra.
		if !contains(extra, k) {
			sf.fail(o.lineOf(k), o.name, k, k+" must be a single value")
		}
	}
	vals, errs := spec.Validate(input, nil)
	for _, e := range errs {
		sf.fail(o.lineOf(e.Key), o.name, e.Key, e.Message)
	}
	return vals, len(errs) == 0
}

// objectID reads a required positive, unique id.
func (sf *switchFile) objectID(o *fileObject, seen map[int]bool) int {
	v, ok := o.vals["id"]
	if !ok {
		sf.fail(o.line, o.name, "id", "id is required: other objects refer to this one by id")
		return 0
	}
	id, err := strconv.Atoi(v)
	if err != nil || id < 1 {
		sf.fail(o.lineOf("id"), o.name, "id", "id must be a positive integer")
		return 0
	}
	if seen[id] {
		sf.fail(o.lineOf("id"), o.name, "id", fmt.Sprintf("id %d is used twice", id))
		return 0
	}
	seen[id] = true
	return id
}

func (sf *switchFile) build(snap *routing.Snapshot, settings *fileObject, sections map[string][]*fileObject) {
	customers := map[int]bool{RootCustomer: true}
	snap.Customers = []routing.Customer{{ID: RootCustomer, Name: "System"}}
	for _, o := range sections["customers"] {
		id := sf.objectID(o, customers)
		vals, ok := sf.validate(o, customerSpec, "id")
		if id == 0 || !ok {
			continue
		}
		var c routing.Customer
		bindValues(&c, vals)
		c.ID = id
		snap.Customers = append(snap.Customers, c)
	}
	for _, o := range sections["customers"] {
		if p := atoi(o.vals["parent"]); !customers[p] {
			sf.fail(o.lineOf("parent"), o.name, "parent", fmt.Sprintf("parent customer %d does not exist", p))
		}
	}
	customerRef := func(o *fileObject, key string, v Values, allowSpecial bool) {
		id := atoi(v[key])
		if (allowSpecial && id <= 0) || customers[id] {
			return
		}
		sf.fail(o.lineOf(key), o.name, key, fmt.Sprintf("customer %d does not exist", id))
	}

	groups := map[int]bool{}
	for _, o := range sections["timegroups"] {
		id := sf.objectID(o, groups)
		vals, ok := sf.validate(o, timeGroupSpec, "id", "periods")
		if !ok || id == 0 {
			continue
		}
		if _, given := o.vals["customer"]; !given {
			vals["customer"] = strconv.Itoa(RootCustomer)
		}
		customerRef(o, "customer", vals, false)
		var g routing.TimeGroup
		bindValues(&g, vals)
		g.ID = id
		if pn, ok := o.nodes["periods"]; ok {
			if pn.Kind != yaml.SequenceNode {
				sf.fail(pn.Line, o.name, "periods", "periods must be a list")
			} else {
				for j, item := range pn.Content {
					po := sf.object(item, fmt.Sprintf("%s.periods[%d]", o.name, j))
					if po == nil {
						continue
					}
					po.vals["timegroup"] = strconv.Itoa(id)
					pv, ok := sf.validate(po, timePeriodSpec)
					if !ok {
						continue
					}
					var p routing.TimePeriod
					bindValues(&p, pv)
					p.ID = len(g.Periods) + 1
					g.Periods = append(g.Periods, p)
				}
			}
		}
		snap.TimeGroups = append(snap.TimeGroups, g)
	}
	groupRef := func(o *fileObject, key string, v Values) {
		if id := atoi(v[key]); id > 0 && !groups[id] {
			sf.fail(o.lineOf(key), o.name, key, fmt.Sprintf("time group %d does not exist", id))
		}
	}

	plans := map[int]bool{}
	for _, o := range sections["plans"] {
		id := sf.objectID(o, plans)
		vals, ok := sf.validate(o, PlanSpec, "id")
		if !ok || id == 0 {
			continue
		}
		if _, given := o.vals["customer"]; !given {
			vals["customer"] = strconv.Itoa(RootCustomer)
		}
		customerRef(o, "customer", vals, false)
		groupRef(o, "cos_timegroup", vals)
		var p routing.Plan
		bindValues(&p, vals)
		p.ID = id
		snap.Plans = append(snap.Plans, p)
	}

	classes := map[int]bool{routing.COSAllowAll: true}
	snap.Classes = []routing.ClassOfService{{ID: routing.COSAllowAll, Name: "System: all calls", Otherwise: routing.COSAllow}}
	for _, o := range sections["classes"] {
		if atoi(o.vals["id"]) == routing.COSAllowAll {
			sf.fail(o.lineOf("id"), o.name, "id", "class of service 1 is built in (allows every call)")
			continue
		}
		id := sf.objectID(o, classes)
		vals, ok := sf.validate(o, cosSpec, "id", "rules")
		if !ok || id == 0 {
			continue
		}
		if _, given := o.vals["customer"]; !given {
			vals["customer"] = strconv.Itoa(RootCustomer)
		}
		customerRef(o, "customer", vals, false)
		var c routing.ClassOfService
		bindValues(&c, vals)
		c.ID = id
		if rn, ok := o.nodes["rules"]; ok {
			if rn.Kind != yaml.SequenceNode {
				sf.fail(rn.Line, o.name, "rules", "rules must be a list")
			} else {
				for j, item := range rn.Content {
					ro := sf.object(item, fmt.Sprintf("%s.rules[%d]", o.name, j))
					if ro == nil {
						continue
					}
					ro.vals["cos"] = strconv.Itoa(id)
					rv, ok := sf.validate(ro, cosRuleSpec)
					if !ok {
						continue
					}
					groupRef(ro, "timegroup", rv)
					var r routing.COSRule
					bindValues(&r, rv)
					r.ID = len(c.Rules) + 1
					c.Rules = append(c.Rules, r)
				}
			}
		}
		snap.Classes = append(snap.Classes, c)
	}

	peers := map[int]bool{}
	names := map[string]string{} // lower-case section name -> object
	sectionName := func(o *fileObject, name string) {
		key := strings.ToLower(name)
		if prev, dup := names[key]; dup {
			sf.fail(o.lineOf("name"), o.name, "name", fmt.Sprintf("name %q is already used by %s (peers, lines and SIP endpoints share Asterisk section names)", name, prev))
			return
		}
		names[key] = o.name
	}
	for _, o := range sections["peers"] {
		id := sf.objectID(o, peers)
		vals, ok := sf.validate(o, PeerSpec, "id")
		if !ok || id == 0 {
			continue
		}
		customerRef(o, "customer", vals, true)
		customerRef(o, "plan_customer", vals, true)
		sectionName(o, vals["name"])
		var p routing.Peer
		bindValues(&p, vals)
		p.ID = id
		snap.Peers = append(snap.Peers, p)
	}

	routeIDs := map[int]bool{}
	routeKeys := map[string]bool{}
	for i, o := range sections["routes"] {
		vals, ok := sf.validate(o, RouteSpec, "id")
		if !ok {
			continue
		}
		id := i + 1
		if _, given := o.vals["id"]; given {
			id = sf.objectID(o, routeIDs)
		} else {
			for routeIDs[id] {
				id++
			}
			routeIDs[id] = true
		}
		if !plans[atoi(vals["plan"])] {
			sf.fail(o.lineOf("plan"), o.name, "plan", fmt.Sprintf("rate plan %s does not exist", vals["plan"]))
		}
		for _, k := range []string{"peer1", "peer2", "peer3"} {
			if pid := atoi(vals[k]); pid > 0 && !peers[pid] {
				sf.fail(o.lineOf(k), o.name, k, fmt.Sprintf("peer %d does not exist", pid))
			}
		}
		groupRef(o, "timegroup", vals)
		key := routeKey(vals)
		if routeKeys[key] {
			e := routeExists()
			sf.fail(o.lineOf(e.Key), o.name, e.Key, e.Message)
		}
		routeKeys[key] = true
		var r routing.Route
		bindValues(&r, vals)
		r.ID = id
		snap.Routes = append(snap.Routes, r)
	}
	sort.Slice(snap.Routes, func(i, j int) bool { return snap.Routes[i].ID < snap.Routes[j].ID })

	phones := map[string]*routing.Phone{}
	for i, o := range sections["phones"] {
		vals, ok := sf.validate(o, PhoneSpec)
		if !ok {
			continue
		}
		if _, given := o.vals["customer"]; !given {
			vals["customer"] = strconv.Itoa(RootCustomer)
		}
		customerRef(o, "customer", vals, false)
		if pl := atoi(vals["plan"]); pl > 0 && !plans[pl] {
			sf.fail(o.lineOf("plan"), o.name, "plan", fmt.Sprintf("rate plan %d does not exist", pl))
		}
		if c := atoi(vals["cos"]); c != routing.COSDefault && !classes[c] {
			sf.fail(o.lineOf("cos"), o.name, "cos", fmt.Sprintf("class of service %d does not exist", c))
		}
		if msg := lineCodecError(vals); msg != "" {
			sf.fail(o.lineOf("codec"), o.name, "codec", msg)
		}
		sectionName(o, vals["name"])
		var p routing.Phone
		bindValues(&p, vals)
		p.ID = i + 1
		snap.Phones = append(snap.Phones, p)
		phones[strings.ToLower(p.Name)] = &snap.Phones[len(snap.Phones)-1]
	}
	// copy_password and lnumber refer to other lines of the file.
	for i, o := range sections["phones"] {
		if cp := o.vals["copy_password"]; cp != "" && i < len(snap.Phones) {
			src := phones[strings.ToLower(cp)]
			if src == nil || src.Password == "" {
				sf.fail(o.lineOf("copy_password"), o.name, "copy_password", fmt.Sprintf("telephone line %q does not exist in the same customer", cp))
			} else if p := phones[strings.ToLower(o.vals["name"])]; p != nil {
				p.Password = src.Password
			}
		}
	}
	sort.Slice(snap.Phones, func(i, j int) bool { return snap.Phones[i].Name < snap.Phones[j].Name })

	if settings != nil {
		refs := map[string]map[int]bool{"default_peer": peers, "default_plan": plans, "default_cos": classes}
		for k, v := range settings.vals {
			n, err := strconv.Atoi(v)
			if k == SettingEmergencyNumbers {
				if canon, err := checkSetting(k, v); err != nil {
					sf.fail(settings.lineOf(k), "settings", k, err.Error())
				} else {
					snap.Settings.EmergencyNumbers = canon
				}
				continue
			}
			switch {
			case refs[k] == nil:
				sf.fail(settings.lineOf(k), "settings", k, fmt.Sprintf("unknown setting %q (%s)", k, strings.Join(SettingKeys, ", ")))
			case err != nil || n < 0:
				sf.fail(settings.lineOf(k), "settings", k, k+" must be an id, or 0 for none")
			case n > 0 && !refs[k][n]:
				sf.fail(settings.lineOf(k), "settings", k, fmt.Sprintf("%s %d does not exist", settingObjects[k], n))
			case k == "default_peer":
				snap.Settings.DefaultPeer = n
			case k == "default_plan":
				snap.Settings.DefaultPlan = n
			default:
				snap.Settings.DefaultCOS = n
			}
		}
	}
	for _, o := range sections["sip_endpoints"] {
		vals, ok := sf.validate(o, SIPEndpointSpec, "object_id")
		if !ok {
			continue
		}
		if errs := sipEndpointRules(vals); len(errs) > 0 {
			for _, e := range errs {
				sf.fail(o.lineOf(e.Key), o.name, e.Key, e.Message)
			}
			continue
		}
		sectionName(o, vals["name"])
		var e routing.SIPEndpoint
		bindValues(&e, vals)
		e.ID = len(snap.SIPEndpoints) + 1
		snap.SIPEndpoints = append(snap.SIPEndpoints, e)
	}
}
