package importer_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/importer"
	"github.com/sipswitch/sipswitch/render"
)

var update = flag.Bool("update", false, "rewrite the golden import reports")

// TestImportReportsGolden: the report of a dry run of each test input
// into an empty switch, every object and every finding with its file and
// line, is the golden file beside it (go test ./importer -run
// ReportsGolden -update rewrites them; review the diff).
func TestImportReportsGolden(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"asterisk-samples", "office", "chansip", "pjsip"} {
		t.Run(dir, func(t *testing.T) {
			res, err := importer.Import(context.Background(), importer.Options{Dir: filepath.Join("testdata", dir)}, importer.ToService(newService(t)), true)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := res.WriteReport(&out, true); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", dir+".report")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("the report differs from %s (rerun with -update and review the diff):\n%s", golden, out.String())
			}
		})
	}
}

// TestImportAsteriskSamples: what the examples of Asterisk 20.20.1's own
// sample files become (issue 28).
func TestImportAsteriskSamples(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := newService(t)
	res, err := importer.Import(ctx, importer.Options{Dir: "testdata/asterisk-samples"}, importer.ToService(svc), false)
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, svc)
	// 6001: endpoint + auth + aor with a static contact. It authenticates,
	// so it is a line, never a peer that takes calls by address.
	if _, ok := objs["peers/6001"]; ok {
		t.Error("6001 was imported as a peer: a device that authenticates is a line")
	}
	l := object(t, objs, "phones/6001")
	if l["codec"] != "ulaw" || l["codecs"] != "ulaw,gsm" || l["mailbox"] != "6001" || l["totalmaximum"] != "1" || l["source"] != "" {
		t.Errorf("6001 %v", l)
	}
	wantFinding(t, res, "pjsip.conf:394:", "line 6001", "contact=sip:6001@192.0.2.1:5060", "reached where it registers")
	// Passwords Asterisk takes and the API refuses: 6001, 6002, 7000 (the
	// extension itself) and the wizard's "test password" (a space). Each
	// line is there with a new random password; none is printed.
	for _, name := range []string{"6001", "6002", "7000", "myphone", "snom", "cisco1"} {
		pw := object(t, objs, "phones/"+name)["password"]
		if len(pw) < 20 || strings.Contains(findings(res), pw) {
			t.Errorf("%s: password %q", name, pw)
		}
	}
	wantFinding(t, res, "pjsip_wizard.conf:49:", "line myphone", "password=***", "must not contain spaces", "new random password")
	wantFinding(t, res, "pjsip.conf:320:", "line 7000", "password=***", "6 to 128", "new random password")
	// polycom's and pre14-asterisk's passwords are fine: kept.
	if object(t, objs, "phones/polycom")["password"] != "blahpoly" || object(t, objs, "phones/pre14-asterisk")["password"] != "digium" {
		t.Error("a password the API takes was replaced")
	}
	// register => lines: by a peer's name (sip_proxy), alone
	// (mysipprovider.com), with a transport (tls://); provider1's
	// callbackextension registers it.
	for key, want := range map[string]map[string]string{
		"sip_endpoints/sip_proxy":                 {"host": "fwd.pulver.com", "defaultuser": "2345", "remotesecret": "password", "extension": "1234"},
		"sip_endpoints/mysipprovider.com":         {"host": "mysipprovider.com", "defaultuser": "1234", "secret": "password", "insecure": "1"},
		"sip_endpoints/sip-tls-proxy.example.org": {"host": "sip-tls-proxy.example.org", "defaultuser": "username", "secret": "xxxxxx"},
		"sip_endpoints/provider1":                 {"host": "sip.provider1.com", "defaultuser": "4015552299", "extension": "123", "secret": "gissadetdu", "remotesecret": "youwillneverguessit", "insecure": "0"},
	} {
		o := object(t, objs, key)
		for k, v := range want {
			if o[k] != v {
				t.Errorf("%s %s = %q, want %q", key, k, o[k], v)
			}
		}
	}
	// pingtel names an ACL acl.conf does not define: Asterisk would
	// refuse every request, sipswitch does not import the line open.
	if _, ok := objs["phones/pingtel"]; ok {
		t.Error("pingtel imported without its named ACL")
	}
	wantFinding(t, res, "line pingtel", "acl=named_acl_example", "NOT IMPORTED", "not defined in acl.conf")
	// grandstream1 has a static address and no secret: chan_sip took its
	// calls by address, as a peer's are.
	if p := object(t, objs, "peers/grandstream1"); p["destination"] != "192.168.0.23" || p["dtmfmode"] != "info" {
		t.Errorf("grandstream1 %v", p)
	}
	if res.NotImported() == 0 {
		t.Error("the samples have objects that cannot be imported; NotImported says none")
	}
}

