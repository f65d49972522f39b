package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/render"
	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

var update = flag.Bool("update", false, "rewrite golden files")

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type gateway struct {
	t     testing.TB
	base  string
	svc   *engine.Service
	db    *storage.DB
	clock *fakeClock
}

func newGateway(t testing.TB, opts ...api.GatewayOption) *gateway {
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
	clock := &fakeClock{t: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	h := api.NewGatewayHandler(svc, append([]api.GatewayOption{api.WithGatewayClock(clock.Now)}, opts...)...)
	mux := http.NewServeMux()
	mux.Handle(api.GatewayLoginPath, h)
	mux.Handle(api.GatewayJSONPath, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); db.Close() })
	return &gateway{t: t, base: srv.URL, svc: svc, db: db, clock: clock}
}

type answer map[string]any

func (a answer) ok() bool       { return a["result"] == "success" }
func (a answer) key() string    { s, _ := a["error_key"].(string); return s }
func (a answer) String() string { b, _ := json.Marshal(a); return string(b) }

// post sends one method call; user "" sends no basic auth.
func (g *gateway) post(client *http.Client, user, pw, method string, params any) answer {
	g.t.Helper()
	body, err := json.Marshal(map[string]any{"method": method, "parameters": params})
	if err != nil {
		g.t.Fatal(err)
	}
	return g.postRaw(client, user, pw, body)
}

func (g *gateway) postRaw(client *http.Client, user, pw string, body []byte) answer {
	g.t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.base+api.GatewayJSONPath, bytes.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.SetBasicAuth(user, pw)
	}
	return g.do(client, req)
}

func (g *gateway) do(client *http.Client, req *http.Request) answer {
	g.t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		g.t.Fatalf("HTTP %d", resp.StatusCode)
	}
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		g.t.Fatal(err)
	}
	return a
}

// admin calls a method with basic auth as the system owner.
func (g *gateway) admin(method string, params any) answer {
	g.t.Helper()
	return g.post(nil, "admin", adminPassword, method, params)
}

func (g *gateway) login(user, pw string) (*http.Client, answer, *http.Response) {
	g.t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(g.base+api.GatewayLoginPath, url.Values{"admin_uid": {user}, "admin_password": {pw}})
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		g.t.Fatal(err)
	}
	return client, a, resp
}

func (g *gateway) endpoint(name string) map[string]any {
	g.t.Helper()
	a := g.admin("sip_endpoint.list", map[string]any{"object_name": name})
	if !a.ok() {
		g.t.Fatalf("list %s: %v", name, a)
	}
	return a["sip_endpoint"].(map[string]any)
}

// exampleOne is the page's Example One request.
var exampleOne = map[string]any{
	"transport":   []string{"UDP"},
	"nat":         "yes",
	"name":        "8005555555",
	"secret":      "sdlkfj9348jkh7",
	"defaultuser": "38fh48fjh47f",
	"host":        "dynamic",
	"qualifyfreq": "60",
}

// section cuts [name] and its lines out of a rendered file.
func section(conf, name string) string {
	start := strings.Index(conf, "\n["+name+"]")
	if start < 0 {
		return ""
	}
	rest := conf[start+1:]
	if end := strings.Index(rest, "\n\n["); end >= 0 {
		rest = rest[:end+1]
	}
	return rest
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "gateway", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden (go test ./api -run %s -update):\n--- got\n%s\n--- want\n%s", name, t.Name(), got, want)
	}
}

