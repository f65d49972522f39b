package importer_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sipswitch/sipswitch/importer"
)

// FuzzMap feeds arbitrary text as sip.conf and as pjsip.conf: mapping must
// never panic, and every object it returns must have a name and a module.
func FuzzMap(f *testing.F) {
	for _, file := range []string{"testdata/chansip/sip_peers.conf", "testdata/pjsip/pjsip.conf", "testdata/pjsip/pjsip_wizard.conf"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("[general]\nregister => a?tcp://u@d:s:au@h:1/2~3\n[a]\ntype=peer\nhost=h\n[b]\ntype=friend\nhost=dynamic\nsecret=x\ndeny=0.0.0.0/0\npermit=1.2.3.4\n"))
	f.Add([]byte("[e]\ntype=endpoint\naors=e\nauth=e\noutbound_auth=e\n[e]\ntype=aor\nmax_contacts=2\ncontact=sips:x\n[e]\ntype=auth\n[r]\ntype=registration\nendpoint=e\nserver_uri=sip:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"sip.conf", "pjsip.conf", "pjsip_wizard.conf"} {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := importer.Map(context.Background(), importer.Options{Dir: dir})
			if err != nil {
				continue // a file Asterisk would refuse: reported as an error
			}
			for _, o := range res.Objects {
				if o.Name == "" || o.Params["name"] != o.Name {
					t.Fatalf("object without its name: %+v", o)
				}
				switch o.Module {
				case importer.ModulePeers, importer.ModulePhones, importer.ModuleSIPEndpoints:
				default:
					t.Fatalf("object of module %q", o.Module)
				}
			}
		}
	})
}
