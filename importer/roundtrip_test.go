package importer_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/astconf"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/importer"
	"github.com/sipswitch/sipswitch/render"
)

// notRendered are parameters the importer maps but the renderer does not
// write to sip.conf or pjsip.conf, so a second import cannot see them.
var notRendered = map[string]bool{"description": true}

// TestRoundTrip imports the test inputs into a database, renders that
// database with the renderer (the matching phone driver), imports the
// rendered file into a second database and checks that both hold the same
// objects with the same parameters.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dir    string
		driver render.Driver
		file   string
	}{
		{"testdata/chansip", render.DriverChanSIP, render.FileSIP},
		{"testdata/pjsip", render.DriverPJSIP, render.FilePJSIP},
	} {
		t.Run(string(tc.driver), func(t *testing.T) {
			ctx := context.Background()
			first := newService(t)
			if _, err := importer.Import(ctx, importer.Options{Dir: tc.dir}, importer.ToService(first), false); err != nil {
				t.Fatal(err)
			}
			rendered := renderDB(t, first, tc.driver)
			second := newService(t)
			res, err := importer.Import(ctx, importer.Options{Dir: rendered, Files: []string{tc.file}}, importer.ToService(second), false)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range res.Findings {
				if f.Refused {
					t.Errorf("rendered file: %s", f)
				}
			}
			a, b := objects(t, first), objects(t, second)
			if len(a) < 20 || len(a) != len(b) {
				t.Fatalf("first import %d objects, second %d:\n%v\n%v", len(a), len(b), sortedObjectKeys(a), sortedObjectKeys(b))
			}
			for _, key := range sortedObjectKeys(a) {
				want, got := a[key], b[key]
				if got == nil {
					t.Errorf("%s is missing after the round trip", key)
					continue
				}
				for k, v := range want {
					if !notRendered[k] && got[k] != v {
						t.Errorf("%s %s: first import %q, after render and import %q", key, k, v, got[k])
					}
				}
			}
			checkKnownOptions(t, rendered)
			// And once more: the second database renders to the same
			// file as the first.
			again := renderDB(t, second, tc.driver)
			x, _ := os.ReadFile(filepath.Join(rendered, tc.file))
			y, _ := os.ReadFile(filepath.Join(again, tc.file))
			if string(stripHeader(x)) != string(stripHeader(y)) {
				t.Errorf("%s renders differently after the round trip", tc.file)
			}
		})
	}
}

// renderDB renders the switch in svc with plain passwords: the daemon
// renders the passwords Asterisk only checks as MD5 digests, which cannot
// give back the password a line needs (TestImportOfDigests says what the
// importer makes of those); every other parameter is compared here.
func renderDB(t *testing.T, svc *engine.Service, driver render.Driver, opts ...render.Option) string {
	t.Helper()
	snap, err := svc.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(opts) == 0 {
		opts = []render.Option{render.WithPlainPasswords()}
	}
	files, err := render.Render(snap, append(opts, render.WithSIPDriver(driver))...)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := render.WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	return dir
}

// stripHeader drops the first lines (the header names the revision).
func stripHeader(b []byte) []byte {
	for i := 0; i < 2; i++ {
		if j := indexNL(b); j >= 0 {
			b = b[j+1:]
		}
	}
	return b
}

