package importer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/importer"
	"github.com/sipswitch/sipswitch/render"
	"github.com/sipswitch/sipswitch/routing"
)

// loadSwitchFile checks that the file loads as the switch-file loader
// reads it, and returns its sections as plain YAML for inspection.
func loadSwitchFile(t *testing.T, path string) map[string][]map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.LoadSwitchFile(bytes.NewReader(data), path); err != nil {
		t.Fatalf("the switch file does not load: %v", err)
	}
	var doc map[string][]map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func loadSwitchFileSnapshot(t *testing.T, path string) *routing.Snapshot {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	snap, err := engine.LoadSwitchFile(f, path)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func renderSwitchFile(t *testing.T, path string, d render.Driver) render.Files {
	t.Helper()
	files, err := render.Render(loadSwitchFileSnapshot(t, path), render.WithSIPDriver(d))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestImportToSwitchFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "switch.yaml")
	opts := importer.Options{Dir: "testdata/chansip"}

	if _, err := importer.Import(ctx, opts, importer.ToSwitchFile(path), true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a dry run wrote the file: %v", err)
	}
	res, err := importer.Import(ctx, opts, importer.ToSwitchFile(path), false)
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Count(); c.Created != 32 || c.Refused != 3 {
		t.Errorf("counts %+v\n%s", c, findings(res))
	}
	wantFinding(t, res, "sip_phones.conf:133:", "line 2104", "6 to 128", "new random password")
	wantFinding(t, res, "sip_phones.conf:137:", "line 2105", "not imported: language must be")
	doc := loadSwitchFile(t, path)
	if len(doc["peers"]) != 3 || len(doc["phones"]) != 26 || len(doc["sip_endpoints"]) != 3 {
		t.Errorf("file holds %d peers, %d lines, %d SIP endpoints", len(doc["peers"]), len(doc["phones"]), len(doc["sip_endpoints"]))
	}
	text, _ := os.ReadFile(path)
	if !strings.Contains(string(text), "# from sip_peers.conf:3") || !strings.Contains(string(text), "name: \"2001\"") {
		t.Errorf("switch file:\n%s", text)
	}

	// The file renders exactly as a database with the same import does.
	svc := newService(t)
	if _, err := importer.Import(ctx, opts, importer.ToService(svc), false); err != nil {
		t.Fatal(err)
	}
	dbSnap, err := svc.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Lines whose Asterisk password was refused got a random one in
	// each import: the database takes the file's to compare the rest.
	fileSnap := loadSwitchFileSnapshot(t, path)
	replaced := 0
	for _, o := range res.Objects {
		if !o.NewPassword {
			continue
		}
		replaced++
		for i := range dbSnap.Phones {
			for _, fp := range fileSnap.Phones {
				if dbSnap.Phones[i].Name == o.Name && fp.Name == o.Name {
					dbSnap.Phones[i].Password = fp.Password
				}
			}
		}
	}
	if replaced != 1 {
		t.Errorf("%d lines got a new password, want 1 (2104)", replaced)
	}
	for _, d := range []render.Driver{render.DriverChanSIP, render.DriverPJSIP} {
		fromFile := renderSwitchFile(t, path, d)
		fromDB, err := render.Render(dbSnap, render.WithSIPDriver(d))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range render.FileNames {
			if !bytes.Equal(stripHeader(fromFile[name]), stripHeader(fromDB[name])) {
				t.Errorf("%s (%s) differs between the switch file and the database", name, d)
			}
		}
	}

	// Again: nothing new, the file is not rewritten.
	before, _ := os.Stat(path)
	again, err := importer.Import(ctx, opts, importer.ToSwitchFile(path), false)
	if err != nil {
		t.Fatal(err)
	}
	if c := again.Count(); c.Created != 0 || c.Unchanged != 32 {
		t.Errorf("second run %+v", c)
	}
	after, _ := os.Stat(path)
	if text2, _ := os.ReadFile(path); !bytes.Equal(text, text2) || !before.ModTime().Equal(after.ModTime()) {
		t.Error("the second run rewrote the file")
	}
}

const existingSwitchFile = `# Our switch, kept in git.
plans:
  - id: 1
    name: Retail
routes:
  - plan: 1
    called_prefix: "44"
    peer1: 7
peers:
  - id: 7   # the primary carrier, made by hand
    name: carrier-b
    type: sip
    destination: 192.0.2.77
`

func TestImportExtendsSwitchFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "switch.yaml")
	if err := os.WriteFile(path, []byte(existingSwitchFile), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := importer.Import(ctx, importer.Options{Dir: "testdata/chansip"}, importer.ToSwitchFile(path), false)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*importer.Object{}
	for _, o := range res.Objects {
		byName[o.Name] = o
	}
	if o := byName["carrier-b"]; o.Outcome != importer.OutcomeDiffers || o.ID != 7 {
		t.Errorf("carrier-b %v id %d %v", o.Outcome, o.ID, o.Differs)
	}
	if o := byName["carrier-a"]; o.Outcome != importer.OutcomeCreated || o.ID != 8 {
		t.Errorf("carrier-a %v id %d", o.Outcome, o.ID)
	}
	doc := loadSwitchFile(t, path)
	if len(doc["plans"]) != 1 || len(doc["routes"]) != 1 || len(doc["peers"]) != 3 {
		t.Errorf("plans %d routes %d peers %d", len(doc["plans"]), len(doc["routes"]), len(doc["peers"]))
	}
	for _, p := range doc["peers"] {
		if p["name"] == "carrier-b" && p["destination"] != "192.0.2.77" {
			t.Errorf("carrier-b was changed: %v", p)
		}
	}
	text, _ := os.ReadFile(path)
	if !strings.Contains(string(text), "# Our switch, kept in git.") || !strings.Contains(string(text), "# the primary carrier, made by hand") {
		t.Errorf("comments lost:\n%s", text)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
}

func TestImportRefusesBrokenSwitchFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "switch.yaml")
	broken := existingSwitchFile + "  - id: 7\n    name: twin\n    type: sip\n    destination: 192.0.2.78\n"
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := importer.Import(ctx, importer.Options{Dir: "testdata/chansip"}, importer.ToSwitchFile(path), false)
	if !errors.Is(err, importer.ErrSwitchFile) || !strings.Contains(err.Error(), "id 7 is used twice") {
		t.Errorf("got %v", err)
	}
	if text, _ := os.ReadFile(path); string(text) != broken {
		t.Error("a failed import changed the file")
	}
}

// TestImportOfficeToSwitchFile: rate plans and routes go into a switch
// file with the ids the file's own plans and peers leave free, routes and
// lines naming them; the file loads, routes as the database would, and a
// second run changes nothing. A plan of the same name the file has
// already takes the routes.
func TestImportOfficeToSwitchFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "switch.yaml")
	existing := "plans:\n  - id: 4\n    name: office\n  - id: 5\n    name: Retail\npeers:\n  - id: 9\n    name: old-carrier\n    type: sip\n    destination: 192.0.2.99\n"
	if err := os.WriteFile(path, []byte(existing), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := importer.Import(ctx, importer.Options{Dir: "testdata/office"}, importer.ToSwitchFile(path), false)
	if err != nil {
		t.Fatal(err)
	}
	snap := loadSwitchFileSnapshot(t, path)
	if len(snap.Plans) != 2 {
		t.Fatalf("plans %+v", snap.Plans)
	}
	peers := map[string]int{}
	for _, p := range snap.Peers {
		peers[p.Name] = p.ID
	}
	if peers["backup"] != 10 || peers["carrier-calls"] != 11 {
		t.Errorf("peer ids %v: new peers take ids after 9", peers)
	}
	got := map[string]string{}
	for _, r := range snap.Routes {
		if r.Plan != 4 {
			t.Errorf("route %+v not in the file's plan office (4)", r)
		}
		got[r.CalledPrefix] = fmt.Sprintf("%d:%d,%d", r.Allow, r.Peer1, r.Peer2)
	}
	out, backup := peers["carrier-calls"], peers["backup"]
	want := map[string]string{"00": fmt.Sprintf("1:%d,%d", out, backup), "01": fmt.Sprintf("1:%d,0", out), "02": fmt.Sprintf("1:%d,0", out), "07": fmt.Sprintf("1:%d,0", out)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("routes %v, want %v", got, want)
	}
	for _, p := range snap.Phones {
		if p.Plan != 4 {
			t.Errorf("line %s plan %d, want 4", p.Name, p.Plan)
		}
	}
	// The file routes as Asterisk did: 00 to the carrier, else the
	// backup; 09 nowhere.
	state, err := routing.NewRoutingState(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim := routing.Simulate(state, routing.CallRequest{Plan: 4, Called: "0033123456789"}, nil)
	if len(sim.Attempts) != 2 || sim.Attempts[0].Name != "carrier-calls" || sim.Attempts[1].Name != "backup" {
		t.Errorf("00 routed %+v", sim.Attempts)
	}
	if sim := routing.Simulate(state, routing.CallRequest{Plan: 4, Called: "09001234567"}, nil); len(sim.Attempts) != 0 {
		t.Errorf("09 routed %+v", sim.Attempts)
	}
	if c := res.Count(); c.Unchanged != 1 || c.Created != len(res.Objects)-1 {
		t.Errorf("counts %+v: the plan office exists", c)
	}

	before, _ := os.ReadFile(path)
	again, err := importer.Import(ctx, importer.Options{Dir: "testdata/office"}, importer.ToSwitchFile(path), false)
	if err != nil {
		t.Fatal(err)
	}
	if c := again.Count(); c.Created != 0 || c.Differs != 0 {
		t.Errorf("second run %+v", c)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the second run rewrote the file")
	}
}
