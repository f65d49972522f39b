package api_test

import (
	"strings"
	"testing"
)

// Bytes that are not UTF-8 text, or a NUL, sent percent-encoded in a free
// text parameter are refused naming it, on create and on update, and
// nothing is stored; real UTF-8 text is kept as sent.
func TestNonTextBytesAreRefused(t *testing.T) {
	ts := newTestSwitch(t)
	seedFixture(ts)
	base := strings.TrimSuffix(ts.url, "/")
	auth := "auth_username=admin;auth_password=" + adminPassword
	for _, bad := range []string{"%FF", "caf%E9", "%C0%AF", "%ED%A0%80", "a%00b"} {
		rev := ts.db.Revision()
		for _, req := range []string{
			"/phones/create/?" + auth + ";name=3001;password=line-secret;description=" + bad,
			"/phones/update/?" + auth + ";name=2002;description=" + bad,
			"/peers/create/?" + auth + ";name=carrier-x;type=sip;destination=192.0.2.9;description=" + bad,
			"/plans/create/?" + auth + ";name=Retail2;description=" + bad,
		} {
			r := getRaw(t, base+req)
			if r.code() != "400" || !hasKey(r, "description") {
				t.Errorf("%s: %+v, want 400 with key description", req, r.Responses)
			}
		}
		if ts.db.Revision() != rev {
			t.Fatalf("description=%s: a refused request was written", bad)
		}
	}
	r := getRaw(t, base+"/phones/update/?"+auth+";name=2002;description=B%C3%BCro%20%E2%98%8E")
	if r.code() != "204" {
		t.Fatalf("UTF-8 description: %+v", r.Responses)
	}
	if obj := ts.mustOK("phones/get", map[string]string{"name": "2002"}).object(t); obj["description"] != "Büro ☎" {
		t.Fatalf("UTF-8 description read back as %q", obj["description"])
	}
}
