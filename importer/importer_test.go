package importer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/astconf"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/importer"
	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

func newService(t *testing.T) *engine.Service {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, storagetest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := engine.NewService(db, engine.WithPasswordCost(4))
	if _, _, err := svc.Bootstrap(ctx, "import-admin-pw"); err != nil {
		t.Fatal(err)
	}
	return svc
}

// objects reads every peer, line and SIP endpoint back through the API's
// own list functions, keyed "module/name", without ids.
func objects(t *testing.T, svc *engine.Service) map[string]map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]map[string]string{}
	add := func(module string, obj map[string]any) {
		m := map[string]string{}
		for k, v := range obj {
			if k == "id" || k == "object_id" {
				continue
			}
			m[k] = fmt.Sprint(v)
		}
		out[module+"/"+m["name"]] = m
	}
	for _, module := range []string{"peers", "phones"} {
		list, _, err := svc.List(ctx, engine.SystemActor(), svc.Kinds()[module], engine.ListOptions{Password: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range list {
			add(module, obj)
		}
	}
	eps, err := svc.SIPEndpoints(ctx, engine.SystemActor())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range eps {
		obj := map[string]any{}
		for k, v := range e {
			obj[k] = v
		}
		add("sip_endpoints", obj)
	}
	return out
}

func object(t *testing.T, objs map[string]map[string]string, key string) map[string]string {
	t.Helper()
	o, ok := objs[key]
	if !ok {
		t.Fatalf("%s was not imported", key)
	}
	return o
}

// findings renders findings one a line for matching.
func findings(r *importer.Result) string {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func wantFinding(t *testing.T, r *importer.Result, parts ...string) {
	t.Helper()
	for _, f := range r.Findings {
		s := f.String()
		all := true
		for _, p := range parts {
			if !strings.Contains(s, p) {
				all = false
				break
			}
		}
		if all {
			return
		}
	}
	t.Errorf("no finding with %q in\n%s", parts, findings(r))
}

func TestImportChanSIPIntoDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := newService(t)
	opts := importer.Options{Dir: "testdata/chansip"}

	// A dry run reports and writes nothing.
	dry, err := importer.Import(ctx, opts, importer.ToService(svc), true)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(objects(t, svc)); n != 0 {
		t.Fatalf("dry run wrote %d objects", n)
	}
	c := dry.Count()
	if c.Created != 32 || c.Refused != 3 {
		t.Errorf("dry run counts %+v\n%s", c, findings(dry))
	}

	res, err := importer.Import(ctx, opts, importer.ToService(svc), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Count(); got != c {
		t.Errorf("real run %+v, dry run %+v", got, c)
	}
	objs := objects(t, svc)
	if len(objs) != 32 {
		t.Fatalf("%d objects imported", len(objs))
	}

	a := object(t, objs, "peers/carrier-a")
	for k, want := range map[string]string{
		"type": "sip", "destination": "sip1.carrier-a.example:5060", "username": "acct-a", "password": "",
		"codecs": "alaw,ulaw,g729", "dtmfmode": "rfc2833", "send_asserted_identity": "1", "send_rpid": "0", "send_privacy": "1",
		"outmaximum": "30", "proxy": "proxy.carrier-a.example:5060", "description": "Carrier A (wholesale, primary)", "callerid": "",
	} {
		if a[k] != want {
			t.Errorf("carrier-a %s = %q, want %q", k, a[k], want)
		}
	}
	b := object(t, objs, "peers/carrier-b")
	if b["dtmfmode"] != "info" || b["codecs"] != "ulaw" || b["outmaximum"] != "10" {
		t.Errorf("carrier-b %v", b)
	}
	cc := object(t, objs, "peers/carrier-c")
	// [general] allow=ulaw,alaw are the base carrier-c adds g729 to;
	// call-limit=0 is chan_sip's "no limit".
	if cc["destination"] != "203.0.113.20:5080" || cc["codecs"] != "ulaw,alaw,g729" || cc["outmaximum"] != "-1" || cc["send_rpid"] != "1" {
		t.Errorf("carrier-c %v", cc)
	}

	itsp := object(t, objs, "sip_endpoints/itsp")
	for k, want := range map[string]string{
		"registration": "out", "host": "sip.itsp.example", "defaultuser": "8005550100", "secret": "itsp-pass-1",
		"extension": "5000", "fromuser": "8005550100", "fromdomain": "sip.itsp.example", "insecure": "1", "nat": "force_rport",
		"qualify": "1", "qualifyfreq": "60", "audio_codecs": "ulaw,alaw", "codec_order": "ulaw,alaw,g722,g726,g729,gsm",
		"alaw_pr": "30", "dtmfmode": "rfc2833", "max_forwards": "70", "t38pt_udptl": "no",
	} {
		if itsp[k] != want {
			t.Errorf("itsp %s = %q, want %q", k, itsp[k], want)
		}
	}
	uk := object(t, objs, "sip_endpoints/voip-uk")
	for k, want := range map[string]string{
		"registration": "out", "host": "voip.example.co.uk", "port": "5061", "transport": "TCP", "defaultuser": "acct77",
		"secret": "s3cret77", "extension": "2000", "dtmfmode": "auto", "session-timers": "originate", "session-expires": "900",
		"t38pt_udptl": "yes,redundancy", "max_forwards": "30", "progressinband": "never",
	} {
		if uk[k] != want {
			t.Errorf("voip-uk %s = %q, want %q", k, uk[k], want)
		}
	}

	l1 := object(t, objs, "phones/2001")
	for k, want := range map[string]string{
		"password": "Line2001pw431", "callerid_external": "442071234001", "callername_external": "Reception",
		"codec": "ulaw", "codecs": "ulaw,alaw", "language": "en", "mailbox": "2001", "ping": "1", "totalmaximum": "-1",
	} {
		if l1[k] != want {
			t.Errorf("2001 %s = %q, want %q", k, l1[k], want)
		}
	}
	if l := object(t, objs, "phones/2003"); l["codec"] != "g722" || l["codecs"] != "g722,ulaw" {
		t.Errorf("2003 codecs from template phone-g722: %v %v", l["codec"], l["codecs"])
	}
	if l := object(t, objs, "phones/2007"); l["callerid_internal"] != "2000" {
		t.Errorf("2007 %v", l)
	}
	if l := object(t, objs, "phones/2009"); l["music"] != "3" {
		t.Errorf("2009 %v", l)
	}
	if l := object(t, objs, "phones/2011"); l["source"] != "198.51.100.25" {
		t.Errorf("2011 %v", l)
	}
	if l := object(t, objs, "phones/2012"); l["ping"] != "0" || l["totalmaximum"] != "2" {
		t.Errorf("2012 %v", l)
	}
	if l := object(t, objs, "phones/fax-1"); l["media"] != "fax" || l["codec"] != "alaw" {
		t.Errorf("fax-1 %v", l)
	}
	// 2100's mailbox names 2101, defined after it.
	if l := object(t, objs, "phones/2100"); l["mailbox"] != "2101" {
		t.Errorf("2100 %v", l)
	}
	// The API refuses language=English: the value is dropped and
	// reported, the line imported.
	if l := object(t, objs, "phones/2105"); l["language"] != "" {
		t.Errorf("2105 %v", l)
	}
	// 2103's ACL is a network (issue 28: refused as "one address").
	if l := object(t, objs, "phones/2103"); l["source"] != "10.20.0.0/16" {
		t.Errorf("2103 %v", l)
	}
	// 2104's password, abc, is one the API refuses: the line is there
	// with a new random one.
	if l := object(t, objs, "phones/2104"); len(l["password"]) < 20 || l["password"] == "abc" {
		t.Errorf("2104 password %q", l["password"])
	}
	// A register => line without a peer section is a SIP endpoint of its
	// own; [general]'s allowguest=no refused the registrar's calls
	// unless challenged, so sipswitch challenges them too.
	gone := object(t, objs, "sip_endpoints/sip.gone.example")
	for k, want := range map[string]string{"registration": "out", "host": "sip.gone.example", "defaultuser": "nobody", "secret": "gone-pass", "insecure": "0"} {
		if gone[k] != want {
			t.Errorf("sip.gone.example %s = %q, want %q", k, gone[k], want)
		}
	}
	for _, gone := range []string{"phones/2102", "phones/2106", "peers/old-gateway"} {
		if _, ok := objs[gone]; ok {
			t.Errorf("%s must not be imported", gone)
		}
	}
	// The API refuses ';' in a peer's password (remotesecret=...\;x).
	wantFinding(t, res, "sip_peers.conf:10:", "peer carrier-a", "password=***", "not imported: password must be")
	wantFinding(t, res, "sip_phones.conf:133:", "line 2104", "secret=***", "6 to 128", "new random password", "phones/get")
	wantFinding(t, res, "sip_phones.conf:137:", "line 2105", "language=English", "not imported: language must be")
	wantFinding(t, res, "sip_phones.conf:125:", "line 2102", "md5secret=***", "NOT IMPORTED")
	wantFinding(t, res, "sip_phones.conf:129:", "line 2103", "names no IPv6 network", "10.20.0.0/16")
	wantFinding(t, res, "sip_peers.conf:70:", "[old-gateway]", "NOT IMPORTED", "type=user")
	wantFinding(t, res, "sip_peers.conf:20:", "peer carrier-a", "callerid=", "calls *from* the peer")
	wantFinding(t, res, "sip.conf:30:", "#exec", "not run")
	wantFinding(t, res, "sip.conf:44:", "line 2001", "nat=force_rport,comedia", "not imported")
	wantFinding(t, res, "sip_peers.conf:52:", "SIP endpoint itsp", "codec opus not imported")
	if strings.Contains(findings(res), "itsp-pass-1") || strings.Contains(findings(res), "abc") || strings.Contains(findings(res), object(t, objs, "phones/2104")["password"]) {
		t.Error("a secret appears in the findings")
	}

	// A second run creates nothing new.
	again, err := importer.Import(ctx, opts, importer.ToService(svc), false)
	if err != nil {
		t.Fatal(err)
	}
	if c := again.Count(); c.Created != 0 || c.Unchanged != 32 || c.Differs != 0 {
		t.Errorf("second run %+v", c)
	}
	if len(objects(t, svc)) != 32 {
		t.Error("second run changed the object count")
	}
}

func TestImportReportsExistingObjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := newService(t)
	peers := svc.Kinds()["peers"]
	// An operator made carrier-b by hand with another destination, and a
	// line holds the name carrier-c.
	if _, err := svc.Create(ctx, engine.SystemActor(), peers, engine.Values{"name": "carrier-b", "type": "sip", "destination": "192.0.2.77"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, engine.SystemActor(), svc.Kinds()["phones"], engine.Values{"name": "carrier-c", "password": "some-line-pw"}, false); err != nil {
		t.Fatal(err)
	}
	res, err := importer.Import(ctx, importer.Options{Dir: "testdata/chansip"}, importer.ToService(svc), false)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*importer.Object{}
	for _, o := range res.Objects {
		byName[o.Name] = o
	}
	if o := byName["carrier-b"]; o.Outcome != importer.OutcomeDiffers || strings.Join(o.Differs, ",") != "codecs,destination,dtmfmode,outmaximum" {
		t.Errorf("carrier-b %v %v", o.Outcome, o.Differs)
	}
	if o := byName["carrier-c"]; o.Outcome != importer.OutcomeNameTaken {
		t.Errorf("carrier-c %v", o.Outcome)
	}
	got, err := svc.Get(ctx, engine.SystemActor(), peers, "1", engine.ListOptions{})
	if err != nil || got["destination"] != "192.0.2.77" {
		t.Errorf("existing peer changed: %v %v", got, err)
	}
	var out bytes.Buffer
	if err := res.WriteReport(&out, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"skipped peer carrier-b (sip_peers.conf:22): exists, differs: not updated (codecs, destination, dtmfmode, outmaximum)",
		"sip_peers.conf:30: peer carrier-c: NOT IMPORTED: the name is used by a telephone line",
		"created 30, unchanged 0, differs (not updated) 1, name taken 1, not imported 3;",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestImportPJSIPIntoDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := newService(t)
	res, err := importer.Import(ctx, importer.Options{Dir: "testdata/pjsip"}, importer.ToService(svc), false)
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, svc)
	if len(objs) != 22 {
		t.Errorf("%d objects\n%s", len(objs), findings(res))
	}
	a := object(t, objs, "peers/carrier-a")
	for k, want := range map[string]string{
		"type": "pjsip", "destination": "sip1.carrier-a.example,sip2.carrier-a.example:5070", "username": "acct-a",
		"password": "carrier-a-pw", "codecs": "alaw,ulaw,g729", "send_asserted_identity": "1", "send_privacy": "1",
		"proxy": "proxy.carrier-a.example:5060",
	} {
		if a[k] != want {
			t.Errorf("carrier-a %s = %q, want %q", k, a[k], want)
		}
	}
	if b := object(t, objs, "peers/carrier-b"); b["destination"] != "198.51.100.7:5060" || b["dtmfmode"] != "info" || b["username"] != "" {
		t.Errorf("carrier-b %v", b)
	}
	itsp := object(t, objs, "sip_endpoints/itsp")
	for k, want := range map[string]string{
		"registration": "out", "host": "sip.itsp.example", "port": "5060", "defaultuser": "8005550100", "remotesecret": "itsp-pass-1",
		"secret": "", "insecure": "1", "extension": "5000", "fromuser": "8005550100", "fromdomain": "sip.itsp.example",
		"session-timers": "originate", "session-expires": "900", "nat": "yes", "qualify": "1", "qualifyfreq": "60",
		"audio_codecs": "ulaw,alaw", "alaw_pr": "30", "dtmfmode": "rfc2833",
	} {
		if itsp[k] != want {
			t.Errorf("itsp %s = %q, want %q", k, itsp[k], want)
		}
	}
	if w := object(t, objs, "sip_endpoints/wiz-itsp"); w["host"] != "sip.wizard-itsp.example" || w["defaultuser"] != "wizacct" || w["remotesecret"] != "wiz-pass-42" || w["extension"] != "6000" || w["audio_codecs"] != "ulaw" {
		t.Errorf("wiz-itsp %v", w)
	}
	if w := object(t, objs, "peers/wiz-carrier"); w["destination"] != "192.0.2.50,192.0.2.51:5080" || w["codecs"] != "alaw,ulaw" || w["send_rpid"] != "1" {
		t.Errorf("wiz-carrier %v", w)
	}
	if l := object(t, objs, "phones/4001"); l["password"] != "Wiz4001-secret" || l["codec"] != "ulaw" || l["ping"] != "1" || l["callerid_external"] != "442079876099" {
		t.Errorf("4001 %v", l)
	}
	if l := object(t, objs, "phones/3005"); l["callerid_internal"] != "3000" || l["language"] != "de" {
		t.Errorf("3005 %v", l)
	}
	if l := object(t, objs, "phones/3007"); l["source"] != "198.51.100.30" {
		t.Errorf("3007 %v", l)
	}
	if l := object(t, objs, "phones/3008"); l["codec"] != "g722" || l["totalmaximum"] != "2" {
		t.Errorf("3008 %v", l)
	}
	if l := object(t, objs, "phones/fax-2"); l["media"] != "fax" {
		t.Errorf("fax-2 %v", l)
	}
	if _, ok := objs["phones/3099"]; ok {
		t.Error("3099 (md5 credentials) must not be imported")
	}
	wantFinding(t, res, "pjsip_phones.conf:199:", "line 3099", "auth_type=md5", "NOT IMPORTED")
	wantFinding(t, res, "pjsip.conf:98:", "peer carrier-b", "198.51.100.0/24", "not imported")
	wantFinding(t, res, "pjsip.conf:136:", "[old-trunk]", "not used by any endpoint")
	wantFinding(t, res, "pjsip.conf:8:", "[transport-udp]", "own transports")
	wantFinding(t, res, "pjsip_wizard.conf:31:", "line 4001", "has_hint=yes", "not imported")

	again, err := importer.Import(ctx, importer.Options{Dir: "testdata/pjsip"}, importer.ToService(svc), false)
	if err != nil {
		t.Fatal(err)
	}
	if c := again.Count(); c.Created != 0 || c.Unchanged != 22 {
		t.Errorf("second run %+v", c)
	}
}

// TestEveryOptionAccounted: every option of every file read is mapped to a
// parameter, implied by the object's kind, or named by a finding.
func TestEveryOptionAccounted(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"testdata/chansip", "testdata/pjsip", "testdata/asterisk-samples", "testdata/office"} {
		res, err := importer.Map(context.Background(), importer.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		accounted := map[astconf.Pos]bool{}
		for _, o := range res.Objects {
			for _, ps := range o.From {
				for _, p := range ps {
					accounted[p] = true
				}
			}
			for _, p := range o.Implied {
				accounted[p] = true
			}
		}
		for _, f := range res.Findings {
			accounted[f.Pos] = true
			for _, p := range f.Covers {
				accounted[p] = true
			}
		}
		checked := 0
		for _, top := range importer.DefaultFiles {
			if _, err := os.Stat(filepath.Join(dir, top)); err != nil {
				continue
			}
			cfg, err := astconf.Load(context.Background(), dir, top)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range cfg.Sections {
				for _, o := range s.Options {
					checked++
					if !accounted[o.Pos] {
						t.Errorf("%s: %s=%s in [%s] is neither mapped nor reported", o.Pos, o.Name, o.Value, s.Name)
					}
				}
			}
		}
		if checked < 90 {
			t.Errorf("%s: only %d options checked", dir, checked)
		}
	}
}

func TestImportErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	svc := newService(t)

	if _, err := importer.Import(ctx, importer.Options{Dir: dir}, importer.ToService(svc), false); !errors.Is(err, importer.ErrNothingToImport) {
		t.Errorf("empty dir: %v", err)
	}
	write("sip.conf", "[general]\n#include peers.conf\n")
	_, err := importer.Import(ctx, importer.Options{Dir: dir}, importer.ToService(svc), false)
	var ae *astconf.Error
	if !errors.As(err, &ae) || ae.Pos.String() != "sip.conf:2" || !errors.Is(err, astconf.ErrNotFound) {
		t.Errorf("missing include: %v", err)
	}
	write("sip.conf", "[general]\n[2001](nosuch)\n")
	if _, err := importer.Import(ctx, importer.Options{Dir: dir}, importer.ToService(svc), false); !errors.As(err, &ae) || ae.Pos.String() != "sip.conf:2" {
		t.Errorf("unknown template: %v", err)
	}
	if n := len(objects(t, svc)); n != 0 {
		t.Errorf("failed imports wrote %d objects", n)
	}

	// A cancelled import writes nothing either.
	write("sip.conf", "[2001]\ntype=friend\nhost=dynamic\nsecret=line-2001-pw\n")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := importer.Import(cctx, importer.Options{Dir: dir}, importer.ToService(svc), false); err == nil {
		t.Error("cancelled import succeeded")
	}
	if n := len(objects(t, svc)); n != 0 {
		t.Errorf("cancelled import wrote %d objects", n)
	}

	// modules.conf keeping chan_sip from loading: sip.conf is not read.
	write("modules.conf", "[modules]\nautoload=yes\nnoload => chan_sip.so\n")
	if _, err := importer.Import(ctx, importer.Options{Dir: dir}, importer.ToService(svc), false); !errors.Is(err, importer.ErrNothingToImport) {
		t.Errorf("noload chan_sip: %v", err)
	}
}

func sortedObjectKeys(m map[string]map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