func TestGatewayExampleOneRenders(t *testing.T) {
	g := newGateway(t)
	client, a, _ := g.login("admin", adminPassword)
	if !a.ok() {
		t.Fatalf("login: %v", a)
	}
	a = g.post(client, "", "", "sip_endpoint.save", exampleOne)
	if !a.ok() || a["object_id"] != "1" || a["warnings"] != nil {
		t.Fatalf("save: %v", a)
	}
	e := g.endpoint("8005555555")
	for k, want := range map[string]string{"nat": "yes", "secret": "sdlkfj9348jkh7", "defaultuser": "38fh48fjh47f", "host": "dynamic",
		"qualifyfreq": "60", "registration": "none", "dtmfmode": "auto", "max_forwards": "3", "t38pt_udptl": "yes,redundancy", "object_id": "1"} {
		if e[k] != want {
			t.Errorf("%s = %v, want %q", k, e[k], want)
		}
	}
	snap, err := g.svc.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	files, err := render.Render(snap)
	if err != nil {
		t.Fatal(err)
	}
	chanSIP, err := render.Render(snap, render.WithSIPDriver(render.DriverChanSIP))
	if err != nil {
		t.Fatal(err)
	}
	sip := section(string(chanSIP[render.FileSIP]), "8005555555")
	pj := string(files[render.FilePJSIP])
	var pjSections []string
	for _, s := range []string{"8005555555"} {
		for c := pj; ; {
			i := strings.Index(c, "\n["+s+"]")
			if i < 0 {
				break
			}
			pjSections = append(pjSections, section(c[i:], s))
			c = c[i+1:]
		}
	}
	if sip == "" || len(pjSections) == 0 {
		t.Fatalf("sections missing:\n%s\n%s", files[render.FileSIP], pj)
	}
	// The secret Asterisk only checks is rendered as its digest (echo -n
	// 8005555555:asterisk:sdlkfj9348jkh7 | md5sum).
	for _, want := range []string{"host=dynamic", "defaultuser=38fh48fjh47f", "md5secret=6fcc54e06a4da7ae7345f74d91b08598", "transport=udp", "nat=force_rport,comedia", "qualifyfreq=60"} {
		if !strings.Contains(sip, want+"\n") {
			t.Errorf("sip.conf [8005555555] lacks %q:\n%s", want, sip)
		}
	}
	golden(t, "example-one.sip.conf", sip)
	golden(t, "example-one.pjsip.conf", strings.Join(pjSections, "\n"))
}

// gwParamCase is one parameter's valid and invalid input; stored is the
// valid input's canonical form (sip_endpoint.list), "" when equal.
type gwParamCase struct {
	valid, invalid any
	stored         any
	extra          map[string]any // other parameters the case needs
}

