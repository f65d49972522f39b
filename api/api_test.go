package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

const adminPassword = "admin-test-pw"

type testSwitch struct {
	t   testing.TB
	url string
	svc *engine.Service
	db  *storage.DB
}

func newTestSwitch(t testing.TB, opts ...api.Option) *testSwitch {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, storagetest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	svc := engine.NewService(db, engine.WithPasswordCost(bcrypt.MinCost))
	if _, _, err := svc.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.NewHandler(svc, opts...))
	t.Cleanup(func() { srv.Close(); db.Close() })
	return &testSwitch{t: t, url: srv.URL + "/api/json/", svc: svc, db: db}
}

type result struct {
	Responses []api.Response  `json:"responses"`
	Data      json.RawMessage `json:"data"`
}

func (r result) code() string { return r.Responses[0].Code }

func (r result) id(t testing.TB) int {
	t.Helper()
	var d struct{ ID int }
	if err := json.Unmarshal(r.Data, &d); err != nil || d.ID == 0 {
		t.Fatalf("no id in %s (%v)", r.Data, err)
	}
	return d.ID
}

func (r result) object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Data, &m); err != nil {
		t.Fatalf("data %s: %v", r.Data, err)
	}
	return m
}

// getRaw fetches a URL verbatim and decodes the envelope.
func getRaw(t testing.TB, rawURL string) result {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d for %s: %s", resp.StatusCode, rawURL, body)
	}
	var r result
	if err := json.Unmarshal(body, &r); err != nil || len(r.Responses) == 0 {
		t.Fatalf("bad envelope %q: %v", body, err)
	}
	return r
}

// call sends params (as user/password) to function with ';' separators.
func (ts *testSwitch) callAs(user, pw, function string, params map[string]string) result {
	ts.t.Helper()
	parts := []string{"auth_username=" + url.QueryEscape(user), "auth_password=" + url.QueryEscape(pw)}
	for k, v := range params {
		parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
	}
	return getRaw(ts.t, ts.url+function+"/?"+strings.Join(parts, ";"))
}

func (ts *testSwitch) call(function string, params map[string]string) result {
	ts.t.Helper()
	return ts.callAs("admin", adminPassword, function, params)
}

func (ts *testSwitch) mustOK(function string, params map[string]string) result {
	ts.t.Helper()
	r := ts.call(function, params)
	if c := r.code(); c != "200" && c != "204" {
		ts.t.Fatalf("%s %v: %+v", function, params, r.Responses)
	}
	return r
}

func (ts *testSwitch) count(table string) int {
	ts.t.Helper()
	var n int
	err := ts.db.Read(context.Background(), func(tx *storage.Tx) error {
		var err error
		n, err = tx.Count(context.Background(), table)
		return err
	})
	if err != nil {
		ts.t.Fatal(err)
	}
	return n
}

