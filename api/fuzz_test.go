package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/api"
)

func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		"auth_username=user;auth_password=password;name=example;type=sip;destination=sip.example.com",
		"a=1&b=2;c=3", "=x;;&&", "a=%zz", "a=%41%42+c", "k", "a=1;a=2", "%00=%00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		vals, err := api.ParseQuery(raw)
		if err != nil {
			return
		}
		// Whatever parsed must survive an encode/parse round trip.
		keys := make([]string, 0, len(vals))
		for k := range vals {
			if k == "" {
				t.Fatalf("empty key from %q", raw)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = url.QueryEscape(k) + "=" + url.QueryEscape(vals[k])
		}
		again, err := api.ParseQuery(strings.Join(parts, ";"))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", raw, err)
		}
		for k, v := range vals {
			if again[k] != v {
				t.Fatalf("round trip of %q changed %q: %q -> %q", raw, k, v, again[k])
			}
		}
	})
}

// FuzzCreate feeds random parameter strings to each create function: the
// answer is always HTTP 200 with an envelope, never a panic, and a 400
// stores nothing.
func FuzzCreate(f *testing.F) {
	for _, seed := range []struct {
		fn     uint8
		params string
	}{
		{0, "name=carrier;type=sip;destination=192.0.2.1;outmaximum=10"},
		{0, "name=d;type=dahdi;channel_group=x"},
		{1, "name=1234;password=secret99;ringtime=30;btype=phone;bnumber=2002"},
		{1, "name=1234;copy_password=2002;plan=1"},
		{2, "plan=1;called_prefix=0044;peer1=1;peer2=-1;allow=2"},
		{2, "plan=1;called_prefix=;media=fax"},
		{3, "name=p;cos_timegroup=0"},
	} {
		f.Add(seed.fn, seed.params)
	}
	functions := []string{"peers/create", "phones/create", "plans/routes/create", "plans/create"}
	ts := newTestSwitch(f)
	seedFixture(ts)
	handler := api.NewHandler(ts.svc)
	f.Fuzz(func(t *testing.T, fn uint8, params string) {
		name := functions[int(fn)%len(functions)]
		before := ts.db.Revision()
		// Parameters that cannot stand in a request line (whitespace,
		// control bytes, '#', non-ASCII) go in a POST body instead.
		var req *http.Request
		if strings.IndexFunc(params, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '#' }) >= 0 {
			req = httptest.NewRequest(http.MethodPost, "/api/json/"+name+"/", strings.NewReader("auth_username=admin&auth_password="+adminPassword+"&"+params))
		} else {
			req = httptest.NewRequest(http.MethodGet, "/api/json/"+name+"/?auth_username=admin;auth_password="+adminPassword+";"+params, nil)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("HTTP %d for %s %q", rec.Code, name, params)
		}
		var env api.Envelope
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || len(env.Responses) == 0 {
			t.Fatalf("bad envelope %q: %v", rec.Body.String(), err)
		}
		code := env.Responses[0].Code
		switch code {
		case "200", "201", "204":
		case "400":
			if ts.db.Revision() != before {
				t.Fatalf("%s %q: 400 but the store changed", name, params)
			}
			for _, r := range env.Responses {
				if r.Message == "" {
					t.Fatalf("400 without a message: %+v", env.Responses)
				}
			}
		default:
			t.Fatalf("%s %q: unexpected code %s %+v", name, params, code, env.Responses)
		}
	})
}
