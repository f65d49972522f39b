package engine

import (
	"bufio"
	"bytes"
	flagpkg "flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/routing"
)

var updateTable = flagpkg.Bool("update", false, "rewrite docs/parameters.md")

const tablePath = "../docs/parameters.md"

var pathNames = map[callPath]string{pathRender: "rendered files", pathSIP: "SIP core", pathSimulate: "simulation"}

// structFields maps each routing type of the table to its fields by json
// tag (the parameter name).
func structFields(name string) map[string]string {
	var v any
	switch name {
	case "Phone":
		v = routing.Phone{}
	case "Peer":
		v = routing.Peer{}
	case "Route":
		v = routing.Route{}
	case "SIPEndpoint":
		v = routing.SIPEndpoint{}
	default:
		panic(name)
	}
	t := reflect.TypeOf(v)
	out := map[string]string{}
	for i := 0; i < t.NumField(); i++ {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[tag] = modulePath + "/routing." + name + "." + t.Field(i).Name
	}
	return out
}

// TestParameterTable: every parameter of every seed page has a row, every
// path a row claims reads the parameter's field, every refused parameter
// is read by no path, and docs/parameters.md is what the table generates.
func TestParameterTable(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the module")
	}
	// Every seed parameter is in its spec (and so has a row below).
	f, err := os.Open("testdata/seed_params.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tables := map[string]*paramTable{}
	for _, pt := range paramTables {
		tables[pt.Title] = pt
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fn, name, _ := strings.Cut(sc.Text(), " ")
		pt := tables[fn]
		if pt == nil {
			t.Fatalf("seed_params.txt: unknown page %s", fn)
		}
		if _, ok := pt.Spec.Param(name); !ok {
			t.Errorf("%s: seed parameter %s is not in the spec", fn, name)
		}
	}

	reach := analysePaths(t)
	for _, problem := range tableProblems(reach, paramTables) {
		t.Error(problem)
	}

	// The check catches a false claim: a row saying the SIP core acts on
	// language, which nothing under sip/ reads, or refusing ping, which
	// it reads.
	lying := *paramTables[0]
	lying.Effects = maps.Clone(lying.Effects)
	lang := lying.Effects["language"]
	lang.SIP = on("prompts in the language")
	lying.Effects["language"] = lang
	lying.Effects["ping"] = effect{Refused: "nothing"}
	delete(lying.Effects, "dnd")
	got := strings.Join(tableProblems(reach, []*paramTable{&lying}), "\n")
	for _, want := range []string{"language: the row claims the SIP core", "ping: refused as doing nothing, but the SIP core reads", "dnd: no row"} {
		if !strings.Contains(got, want) {
			t.Errorf("a false row is not caught: want %q in:\n%s", want, got)
		}
	}

	var buf bytes.Buffer
	if err := writeParameterTable(&buf); err != nil {
		t.Fatal(err)
	}
	if *updateTable {
		if err := os.MkdirAll(filepath.Dir(tablePath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(tablePath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := os.ReadFile(tablePath)
	if err != nil {
		t.Fatalf("%v (go test ./engine -run TestParameterTable -update writes it)", err)
	}
	if !bytes.Equal(doc, buf.Bytes()) {
		t.Errorf("%s is not what the table generates: go test ./engine -run TestParameterTable -update", tablePath)
	}
}

// tableProblems checks the rows of pts against what each path reads.
func tableProblems(reach *pathReach, pts []*paramTable) []string {
	var out []string
	errorf := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, pt := range pts {
		fields := structFields(pt.Struct)
		for name := range pt.Effects {
			if _, ok := pt.Spec.Param(name); !ok {
				errorf("%s: row for %s, which the spec does not have", pt.Title, name)
			}
		}
		for _, p := range pt.Spec.Params {
			e, ok := pt.Effects[p.Name]
			if !ok {
				errorf("%s %s: no row in the parameter table", pt.Title, p.Name)
				continue
			}
			field := fields[p.Name]
			for _, path := range []callPath{pathRender, pathSIP, pathSimulate} {
				c := e.claim(path)
				read := field != "" && reach.fields[path][field]
				if e.Via != "" && reach.reached[path][modulePath+"/"+e.Via] && reach.g.literals[modulePath+"/"+e.Via][p.Name] {
					read = true
				}
				switch {
				case e.Refused != "":
					if read {
						errorf("%s %s: refused as doing nothing, but the %s reads %s", pt.Title, p.Name, pathNames[path], field)
					}
					if c != (pathClaim{}) {
						errorf("%s %s: a refused parameter claims nothing on the %s", pt.Title, p.Name, pathNames[path])
					}
				case c.Does == "" && c.Not == "":
					errorf("%s %s: the row says nothing about the %s", pt.Title, p.Name, pathNames[path])
				case c.Does != "" && c.Not != "":
					errorf("%s %s: the row both claims and denies the %s", pt.Title, p.Name, pathNames[path])
				case c.Does != "" && !read:
					errorf("%s %s: the row claims the %s (%q), but nothing there reads %s", pt.Title, p.Name, pathNames[path], c.Does, orNone(field))
				case c.Not != "" && read && !c.Kept:
					// The code reads it, the row says it does nothing:
					// one of them is wrong.
					errorf("%s %s: the row says the %s does nothing (%q), but it reads %s", pt.Title, p.Name, pathNames[path], c.Not, field)
				}
			}
		}
	}

	return out
}

func orNone(field string) string {
	if field == "" {
		return "(no field carries it)"
	}
	return field
}

// A refused parameter: any value but the default is refused naming it and
// why, on create and on update; a value stored before the refusal may be
// sent back unchanged, and cleared.
func TestRefusedParameters(t *testing.T) {
	base := Values{"name": "2001", "password": "line-secret"}
	in := maps.Clone(base)
	in["hardware_address"] = "00:11:22:33:44:55"
	_, errs := PhoneSpec.Validate(in, nil)
	if len(errs) != 1 || errs[0].Key != "hardware_address" || !strings.Contains(errs[0].Message, "provisions no handsets") {
		t.Fatalf("hardware_address on create: %v", errs)
	}
	in = maps.Clone(base)
	in["pin"], in["provisioning"], in["direct"] = "", "0", "1"
	if _, errs := PhoneSpec.Validate(in, nil); len(errs) > 0 {
		t.Errorf("defaults refused: %v", errs)
	}
	stored, _ := PhoneSpec.Validate(base, nil)
	stored["hardware_address"] = "00:11:22:33:44:55" // written before it was refused
	if _, errs := PhoneSpec.Validate(Values{"hardware_address": "00:11:22:33:44:55", "dnd": "1"}, stored); len(errs) > 0 {
		t.Errorf("unchanged legacy hardware_address refused: %v", errs)
	}
	if _, errs := PhoneSpec.Validate(Values{"hardware_address": "66:77:88:99:aa:bb"}, stored); len(errs) != 1 || errs[0].Key != "hardware_address" {
		t.Errorf("changed legacy hardware_address: %v", errs)
	}
	if out, errs := PhoneSpec.Validate(Values{"hardware_address": ""}, stored); len(errs) > 0 || out["hardware_address"] != "" {
		t.Errorf("clearing a legacy hardware_address: %v %v", out["hardware_address"], errs)
	}
	peer := Values{"name": "c", "type": "sip", "destination": "192.0.2.1", "currency": "GBP"}
	if _, errs := PeerSpec.Validate(peer, nil); len(errs) != 1 || errs[0].Key != "currency" {
		t.Errorf("peer currency GBP: %v", errs)
	}
}
