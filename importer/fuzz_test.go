package importer_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sipswitch/sipswitch/importer"
	"github.com/sipswitch/sipswitch/routing"
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

// fuzzLines is a sip.conf for FuzzDialplan: lines entering contexts the
// seeds use, a peer and a registering trunk to dial.
const fuzzLines = `[general]
register => acct:trunk-pass-1@sip.trunk.example/100
[trunk]
type=peer
host=sip.trunk.example
insecure=port,invite
[carrier]
type=peer
host=192.0.2.10
[2001]
type=friend
host=dynamic
secret=line-2001-pw
context=office
[2002]
type=friend
host=dynamic
secret=line-2002-pw
context=default
`

// FuzzDialplan feeds arbitrary text as extensions.conf beside lines and
// trunks: mapping must never panic, and every route it makes must have a
// prefix the store takes, a plan and peers of the import.
func FuzzDialplan(f *testing.F) {
	for _, file := range []string{"testdata/office/extensions.conf"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("[office]\ninclude => a\ninclude => b,9:00-17:00,mon-fri,*,*\nswitch => DUNDi/e164\n[a]\nexten => _0[1-3]X.,1,Dial(PJSIP/${EXTEN}@carrier)\n same => n,Dial(SIP/trunk/44${EXTEN})\nexten => 999,1,Dial(SIP/carrier/999)\n[b]\nexten => _X!,1,Hangup()\nexten => _44.,n(x),Goto(a,1)\n"))
	f.Add([]byte("[default]\nexten => _[,1,Dial(SIP/carrier/${EXTEN})\nexten => _.,1,Dial(${TRUNK}/${EXTEN})\nsame => 1,Dial(SIP/${EXTEN}@carrier,,tT)\nexten => 44/+44,1,Dial(SIP/carrier/${EXTEN:2})\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "sip.conf"), []byte(fuzzLines), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "extensions.conf"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := importer.Map(context.Background(), importer.Options{Dir: dir})
		if err != nil {
			return // a file Asterisk would refuse: reported as an error
		}
		in := map[*importer.Object]bool{}
		for _, o := range res.Objects {
			in[o] = true
		}
		for _, o := range res.Objects {
			if o.Module != importer.ModuleRoutes {
				continue
			}
			if p := o.Params["called_prefix"]; !routing.ValidPrefix(p) {
				t.Fatalf("route with prefix %q", p)
			}
			if a := o.Params["allow"]; a != "0" && a != "1" {
				t.Fatalf("route allow %q", a)
			}
			for param, ref := range o.Refs {
				want := importer.ModulePeers
				if param == "plan" {
					want = importer.ModulePlans
				}
				if !in[ref] || ref.Module != want {
					t.Fatalf("route %s %s refers to %s, not in the import", o.Name, param, ref.What())
				}
			}
			if o.Refs["plan"] == nil || o.Params["allow"] == "1" && o.Refs["peer1"] == nil {
				t.Fatalf("route %s without plan or peer: %v", o.Name, o.Refs)
			}
		}
	})
}