func TestSeedExamplesVerbatim(t *testing.T) {
	ts := newTestSwitch(t)
	base := strings.TrimSuffix(ts.url, "/api/json/")
	if err := ts.svc.AddUser(context.Background(), "user", "password", "system", 1); err != nil {
		t.Fatal(err)
	}
	// plans/routes/create's example names plan 2.
	ts.mustOK("plans/create", map[string]string{"name": "one"})
	ts.mustOK("plans/create", map[string]string{"name": "two"})

	r := getRaw(t, base+"/api/json/peers/create/?auth_username=user;auth_password=password;name=example;type=sip;destination=sip.example.com")
	if r.code() != "200" || r.Responses[0].Message != "OK" || r.Responses[0].Key != "" {
		t.Fatalf("peers/create example: %+v", r.Responses)
	}
	r.id(t)

	r = getRaw(t, base+"/api/json/phones/create/?auth_username=user;auth_password=password;name=1234567;password=secret")
	if r.code() != "204" || r.Data != nil {
		t.Fatalf("phones/create example: %+v data %s", r.Responses, r.Data)
	}

	r = getRaw(t, base+"/api/json/plans/routes/create/?auth_username=user;auth_password=password;plan=2;called_prefix=011")
	if r.code() != "200" {
		t.Fatalf("plans/routes/create example: %+v", r.Responses)
	}
	r.id(t)

	// The envelope's code is a JSON string, as Enswitch clients decode it.
	resp, err := http.Get(base + "/api/json/phones/get/?auth_username=user&auth_password=password&name=1234567")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"code":"200"`) {
		t.Fatalf("code is not a JSON string: %s", body)
	}
}

func TestTrailingSlashOptionalAndPostForms(t *testing.T) {
	ts := newTestSwitch(t)
	base := strings.TrimSuffix(ts.url, "/")
	r := getRaw(t, base+"/plans/create?auth_username=admin;auth_password="+adminPassword+";name=noslash")
	if r.code() != "200" {
		t.Fatalf("no trailing slash: %+v", r.Responses)
	}
	post := func(ct, body string) result {
		resp, err := http.Post(ts.url+"plans/create/", ct, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r result
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := post("application/x-www-form-urlencoded", "auth_username=admin&auth_password="+adminPassword+"&name=form"); r.code() != "200" {
		t.Fatalf("form POST: %+v", r.Responses)
	}
	if r := post("application/json", `{"auth_username":"admin","auth_password":"`+adminPassword+`","name":"json","cos_timegroup":0}`); r.code() != "200" {
		t.Fatalf("JSON POST: %+v", r.Responses)
	}
	if r := post("application/json", `{"auth_username":"admin",`); r.code() != "400" {
		t.Fatalf("broken JSON: %+v", r.Responses)
	}
	if ts.count("plans") != 3 {
		t.Fatalf("plans = %d, want 3", ts.count("plans"))
	}
}

// paramCase is a valid and an invalid value of one parameter; invalid ""
// means the parameter accepts any text (the universal invalid value, a
// control character, is used then).
type paramCase struct{ valid, invalid string }

const controlChar = "bad\nvalue"

var peerCases = map[string]paramCase{
	"name":                   {"carrier-a", "has space"},
	"type":                   {"pjsip", "h323"},
	"called_prefix":          {"00", "12a"},
	"called_strip_hash":      {"1", "2"},
	"callerid":               {"442071234567", "not-a-number"},
	"callerid_unknown":       {"Unknown", "bad\"quote"},
	"callerid_withheld":      {"Private", "semi;colon"},
	"channel_group":          {"5", "64"},
	"charge":                 {"0", "yes"},
	"codecs":                 {"ulaw,alaw", "ulaw,mp3"},
	"context":                {"from-carrier", "bad context"},
	"costs":                  {"1", "-1"},
	"currency":               {"", "GBP"},
	"customer":               {"1", "-2"},
	"description":            {"Main carrier", ""},
	"destination":            {"sip1.example.com:5062, 192.0.2.10", "bad host!"},
	"dialplan_called":        {"", "e164"},
	"dialplan_caller":        {"", "national"},
	"dtmfmode":               {"rfc4733", "sip-info"},
	"emergency_location":     {"1", "2"},
	"fail_percent":           {"25", "101"},
	"outmaximum":             {"30", "-2"},
	"password":               {"s3cret!", "with space"},
	"plan_customer":          {"0", "-5"},
	"proxy":                  {"proxy.example.com:5060", "proxy:99999"},
	"media_encryption":       {"optional", "sometimes"},
	"send_asserted_identity": {"1", "true"},
	"send_privacy":           {"1", "2"},
	"send_rpid":              {"1", "x"},
	"url_costs":              {"", "https://rates.example.com/deck.csv"},
	"username":               {"acct42", "user name"},
}

var peerDefaults = map[string]any{
	"called_prefix": "", "called_strip_hash": 0.0, "callerid": "", "callerid_unknown": "Anonymous",
	"callerid_withheld": "Anonymous", "channel_group": 1.0, "charge": 1.0,
	"codecs": "alaw,g722,g726,g729,gsm,ilbc,lpc10,slin,speex,ulaw", "context": "", "costs": 0.0,
	"currency": "", "customer": 0.0, "description": "", "dialplan_called": "", "dialplan_caller": "",
	"dtmfmode": "rfc2833", "emergency_location": 0.0, "fail_percent": 0.0, "outmaximum": -1.0, "password": "", "plan_customer": -1.0,
	"proxy": "", "send_asserted_identity": 0.0, "send_privacy": 0.0, "send_rpid": 0.0, "url_costs": "", "username": "",
}

var phoneCases = map[string]paramCase{
	"name":                    {"2001", "two words"},
	"password":                {"longsecret", "short"},
	"acr":                     {"1", "2"},
	"allowed_ua":              {"Yealink,Polycom", ""},
	"aoc":                     {"0", "1"},
	"btype":                   {"phone", "queue"},
	"bnumber":                 {"2002", "a b"},
	"call_maximum":            {"12.50", "lots"},
	"callerid_external":       {"matched_called", "sometimes"},
	"callerid_internal":       {"4420", "matched_called"},
	"callerid_location":       {"original_own_number", "somewhere"},
	"callername_external":     {"Reception", "a;b"},
	"callername_internal":     {"Front desk", "x\"y"},
	"codec":                   {"g722", "mp3"},
	"codecs":                  {"alaw,g722", "alaw,h264"},
	"cos":                     {"1", "7"},
	"customer":                {"1", "999"},
	"description":             {"Desk phone", ""},
	"delivery":                {"last_number", "fork"},
	"dialplan":                {"", "uk"},
	"direct":                  {"1", "0"},
	"dnd":                     {"1", "-1"},
	"dtype":                   {"voicemail", "ivr"},
	"dnumber":                 {"2002", "#!"},
	"emergency_address1":      {"1 High St", strings.Repeat("a", 129)},
	"emergency_address2":      {"Floor 2", strings.Repeat("b", 129)},
	"emergency_address3":      {"Room 5", strings.Repeat("c", 129)},
	"emergency_address_city":  {"London", strings.Repeat("d", 129)},
	"emergency_address_state": {"Greater London", strings.Repeat("e", 129)},
	"emergency_address_code":  {"SW1A 1AA", strings.Repeat("f", 129)},
	"emergency_address_other": {"Rear door", strings.Repeat("g", 129)},
	"emergency_country":       {"GB", "UK"},
	"emergency_location_code": {"LOC1", "LOC 1"},
	"expect_registered":       {"2", "3"},
	"forwarding":              {"07700900123", "=1+2"},
	"use_forwarding":          {"0", "2"},
	"hardware_address":        {"", "00:15:65:aa:bb:cc"},
	"language":                {"en_GB", "English"},
	"ltype":                   {"", "virtual"},
	"lnumber":                 {"2002", "a b"}, // with ltype phone: logged into 2002
	"mailbox":                 {"2002@default", "a b"},
	"media":                   {"fax", "voice_fax"},
	"media_encryption":        {"required", "sdes"},
	"missedemail":             {"0", "1"},
	"music":                   {"3", "-1"},
	"music_ringing":           {"1", "2"},
	"owner":                   {"1", "-3"},
	"panel":                   {"0", "1"},
	"pin":                     {"1234", "12a4"},
	"ping":                    {"1", "2"},
	"plan":                    {"1", "9999"},
	"presentation_external":   {"0", "2"},
	"presentation_internal":   {"0", "3"},
	"provision1":              {"", "line1=1"},
	"provisioning":            {"0", "2"},
	"recordgroup":             {"0", "4"},
	"registrar":               {"", "sip.example.com"},
	"ringtime":                {"30", "0"},
	"screen":                  {"0", "2"},
	"source":                  {"192.0.2.7,192.168.10.0/24", "192.0.2.300"},
	"totalmaximum":            {"4", "-2"},
	"utype":                   {"external", "nowhere"},
	"unumber":                 {"07700900123", "a b"},
	"unumber_group":           {"0", "1"},
}

var phoneDefaults = map[string]any{
	"acr": 0.0, "allowed_ua": "", "aoc": 0.0, "btype": "hangup", "bnumber": "", "call_maximum": -1.0,
	"callerid_external": "default", "callerid_internal": "default", "callerid_location": "",
	"callername_external": "", "callername_internal": "", "codec": "", "codecs": "", "cos": 0.0, "customer": 1.0,
	"description": "", "delivery": "register", "dialplan": "", "direct": 1.0, "dnd": 0.0, "dtype": "hangup",
	"dnumber": "", "emergency_address1": "", "emergency_address2": "", "emergency_address3": "",
	"emergency_address_city": "", "emergency_address_state": "", "emergency_address_code": "",
	"emergency_address_other": "", "emergency_country": "", "emergency_location_code": "",
	"expect_registered": 1.0, "forwarding": "", "use_forwarding": 1.0, "hardware_address": "",
	"language": "", "ltype": "", "lnumber": "", "mailbox": "", "media": "voice", "missedemail": 0.0,
	"music": 0.0, "music_ringing": 0.0, "owner": 0.0, "panel": 0.0, "pin": "", "ping": 0.0, "plan": 0.0,
	"presentation_external": 1.0, "presentation_internal": 1.0, "provision1": "", "provisioning": 0.0,
	"recordgroup": 0.0, "registrar": "", "ringtime": 15.0, "screen": 0.0, "source": "", "totalmaximum": -1.0,
	"utype": "hangup", "unumber": "", "unumber_group": 0.0,
}

var routeCases = map[string]paramCase{
	"called_prefix": {"4420", "44+20"},
	"plan":          {"1", "0"},
	"allow":         {"3", "4"},
	"caller_prefix": {"44", "x"},
	"description":   {"London", ""},
	"media":         {"voice", "video"},
	"peer1":         {"-1", "-2"},
	"peer2":         {"1", "999"},
	"peer3":         {"0", "abc"},
}

var routeDefaults = map[string]any{
	"allow": 1.0, "caller_prefix": "", "description": "", "media": "voice_fax", "peer1": 0.0, "peer2": 0.0, "peer3": 0.0,
}

// seedFixture prepares what references in the cases point at: plan 1,
// peer 1, phone 2002, user 1 (admin).
func seedFixture(ts *testSwitch) {
	ts.mustOK("plans/create", map[string]string{"name": "Retail"})
	ts.mustOK("peers/create", map[string]string{"name": "fixture-peer", "type": "sip", "destination": "192.0.2.1"})
	ts.mustOK("phones/create", map[string]string{"name": "2002", "password": "fixture-pw"})
}

type seedFunction struct {
	create, get, key string
	required         map[string]string
	cases            map[string]paramCase
	defaults         map[string]any
	table            string
	spec             *engine.Spec
	// needs gives parameters a case depends on (bnumber needs a btype).
	needs map[string]map[string]string
}

func seedFunctions() []seedFunction {
	return []seedFunction{
		{
			create: "peers/create", get: "peers/get", key: "id", table: "peers", spec: engine.PeerSpec,
			required: map[string]string{"name": "carrier-x", "type": "sip", "destination": "192.0.2.50"},
			cases:    peerCases, defaults: peerDefaults,
			needs: map[string]map[string]string{"context": {"type": "context"}, "channel_group": {"type": "dahdi"}},
		},
		{
			create: "phones/create", get: "phones/get", key: "name", table: "phones", spec: engine.PhoneSpec,
			required: map[string]string{"name": "3001", "password": "line-secret"},
			cases:    phoneCases, defaults: phoneDefaults,
			needs: map[string]map[string]string{
				"bnumber": {"btype": "phone"}, "dnumber": {"dtype": "phone"}, "unumber": {"utype": "external"},
				"btype": {"bnumber": "2002"}, "dtype": {"dnumber": "2002"}, "utype": {"unumber": "2002"},
				"lnumber": {"ltype": "phone"},
				// An address needs its country.
				"emergency_address1": {"emergency_country": "GB"}, "emergency_address2": {"emergency_country": "GB"},
				"emergency_address3": {"emergency_country": "GB"}, "emergency_address_city": {"emergency_country": "GB"},
				"emergency_address_state": {"emergency_country": "GB"}, "emergency_address_code": {"emergency_country": "GB"},
				"emergency_address_other": {"emergency_country": "GB"}, "emergency_location_code": {"emergency_country": "GB"},
			},
		},
		{
			create: "plans/routes/create", get: "plans/routes/get", key: "id", table: "plan_routes", spec: engine.RouteSpec,
			required: map[string]string{"plan": "1", "called_prefix": "9"},
			cases:    routeCases, defaults: routeDefaults,
		},
	}
}

func TestEverySeedParameter(t *testing.T) {
	for _, fn := range seedFunctions() {
		t.Run(fn.create, func(t *testing.T) {
			ts := newTestSwitch(t)
			seedFixture(ts)
			// Every parameter of the page has a case: a new spec parameter
			// without one fails here.
			for _, p := range fn.spec.Params {
				if _, ok := fn.cases[p.Name]; !ok && !p.NotStored && p.Name != "timegroup" {
					t.Errorf("no test case for parameter %s", p.Name)
				}
			}
			n := 0
			for name, c := range fn.cases {
				n++
				params := map[string]string{}
				maps.Copy(params, fn.required)
				maps.Copy(params, fn.needs[name])
				if fn.key == "name" && name != "name" {
					params["name"] = fmt.Sprintf("%s%d", fn.required["name"], n)
				}
				if fn.create == "plans/routes/create" && name != "called_prefix" {
					params["called_prefix"] = fmt.Sprintf("9%d", n)
				}
				if fn.create == "peers/create" && name != "name" {
					params["name"] = fmt.Sprintf("carrier-%d", n)
				}
				before := ts.count(fn.table)
				// Invalid value: 400 naming the parameter, nothing stored.
				invalid := c.invalid
				if invalid == "" {
					invalid = controlChar
				}
				bad := map[string]string{}
				maps.Copy(bad, params)
				bad[name] = invalid
				r := ts.call(fn.create, bad)
				if r.code() != "400" || !hasKey(r, name) {
					t.Errorf("%s=%q: got %+v, want 400 with key %s", name, invalid, r.Responses, name)
				}
				if ts.count(fn.table) != before {
					t.Fatalf("%s=%q: a rejected create stored a row", name, invalid)
				}
				// Valid value: stored and read back.
				params[name] = c.valid
				r = ts.call(fn.create, params)
				if c := r.code(); c != "200" && c != "204" {
					t.Errorf("%s=%q: got %+v, want success", name, params[name], r.Responses)
					continue
				}
				key := params["name"]
				if fn.key == "id" {
					key = fmt.Sprint(r.id(t))
				}
				getParams := map[string]string{fn.key: key, "password": "1"}
				obj := ts.mustOK(fn.get, getParams).object(t)
				if got := fmt.Sprint(obj[name]); !sameValue(got, c.valid) {
					t.Errorf("%s: stored %q, read back %q", name, c.valid, got)
				}
			}
		})
	}
}

func TestSeedDefaults(t *testing.T) {
	for _, fn := range seedFunctions() {
		t.Run(fn.create, func(t *testing.T) {
			ts := newTestSwitch(t)
			seedFixture(ts)
			r := ts.mustOK(fn.create, fn.required)
			key := fn.required["name"]
			if fn.key == "id" {
				key = fmt.Sprint(r.id(t))
			}
			obj := ts.mustOK(fn.get, map[string]string{fn.key: key}).object(t)
			for name, want := range fn.defaults {
				if obj[name] != want {
					t.Errorf("default of %s = %#v, want %#v", name, obj[name], want)
				}
			}
		})
	}
}

// sameValue compares a submitted value with what get returns (numbers come
// back as JSON numbers, lists with normalized spacing).
func sameValue(got, sent string) bool {
	if got == sent {
		return true
	}
	var a, b float64
	if _, err := fmt.Sscan(got, &a); err == nil {
		if _, err := fmt.Sscan(sent, &b); err == nil && a == b {
			return true
		}
	}
	return false
}

func hasKey(r result, key string) bool {
	for _, resp := range r.Responses {
		if resp.Key == key {
			return true
		}
	}
	return false
}

func TestConditionalRequirements(t *testing.T) {
	ts := newTestSwitch(t)
	seedFixture(ts)
	cases := []struct {
		function string
		params   map[string]string
		key      string
	}{
		{"peers/create", map[string]string{"name": "z1", "type": "zap", "channel_group": ""}, "channel_group"},
		{"peers/create", map[string]string{"name": "c1", "type": "context"}, "context"},
		{"peers/create", map[string]string{"name": "s1", "type": "sip"}, "destination"},
		{"peers/create", map[string]string{"name": "p1", "type": "pjsip"}, "destination"},
		{"peers/create", map[string]string{"name": "i1", "type": "iax"}, "destination"},
		{"phones/create", map[string]string{"name": "4001"}, "password"},
		{"phones/create", map[string]string{"name": "4002", "copy_password": "nosuch"}, "copy_password"},
		{"plans/routes/create", map[string]string{"plan": "1"}, "called_prefix"},
		{"plans/routes/create", map[string]string{"called_prefix": "1"}, "plan"},
	}
	for _, c := range cases {
		r := ts.call(c.function, c.params)
		if r.code() != "400" || !hasKey(r, c.key) {
			t.Errorf("%s %v: %+v, want 400 key %s", c.function, c.params, r.Responses, c.key)
		}
	}
	// dahdi without channel_group takes the default 1 and is valid.
	ts.mustOK("peers/create", map[string]string{"name": "d1", "type": "dahdi"})
	// copy_password copies from a line of the same customer.
	ts.mustOK("phones/create", map[string]string{"name": "4003", "copy_password": "2002"})
	obj := ts.mustOK("phones/get", map[string]string{"name": "4003", "password": "1"}).object(t)
	if obj["password"] != "fixture-pw" {
		t.Fatalf("copy_password: password %v", obj["password"])
	}
	// An empty called_prefix is a catch-all route, and allowed.
	ts.mustOK("plans/routes/create", map[string]string{"plan": "1", "called_prefix": ""})
	// Several problems come back as several responses.
	r := ts.call("peers/create", map[string]string{"name": "bad name", "type": "sip", "fail_percent": "500"})
	if len(r.Responses) != 3 {
		t.Fatalf("want 3 problems (name, destination, fail_percent), got %+v", r.Responses)
	}
}

func TestValidationOnlyWritesNothing(t *testing.T) {
	ts := newTestSwitch(t)
	seedFixture(ts)
	rev := ts.db.Revision()
	for fn, params := range map[string]map[string]string{
		"peers/create":        {"name": "v1", "type": "sip", "destination": "192.0.2.9", "validation": "1"},
		"phones/create":       {"name": "5001", "password": "validpw", "validation": "1"},
		"plans/routes/create": {"plan": "1", "called_prefix": "5", "validation": "1"},
	} {
		if r := ts.call(fn, params); r.code() != "201" {
			t.Errorf("%s validation=1: %+v", fn, r.Responses)
		}
	}
	if r := ts.call("phones/create", map[string]string{"name": "5002", "validation": "1"}); r.code() != "400" {
		t.Errorf("validation=1 with a bad request: %+v", r.Responses)
	}
	if ts.db.Revision() != rev {
		t.Fatalf("validation=1 moved the store revision from %d to %d", rev, ts.db.Revision())
	}
}

func TestUpdateIsPartial(t *testing.T) {
	ts := newTestSwitch(t)
	seedFixture(ts)
	ts.mustOK("phones/create", map[string]string{"name": "6001", "password": "pw-6001", "ringtime": "25", "description": "before"})
	ts.mustOK("phones/update", map[string]string{"name": "6001", "description": "after"})
	obj := ts.mustOK("phones/get", map[string]string{"name": "6001", "password": "1"}).object(t)
	if obj["description"] != "after" || obj["ringtime"] != 25.0 || obj["password"] != "pw-6001" {
		t.Fatalf("partial update lost fields: %v", obj)
	}
	// A conditional rule sees the merged object: setting btype alone needs
	// a bnumber.
	if r := ts.call("phones/update", map[string]string{"name": "6001", "btype": "phone"}); r.code() != "400" || !hasKey(r, "bnumber") {
		t.Fatalf("update btype without bnumber: %+v", r.Responses)
	}
	id := ts.mustOK("plans/routes/create", map[string]string{"plan": "1", "called_prefix": "44"}).id(t)
	ts.mustOK("plans/create", map[string]string{"name": "other"})
	if r := ts.call("plans/routes/update", map[string]string{"id": fmt.Sprint(id), "plan": "2"}); r.code() != "400" || !hasKey(r, "plan") {
		t.Fatalf("moving a route to another plan: %+v", r.Responses)
	}
	ts.mustOK("plans/routes/update", map[string]string{"id": fmt.Sprint(id), "allow": "0"})
	if r := ts.call("plans/routes/update", map[string]string{"id": "999", "allow": "0"}); r.code() != "404" {
		t.Fatalf("update of a missing route: %+v", r.Responses)
	}
}

func TestListPagingAndSorting(t *testing.T) {
	ts := newTestSwitch(t)
	seedFixture(ts)
	for _, p := range []string{"3", "1", "2"} {
		ts.mustOK("plans/routes/create", map[string]string{"plan": "1", "called_prefix": p, "description": "d" + p})
	}
	var rows []map[string]any
	json.Unmarshal(ts.mustOK("plans/routes/list", map[string]string{"plan": "1"}).Data, &rows)
	if len(rows) != 3 || rows[0]["called_prefix"] != "1" || rows[2]["called_prefix"] != "3" {
		t.Fatalf("sorted by called_prefix: %v", rows)
	}
	json.Unmarshal(ts.mustOK("plans/routes/list", map[string]string{"plan": "1", "descending": "1", "limit": "1", "offset": "1"}).Data, &rows)
	if len(rows) != 1 || rows[0]["called_prefix"] != "2" {
		t.Fatalf("descending, limit 1 offset 1: %v", rows)
	}
	var cnt map[string]int
	json.Unmarshal(ts.mustOK("plans/routes/list", map[string]string{"plan": "1", "count": "1"}).Data, &cnt)
	if cnt["count"] != 3 {
		t.Fatalf("count: %v", cnt)
	}
	if r := ts.call("plans/routes/list", map[string]string{"plan": "1", "sort": "password"}); r.code() != "400" || !hasKey(r, "sort") {
		t.Fatalf("bad sort: %+v", r.Responses)
	}
	if r := ts.call("plans/routes/list", map[string]string{}); r.code() != "400" || !hasKey(r, "plan") {
		t.Fatalf("list without plan: %+v", r.Responses)
	}
	json.Unmarshal(ts.mustOK("phones/list", nil).Data, &rows)
	if len(rows) != 1 || rows[0]["password"] != nil {
		t.Fatalf("phones/list must hide passwords unless asked: %v", rows)
	}
}

func TestDeleteRefusesWhatIsInUse(t *testing.T) {
	ts := newTestSwitch(t)
	seedFixture(ts)
	id := ts.mustOK("plans/routes/create", map[string]string{"plan": "1", "called_prefix": "1", "peer1": "1"}).id(t)
	if r := ts.call("peers/delete", map[string]string{"id": "1"}); r.code() != "400" || !hasKey(r, "id") {
		t.Fatalf("deleting a peer in use: %+v", r.Responses)
	}
	ts.mustOK("plans/routes/delete", map[string]string{"id": fmt.Sprint(id)})
	ts.mustOK("peers/delete", map[string]string{"id": "1"})
	if r := ts.call("peers/get", map[string]string{"id": "1"}); r.code() != "404" {
		t.Fatalf("deleted peer still there: %+v", r.Responses)
	}
	ts.mustOK("phones/delete", map[string]string{"name": "2002"})
	if ts.count("phones") != 0 {
		t.Fatal("phone not deleted")
	}
}

func TestAuthRolesAndCustomerTree(t *testing.T) {
	ts := newTestSwitch(t)
	ctx := context.Background()
	seedFixture(ts)
	// Customer 2 (reseller) under 1, customer 3 under 2, customer 4 under 1.
	for _, c := range []map[string]string{{"name": "Reseller", "parent": "1"}, {"name": "Child", "parent": "2"}, {"name": "Other", "parent": "1"}} {
		ts.mustOK("customers/create", c)
	}
	for _, u := range []struct {
		name, role string
		customer   int
	}{{"reseller", "reseller", 2}, {"resident", "residential", 3}, {"commerce", "commerce", 2}} {
		if err := ts.svc.AddUser(ctx, u.name, "password-"+u.name, u.role, u.customer); err != nil {
			t.Fatal(err)
		}
	}
	as := func(user, fn string, p map[string]string) result { return ts.callAs(user, "password-"+user, fn, p) }

	if r := ts.callAs("admin", "wrong-password", "plans/list", nil); r.code() != "401" {
		t.Errorf("wrong password: %+v", r.Responses)
	}
	if r := ts.callAs("nobody", "whatever-pw", "plans/list", nil); r.code() != "401" {
		t.Errorf("unknown user: %+v", r.Responses)
	}
	if r := as("reseller", "peers/create", map[string]string{"name": "rp", "type": "sip", "destination": "192.0.2.3"}); r.code() != "402" {
		t.Errorf("reseller creating a peer: %+v", r.Responses)
	}
	if r := as("resident", "phones/create", map[string]string{"name": "7001", "password": "pw-7001"}); r.code() != "402" {
		t.Errorf("residential creating a phone: %+v", r.Responses)
	}
	// A reseller creates in its own tree, by default in its own customer.
	if r := as("reseller", "phones/create", map[string]string{"name": "7002", "password": "pw-7002"}); r.code() != "204" {
		t.Fatalf("reseller phone: %+v", r.Responses)
	}
	if r := as("reseller", "phones/create", map[string]string{"name": "7003", "password": "pw-7003", "customer": "3"}); r.code() != "204" {
		t.Fatalf("reseller phone in child customer: %+v", r.Responses)
	}
	// ... but never outside it.
	if r := as("reseller", "phones/create", map[string]string{"name": "7004", "password": "pw-7004", "customer": "4"}); r.code() != "400" || !hasKey(r, "customer") {
		t.Errorf("reseller phone in a sibling customer: %+v", r.Responses)
	}
	if r := as("reseller", "phones/create", map[string]string{"name": "7005", "password": "pw-7005", "customer": "1"}); r.code() != "400" || !hasKey(r, "customer") {
		t.Errorf("reseller phone in its parent customer: %+v", r.Responses)
	}
	// Objects of other customers are invisible: 404, not 402.
	if r := as("reseller", "phones/get", map[string]string{"name": "2002"}); r.code() != "404" {
		t.Errorf("reseller reading the system's phone: %+v", r.Responses)
	}
	if r := as("reseller", "phones/update", map[string]string{"name": "2002", "dnd": "1"}); r.code() != "404" {
		t.Errorf("reseller updating the system's phone: %+v", r.Responses)
	}
	var rows []map[string]any
	json.Unmarshal(as("reseller", "phones/list", nil).Data, &rows)
	if len(rows) != 2 {
		t.Errorf("reseller sees %d phones, want its 2: %v", len(rows), rows)
	}
	// Routes: the commerce user may not route its plan to a peer that is
	// not offered to its customer (plan_customer), nor edit others' plans.
	pid := as("commerce", "plans/create", map[string]string{"name": "reseller plan"}).id(t)
	ts.mustOK("peers/update", map[string]string{"id": "1", "plan_customer": "4"})
	if r := as("commerce", "plans/routes/create", map[string]string{"plan": fmt.Sprint(pid), "called_prefix": "1", "peer1": "1"}); r.code() != "400" || !hasKey(r, "peer1") {
		t.Errorf("route to a peer not offered: %+v", r.Responses)
	}
	if r := as("commerce", "plans/routes/create", map[string]string{"plan": "1", "called_prefix": "1"}); r.code() != "400" || !hasKey(r, "plan") {
		t.Errorf("route in the system's plan: %+v", r.Responses)
	}
	ts.mustOK("peers/update", map[string]string{"id": "1", "plan_customer": "2"})
	if r := as("commerce", "plans/routes/create", map[string]string{"plan": fmt.Sprint(pid), "called_prefix": "1", "peer1": "1"}); r.code() != "200" {
		t.Errorf("route to a peer offered to the reseller: %+v", r.Responses)
	}
	// Non-system users see only id and name of a peer.
	obj := as("commerce", "peers/get", map[string]string{"id": "1"}).object(t)
	if len(obj) != 2 || obj["name"] != "fixture-peer" {
		t.Errorf("peer as seen by commerce: %v", obj)
	}
}

func TestFailedLoginsAreRateLimited(t *testing.T) {
	ts := newTestSwitch(t)
	for i := 0; i < engine.DefaultLoginLimits().Failures; i++ {
		ts.callAs("admin", "guess", "plans/list", nil)
	}
	r := ts.callAs("admin", adminPassword, "plans/list", nil)
	if r.code() != "401" || !strings.Contains(r.Responses[0].Message, "Too many") {
		t.Fatalf("right password after 10 failures must still be refused: %+v", r.Responses)
	}
}

func TestUnknownFunctionAndMethod(t *testing.T) {
	ts := newTestSwitch(t)
	if r := ts.call("peers/frobnicate", nil); r.code() != "404" {
		t.Fatalf("unknown function: %+v", r.Responses)
	}
	req, _ := http.NewRequest(http.MethodDelete, ts.url+"peers/list/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d for DELETE", resp.StatusCode)
	}
}
