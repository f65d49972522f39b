package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

// auditSwitch serves both APIs on every loopback address (clients come
// from 127.0.0.N) over a service whose log the test reads.
type auditSwitch struct {
	t    *testing.T
	base string
	svc  *engine.Service
	db   *storage.DB
	logs *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newAuditSwitch(t *testing.T) *auditSwitch {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, storagetest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	svc := engine.NewService(db, engine.WithPasswordCost(bcrypt.MinCost), engine.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if _, _, err := svc.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/json/", api.NewHandler(svc))
	gw := api.NewGatewayHandler(svc)
	mux.Handle(api.GatewayLoginPath, gw)
	mux.Handle(api.GatewayJSONPath, gw)
	srv := httptest.NewUnstartedServer(mux)
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(func() { srv.Close(); db.Close() })
	return &auditSwitch{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port), svc: svc, db: db, logs: logs}
}

// call runs an Enswitch API function from 127.0.0.n.
func (s *auditSwitch) call(n int, user, pw, function string, params map[string]string) result {
	s.t.Helper()
	q := url.Values{"auth_username": {user}, "auth_password": {pw}}
	for k, v := range params {
		q.Set(k, v)
	}
	resp, err := client(n).Get(s.base + "/api/json/" + function + "/?" + q.Encode())
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r result
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Responses) == 0 {
		s.t.Fatalf("%s: envelope: %v", function, err)
	}
	return r
}

func (s *auditSwitch) admin(function string, params map[string]string) result {
	s.t.Helper()
	return s.call(2, "admin", adminPassword, function, params)
}

// gateway runs a gateway method with basic authentication from 127.0.0.n.
func (s *auditSwitch) gateway(n int, method string, params map[string]any) answer {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"method": method, "parameters": params})
	req, _ := http.NewRequest(http.MethodPost, s.base+api.GatewayJSONPath, bytes.NewReader(body))
	req.SetBasicAuth("admin", adminPassword)
	resp, err := client(n).Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		s.t.Fatal(err)
	}
	return a
}

type auditRow struct {
	ID       int               `json:"id"`
	Time     int64             `json:"time"`
	Username string            `json:"username"`
	Customer int               `json:"customer"`
	Address  string            `json:"address"`
	Via      string            `json:"via"`
	Function string            `json:"function"`
	Object   string            `json:"object"`
	Changes  map[string]string `json:"changes"`
	Result   string            `json:"result"`
}

func (s *auditSwitch) auditList(user, pw string, params map[string]string) []auditRow {
	s.t.Helper()
	r := s.call(2, user, pw, "audit/list", params)
	if r.code() != "200" {
		s.t.Fatalf("audit/list as %s: %+v", user, r.Responses)
	}
	var rows []auditRow
	if err := json.Unmarshal(r.Data, &rows); err != nil {
		s.t.Fatalf("audit/list data %s: %v", r.Data, err)
	}
	return rows
}