// everyParameter lists every parameter of the sip_endpoint.save page by
// hand, so a parameter missing from the spec (or added without a test)
// fails TestGatewayEveryParameter.
var everyParameter = map[string]gwParamCase{
	"name":                 {valid: "ep-name.1", invalid: "-bad"},
	"defaultuser":          {valid: "user1", invalid: "a b"},
	"secret":               {valid: "s3cret99", invalid: "abc"},
	"registration":         {valid: "in", invalid: "both"},
	"host":                 {valid: "192.0.2.7", invalid: "bad host"},
	"transport":            {valid: []string{"udp", "TLS", "UDP"}, invalid: []string{"SCTP"}, stored: []any{"UDP", "TLS"}},
	"nat":                  {valid: "comedia", invalid: "maybe"},
	"auth":                 {valid: "u:p@realm.example", invalid: "nouser"},
	"fromuser":             {valid: "from1", invalid: `x"y`},
	"fromdomain":           {valid: "example.com", invalid: "bad domain"},
	"remotesecret":         {valid: "remote1", invalid: "a;b"},
	"port":                 {valid: "5070", invalid: "65536"},
	"qualify":              {valid: "1", invalid: "2"},
	"qualifyfreq":          {valid: 120, invalid: "0", stored: "120"},
	"dtmfmode":             {valid: "rfc2833", invalid: "rfc4733"},
	"trustrpid":            {valid: true, invalid: "yes", stored: "1"},
	"sendrpid":             {valid: "1", invalid: "-1"},
	"rpid_format":          {valid: "rpid", invalid: "pai"},
	"callingpres":          {valid: "prohib", invalid: "hidden"},
	"progressinband":       {valid: "yes", invalid: "always"},
	"allowoverlap":         {valid: "1", invalid: "dtmf"},
	"usereqphone":          {valid: "1", invalid: "x"},
	"use_q850_reason":      {valid: "1", invalid: "3"},
	"honorsdpversion":      {valid: "0", invalid: "no"},
	"max_forwards":         {valid: "70", invalid: "0"},
	"registertrying":       {valid: "1", invalid: "11"},
	"outboundproxy":        {valid: "proxy.example.com:5060", invalid: "proxy..example"},
	"timert1":              {valid: "1000", invalid: "99"},
	"timerb":               {valid: "64000", invalid: "999"},
	"session-timers":       {valid: "originate", invalid: "always"},
	"session-minse":        {valid: "120", invalid: "89"},
	"session-expires":      {valid: "3600", invalid: "60"},
	"session-refresher":    {valid: "uac", invalid: "both"},
	"audio_codecs":         {valid: []map[string]any{{"id": "g729", "value": 0}, {"id": "gsm", "value": "0"}}, invalid: []map[string]any{{"id": "opus", "value": 1}}, stored: []any{map[string]any{"id": "ulaw", "value": "1"}, map[string]any{"id": "alaw", "value": "1"}, map[string]any{"id": "g722", "value": "1"}, map[string]any{"id": "g726", "value": "1"}, map[string]any{"id": "g729", "value": "0"}, map[string]any{"id": "gsm", "value": "0"}}},
	"codec_order":          {valid: []map[string]any{{"id": "g729"}, {"id": "alaw"}}, invalid: []string{"g729", "g729"}, stored: []any{map[string]any{"id": "g729", "order": "1"}, map[string]any{"id": "alaw", "order": "2"}, map[string]any{"id": "ulaw", "order": "3"}, map[string]any{"id": "g722", "order": "4"}, map[string]any{"id": "g726", "order": "5"}, map[string]any{"id": "gsm", "order": "6"}}},
	"alaw_pr":              {valid: "30", invalid: "60"},
	"ulaw_pr":              {valid: "50", invalid: "25"},
	"gsm_pr":               {valid: "20", invalid: "30"},
	"g722_pr":              {valid: "40", invalid: "50"},
	"g726_pr":              {valid: "200", invalid: "210"},
	"g726nonstandard":      {valid: "1", invalid: "true-ish"},
	"g729_pr":              {valid: "10", invalid: "5"},
	"preferred_codec_only": {valid: "1", invalid: "y"},
	"t38pt_udptl":          {valid: "yes, fec", invalid: "yes", stored: "yes,fec"},
	"t1min":                {valid: "200", invalid: "fast", stored: "200ms"},
	"allowtransfer":        {valid: "0", invalid: "no"},
	"promiscredir":         {valid: "1", invalid: "on"},
	"rtptimeout":           {valid: "1", invalid: "60"},
	"rtpholdtimeout":       {valid: "1", invalid: "300"},
	"t38transport":         {valid: "udptl", invalid: "tcp"},
	"insecure":             {valid: "1", invalid: "port,invite"},
	"enable_advanced":      {valid: "1", invalid: "2"},
	"extension":            {valid: "1000", invalid: "a b"},
	"rtpjittermode":        {valid: "static", invalid: "fixed"},
	"rtpjitterdelay":       {valid: "100", invalid: "101"},
}

func TestGatewayEveryParameter(t *testing.T) {
	for _, p := range engine.SIPEndpointSpec.Params {
		if _, ok := everyParameter[p.Name]; !ok {
			t.Errorf("spec parameter %q has no hand-written case", p.Name)
		}
	}
	for name := range everyParameter {
		if _, ok := engine.SIPEndpointSpec.Param(name); !ok {
			t.Errorf("page parameter %q is missing from SIPEndpointSpec", name)
		}
	}
	g := newGateway(t)
	n := 0
	for name, c := range everyParameter {
		t.Run(name, func(t *testing.T) {
			n++
			epName := fmt.Sprintf("ep%d", n)
			params := map[string]any{"name": epName}
			maps.Copy(params, c.extra)
			params[name] = c.valid
			a := g.admin("sip_endpoint.save", params)
			if !a.ok() {
				t.Fatalf("valid %v: %v", c.valid, a)
			}
			if name == "name" {
				epName = c.valid.(string)
			}
			want := c.stored
			if want == nil {
				want = fmt.Sprint(c.valid)
			}
			got := g.endpoint(epName)[name]
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("stored %s = %v, want %v", name, got, want)
			}
			assertRejected(t, g, map[string]any{"name": epName, name: c.invalid}, "INVALID_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_")))
		})
	}
}