func indexNL(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

// TestCrossDriver renders each input for the other channel driver and
// imports that file: what differs is exactly what one driver's file cannot
// say (see the package documentation), nothing else.
func TestCrossDriver(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dir    string
		driver render.Driver
		file   string
		want   []string
	}{
		{"testdata/chansip", render.DriverPJSIP, render.FilePJSIP, []string{
			"peers description",            // not rendered at all
			"peers outmaximum",             // pjsip: a dialplan GROUP_COUNT, no endpoint option
			"peers type",                   // sip -> pjsip
			"peers username",               // pjsip: an auth only with a password (res_pjsip refuses one without)
			"phones description",           // not rendered at all
			"sip_endpoints max_forwards",   // pjsip: [global] only
			"sip_endpoints progressinband", // pjsip: inband_progress=no for both no and never
			"sip_endpoints remotesecret",   // insecure=1: pjsip has no inbound auth for the secret
			"sip_endpoints secret",
		}},
		// With chan_sip as the SIP driver, type=pjsip peers stay in
		// pjsip.conf: both files are read.
		{"testdata/pjsip", render.DriverChanSIP, "", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			ctx := context.Background()
			first := newService(t)
			if _, err := importer.Import(ctx, importer.Options{Dir: tc.dir}, importer.ToService(first), false); err != nil {
				t.Fatal(err)
			}
			second := newService(t)
			var files []string
			if tc.file != "" {
				files = []string{tc.file}
			}
			if _, err := importer.Import(ctx, importer.Options{Dir: renderDB(t, first, tc.driver), Files: files}, importer.ToService(second), false); err != nil {
				t.Fatal(err)
			}
			a, b := objects(t, first), objects(t, second)
			seen := map[string]bool{}
			for _, key := range sortedObjectKeys(a) {
				if b[key] == nil {
					t.Errorf("%s is missing", key)
					continue
				}
				module := key[:strings.IndexByte(key, '/')]
				for k, v := range a[key] {
					if b[key][k] != v {
						seen[module+" "+k] = true
					}
				}
			}
			var got []string
			for k := range seen {
				got = append(got, k)
			}
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("differences\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestBothFilesOneNameSpace: a directory holding both drivers' files with
// the same objects (as sipswitch renders them) imports each name once,
// from pjsip.conf, and reports the sip.conf twin.
func TestBothFilesOneNameSpace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	first := newService(t)
	if _, err := importer.Import(ctx, importer.Options{Dir: "testdata/chansip"}, importer.ToService(first), false); err != nil {
		t.Fatal(err)
	}
	// The two drivers' renders side by side: both files hold the same
	// objects.
	dir := renderDB(t, first, render.DriverPJSIP)
	twin, err := os.ReadFile(filepath.Join(renderDB(t, first, render.DriverChanSIP), render.FileSIP))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, render.FileSIP), twin, 0o644); err != nil {
		t.Fatal(err)
	}
	second := newService(t)
	res, err := importer.Import(ctx, importer.Options{Dir: dir}, importer.ToService(second), false)
	if err != nil {
		t.Fatal(err)
	}
	a, b := objects(t, first), objects(t, second)
	if len(a) != len(b) {
		t.Errorf("first %d objects, second %d", len(a), len(b))
	}
	if got := b["peers/carrier-a"]["type"]; got != "pjsip" {
		t.Errorf("carrier-a type %q: pjsip.conf is read first", got)
	}
	wantFinding(t, res, "sip.conf:", "peer carrier-a", "NOT IMPORTED", "already imported from pjsip.conf:")
}

// checkKnownOptions reads the rendered sip.conf and pjsip.conf back with
// astconf (no error, no warning) and checks every option against the
// renderer's table of options Asterisk 20 documents (render.KnownOptions:
// the project's stand-in for loading the files into Asterisk, which this
// machine does not have).
func checkKnownOptions(t *testing.T, dir string) {
	t.Helper()
	known := map[string]bool{}
	for _, o := range render.KnownOptions {
		known[o.File+"/"+o.Section+"/"+o.Name] = true
	}
	checked := 0
	for _, file := range []string{render.FileSIP, render.FilePJSIP} {
		cfg, err := astconf.Load(context.Background(), dir, file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(cfg.Warnings) > 0 {
			t.Errorf("%s: %v", file, cfg.Warnings)
		}
		for _, s := range cfg.Sections {
			kind := "peer"
			if file == render.FilePJSIP {
				o, _ := s.Last("type")
				kind = o.Value
			} else if s.Name == "general" {
				kind = "general"
			}
			for _, o := range s.Options {
				checked++
				if !known[file+"/"+kind+"/"+o.Name] {
					t.Errorf("%s: %s in a %s section is not an option the renderer knows Asterisk takes", o.Pos, o.Name, kind)
				}
			}
		}
	}
	if checked < 300 {
		t.Errorf("only %d rendered options checked", checked)
	}
}
