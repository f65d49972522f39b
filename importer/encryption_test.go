package importer_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/importer"
	"github.com/sipswitch/sipswitch/render"
)

// Asterisk's SDES settings become media_encryption, and render writes
// them back the same: pjsip sdes with optimistic is optional, sdes alone
// required, chan_sip encryption=yes required; DTLS is reported.
func TestImportMediaEncryption(t *testing.T) {
	for _, tc := range []struct {
		name   string
		files  map[string]string
		driver render.Driver
		file   string
		want   map[string]string // object -> media_encryption
		refuse string            // a finding's text
	}{
		{"pjsip", map[string]string{"pjsip.conf": `
[transport-udp]
type=transport
protocol=udp
bind=0.0.0.0:5060

[3001]
type=endpoint
context=phones
auth=3001
aors=3001
media_encryption=sdes
media_encryption_optimistic=yes

[3001]
type=auth
auth_type=userpass
username=3001
password=Pj3001-secret

[3001]
type=aor
max_contacts=1

[3002]
type=endpoint
context=phones
auth=3002
aors=3002
media_encryption=dtls

[3002]
type=auth
auth_type=userpass
username=3002
password=Pj3002-secret

[3002]
type=aor
max_contacts=1

[carrier]
type=endpoint
context=inbound
aors=carrier
media_encryption=sdes

[carrier]
type=aor
contact=sip:192.0.2.60:5060

[carrier]
type=identify
endpoint=carrier
match=192.0.2.60
`}, render.DriverPJSIP, render.FilePJSIP,
			map[string]string{"phones/3001": "optional", "phones/3002": "none", "peers/carrier": "required"}, "SDES keys only"},
		{"chan_sip", map[string]string{"sip.conf": `
[general]
udpbindaddr=0.0.0.0:5060

[2001]
type=friend
host=dynamic
secret=Line2001pw
context=phones
encryption=yes

[2002]
type=friend
host=dynamic
secret=Line2002pw
context=phones
encryption=no

[carrier]
type=peer
host=192.0.2.60
insecure=invite
context=inbound
encryption=yes
`}, render.DriverChanSIP, render.FileSIP,
			map[string]string{"phones/2001": "required", "phones/2002": "none", "peers/carrier": "required"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			svc := newService(t)
			res, err := importer.Import(ctx, importer.Options{Dir: dir}, importer.ToService(svc), false)
			if err != nil {
				t.Fatal(err)
			}
			check := func(objs map[string]map[string]string, when string) {
				t.Helper()
				for key, want := range tc.want {
					if objs[key] == nil || objs[key]["media_encryption"] != want {
						t.Errorf("%s: %s media_encryption %q, want %q", when, key, objs[key]["media_encryption"], want)
					}
				}
			}
			check(objects(t, svc), "imported")
			if tc.refuse != "" {
				found := false
				for _, f := range res.Findings {
					found = found || strings.Contains(f.String(), tc.refuse)
				}
				if !found {
					t.Errorf("no finding says %q: %v", tc.refuse, res.Findings)
				}
			}
			again := newService(t)
			if _, err := importer.Import(ctx, importer.Options{Dir: renderDB(t, svc, tc.driver), Files: []string{tc.file}}, importer.ToService(again), false); err != nil {
				t.Fatal(err)
			}
			check(objects(t, again), "rendered and imported again")
		})
	}
}