// assertRejected saves params, expecting errorKey and no write at all.
func assertRejected(t *testing.T, g *gateway, params map[string]any, errorKey string) {
	t.Helper()
	before := g.db.Revision()
	snapBefore, _ := g.svc.Snapshot(context.Background())
	a := g.admin("sip_endpoint.save", params)
	if a.ok() || a.key() != errorKey {
		t.Fatalf("save %v: got %v, want error_key %s", params, a, errorKey)
	}
	if msg, _ := a["error"].(string); msg == "" {
		t.Fatalf("no error sentence: %v", a)
	}
	if after := g.db.Revision(); after != before {
		t.Fatalf("revision moved %d -> %d on a rejected save", before, after)
	}
	snapAfter, _ := g.svc.Snapshot(context.Background())
	if fmt.Sprint(snapAfter.SIPEndpoints) != fmt.Sprint(snapBefore.SIPEndpoints) {
		t.Fatalf("endpoints changed on a rejected save")
	}
}

// TestGatewaySpecGenerated checks every enum value and both ends of every
// range the spec declares, plus one step outside each.
func TestGatewaySpecGenerated(t *testing.T) {
	g := newGateway(t)
	// session-minse up to 86400 needs session-expires at least as large.
	base := map[string]any{"name": "gen", "session-expires": "86400"}
	if a := g.admin("sip_endpoint.save", base); !a.ok() {
		t.Fatal(a)
	}
	for _, p := range engine.SIPEndpointSpec.Params {
		key := "INVALID_" + strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_"))
		var valid, invalid []string
		switch {
		case p.Enum != nil:
			valid = append(valid, p.Enum...)
			invalid = append(invalid, "not-"+p.Name)
			if p.Type == engine.Integer {
				invalid = append(invalid, "99")
			}
		case p.Type == engine.Integer && p.MinSet && p.MaxSet:
			valid = append(valid, strconv.Itoa(int(p.Min)), strconv.Itoa(int(p.Max)))
			invalid = append(invalid, strconv.Itoa(int(p.Min)-1), strconv.Itoa(int(p.Max)+1), "ten")
		default:
			continue
		}
		for _, v := range valid {
			if v == "" && p.Name == "t38transport" {
				continue
			}
			params := map[string]any{"name": "gen", p.Name: v}
			switch {
			case p.Name == "registration" && v == "out":
				params["host"] = "192.0.2.1"
			case p.Name == "session-expires":
				params["session-minse"] = "90"
			case p.Name == "session-minse":
				params["session-expires"] = "86400"
			}
			if a := g.admin("sip_endpoint.save", params); !a.ok() {
				t.Errorf("%s=%q: %v", p.Name, v, a)
				continue
			}
			if got := g.endpoint("gen")[p.Name]; got != v {
				t.Errorf("%s=%q stored as %v", p.Name, v, got)
			}
		}
		for _, v := range invalid {
			assertRejected(t, g, map[string]any{"name": "gen", p.Name: v}, key)
		}
	}
}

