package importer_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/importer"
	"github.com/sipswitch/sipswitch/render"
)

// TestImportOfDigests reads back what the daemon renders: passwords
// Asterisk only checks are MD5 digests there, which cannot give back the
// password the SIP core needs. A line or SIP endpoint whose password is a
// digest is refused, saying why (imported without it, an endpoint would
// take calls unchallenged); a digest credential an endpoint sends is not
// imported, with a warning, rather than imported broken; everything else
// imports as from plain files.
func TestImportOfDigests(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dir    string
		driver render.Driver
		file   string
		digest string // how the file names a digest password
	}{
		{"testdata/chansip", render.DriverChanSIP, render.FileSIP, "md5secret="},
		{"testdata/pjsip", render.DriverPJSIP, render.FilePJSIP, "auth_type=md5"},
	} {
		t.Run(string(tc.driver), func(t *testing.T) {
			ctx := context.Background()
			first := newService(t)
			if _, err := importer.Import(ctx, importer.Options{Dir: tc.dir}, importer.ToService(first), false); err != nil {
				t.Fatal(err)
			}
			for _, e := range []engine.Values{
				// Checked only: a digest in both drivers' files.
				{"name": "itsp-r", "host": "sip.itsp2.example", "registration": "out", "defaultuser": "acct", "secret": "Reg-secret-2", "remotesecret": "Remote-3"},
				// Sent too (no remotesecret): kept as it is; its
				// auth=user:secret@realm becomes a digest.
				{"name": "itsp-s", "host": "sip.itsp3.example", "registration": "out", "defaultuser": "acct3", "secret": "Reg-secret-7", "auth": "acct3:Realm-secret-8@itsp3.example"},
			} {
				if _, err := first.SaveSIPEndpoint(ctx, engine.SystemActor(), e); err != nil {
					t.Fatal(err)
				}
			}
			rendered := renderDB(t, first, tc.driver, render.WithRealm(render.DefaultRealm))
			second := newService(t)
			res, err := importer.Import(ctx, importer.Options{Dir: rendered, Files: []string{tc.file}}, importer.ToService(second), false)
			if err != nil {
				t.Fatal(err)
			}
			a, b := objects(t, first), objects(t, second)
			refused := map[string]string{}
			for _, f := range res.Findings {
				if f.Refused {
					refused[f.Object] = f.String()
				}
			}
			lines := 0
			for key := range a {
				module, name, _ := strings.Cut(key, "/")
				if module != "phones" {
					continue
				}
				lines++
				f := refused["line "+name]
				if b[key] != nil || !strings.Contains(f, tc.digest) || !strings.Contains(f, "MD5") {
					t.Errorf("line %s: imported %v, refusal %q; want refused for its digest", name, b[key] != nil, f)
				}
			}
			if lines < 10 {
				t.Fatalf("only %d lines compared", lines)
			}
			if f := refused["SIP endpoint itsp-r"]; b["sip_endpoints/itsp-r"] != nil || !strings.Contains(f, "secret is kept only as an MD5 digest") {
				t.Errorf("itsp-r: imported %v, refusal %q; want refused", b["sip_endpoints/itsp-r"] != nil, f)
			}
			s := b["sip_endpoints/itsp-s"]
			if s == nil || s["secret"] != "Reg-secret-7" || s["auth"] != "" {
				t.Errorf("itsp-s: %v; want its secret and no auth", s)
			}
			wantFinding(t, res, "SIP endpoint itsp-s", "not imported", "MD5")
			for key, want := range a {
				if !strings.HasPrefix(key, "peers/") {
					continue
				}
				for k, v := range want {
					if !notRendered[k] && b[key][k] != v {
						t.Errorf("%s %s: %q, after render and import %q", key, k, v, b[key][k])
					}
				}
			}
		})
	}
}
