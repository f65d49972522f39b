package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/internal/atomicfile"
)

// ErrSwitchFile marks an existing switch file the import cannot extend.
var ErrSwitchFile = errors.New("switch file")

// fileDest imports into a switch file (the YAML engine.LoadSwitchFile
// reads).
type fileDest struct{ path string }

// ToSwitchFile imports into the switch file at path: a new file when there
// is none, else its peers, phones and sip_endpoints lists are extended
// (everything else, comments included, is kept). Objects whose name the
// file has already are left as they are. The result must load through
// engine.LoadSwitchFile, which is also what validates the objects; the
// file is replaced in one rename. It holds the lines' passwords, so it is
// written for its owner alone: a new file 0600, an existing one keeping
// its owner's bits only.
func ToSwitchFile(path string) Destination { return fileDest{path: path} }

// specOf returns the parameter spec of an API module.
func specOf(module string) *engine.Spec {
	switch module {
	case ModulePeers:
		return engine.PeerSpec
	case ModulePhones:
		return engine.PhoneSpec
	case ModulePlans:
		return engine.PlanSpec
	case ModuleRoutes:
		return engine.RouteSpec
	default:
		return engine.SIPEndpointSpec
	}
}

// fileObject is an object the switch file has.
type fileObject struct {
	module string
	vals   engine.Values
	id     int64
}

// fileIndex is what a switch file has: peers, lines and SIP endpoints by
// lower-case name (one name space), plans by lower-case name, routes, and
// the highest ids of peers and plans.
type fileIndex struct {
	names  map[string]fileObject
	plans  map[string]fileObject
	routes []fileObject
	maxID  map[string]int64
}

// fileSection is the switch-file section of an API module.
func fileSection(module string) string {
	if module == ModuleRoutes {
		return "routes"
	}
	return module
}

func (d fileDest) apply(ctx context.Context, objs []*Object, dryRun bool) ([]applied, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	doc, mode, err := d.read()
	if err != nil {
		return nil, err
	}
	root := doc.Content[0]
	idx, err := fileObjects(root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", d.path, ErrSwitchFile, err)
	}
	index := make(map[*Object]int, len(objs))
	for i, o := range objs {
		index[o] = i
	}
	out := make([]applied, len(objs))
	// where[section][index in its list] = object index, for errors.
	where := map[string]map[int]int{}
	created := 0
	for i, o := range objs {
		vals, errs := fileValues(o, out, index)
		if len(errs) > 0 {
			out[i] = applied{errs: errs}
			continue
		}
		var ex fileObject
		found := false
		switch o.Module {
		case ModulePlans:
			ex, found = idx.plans[strings.ToLower(o.Name)]
		case ModuleRoutes:
			ex, found = idx.route(vals)
		default:
			ex, found = idx.names[strings.ToLower(o.Name)]
			if found && ex.module != o.Module {
				out[i] = applied{outcome: OutcomeNameTaken, holder: what(ex.module, "")}
				continue
			}
		}
		if found {
			out[i] = compare(o, vals, ex)
			continue
		}
		section := fileSection(o.Module)
		seq := sequence(root, section)
		if where[section] == nil {
			where[section] = map[int]int{}
		}
		where[section][len(seq.Content)] = i
		var id int64
		if o.Module == ModulePeers || o.Module == ModulePlans {
			idx.maxID[o.Module]++
			id = idx.maxID[o.Module]
		}
		seq.Content = append(seq.Content, objectNode(o, vals, id))
		out[i] = applied{outcome: OutcomeCreated, id: id}
		created++
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode %s: %w", d.path, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode %s: %w", d.path, err)
	}
	_, lerr := engine.LoadSwitchFile(bytes.NewReader(buf.Bytes()), d.path)
	var sfe engine.SwitchFileErrors
	if errors.As(lerr, &sfe) {
		bad := false
		for _, e := range sfe {
			section, index, ok := objectIndex(e.Object)
			i, mine := where[section][index]
			if !ok || !mine {
				return nil, fmt.Errorf("%s: %w: the file has problems of its own; nothing imported:\n%v", d.path, ErrSwitchFile, sfe)
			}
			out[i].errs = append(out[i].errs, engine.FieldError{Key: e.Key, Message: e.Message})
			bad = true
		}
		if bad {
			return out, nil
		}
	} else if lerr != nil {
		return nil, fmt.Errorf("%s: %w", d.path, lerr)
	}
	if dryRun || created == 0 {
		return out, nil
	}
	if err := atomicfile.Write(d.path, buf.Bytes(), atomicfile.Perm{Mode: mode, GID: -1}); err != nil {
		return nil, err
	}
	if err := atomicfile.SyncDir(filepath.Dir(d.path)); err != nil {
		return nil, err
	}
	return out, nil
}

// read returns the switch file's document (a new one when the file does
// not exist) and the permissions to write it with: its owner's, group
// and others' taken away.
func (d fileDest) read() (*yaml.Node, fs.FileMode, error) {
	data, err := os.ReadFile(d.path)
	mode := fs.FileMode(0o600)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data = nil
	case err != nil:
		return nil, 0, fmt.Errorf("read %s: %w", d.path, err)
	default:
		if st, err := os.Stat(d.path); err == nil {
			mode = st.Mode().Perm() &^ 0o077
		}
	}
	var doc yaml.Node
	if len(bytes.TrimSpace(data)) > 0 {
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, 0, fmt.Errorf("%s: %w: %v", d.path, ErrSwitchFile, err)
		}
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode,
			HeadComment: "sipswitch switch file, imported from Asterisk configuration by sipswitch import asterisk"}}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, 0, fmt.Errorf("%s: %w: not a mapping of sections", d.path, ErrSwitchFile)
	}
	return &doc, mode, nil
}