func TestGatewayCrossRulesAndWarnings(t *testing.T) {
	g := newGateway(t)
	assertRejected(t, g, map[string]any{"name": "r1", "registration": "out"}, "MISSING_HOST")
	assertRejected(t, g, map[string]any{"name": "r1", "registration": "out", "host": "dynamic"}, "INVALID_HOST")
	assertRejected(t, g, map[string]any{"name": "r1", "session-minse": "1800", "session-expires": "900"}, "INVALID_SESSION_EXPIRES")
	assertRejected(t, g, map[string]any{"name": "r1", "registration": "out", "host": "h.example", "secret": "ab/cdef"}, "INVALID_SECRET")
	assertRejected(t, g, map[string]any{"name": "r1", "audio_codecs": "g729", "codec_order": []string{"g729"}, "alaw_pr": "15"}, "INVALID_ALAW_PR")
	assertRejected(t, g, map[string]any{"name": "r1", "audio_codecs": []map[string]any{{"id": "ulaw", "value": 0}, {"id": "alaw", "value": 0}, {"id": "g722", "value": 0}, {"id": "g726", "value": 0}, {"id": "g729", "value": 0}, {"id": "gsm", "value": 0}}}, "INVALID_AUDIO_CODECS")
	assertRejected(t, g, map[string]any{"secret": "abcdefgh"}, "MISSING_NAME")
	assertRejected(t, g, map[string]any{"name": []string{"x"}}, "INVALID_NAME")

	warnings := func(a answer) []string {
		var keys []string
		ws, _ := a["warnings"].([]any)
		for _, w := range ws {
			m := w.(map[string]any)
			if m["warning"] == "" {
				t.Errorf("warning without sentence: %v", m)
			}
			keys = append(keys, m["warning_key"].(string))
		}
		return keys
	}
	cases := []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"name": "w1", "registration": "in"}, "[REGISTRATION_WITHOUT_SECRET]"},
		{map[string]any{"name": "w2", "registration": "out", "host": "reg.example", "secret": "abcdefg"}, "[REGISTRATION_WITHOUT_DEFAULTUSER]"},
		{map[string]any{"name": "w3", "registration": "in", "host": "192.0.2.3", "secret": "abcdefg"}, "[REGISTRATION_IN_WITH_STATIC_HOST]"},
		{map[string]any{"name": "w3b", "host": "dynamic", "qualify": "1", "secret": "abcdefg"}, "[]"},
		{map[string]any{"name": "w4", "host": "192.0.2.9", "audio_codecs": "g729", "t38pt_udptl": "yes,fec"}, "[T38_WITHOUT_FAX_CODEC]"},
		{map[string]any{"name": "w5", "host": "192.0.2.9", "timert1": "1000"}, "[TIMERB_BELOW_64_T1 DRIVER_IGNORES_OPTIONS]"},
		// pjsip (the default driver) has no per-endpoint max_forwards;
		// neither driver has rpid_format.
		{map[string]any{"name": "w7", "host": "192.0.2.9", "max_forwards": "70", "rpid_format": "rpid"}, "[DRIVER_IGNORES_OPTIONS]"},
		{map[string]any{"name": "w6", "host": "192.0.2.9", "audio_codecs": "g729"}, "[]"},
	}
	for _, c := range cases {
		a := g.admin("sip_endpoint.save", c.params)
		if !a.ok() {
			t.Fatalf("%v: %v", c.params, a)
		}
		if got := fmt.Sprint(warnings(a)); got != c.want {
			t.Errorf("%v: warnings %s, want %s", c.params, got, c.want)
		}
	}
	a := g.admin("sip_endpoint.save", map[string]any{"name": "w7", "max_forwards": "70"})
	if msg := fmt.Sprint(a["warnings"]); !strings.Contains(msg, "max_forwards=70") || !strings.Contains(msg, "rpid_format=rpid") || !strings.Contains(msg, "pjsip") {
		t.Errorf("the driver warning does not name what pjsip ignores: %s", msg)
	}
	// t38's default follows the enabled codecs at creation.
	if got := g.endpoint("w6")["t38pt_udptl"]; got != "no" {
		t.Errorf("t38pt_udptl default without G.711 = %v", got)
	}
}

