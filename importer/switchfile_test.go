package importer_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/importer"
	"github.com/sipswitch/sipswitch/render"
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

func renderSwitchFile(t *testing.T, path string, d render.Driver) render.Files {
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
	files, err := render.Render(snap, render.WithSIPDriver(d))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestImportToSwitchFile(t *testing.T) {
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
	if c := res.Count(); c.Created != 29 || c.Refused != 5 {
		t.Errorf("counts %+v\n%s", c, findings(res))
	}
	wantFinding(t, res, "sip_phones.conf:133:", "line 2104", "NOT IMPORTED", "6 to 128")
	wantFinding(t, res, "sip_phones.conf:137:", "line 2105", "not imported: language must be")
	doc := loadSwitchFile(t, path)
	if len(doc["peers"]) != 3 || len(doc["phones"]) != 24 || len(doc["sip_endpoints"]) != 2 {
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
	if c := again.Count(); c.Created != 0 || c.Unchanged != 29 {
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