// fileValues are o's parameters with its references as the ids the
// objects named have (in the file, or given in this run).
func fileValues(o *Object, out []applied, index map[*Object]int) (engine.Values, engine.FieldErrors) {
	vals := make(engine.Values, len(o.Params)+len(o.Refs))
	for k, v := range o.Params {
		vals[k] = v
	}
	var errs engine.FieldErrors
	for _, param := range slices.Sorted(maps.Keys(o.Refs)) {
		t := o.Refs[param]
		j, ok := index[t]
		if !ok || out[j].id <= 0 || len(out[j].errs) > 0 {
			errs = append(errs, engine.FieldError{Key: param, Message: fmt.Sprintf("%s refers to %s, which is not created", param, t.What())})
			continue
		}
		vals[param] = strconv.FormatInt(out[j].id, 10)
	}
	return vals, errs
}

// fileObjects indexes what a switch file has.
func fileObjects(root *yaml.Node) (*fileIndex, error) {
	idx := &fileIndex{names: map[string]fileObject{}, plans: map[string]fileObject{}, maxID: map[string]int64{}}
	for i := 0; i+1 < len(root.Content); i += 2 {
		section, list := root.Content[i].Value, root.Content[i+1]
		module := section
		switch section {
		case ModulePeers, ModulePhones, ModuleSIPEndpoints, ModulePlans:
		case "routes":
			module = ModuleRoutes
		default:
			continue
		}
		if list.Kind != yaml.SequenceNode {
			return nil, fmt.Errorf("line %d: %s must be a list", list.Line, section)
		}
		for _, item := range list.Content {
			if item.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("line %d: %s items must be mappings", item.Line, section)
			}
			fo := fileObject{module: module, vals: engine.Values{}}
			for j := 0; j+1 < len(item.Content); j += 2 {
				k, v := item.Content[j].Value, item.Content[j+1]
				if v.Kind == yaml.ScalarNode {
					fo.vals[k] = v.Value
					continue
				}
				var x any
				if err := v.Decode(&x); err == nil {
					if b, err := json.Marshal(x); err == nil {
						fo.vals[k] = string(b)
					}
				}
			}
			if module == ModulePeers || module == ModulePlans || module == ModuleRoutes {
				fo.id, _ = strconv.ParseInt(fo.vals["id"], 10, 64)
				idx.maxID[module] = max(idx.maxID[module], fo.id)
				delete(fo.vals, "id")
			}
			delete(fo.vals, "object_id")
			name := strings.ToLower(fo.vals["name"])
			switch {
			case module == ModuleRoutes:
				idx.routes = append(idx.routes, fo)
			case name == "":
			case module == ModulePlans:
				if _, dup := idx.plans[name]; !dup {
					idx.plans[name] = fo
				}
			default:
				idx.names[name] = fo
			}
		}
	}
	return idx, nil
}

// route finds the file's route with the same plan, prefixes and media.
func (idx *fileIndex) route(vals engine.Values) (fileObject, bool) {
	want, _ := engine.RouteSpec.Validate(vals, nil)
	for _, r := range idx.routes {
		have, _ := engine.RouteSpec.Validate(r.vals, nil)
		same := true
		for _, k := range []string{"plan", "called_prefix", "caller_prefix", "media"} {
			if want[k] != have[k] {
				same = false
			}
		}
		if same {
			return r, true
		}
	}
	return fileObject{}, false
}

// compare reports whether the file's object has the imported values, both
// read through the kind's spec.
func compare(o *Object, vals engine.Values, ex fileObject) applied {
	spec := specOf(o.Module)
	want, _ := spec.Validate(vals, nil)
	have, _ := spec.Validate(ex.vals, nil)
	var differs []string
	for _, k := range sortedKeys(vals) {
		if k == "name" {
			if !strings.EqualFold(want[k], have[k]) {
				differs = append(differs, k)
			}
			continue
		}
		if want[k] != have[k] {
			differs = append(differs, k)
		}
	}
	if len(differs) > 0 {
		return applied{outcome: OutcomeDiffers, id: ex.id, differs: differs}
	}
	return applied{outcome: OutcomeUnchanged, id: ex.id}
}

// sequence returns the root's list for a section, adding it when missing.
func sequence(root *yaml.Node, section string) *yaml.Node {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == section {
			return root.Content[i+1]
		}
	}
	key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: section}
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	root.Content = append(root.Content, key, seq)
	return seq
}

// objectNode is an object as a switch-file mapping: id (peers, plans) and
// name first, then the parameters in order, with where they came from as
// a comment.
func objectNode(o *Object, vals engine.Values, id int64) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: "from " + o.Pos.String()}
	add := func(k, v string, integer bool) {
		val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
		if integer {
			val.Tag = "!!int"
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, val)
	}
	if id > 0 {
		add("id", strconv.FormatInt(id, 10), true)
	}
	if name, ok := vals["name"]; ok {
		add("name", name, false)
	}
	spec := specOf(o.Module)
	for _, k := range sortedKeys(vals) {
		if k == "name" {
			continue
		}
		p, _ := spec.Param(k)
		_, err := strconv.ParseInt(vals[k], 10, 64)
		add(k, vals[k], p != nil && p.Type == engine.Integer && err == nil)
	}
	return n
}

// objectIndex reads "peers[3]" (or "phones[0].periods[1]").
func objectIndex(s string) (module string, index int, ok bool) {
	open := strings.IndexByte(s, '[')
	end := strings.IndexByte(s, ']')
	if open < 0 || end < open {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[open+1 : end])
	return s[:open], n, err == nil
}