func TestGatewayUpdateRenameDelete(t *testing.T) {
	g := newGateway(t)
	ctx := context.Background()
	if a := g.admin("sip_endpoint.save", map[string]any{"name": "alpha", "secret": "alphasecret", "dtmfmode": "info"}); !a.ok() {
		t.Fatal(a)
	}
	if a := g.admin("sip_endpoint.save", map[string]any{"name": "beta"}); !a.ok() || a["object_id"] != "2" {
		t.Fatal(a)
	}
	// Save by name updates; omitted parameters keep their values.
	if a := g.admin("sip_endpoint.save", map[string]any{"name": "ALPHA", "nat": "no"}); !a.ok() || a["object_id"] != "1" {
		t.Fatal(a)
	}
	if e := g.endpoint("alpha"); e["nat"] != "no" || e["dtmfmode"] != "info" || e["secret"] != "alphasecret" {
		t.Fatalf("update lost values: %v", e)
	}
	// Rename by old_name.
	if a := g.admin("sip_endpoint.save", map[string]any{"old_name": "alpha", "name": "gamma"}); !a.ok() || a["object_id"] != "1" {
		t.Fatal(a)
	}
	if a := g.admin("sip_endpoint.list", map[string]any{"object_name": "alpha"}); a.key() != "NO_SUCH_SIP_ENDPOINT" {
		t.Fatalf("old name still found: %v", a)
	}
	// Rename by object_id (a number, as scripts send it).
	if a := g.admin("sip_endpoint.save", map[string]any{"object_id": 1, "name": "delta"}); !a.ok() {
		t.Fatal(a)
	}
	if e := g.endpoint("delta"); e["object_id"] != "1" || e["dtmfmode"] != "info" {
		t.Fatalf("rename by id: %v", e)
	}
	// object_id alone updates without touching the name.
	if a := g.admin("sip_endpoint.save", map[string]any{"object_id": "1", "qualify": 1}); !a.ok() {
		t.Fatal(a)
	}
	if e := g.endpoint("delta"); e["qualify"] != "1" {
		t.Fatalf("update by id: %v", e)
	}
	assertRejected(t, g, map[string]any{"object_id": "1", "name": "Beta"}, "NAME_IN_USE")
	assertRejected(t, g, map[string]any{"old_name": "delta", "name": "beta"}, "NAME_IN_USE")
	assertRejected(t, g, map[string]any{"old_name": "nobody", "name": "x"}, "NO_SUCH_SIP_ENDPOINT")
	assertRejected(t, g, map[string]any{"object_id": "99", "name": "x"}, "NO_SUCH_SIP_ENDPOINT")
	assertRejected(t, g, map[string]any{"object_id": "one", "name": "x"}, "INVALID_OBJECT_ID")

	// Peers and phones share Asterisk section names with endpoints.
	admin, err := g.svc.Authenticate(ctx, "admin", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	kinds := g.svc.Kinds()
	if _, err := g.svc.Create(ctx, admin, kinds["peers"], engine.Values{"name": "carrier", "type": "sip", "destination": "192.0.2.1"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := g.svc.Create(ctx, admin, kinds["phones"], engine.Values{"name": "2001", "password": "phonepw99"}, false); err != nil {
		t.Fatal(err)
	}
	assertRejected(t, g, map[string]any{"name": "CARRIER"}, "NAME_IN_USE")
	assertRejected(t, g, map[string]any{"name": "2001"}, "NAME_IN_USE")
	assertRejected(t, g, map[string]any{"object_id": "1", "name": "2001"}, "NAME_IN_USE")
	if _, err := g.svc.Create(ctx, admin, kinds["phones"], engine.Values{"name": "delta", "password": "phonepw99"}, false); err == nil {
		t.Fatal("a phone took an endpoint's name")
	}

	all := g.admin("sip_endpoints.list", map[string]any{})
	list, _ := all["sip_endpoints"].([]any)
	if !all.ok() || len(list) != 2 || list[0].(map[string]any)["name"] != "beta" || list[1].(map[string]any)["name"] != "delta" {
		t.Fatalf("sip_endpoints.list: %v", all)
	}

	a := g.admin("sip_endpoint.delete", map[string]any{"object_name": "beta", "object_type": "sip_endpoint"})
	if !a.ok() || fmt.Sprint(a["invalid_rules"]) != "[]" || fmt.Sprint(a["invalid_groups"]) != "[]" {
		t.Fatalf("delete: %v", a)
	}
	if a := g.admin("sip_endpoint.delete", map[string]any{"object_id": "1"}); !a.ok() {
		t.Fatal(a)
	}
	for _, p := range []map[string]any{{"object_id": "1"}, {"object_name": "beta"}} {
		if a := g.admin("sip_endpoint.delete", p); a.key() != "NO_SUCH_SIP_ENDPOINT" {
			t.Fatalf("delete %v again: %v", p, a)
		}
	}
	if a := g.admin("sip_endpoint.delete", map[string]any{}); a.key() != "MISSING_OBJECT_NAME" {
		t.Fatalf("delete without ref: %v", a)
	}
	if a := g.admin("sip_endpoints.list", nil); len(a["sip_endpoints"].([]any)) != 0 {
		t.Fatalf("after delete: %v", a)
	}
}

func TestGatewayListRoundTrips(t *testing.T) {
	g := newGateway(t)
	params := map[string]any{"name": "rt", "transport": "tcp,udp", "codec_order": "gsm", "audio_codecs": "ulaw,gsm"}
	if a := g.admin("sip_endpoint.save", params); !a.ok() {
		t.Fatal(a)
	}
	first := g.endpoint("rt")
	// Saving the listed object back changes nothing.
	before := g.db.Revision()
	if a := g.admin("sip_endpoint.save", first); !a.ok() {
		t.Fatalf("save listed endpoint back: %v", a)
	}
	second := g.endpoint("rt")
	if fmt.Sprint(first) != fmt.Sprint(second) {
		t.Fatalf("round trip changed the endpoint:\n%v\n%v", first, second)
	}
	if g.db.Revision() != before+1 {
		t.Fatalf("revision %d -> %d", before, g.db.Revision())
	}
	for _, k := range []string{"qualify", "port", "insecure"} {
		if _, ok := first[k].(string); !ok {
			t.Errorf("%s is %T, want a string", k, first[k])
		}
	}
}

func TestGatewayAuthentication(t *testing.T) {
	g := newGateway(t, api.WithSessionTimeouts(30*time.Minute, 2*time.Hour))
	list := func(c *http.Client) answer { return g.post(c, "", "", "sip_endpoints.list", map[string]any{}) }

	if a := list(nil); a.key() != "AUTH_REQUIRED" {
		t.Fatalf("no auth: %v", a)
	}
	client, a, resp := g.login("admin", adminPassword)
	if !a.ok() {
		t.Fatalf("login: %v", a)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == api.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || len(cookie.Value) < 40 {
		t.Fatalf("session cookie: %+v", cookie)
	}
	if a := list(client); !a.ok() {
		t.Fatalf("with cookie: %v", a)
	}
	// Use keeps the session alive; idleness ends it.
	g.clock.Advance(20 * time.Minute)
	if a := list(client); !a.ok() {
		t.Fatalf("after 20 min: %v", a)
	}
	g.clock.Advance(20 * time.Minute)
	if a := list(client); !a.ok() {
		t.Fatalf("20 min after last use: %v", a)
	}
	g.clock.Advance(31 * time.Minute)
	if a := list(client); a.key() != "AUTH_REQUIRED" {
		t.Fatalf("idle session still valid: %v", a)
	}
	// Maximum age, however busy.
	client, _, _ = g.login("admin", adminPassword)
	for i := range 4 {
		g.clock.Advance(25 * time.Minute)
		if a := list(client); !a.ok() {
			t.Fatalf("busy session ended at step %d: %v", i, a)
		}
	}
	g.clock.Advance(25 * time.Minute)
	if a := list(client); a.key() != "AUTH_REQUIRED" {
		t.Fatalf("session outlived its maximum age: %v", a)
	}
	// A forged cookie is no session.
	forged, _ := cookiejar.New(nil)
	u, _ := url.Parse(g.base)
	forged.SetCookies(u, []*http.Cookie{{Name: api.SessionCookie, Value: "forged"}})
	if a := list(&http.Client{Jar: forged}); a.key() != "AUTH_REQUIRED" {
		t.Fatalf("forged cookie: %v", a)
	}

	// Basic auth for scripts.
	if a := g.post(nil, "admin", adminPassword, "sip_endpoints.list", nil); !a.ok() {
		t.Fatalf("basic auth: %v", a)
	}
	if a := g.post(nil, "admin", "wrong", "sip_endpoints.list", nil); a.key() != "INVALID_LOGIN" {
		t.Fatalf("bad basic auth: %v", a)
	}
	badClient, a, resp := g.login("admin", "wrong")
	if a.key() != "INVALID_LOGIN" || len(resp.Cookies()) != 0 {
		t.Fatalf("bad login: %v %v", a, resp.Cookies())
	}
	if a := list(badClient); a.key() != "AUTH_REQUIRED" {
		t.Fatalf("after bad login: %v", a)
	}
	// The tenth failure blocks the address, even for the right password.
	for i := 3; i <= engine.DefaultLoginLimits().Failures; i++ {
		if _, a, _ := g.login("admin", "wrong-again"); a.key() != "INVALID_LOGIN" {
			t.Fatalf("failure %d: %v", i, a)
		}
	}
	if _, a, _ := g.login("admin", adminPassword); a.key() != "LOGIN_BLOCKED" {
		t.Fatalf("blocked login: %v", a)
	}
	if a := g.post(nil, "admin", adminPassword, "sip_endpoints.list", nil); a.key() != "LOGIN_BLOCKED" {
		t.Fatalf("blocked basic auth: %v", a)
	}
}

func TestGatewayRequestsAndRoles(t *testing.T) {
	g := newGateway(t)
	ctx := context.Background()
	if err := g.svc.AddUser(ctx, "clerk", "clerk-password", "administrator", 0); err != nil {
		t.Fatal(err)
	}
	if a := g.post(nil, "clerk", "clerk-password", "sip_endpoint.save", exampleOne); a.key() != "PERMISSION_DENIED" {
		t.Fatalf("non-system user: %v", a)
	}
	if a := g.admin("sip_endpoint.reboot", nil); a.key() != "UNKNOWN_METHOD" {
		t.Fatalf("unknown method: %v", a)
	}
	for _, body := range []string{"", "[]", "{", `{"method":"sip_endpoint.save","parameters":[1]}`, `{"method":"x"} {}`} {
		if a := g.postRaw(nil, "admin", adminPassword, []byte(body)); a.key() != "INVALID_REQUEST" {
			t.Fatalf("body %q: %v", body, a)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, g.base+api.GatewayJSONPath, nil)
	req.SetBasicAuth("admin", adminPassword)
	if a := g.do(nil, req); a.key() != "INVALID_REQUEST" {
		t.Fatalf("GET: %v", a)
	}
}

func FuzzGatewaySave(f *testing.F) {
	for _, seed := range []string{
		`{"name":"8005555555","transport":["UDP"],"nat":"yes","secret":"sdlkfj9348jkh7","defaultuser":"38fh48fjh47f","host":"dynamic","qualifyfreq":"60"}`,
		`{"name":"a","registration":"out","host":"h.example","audio_codecs":[{"id":"g729","value":0}],"codec_order":[{"id":"gsm","order":2},{"id":"ulaw","order":1}]}`,
		`{"name":"b","transport":"tcp,tls","port":"","t38pt_udptl":"yes, redundancy","t1min":"100ms"}`,
		`{"object_id":1,"name":"c"}`, `{"old_name":"a","name":"b"}`, `{"name":"x","session-minse":90,"session-expires":90}`,
		`{"name":"q","auth":"u:p@r","extension":"99","alaw_pr":50}`, `{"name":null}`, `{"name":"n","audio_codecs":[[]]}`, `{}`,
	} {
		f.Add(seed)
	}
	gf := newGateway(f)
	f.Fuzz(func(t *testing.T, params string) {
		g := *gf
		g.t = t
		body := []byte(`{"method":"sip_endpoint.save","parameters":` + params + `}`)
		before := g.db.Revision()
		a := g.postRaw(nil, "admin", adminPassword, body)
		switch a["result"] {
		case "error":
			if g.db.Revision() != before {
				t.Fatalf("error %v but revision moved", a)
			}
			if a.key() == "INTERNAL_ERROR" || a.key() == "" {
				t.Fatalf("unexpected error: %v", a)
			}
		case "success":
			// Whatever is stored must render.
			snap, err := g.svc.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := render.Render(snap); err != nil {
				t.Fatalf("saved %s but it does not render: %v", params, err)
			}
		default:
			t.Fatalf("no result: %v", a)
		}
	})
}

// BenchmarkGatewaySave measures one sip_endpoint.save update over HTTP
// with basic auth (cached after the first call) and a real SQLite file.
func BenchmarkGatewaySave(b *testing.B) {
	g := newGateway(b)
	body, _ := json.Marshal(map[string]any{"method": "sip_endpoint.save", "parameters": exampleOne})
	if a := g.postRaw(nil, "admin", adminPassword, body); !a.ok() {
		b.Fatal(a)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if a := g.postRaw(nil, "admin", adminPassword, body); !a.ok() {
			b.Fatal(a)
		}
	}
}