// auditText is every byte the audit table holds, as text.
func (s *auditSwitch) auditText() string {
	s.t.Helper()
	var b strings.Builder
	err := s.db.Read(context.Background(), func(tx *storage.Tx) error {
		recs, err := tx.List(context.Background(), "audit", storage.Query{})
		for _, r := range recs {
			fmt.Fprintln(&b, r)
		}
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return b.String()
}

func (s *auditSwitch) mustOK(function string, params map[string]string) {
	s.t.Helper()
	if r := s.admin(function, params); r.code() != "200" && r.code() != "204" {
		s.t.Fatalf("%s %v: %+v", function, params, r.Responses)
	}
}

// Every write through either API is a row naming who, from where, the
// function, the object and the parameters written, in the log too; no
// secret's value is in either, only that it changed.
func TestAuditRecordsEveryWriteWithoutSecrets(t *testing.T) {
	s := newAuditSwitch(t)
	secrets := []string{"line-s3cret-one", "line-s3cret-two", "carrier-s3cret", "pbx-s3cret-99", "remote-s3cret"}
	s.mustOK("phones/create", map[string]string{"name": "2001", "password": secrets[0], "ringtime": "30"})
	s.mustOK("phones/update", map[string]string{"name": "2001", "password": secrets[1], "ringtime": "45", "dnd": "0"})
	s.mustOK("phones/create", map[string]string{"name": "2002", "copy_password": "2001", "validation": "0"})
	s.mustOK("peers/create", map[string]string{"name": "carrier-a", "type": "sip", "destination": "192.0.2.10", "username": "trunk", "password": secrets[2]})
	s.mustOK("peers/delete", map[string]string{"id": "1"})
	s.mustOK("plans/create", map[string]string{"name": "Retail"})
	s.mustOK("settings/update", map[string]string{"default_plan": "1"})
	if a := s.gateway(4, "sip_endpoint.save", map[string]any{"name": "pbx", "secret": secrets[3], "remotesecret": secrets[4], "host": "dynamic"}); !a.ok() {
		t.Fatalf("sip_endpoint.save: %v", a)
	}
	if a := s.gateway(4, "sip_endpoint.delete", map[string]any{"object_name": "pbx"}); !a.ok() {
		t.Fatalf("sip_endpoint.delete: %v", a)
	}

	rows := s.auditList("admin", adminPassword, nil)
	type want struct {
		function, object, via, address string
		changes                        map[string]string
	}
	wants := []want{
		{"phones/create", "phones/2001", "api", "127.0.0.2", map[string]string{"name": "2001", "password": "(changed)", "ringtime": "30", "customer": "1"}},
		// dnd=0 is its stored value: no change.
		{"phones/update", "phones/2001", "api", "127.0.0.2", map[string]string{"password": "(changed)", "ringtime": "45"}},
		{"phones/create", "phones/2002", "api", "127.0.0.2", map[string]string{"name": "2002", "copy_password": "2001", "customer": "1"}},
		{"peers/create", "peers/1", "api", "127.0.0.2", map[string]string{"name": "carrier-a", "type": "sip", "destination": "192.0.2.10", "username": "trunk", "password": "(changed)"}},
		{"peers/delete", "peers/1", "api", "127.0.0.2", map[string]string{}},
		{"plans/create", "plans/1", "api", "127.0.0.2", map[string]string{"name": "Retail", "customer": "1"}},
		{"settings/update", "settings", "api", "127.0.0.2", map[string]string{"default_plan": "1"}},
		{"sip_endpoint.save", "sip_endpoints/1", "gateway", "127.0.0.4", nil},
		{"sip_endpoint.delete", "sip_endpoints/1", "gateway", "127.0.0.4", map[string]string{}},
	}
	if len(rows) != len(wants) {
		t.Fatalf("%d audit rows, want %d: %+v", len(rows), len(wants), rows)
	}
	for i, w := range wants {
		r := rows[i]
		if r.Function != w.function || r.Object != w.object || r.Via != w.via || r.Address != w.address || r.Username != "admin" || r.Customer != 1 || r.Result != "ok" || r.Time == 0 {
			t.Errorf("row %d: %+v, want %s %s via %s from %s by admin", i, r, w.function, w.object, w.via, w.address)
		}
		if w.changes != nil && fmt.Sprint(r.Changes) != fmt.Sprint(w.changes) {
			t.Errorf("row %d (%s): changes %v, want %v", i, r.Function, r.Changes, w.changes)
		}
	}
	if ch := rows[7].Changes; ch["secret"] != "(changed)" || ch["remotesecret"] != "(changed)" || ch["name"] != "pbx" {
		t.Errorf("sip_endpoint.save changes: %v", ch)
	}
	// The attacker's view: the whole table and the whole log.
	table, logs := s.auditText(), s.logs.String()
	for _, secret := range append(secrets, adminPassword) {
		if strings.Contains(table, secret) || strings.Contains(logs, secret) {
			t.Errorf("a secret (%s) is in the audit table or the log", secret)
		}
	}
	if n := strings.Count(logs, "msg=audit"); n != len(wants) {
		t.Errorf("%d audit lines logged, want %d:\n%s", n, len(wants), logs)
	}
}

// A row exists exactly when the write committed: refused writes, writes
// rolled back by the store and validation=1 leave none, in the table and
// in the log.
func TestAuditRowExistsIffTheWriteCommitted(t *testing.T) {
	s := newAuditSwitch(t)
	s.mustOK("peers/create", map[string]string{"name": "carrier-a", "type": "sip", "destination": "192.0.2.10"})
	s.mustOK("plans/create", map[string]string{"name": "Retail"})
	s.mustOK("plans/routes/create", map[string]string{"plan": "1", "called_prefix": "44", "peer1": "1"})
	before := len(s.auditList("admin", adminPassword, nil))
	logsBefore := strings.Count(s.logs.String(), "msg=audit")
	for _, c := range []struct {
		function string
		params   map[string]string
		code     string
	}{
		{"phones/create", map[string]string{"name": "2001", "password": "line-s3cret", "validation": "1"}, "201"},
		{"phones/create", map[string]string{"name": "2001", "password": "line-s3cret", "ringtime": "forever"}, "400"},
		{"peers/create", map[string]string{"name": "carrier-a", "type": "sip", "destination": "192.0.2.11"}, "400"}, // name taken: the store refuses
		{"peers/delete", map[string]string{"id": "1"}, "400"},                                                       // a route uses it
		{"peers/update", map[string]string{"id": "1", "outmaximum": "-5"}, "400"},
		{"peers/update", map[string]string{"id": "99", "outmaximum": "5"}, "404"},
		{"settings/update", map[string]string{"default_peer": "42"}, "400"},
	} {
		if r := s.admin(c.function, c.params); r.code() != c.code {
			t.Fatalf("%s %v: %+v, want %s", c.function, c.params, r.Responses, c.code)
		}
	}
	if a := s.gateway(3, "sip_endpoint.save", map[string]any{"name": "carrier-a", "secret": "pbx-s3cret-99"}); a.ok() {
		t.Fatal("an endpoint took a peer's name")
	}
	if after := len(s.auditList("admin", adminPassword, nil)); after != before {
		t.Fatalf("refused writes left %d audit rows", after-before)
	}
	if n := strings.Count(s.logs.String(), "msg=audit"); n != logsBefore {
		t.Fatalf("refused writes logged %d audit lines", n-logsBefore)
	}
}

// audit/list shows the system owner everything, anyone else who may read
// it the rows of its customer tree, and nobody else anything; its filters
// and paging work like every list's.
func TestAuditListIsRoleAwareAndFilters(t *testing.T) {
	s := newAuditSwitch(t)
	ctx := context.Background()
	s.mustOK("customers/create", map[string]string{"name": "Acme", "parent": "1"})
	if err := s.svc.AddUser(ctx, "acme-admin", "acme-password", "reseller", 2); err != nil {
		t.Fatal(err)
	}
	if err := s.svc.AddUser(ctx, "acme-user", "user-password", "user", 2); err != nil {
		t.Fatal(err)
	}
	s.mustOK("peers/create", map[string]string{"name": "carrier-a", "type": "sip", "destination": "192.0.2.10"})
	for _, name := range []string{"3001", "3002", "3003"} {
		if r := s.call(5, "acme-admin", "acme-password", "phones/create", map[string]string{"name": name, "password": "line-s3cret"}); r.code() != "204" {
			t.Fatalf("acme-admin phones/create: %+v", r.Responses)
		}
	}
	s.call(6, "mallory", "guess-1234", "plans/list", nil) // a failed login: the system owner's to see

	all := s.auditList("admin", adminPassword, nil)
	// customers/create, 2 x user add (cli), peers/create, 3 x phones/create, the failed login
	if len(all) != 8 {
		t.Fatalf("admin sees %d rows, want 8: %+v", len(all), all)
	}
	if all[1].Via != "cli" || all[1].Function != "user add" || all[1].Object != "users/acme-admin" || all[1].Changes["password"] != "(changed)" {
		t.Errorf("user add row: %+v", all[1])
	}
	mine := s.auditList("acme-admin", "acme-password", nil)
	if len(mine) != 3 {
		t.Fatalf("acme-admin sees %d rows, want its 3: %+v", len(mine), mine)
	}
	for _, r := range mine {
		if r.Username != "acme-admin" || r.Customer != 2 || r.Address != "127.0.0.5" {
			t.Errorf("acme-admin sees %+v", r)
		}
	}
	if r := s.call(2, "acme-admin", "acme-password", "audit/get", map[string]string{"id": fmt.Sprint(all[3].ID)}); r.code() != "404" {
		t.Errorf("acme-admin audit/get of the system owner's row: %+v", r.Responses)
	}
	if r := s.call(2, "acme-user", "user-password", "audit/list", nil); r.code() != "402" {
		t.Errorf("a user without the privilege: %+v", r.Responses)
	}
	if r := s.call(2, "acme-admin", "acme-password", "audit/create", map[string]string{"function": "forged"}); r.code() != "404" {
		t.Errorf("audit/create exists: %+v", r.Responses)
	}
	if r := s.admin("audit/get", map[string]string{"id": fmt.Sprint(all[4].ID)}); r.code() != "200" || !strings.Contains(string(r.Data), `"object":"phones/3001"`) {
		t.Errorf("audit/get: %+v %s", r.Responses, r.Data)
	}

	for _, c := range []struct {
		params map[string]string
		want   int
	}{
		{map[string]string{"username": "acme-admin"}, 3},
		{map[string]string{"function": "phones/create"}, 3},
		{map[string]string{"object": "phones/3002"}, 1},
		{map[string]string{"via": "cli"}, 2},
		{map[string]string{"result": "failed"}, 1},
		{map[string]string{"since": fmt.Sprint(all[0].Time)}, 8},
		{map[string]string{"until": fmt.Sprint(all[0].Time)}, 0},
		{map[string]string{"function": "phones/create", "limit": "2"}, 2},
		{map[string]string{"function": "phones/create", "limit": "2", "offset": "2"}, 1},
	} {
		if got := s.auditList("admin", adminPassword, c.params); len(got) != c.want {
			t.Errorf("audit/list %v: %d rows, want %d", c.params, len(got), c.want)
		}
	}
	if r := s.admin("audit/list", map[string]string{"function": "phones/create", "count": "1"}); !strings.Contains(string(r.Data), `"count":3`) {
		t.Errorf("count=1: %s", r.Data)
	}
	if got := s.auditList("admin", adminPassword, map[string]string{"sort": "id", "descending": "1", "limit": "1"}); len(got) != 1 || got[0].Function != "login" {
		t.Errorf("newest first: %+v", got)
	}
	if r := s.admin("audit/list", map[string]string{"since": "yesterday"}); r.code() != "400" || r.Responses[0].Key != "since" {
		t.Errorf("since=yesterday: %+v", r.Responses)
	}
}

// Every failed login is a row and a WARN line, with the address and the
// username tried but never the password; the failure that starts a block
// says so, and refusals while blocked write nothing more (they cost an
// attacker nothing). None moves the store revision. A username that is
// not text (invalid UTF-8, a NUL: PostgreSQL's text refuses both) is
// still recorded.
func TestFailedLoginsAreAudited(t *testing.T) {
	s := newAuditSwitch(t)
	rev := s.db.Revision()
	const guess = "hunter2-guess"
	if code, _ := (&bothAPIs{t: t, base: s.base}).enswitch(7, "mallory", guess); code != "401" {
		t.Fatalf("wrong password: %s", code)
	}
	if key := (&bothAPIs{t: t, base: s.base}).gateway(8, "admin", guess); key != "INVALID_LOGIN" {
		t.Fatalf("gateway wrong password: %s", key)
	}
	// A raw query string: %FF and %00 reach the service as bytes.
	resp, err := client(9).Get(s.base + "/api/json/plans/list/?auth_username=ma%FFl%00ory;auth_password=" + guess)
	if err != nil {
		t.Fatal(err)
	}
	var odd result
	json.NewDecoder(resp.Body).Decode(&odd)
	resp.Body.Close()
	if len(odd.Responses) == 0 || odd.code() != "401" {
		t.Fatalf("a username that is not text: %+v, want 401 as for any wrong login", odd.Responses)
	}
	for i := 0; i < limit+3; i++ { // from 127.0.0.10 until blocked, and on
		(&bothAPIs{t: t, base: s.base}).enswitch(10, "root", guess)
	}
	if s.db.Revision() != rev {
		t.Fatalf("failed logins moved the store revision from %d to %d", rev, s.db.Revision())
	}
	rows := s.auditList("admin", adminPassword, map[string]string{"function": "login"})
	if len(rows) != 3+limit {
		t.Fatalf("%d login rows, want %d (the blocked refusals not written): %+v", len(rows), 3+limit, rows)
	}
	first := rows[0]
	if first.Username != "mallory" || first.Address != "127.0.0.7" || first.Via != "api" || first.Object != "plans/list" || first.Result != "failed" || first.Customer != 0 {
		t.Errorf("API failure: %+v", first)
	}
	if g := rows[1]; g.Username != "admin" || g.Address != "127.0.0.8" || g.Via != "gateway" || g.Result != "failed" {
		t.Errorf("gateway failure: %+v", g)
	}
	if odd := rows[2]; !strings.HasPrefix(odd.Username, "ma") || !strings.HasSuffix(odd.Username, "lory") || odd.Address != "127.0.0.9" {
		t.Errorf("a username that is not text: %+v", odd)
	}
	if last := rows[len(rows)-1]; last.Result != "blocked" || last.Username != "root" {
		t.Errorf("the failure that blocks: %+v", last)
	}
	if strings.Contains(s.auditText(), guess) || strings.Contains(s.logs.String(), guess) {
		t.Error("a tried password is in the audit table or the log")
	}
	if n := strings.Count(s.logs.String(), `msg="login failed"`); n != 3+limit {
		t.Errorf("%d failed logins logged, want %d", n, 3+limit)
	}
}
