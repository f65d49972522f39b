package auth

import (
	"crypto/md5"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestParseDigestCredentials(t *testing.T) {
	tests := []struct {
		in      string
		want    Credentials
		wantErr error
	}{
		{
			in: `Digest username="bob", realm="test", nonce="abc", uri="sip:x", response="0123", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c1", opaque="o"`,
			want: Credentials{Username: "bob", Realm: "test", Nonce: "abc", URI: "sip:x", Response: "0123",
				Algorithm: "SHA-256", Qop: "auth", NC: "00000001", CNonce: "c1", Opaque: "o"},
		},
		{
			in:   `digest  username="a\"b",realm="r",nonce="n",uri="sip:y",response="r1"`,
			want: Credentials{Username: `a"b`, Realm: "r", Nonce: "n", URI: "sip:y", Response: "r1"},
		},
		{in: `Basic dXNlcjpwYXNz`, wantErr: errNotDigest},
		{in: `Digest username="bob"`, wantErr: errBadDigest},
		{in: `Digest username="bob, realm=x`, wantErr: errBadDigest},
		{in: `Digest username="b", nonce="n", uri="u", response="r", qop=auth`, wantErr: errBadDigest},
		{in: `Digest =x`, wantErr: errBadDigest},
		{in: ``, wantErr: errNotDigest},
	}
	for _, tc := range tests {
		got, err := ParseCredentials(tc.in)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%q: err %v, want %v", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// RFC 2617 3.5 worked example (HTTP, but the computation is the same).
func TestDigestResponseRFC2617(t *testing.T) {
	c := Credentials{Username: "Mufasa", Realm: "testrealm@host.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		URI: "/dir/index.html", Qop: "auth", NC: "00000001", CNonce: "0a4f113b"}
	if got := Response(md5.New, &c, "GET", "Circle Of Life"); got != "6629fae49393a05397450978507c4ef1" {
		t.Fatalf("response %s", got)
	}
}

func TestNonceBook(t *testing.T) {
	b := newNonceBook(time.Minute)
	now := time.Now()
	n := b.issue(now)
	if err := b.check(n, "00000001", now); err != nil {
		t.Fatalf("fresh Nonce: %v", err)
	}
	if err := b.check(n, "00000001", now); !errors.Is(err, errNonceReplay) {
		t.Fatalf("replayed NC: %v", err)
	}
	if err := b.check(n, "00000002", now); err != nil {
		t.Fatalf("next NC: %v", err)
	}
	if err := b.check(b.issue(now), "", now.Add(2*time.Minute)); !errors.Is(err, errNonceStale) {
		t.Fatalf("old Nonce: %v", err)
	}
	forged := []byte(b.issue(now))
	forged[3] ^= 1
	if err := b.check(string(forged), "", now); !errors.Is(err, errNonceForged) {
		t.Fatalf("forged Nonce: %v", err)
	}
	if err := b.check("short", "", now); !errors.Is(err, errNonceForged) {
		t.Fatalf("garbage Nonce: %v", err)
	}
	b.sweep(now.Add(2 * time.Minute))
	for i := range b.shards {
		if len(b.shards[i].seen) != 0 {
			t.Fatal("sweep kept expired nonces")
		}
	}
}

func TestSourceAllowed(t *testing.T) {
	tests := []struct {
		list, src string
		want      bool
	}{
		{"", "192.0.2.1", true},
		{"192.0.2.1", "192.0.2.1", true},
		{"192.0.2.1", "192.0.2.2", false},
		{"198.51.100.7, 192.0.2.0/24", "192.0.2.200", true},
		{"198.51.100.7 10.0.0.0/8", "10.1.2.3", true},
		{"bogus, 10.0.0.0/33", "10.1.2.3", false},
	}
	for _, tc := range tests {
		if got := sourceAllowed(tc.list, netip.MustParseAddr(tc.src)); got != tc.want {
			t.Errorf("sourceAllowed(%q, %s) = %v", tc.list, tc.src, got)
		}
	}
}

func TestAuthGuard(t *testing.T) {
	g := newGuard(3, time.Minute, 5*time.Minute)
	a := netip.MustParseAddr("192.0.2.1")
	now := time.Now()
	for range 2 {
		if g.fail(a, now) {
			t.Fatal("blocked too early")
		}
	}
	if g.blocked(a, now) {
		t.Fatal("blocked after 2 failures")
	}
	if !g.fail(a, now) || !g.blocked(a, now) {
		t.Fatal("not blocked after 3 failures")
	}
	if g.blocked(a, now.Add(6*time.Minute)) {
		t.Fatal("block did not lapse")
	}
	if g.blocked(netip.MustParseAddr("192.0.2.2"), now) {
		t.Fatal("other address blocked")
	}
}

func FuzzParseDigestCredentials(f *testing.F) {
	f.Add(`Digest username="bob", realm="test", nonce="abc", uri="sip:x", response="0123", algorithm=MD5, qop=auth, nc=00000001, cnonce="c1"`)
	f.Add(`Digest username="a\"b",realm="r",nonce="n",uri="sip:y",response="r1"`)
	f.Add(`Digest username="x\`)
	f.Add(`Digest ,,,,=`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCredentials(s)
		if err == nil && (c.Username == "" || c.Nonce == "" || c.URI == "" || c.Response == "") {
			t.Fatalf("accepted incomplete credentials %+v", c)
		}
	})
}

func FuzzNonceCheck(f *testing.F) {
	b := newNonceBook(time.Minute)
	now := time.Now()
	f.Add(b.issue(now), "00000001")
	f.Add("", "")
	f.Add("AAAA", "zz")
	f.Fuzz(func(t *testing.T, nonce, nc string) {
		_ = b.check(nonce, nc, now)
	})
}

func BenchmarkNonceIssueCheck(b *testing.B) {
	nb := newNonceBook(time.Minute)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if err := nb.check(nb.issue(now), "00000001", now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDigestVerify(b *testing.B) {
	c, err := ParseCredentials(`Digest username="1001", realm="test", nonce="abc", uri="sip:441234@127.0.0.1", response="0123", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c1"`)
	if err != nil {
		b.Fatal(err)
	}
	h, _ := hashFor(c.Algorithm)
	b.ReportAllocs()
	for b.Loop() {
		_ = Response(h, &c, "INVITE", "secret1001")
	}
}