// TestImportOffice: the office PBX of issue 28, templates, a carrier
// registered to, five phones and a dialplan with an outbound pattern.
func TestImportOffice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := newService(t)
	res, err := importer.Import(ctx, importer.Options{Dir: "testdata/office"}, importer.ToService(svc), false)
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, svc)
	for _, name := range []string{"201", "202", "203", "fax"} {
		l := object(t, objs, "phones/"+name)
		if l["source"] != "192.168.10.0/24" {
			t.Errorf("%s source %q: the LAN ACL is a network", name, l["source"])
		}
		if l["plan"] == "0" {
			t.Errorf("%s has no plan", name)
		}
	}
	if l := object(t, objs, "phones/201"); l["codecs"] != "alaw,g722" || l["codec"] != "alaw" {
		t.Errorf("201: an alaw,g722 phone keeps alaw,g722: %v", l)
	}
	if l := object(t, objs, "phones/204"); l["source"] != "203.0.113.44" {
		t.Errorf("204 %v", l)
	}
	if l := object(t, objs, "phones/fax"); l["codecs"] != "alaw" || l["media"] != "fax" {
		t.Errorf("fax %v", l)
	}
	// The carrier registers (a SIP endpoint) and carries the routes (a
	// peer made for them); calls from it were taken unchallenged
	// (insecure=port,invite), as a peer's are.
	object(t, objs, "sip_endpoints/carrier")
	out := object(t, objs, "peers/carrier-calls")
	if out["destination"] != "sip.carrier.example" || out["username"] != "441234567000" || out["password"] != "Carr1er-Pass-77" || out["codecs"] != "alaw,g729" {
		t.Errorf("carrier-calls %v", out)
	}
	object(t, objs, "peers/backup")

	// The plan: office's routes through its includes.
	plans, _, err := svc.List(ctx, engine.SystemActor(), svc.Kinds()["plans"], engine.ListOptions{})
	if err != nil || len(plans) != 1 || plans[0]["name"] != "office" {
		t.Fatalf("plans %v %v", plans, err)
	}
	planID := plans[0]["id"]
	if object(t, objs, "phones/201")["plan"] != str(planID) {
		t.Errorf("201's plan is not office")
	}
	routes, _, err := svc.List(ctx, engine.SystemActor(), svc.Kinds()["plans/routes"], engine.ListOptions{Filters: map[string]string{"plan": str(planID)}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range routes {
		got[str(r["called_prefix"])] = str(r["allow"]) + ":" + str(r["peer1"]) + "," + str(r["peer2"])
	}
	outID, backupID := peerIDOf(t, svc, "carrier-calls"), peerIDOf(t, svc, "backup")
	want := map[string]string{
		"00": "1:" + outID + "," + backupID,
		"01": "1:" + outID + ",0",
		"02": "1:" + outID + ",0",
		"07": "1:" + outID + ",0",
	}
	if len(got) != len(want) {
		t.Errorf("routes %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("route %s = %s, want %s", k, got[k], v)
		}
	}
	// What a plan cannot hold is reported with its line, and makes the
	// import exit 1: the emergency numbers (one number each) and the
	// "9 for an outside line" that strips a digit.
	wantFinding(t, res, "extensions.conf:26:", "exten => 999", "NOT IMPORTED", "is one number")
	wantFinding(t, res, "extensions.conf:27:", "exten => 112", "NOT IMPORTED")
	wantFinding(t, res, "extensions.conf:41:", "exten => _9.", "NOT IMPORTED", "${EXTEN:1}")
	wantFinding(t, res, "extensions.conf:44:", "[from-carrier]", "no imported line's calls enter")
	if n := res.NotImported(); n != 3 {
		t.Errorf("NotImported %d, want 3", n)
	}
	// 203's password was its own extension.
	wantFinding(t, res, "sip.conf:71:", "line 203", "secret=***", "new random password")

	// Idempotent: a second run creates nothing.
	again, err := importer.Import(ctx, importer.Options{Dir: "testdata/office"}, importer.ToService(svc), false)
	if err != nil {
		t.Fatal(err)
	}
	if c := again.Count(); c.Created != 0 || c.Differs != 0 || c.Unchanged != len(res.Objects) {
		t.Errorf("second run %+v (first %d objects)", c, len(res.Objects))
	}
}

func str(v any) string { return fmt.Sprint(v) }

func peerIDOf(t *testing.T, svc *engine.Service, name string) string {
	t.Helper()
	list, _, err := svc.List(context.Background(), engine.SystemActor(), svc.Kinds()["peers"], engine.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		if p["name"] == name {
			return str(p["id"])
		}
	}
	t.Fatalf("no peer %s", name)
	return ""
}

// TestRoundTripOffice: the office imports, renders for chan_sip and
// imports back to the same lines, peers and SIP endpoints. Plans, routes
// and a line's plan are not read back: the rendered extensions.conf is
// sipswitch's own dialplan (numbered plan-N contexts), reported as such.
func TestRoundTripOffice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	first := newService(t)
	if _, err := importer.Import(ctx, importer.Options{Dir: "testdata/office"}, importer.ToService(first), false); err != nil {
		t.Fatal(err)
	}
	rendered := renderDB(t, first, render.DriverChanSIP)
	second := newService(t)
	res, err := importer.Import(ctx, importer.Options{Dir: rendered}, importer.ToService(second), false)
	if err != nil {
		t.Fatal(err)
	}
	wantFinding(t, res, "extensions.conf:1:", "sipswitch's own rendered dialplan")
	for _, f := range res.Findings {
		if f.Refused {
			t.Errorf("rendered file: %s", f)
		}
	}
	a, b := objects(t, first), objects(t, second)
	if len(a) != len(b) || len(a) < 8 {
		t.Fatalf("first %v\nsecond %v", sortedObjectKeys(a), sortedObjectKeys(b))
	}
	for _, key := range sortedObjectKeys(a) {
		for k, v := range a[key] {
			if notRendered[k] || strings.HasPrefix(key, "phones/") && k == "plan" {
				continue
			}
			if b[key][k] != v {
				t.Errorf("%s %s: first import %q, after render and import %q", key, k, v, b[key][k])
			}
		}
	}
}
