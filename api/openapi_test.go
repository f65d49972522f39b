package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

// openAPIDoc fetches /api/openapi.json as a client would (no credentials)
// and loads it with kin-openapi, which validates it against OpenAPI 3.
func openAPIDoc(t *testing.T) ([]byte, *openapi3.T, *api.Handler) {
	t.Helper()
	db, err := storage.Open(context.Background(), storagetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := engine.NewService(db)
	h, err := api.NewOpenAPIHandler(svc, "test")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + api.OpenAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: HTTP %d %s", api.OpenAPIPath, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(body)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3: %v", err)
	}
	return body, doc, api.NewHandler(svc)
}

// The description is valid OpenAPI 3, covers every function the API
// answers and every gateway method, and stays as the golden file has it
// (go test ./api -run TestOpenAPI -update rewrites it after a change of
// a spec).
func TestOpenAPIDescribesEveryFunction(t *testing.T) {
	body, doc, h := openAPIDoc(t)
	var described []string
	for path := range doc.Paths.Map() {
		if fn, ok := strings.CutPrefix(path, "/api/json/"); ok {
			described = append(described, strings.TrimSuffix(fn, "/"))
		}
	}
	sort.Strings(described)
	if got, want := strings.Join(described, " "), strings.Join(h.Functions(), " "); got != want {
		t.Fatalf("described functions:\n%s\nthe API answers:\n%s", got, want)
	}
	for _, p := range []string{api.GatewayLoginPath, api.GatewayJSONPath} {
		if doc.Paths.Find(p) == nil {
			t.Errorf("the gateway's %s is not described", p)
		}
	}
	oneOf := doc.Paths.Find(api.GatewayJSONPath).Post.RequestBody.Value.Content["application/json"].Schema.Value.OneOf
	if len(oneOf) != 4 {
		t.Errorf("gateway methods described: %d, want 4", len(oneOf))
	}
	// Every parameter of the spec, with its rules.
	create := doc.Components.Schemas["phones.create"].Value
	if len(create.Properties) != len(engine.PhoneSpec.Params) {
		t.Errorf("phones/create describes %d parameters, the spec has %d", len(create.Properties), len(engine.PhoneSpec.Params))
	}
	if pw := create.Properties["password"].Value; pw.Format != "password" || !strings.Contains(pw.Description, "Required unless copy_password") {
		t.Errorf("password: format %q, description %q", pw.Format, pw.Description)
	}
	if !contains(create.Required, "name") {
		t.Errorf("phones/create required: %v", create.Required)
	}
	peer := doc.Components.Schemas["peers.create"].Value.Properties
	if typ := peer["type"].Value; len(typ.Enum) != 6 || !contains(doc.Components.Schemas["peers.create"].Value.Required, "type") {
		t.Errorf("peers/create type: enum %v", typ.Enum)
	}
	if o := peer["outmaximum"].Value; o.Default != float64(-1) || o.Min == nil || *o.Min != -1 || !o.Type.Is("integer") {
		t.Errorf("peers/create outmaximum: %+v", o)
	}
	if d := peer["name"].Value.Description; !strings.Contains(d, "1-64 characters") {
		t.Errorf("peers/create name's rule is not described: %q", d)
	}
	golden := "testdata/openapi.json"
	if *update {
		if err := os.WriteFile(golden, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test ./api -run TestOpenAPI -update writes it)", err)
	}
	if !bytes.Equal(body, want) {
		t.Fatalf("the description differs from %s: if a spec changed on purpose, go test ./api -run TestOpenAPI -update", golden)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Requests the API takes validate against the description, and requests
// it refuses for a parameter's type or enum do not: the description says
// what the API does.
func TestOpenAPIValidatesRealRequests(t *testing.T) {
	_, doc, _ := openAPIDoc(t)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	check := func(req *http.Request) error {
		t.Helper()
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("%s %s: no route: %v", req.Method, req.URL, err)
		}
		return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
		})
	}
	get := func(function string, q url.Values) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "http://switch.example/api/json/"+function+"/?"+q.Encode(), nil)
		return req
	}
	form := func(function string, q url.Values) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, "http://switch.example/api/json/"+function+"/", strings.NewReader(q.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}
	gateway := func(body any) *http.Request {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, "http://switch.example/json", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		return req
	}
	for _, c := range []struct {
		name  string
		req   *http.Request
		valid bool
	}{
		{"phones/create", get("phones/create", url.Values{"name": {"2001"}, "password": {"s3cret-line"}, "ringtime": {"30"}}), true},
		{"phones/create ringtime=forever", get("phones/create", url.Values{"name": {"2001"}, "password": {"s3cret-line"}, "ringtime": {"forever"}}), false},
		{"peers/create as a form", form("peers/create", url.Values{"name": {"carrier-a"}, "type": {"sip"}, "destination": {"192.0.2.1"}}), true},
		{"peers/create type=fax", form("peers/create", url.Values{"name": {"carrier-a"}, "type": {"fax"}}), false},
		{"peers/create without a type", form("peers/create", url.Values{"name": {"carrier-a"}}), false},
		{"calls/list", get("calls/list", url.Values{"since": {"1767225600"}, "limit": {"10"}, "sort": {"start"}}), true},
		{"calls/list sort=secret", get("calls/list", url.Values{"sort": {"secret"}}), false},
		{"audit/list", get("audit/list", url.Values{"function": {"phones/create"}, "descending": {"1"}}), true},
		{"sip_endpoint.save", gateway(map[string]any{"method": "sip_endpoint.save", "parameters": map[string]any{"name": "pbx", "secret": "s3cret99", "transport": []string{"udp", "tcp"}}}), true},
		{"sip_endpoint.save registration=sideways", gateway(map[string]any{"method": "sip_endpoint.save", "parameters": map[string]any{"name": "pbx", "registration": "sideways"}}), false},
		{"sip_endpoints.list", gateway(map[string]any{"method": "sip_endpoints.list"}), true},
		{"an unknown method", gateway(map[string]any{"method": "sip_endpoint.frobnicate"}), false},
	} {
		err := check(c.req)
		if (err == nil) != c.valid {
			t.Errorf("%s: validation error %v, want valid %v", c.name, err, c.valid)
		}
	}
}
