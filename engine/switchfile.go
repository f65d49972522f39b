package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
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
	Name    string // the object's name parameter, when it has one
	Key     string
	Message string
}

func (e SwitchFileError) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("%s:%d: %s (name %q): %s", e.File, e.Line, e.Object, e.Name, e.Message)
	}
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
//	recordgroups: [{id: 1, name: sales, calls: all, retention: 90, directory: sales}]
//
// Objects that others refer to by id (customers, time groups, plans,
// peers, classes, record groups) carry their id; routes may.
//
// Loading is the API's create, object by object, into a store of its own
// (a temporary SQLite file): each object goes through its kind's spec and
// checks and the store's uniqueness rules exactly as customers/create,
// peers/create, phones/create... do, so the file and the API have one
// rule each (switchfile_build.go says in which order, and how references
// between lines of the file are made). The snapshot is the one
// Service.Snapshot reads from that store.
type switchFile struct {
	file string
	errs SwitchFileErrors
}

func (sf *switchFile) fail(line int, object, key, msg string) {
	sf.errs = append(sf.errs, SwitchFileError{File: sf.file, Line: line, Object: object, Key: key, Message: msg})
}

// failAt reports a problem of o's parameter key, at that key's line and
// naming the object by its place and its name.
func (sf *switchFile) failAt(o *fileObject, key, msg string) {
	sf.errs = append(sf.errs, SwitchFileError{File: sf.file, Line: o.lineOf(key), Object: o.name, Name: o.vals["name"], Key: key, Message: msg})
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
	if doc.Kind == 0 {
		return &routing.Snapshot{}, nil // empty file: an empty switch
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
		case "customers", "timegroups", "plans", "routes", "peers", "phones", "sip_endpoints", "classes", "recordgroups":
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
			sf.fail(key.Line, key.Value, "", fmt.Sprintf("unknown section %q (settings, customers, timegroups, plans, routes, peers, phones, sip_endpoints, classes, recordgroups)", key.Value))
		}
	}
	snap, err := sf.build(context.Background(), settings, sections)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
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

// input is the object's parameters as the API would receive them, for
// spec: unknown parameters are reported here, lists and mappings
// (transport: [UDP], audio_codecs) become the JSON text the API takes, and
// extra names the file's own keys (id, a time group's periods), which are
// left out.
func (sf *switchFile) input(o *fileObject, spec *Spec, extra ...string) Values {
	input := Values{}
	for k, v := range o.vals {
		if contains(extra, k) {
			continue
		}
		if _, known := spec.Param(k); !known {
			sf.failAt(o, k, fmt.Sprintf("unknown parameter %q", k))
			continue
		}
		input[k] = v
	}
	for k, n := range o.nodes {
		if p, known := spec.Param(k); known && p.Canon != nil {
			var v any
			if err := n.Decode(&v); err != nil {
				sf.failAt(o, k, k+" cannot be read: "+err.Error())
				continue
			}
			b, err := json.Marshal(v)
			if err != nil {
				sf.failAt(o, k, k+" must be a list of values or of mappings with string keys")
				continue
			}
			input[k] = string(b)
			continue
		}
		// Nested lists the caller reads itself (a time group's periods,
		// a class's rules) are named in extra.
		if !contains(extra, k) {
			sf.failAt(o, k, k+" must be a single value")
		}
	}
	return input
}
