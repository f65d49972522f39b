package render

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/routing"
)

// RFC 2617 section 3.5's example: H(A1) of Mufasa in testrealm@host.com.
func TestDigestHA1IsRFC2617(t *testing.T) {
	if got := digestHA1("Mufasa", "testrealm@host.com", "Circle Of Life"); got != "939e7578ed9e3c518a452acee763bce9" {
		t.Errorf("H(A1) = %s", got)
	}
}

// writtenForms are the ways a password can appear in a rendered file: as
// it is, and as confValue escapes it.
func writtenForms(t *testing.T, pw string) [][]byte {
	t.Helper()
	esc, err := confValue(pw)
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{[]byte(pw), []byte(esc)}
}

// An attacker who reads the SIP driver's file finds no password Asterisk
// only checks: lines' passwords, sip_endpoints' secrets (when Asterisk
// does not send them too) and auth=user:secret@realm are digests. What
// Asterisk sends to a peer whose realm it cannot know is still there: it
// must be (the files are private for it).
func TestCheckedPasswordsAreNotInTheFiles(t *testing.T) {
	snap := fixtureSnapshot()
	hidden := []string{"realmpass"} // itsp-out's auth=
	for _, p := range snap.Phones {
		hidden = append(hidden, p.Password)
	}
	for _, e := range snap.SIPEndpoints {
		if e.Secret != "" && !secretSent(&e) {
			hidden = append(hidden, e.Secret)
		}
	}
	sent := []string{"s3cret;x", "remotepass", "gwsecret"} // carrier-a's password, itsp-out's remotesecret, gw-static's secret
	if len(hidden) < 6 {
		t.Fatalf("fixture checks only %d passwords", len(hidden))
	}
	for driver, file := range map[Driver]string{DriverPJSIP: FilePJSIP, DriverChanSIP: FileSIP} {
		files, err := Render(snap, append(fixtureOptions, WithSIPDriver(driver))...)
		if err != nil {
			t.Fatal(err)
		}
		for _, pw := range hidden {
			for name, b := range files {
				for _, form := range writtenForms(t, pw) {
					if bytes.Contains(b, form) {
						t.Errorf("%s driver: %s holds the checked password %q", driver, name, form)
					}
				}
			}
		}
		all := bytes.Join([][]byte{files[FilePJSIP], files[FileSIP]}, nil)
		for _, pw := range sent {
			if !bytes.Contains(all, writtenForms(t, pw)[1]) {
				t.Errorf("%s driver: no file holds %q, which Asterisk sends", driver, pw)
			}
		}
		if !bytes.Contains(files[file], []byte("md5")) {
			t.Errorf("%s driver: %s holds no digest", driver, file)
		}
	}
}

// The realm is the operator's (render.realm): the digests and every
// realm line follow it, and what cannot be a realm is refused naming it.
func TestRealmOption(t *testing.T) {
	files, err := Render(fixtureSnapshot(), WithRealm("pbx.example.net"))
	if err != nil {
		t.Fatal(err)
	}
	pj := string(files[FilePJSIP])
	// echo -n 'alice:pbx.example.net:pw;alice' | md5sum
	for _, want := range []string{"default_realm=pbx.example.net\n", "realm=pbx.example.net\nmd5_cred=00c36c3532c37f6ee477f946839528c6\n"} {
		if !strings.Contains(pj, want) {
			t.Errorf("pjsip.conf lacks %q", want)
		}
	}
	if strings.Contains(pj, "realm=asterisk") {
		t.Error("pjsip.conf still names the default realm")
	}
	files, err = Render(fixtureSnapshot(), WithRealm("pbx.example.net"), WithSIPDriver(DriverChanSIP))
	if err != nil {
		t.Fatal(err)
	}
	if sip := string(files[FileSIP]); !strings.Contains(sip, "[general]\ncontext=inbound\nallowguest=no\nmatch_auth_username=yes\nnat=force_rport,comedia\nrealm=pbx.example.net\n") ||
		!strings.Contains(sip, "md5secret=00c36c3532c37f6ee477f946839528c6\n") {
		t.Errorf("sip.conf does not follow the realm:\n%.600s", sip)
	}
	for _, bad := range []string{"", "two words", `quo"te`, "a;b", "user@host", "a:b", "x#y", "tab\there"} {
		if _, err := Render(fixtureSnapshot(), WithRealm(bad)); !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "realm") {
			t.Errorf("realm %q: err = %v, want ErrInvalidValue naming the realm", bad, err)
		}
	}
}

// A password a digest would hide is still held to the rules of a value
// written as it is: a switch renders, or fails alike, in both forms.
func TestBadPasswordFailsAsDigestToo(t *testing.T) {
	for _, driver := range []Driver{DriverPJSIP, DriverChanSIP} {
		for _, plain := range []bool{false, true} {
			s := fixtureSnapshot()
			s.Phones[0].Password = "pw\nmd5secret=x"
			opts := []Option{WithSIPDriver(driver)}
			if plain {
				opts = append(opts, WithPlainPasswords())
			}
			if _, err := Render(s, opts...); !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "password") {
				t.Errorf("%s plain=%v: err = %v, want ErrInvalidValue naming password", driver, plain, err)
			}
		}
	}
}

// WithPlainPasswords renders the files as before digests: for reading
// them back with the importer.
func TestPlainPasswords(t *testing.T) {
	files, err := Render(fixtureSnapshot(), WithPlainPasswords())
	if err != nil {
		t.Fatal(err)
	}
	pj := string(files[FilePJSIP])
	for _, want := range []string{"auth_type=userpass\nusername=alice\npassword=pw\\;alice\n", "username=8005555555\npassword=realmpass\nrealm=itsp.example\n"} {
		if !strings.Contains(pj, want) {
			t.Errorf("pjsip.conf lacks %q", want)
		}
	}
	for _, absent := range []string{"md5", "[global]", "realm=asterisk"} {
		if strings.Contains(pj, absent) {
			t.Errorf("pjsip.conf holds %q", absent)
		}
	}
	files, err = Render(fixtureSnapshot(), WithPlainPasswords(), WithSIPDriver(DriverChanSIP))
	if err != nil {
		t.Fatal(err)
	}
	if sip := string(files[FileSIP]); strings.Contains(sip, "md5") || strings.Contains(sip, "realm=asterisk") || !strings.Contains(sip, "secret=pw\\;alice\n") {
		t.Errorf("sip.conf is not the plain form:\n%.600s", sip)
	}
}

// secretSent follows the pjsip renderer's outbound auth: the secret is
// sent when there is no remotesecret and a host to call or register to.
func TestSecretSent(t *testing.T) {
	for _, tt := range []struct {
		e    routing.SIPEndpoint
		want bool
	}{
		{routing.SIPEndpoint{Secret: "s", Host: "dynamic"}, false},
		{routing.SIPEndpoint{Secret: "s", Host: ""}, false},
		{routing.SIPEndpoint{Secret: "s", Host: "192.0.2.1"}, true},
		{routing.SIPEndpoint{Secret: "s", Host: "192.0.2.1", RemoteSecret: "r"}, false},
		{routing.SIPEndpoint{Secret: "s", Host: "gw.example", Registration: "out"}, true},
		{routing.SIPEndpoint{Secret: "", Host: "192.0.2.1"}, false},
	} {
		if got := secretSent(&tt.e); got != tt.want {
			t.Errorf("%+v: secretSent = %v, want %v", tt.e, got, tt.want)
		}
	}
}

// One digest per checked password: what digests add to a render.
func BenchmarkDigestHA1(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		digestHA1("2001", DefaultRealm, "Line2001pw431")
	}
}
