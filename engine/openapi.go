package engine

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// The OpenAPI 3.0 description of both admin APIs (served at
// /api/openapi.json), generated from the parameter specs the APIs
// validate with, so it cannot drift from what they accept:
//
//   - every function of the Enswitch API: each kind's create, update,
//     delete, get and list (get and list only for kinds written by the
//     switch itself), and the functions the API adds (settings,
//     simulation, rate decks); each is one path, GET with the parameters
//     in the query string and POST with them as a form or JSON body, in
//     one schema per function;
//   - every parameter with its type, enum, default, bounds and whether it
//     is required (or when, in words), described by its rule's own message
//     where the rule can tell (Param.Check's answer to an invalid value);
//     secrets are format password;
//   - the gateway API: the login form and the /json call, whose body is
//     one of the methods (a oneOf on "method").
//
// The document is deterministic (JSON objects in key order), so a golden
// file pins it.

// openAPIVersion is the OpenAPI version the document follows.
const openAPIVersion = "3.0.3"

// APIFunction is one function of the Enswitch API as the OpenAPI
// description gives it.
type APIFunction struct {
	Name    string // "phones/create"
	Summary string
	// Params are what the function takes; Required those it must have.
	Params   []Param
	Required []string
}

// EnswitchFunctions lists every function the Enswitch API answers, by
// name, with its parameters: from the kinds' specs the API validates
// with, and the API's own functions.
func (s *Service) EnswitchFunctions() []APIFunction {
	var out []APIFunction
	for module, k := range s.Kinds() {
		out = append(out, kindFunctions(module, k)...)
	}
	out = append(out, extraFunctions()...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// kindFunctions are a kind's functions, as api.Handler.addKind makes them.
func kindFunctions(module string, k *Kind) []APIFunction {
	key := keyParam(k)
	var out []APIFunction
	if !k.ReadOnly() {
		var create []Param
		var required []string
		for _, p := range k.Spec.Params {
			create = append(create, p)
			if p.Required {
				required = append(required, p.Name)
			}
		}
		var update []Param
		for _, p := range k.Spec.Params {
			if p.Name == key.Name {
				continue
			}
			p.Default, p.Required = "", false // omitted: keeps its value
			update = append(update, p)
		}
		out = append(out,
			APIFunction{Name: module + "/create", Summary: "Create a " + k.Name, Params: create, Required: required},
			APIFunction{Name: module + "/update", Summary: "Update a " + k.Name + "; omitted parameters keep their values", Params: append([]Param{key}, update...), Required: []string{key.Name}},
			APIFunction{Name: module + "/delete", Summary: "Delete a " + k.Name, Params: []Param{key}, Required: []string{key.Name}},
		)
	}
	get := []Param{key}
	if module == "phones" {
		get = append(get, flag("password", "0"))
	}
	out = append(out, APIFunction{Name: module + "/get", Summary: "Get a " + k.Name, Params: get, Required: []string{key.Name}})
	return append(out, listFunction(module, k))
}

// keyParam is the parameter a kind's objects are named by.
func keyParam(k *Kind) Param {
	if p, ok := k.Spec.Param(k.Key); ok && k.Key == "name" {
		key := *p
		key.Default, key.Required = "", true
		return key
	}
	return Param{Name: k.Key, Type: Integer, Min: 1, MinSet: true, Required: true}
}

// listFunction is module/list with the parameters api.listOptions reads.
func listFunction(module string, k *Kind) APIFunction {
	var params []Param
	var required []string
	for _, name := range sortedNames(k.Filters, k.Ranges) {
		p := Param{Name: name, Type: String}
		if sp, ok := k.Spec.Param(name); ok {
			p = *sp
		}
		p.Default, p.Required, p.RequiredIf, p.Canon = "", false, nil, nil
		if r, ok := k.Ranges[name]; ok {
			p.Type = Integer
			p.RequiredDoc = "rows whose " + r.Col + " is " + r.Op + " this"
		} else if k.Filters[name] == "prefix" {
			p.RequiredDoc = "rows whose " + name + " starts with this"
		} else {
			p.RequiredDoc = "rows whose " + name + " is this"
		}
		if name == k.RequiredFilter {
			required = append(required, name)
		}
		params = append(params, p)
	}
	if k.RequiredFilter != "" && !contains(required, k.RequiredFilter) {
		params = append(params, Param{Name: k.RequiredFilter, Type: Integer, Min: 1, MinSet: true})
		required = append(required, k.RequiredFilter)
	}
	if len(k.Sorts) > 0 {
		params = append(params, Param{Name: "sort", Type: String, Default: k.Sorts[0], Enum: k.Sorts})
	}
	params = append(params,
		flag("descending", "0"),
		Param{Name: "limit", Type: Integer, Min: 0, MinSet: true, RequiredDoc: "at most this many rows (0: all)"},
		Param{Name: "offset", Type: Integer, Min: 0, MinSet: true, RequiredDoc: "skip this many rows"},
		withDoc(flag("count", "0"), "answer {\"count\": N}, how many rows match, instead of the rows"),
		withDoc(flag("pages", "0"), "answer {\"pages\": N}, how many pages of limit rows match, instead of the rows"),
	)
	if module == "phones" {
		params = append(params, withDoc(flag("password", "0"), "include the passwords the caller may read"))
	}
	return APIFunction{Name: module + "/list", Summary: "List " + k.Name + " objects the caller may see", Params: params, Required: required}
}

func withDoc(p Param, doc string) Param { p.RequiredDoc = doc; return p }

func sortedNames(filters map[string]string, ranges map[string]Range) []string {
	var names []string
	for n := range filters {
		names = append(names, n)
	}
	for n := range ranges {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// extraFunctions are the API's functions beyond the kinds'. Their
// parameters are read by code of their own (api, simulate.go), not a
// Spec; these lists follow that code.
func extraFunctions() []APIFunction {
	var settings []Param
	for _, k := range SettingKeys {
		if k == SettingEmergencyNumbers {
			settings = append(settings, withDoc(Param{Name: k, Type: String},
				"the emergency numbers, comma separated (112,911,999): calls to them bypass classes of service and limits and carry the line's location"))
			continue
		}
		settings = append(settings, withDoc(id(k, false), "the "+settingObjects[k]+" objects refer to with 0; 0 for none"))
	}
	simulate := []Param{
		withDoc(Param{Name: "called", Type: String}, "the number dialled: "+numberRuleDoc()),
		withDoc(Param{Name: "caller", Type: String}, "a line (its class of service, caller id and plan apply) or a caller number"),
		withDoc(Param{Name: "phone", Type: String}, "the calling line, when caller is a number"),
		withDoc(Param{Name: "plan", Type: Integer, Min: 1, MinSet: true}, "the rate plan (default: the calling line's)"),
		enum("media", String, "", "voice", "fax"),
		withDoc(Param{Name: "time", Type: String}, "when the call is made: unix seconds or RFC 3339 (default now)"),
		withDoc(Param{Name: "source", Type: String}, "the IP address a line's call comes from, judged against the line's source"),
		withDoc(Param{Name: "user_agent", Type: String}, "the User-Agent a line's call carries, judged against the line's allowed_ua"),
	}
	simulation := APIFunction{Summary: "The route and ordered peers a call would get, decided as the SIP core decides live calls", Params: simulate, Required: []string{"called"}}
	routesSimulate, plansSimulate := simulation, simulation
	routesSimulate.Name, plansSimulate.Name = "routes/simulate", "plans/routes/simulate"
	return append([]APIFunction{
		{Name: "settings/get", Summary: "The switch-wide settings"},
		{Name: "settings/update", Summary: "Set switch-wide settings", Params: settings},
		routesSimulate, plansSimulate,
		{Name: "peers/costs/import", Summary: "Load a peer's cost table from a CSV rate deck (header row of peers/costs/create names): in csv, or POSTed as text/csv up to 64 MiB", Params: []Param{
			{Name: "peer", Type: Integer, Min: 1, MinSet: true},
			withDoc(flag("replace", "0"), "remove the peer's rows first"),
			withDoc(Param{Name: "csv", Type: String}, "the rate deck, when not POSTed as text/csv"),
		}, Required: []string{"peer"}},
	}, append(liveFunctions(), recordingFunction())...)
}

// liveFunctions are the live state's (live.go, api/live.go).
func liveFunctions() []APIFunction {
	scope := []Param{
		withDoc(Param{Name: "line", Type: String}, "only this line's"),
		withDoc(Param{Name: "customer", Type: Integer, Min: 1, MinSet: true}, "only the lines of this customer"),
	}
	paging := []Param{
		Param{Name: "limit", Type: Integer, Min: 0, MinSet: true, RequiredDoc: "at most this many rows (0: all)"},
		Param{Name: "offset", Type: Integer, Min: 0, MinSet: true, RequiredDoc: "skip this many rows"},
		withDoc(flag("count", "0"), "answer {\"count\": N}, how many rows match, instead of the rows"),
		withDoc(flag("pages", "0"), "answer {\"pages\": N}, how many pages of limit rows match, instead of the rows"),
	}
	active := append(append([]Param{}, scope...), enum("state", String, "", CallStates...))
	return []APIFunction{
		{Name: "registrations/list", Summary: "The phones' bindings the registrar holds now (line, contact, source, transport, user agent, expires, registered, host), for the lines the caller may see", Params: append(append([]Param{}, scope...), paging...)},
		{Name: "registrations/delete", Summary: "Unregister one binding", Params: []Param{
			withDoc(Param{Name: "line", Type: String}, "the line whose binding to remove"),
			withDoc(Param{Name: "contact", Type: String}, "the binding's contact URI, as registrations/list gives it"),
		}, Required: []string{"line", "contact"}},
		{Name: "calls/active", Summary: "The calls in progress on this host (id, start, answer, direction, line, caller, called, route, peer, attempt, state, relayed media loss and jitter), for the lines the caller may see", Params: append(active, paging...)},
		{Name: "calls/hangup", Summary: "End an answered call: BYE to both legs; its record's hangup is operator", Params: []Param{
			withDoc(Param{Name: "id", Type: String}, "the call's id, as calls/active gives it"),
		}, Required: []string{"id"}},
	}
}

func numberRuleDoc() string {
	if p, ok := RouteSpec.Param("called_prefix"); ok && p.Check != nil {
		if d := checkDoc(p); d != "" {
			return d
		}
	}
	return "digits"
}

// checkDoc is what a parameter's rule says of a value it refuses: its own
// description of what it takes, when it has one that names no value.
func checkDoc(p *Param) string {
	if p.Enum != nil || (p.Check == nil && p.Canon == nil) || p.Type != String {
		return ""
	}
	for _, probe := range []string{strings.Repeat("x", 2000), "#", "x y"} {
		_, err := p.normalize(probe, p.Default)
		if err == nil {
			continue
		}
		msg := err.Error()
		if strings.ContainsAny(msg, "\"%") || strings.Contains(msg, probe) || strings.Contains(msg, "xxxx") {
			continue
		}
		return msg
	}
	return ""
}

// paramSchema is a parameter's JSON schema.
func paramSchema(p *Param) map[string]any {
	s := map[string]any{}
	typed := func(v string) any { return v }
	switch p.Type {
	case Integer:
		s["type"] = "integer"
		typed = func(v string) any { n, _ := strconv.ParseInt(v, 10, 64); return n }
	case Decimal:
		s["type"] = "number"
		typed = func(v string) any { f, _ := strconv.ParseFloat(v, 64); return f }
	default:
		s["type"] = "string"
	}
	if p.Enum != nil {
		enum := make([]any, len(p.Enum))
		for i, v := range p.Enum {
			enum[i] = typed(v)
		}
		s["enum"] = enum
	}
	if p.Refused != "" {
		// Only the default is taken (docs/parameters.md).
		s["enum"] = []any{typed(p.Default)}
	}
	if p.Default != "" {
		s["default"] = typed(p.Default)
	}
	if p.MinSet {
		s["minimum"] = p.Min
	}
	if p.MaxSet {
		s["maximum"] = p.Max
	}
	if secretParams[p.Name] {
		s["format"] = "password"
	}
	var doc []string
	if p.RequiredIf != nil && p.RequiredDoc != "" {
		doc = append(doc, "Required "+p.RequiredDoc+".")
	} else if p.RequiredDoc != "" {
		doc = append(doc, upperFirst(p.RequiredDoc)+".")
	}
	if d := checkDoc(p); d != "" {
		doc = append(doc, upperFirst(strings.TrimPrefix(d, p.Name+" "))+".")
	}
	if p.NotStored && p.Name == "validation" {
		doc = append(doc, "1: check everything, write nothing (answers 201 when the write would succeed).")
	}
	if p.Refused != "" {
		doc = append(doc, "Not supported ("+p.Refused+"): only the default is accepted.")
	}
	if p.OwnerManaged && p.Name != "validation" {
		doc = append(doc, "The object's owner may change it.")
	}
	if len(doc) > 0 {
		s["description"] = strings.Join(doc, " ")
	}
	return s
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// objectSchema is an object of params, required names listed.
func objectSchema(params []Param, required []string) map[string]any {
	props := map[string]any{}
	for i := range params {
		props[params[i].Name] = paramSchema(&params[i])
	}
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// schemaName is a function's component schema name: "phones.create".
func schemaName(function string) string { return strings.ReplaceAll(function, "/", ".") }

// OpenAPI is the OpenAPI document of both APIs, for a switch of this
// version.
func (s *Service) OpenAPI(version string) ([]byte, error) {
	schemas := map[string]any{
		"Envelope": map[string]any{
			"type":     "object",
			"required": []string{"responses"},
			"properties": map[string]any{
				"responses": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/Response"}},
				"data":      map[string]any{"description": "The function's answer: an object, a list of objects, or absent (204)."},
			},
			"description": "Every answer is HTTP 200 with the outcome in code: 200/204 success, 201 validation passed (nothing written), 400 bad input (one response per problem, key = the parameter), 401 bad credentials, 402 role does not allow, 404 no such object (or not yours). A body over its limit is HTTP 413, too many rate decks at once HTTP 503 with Retry-After.",
		},
		"Response": map[string]any{
			"type":     "object",
			"required": []string{"code", "message"},
			"properties": map[string]any{
				"code":    map[string]any{"type": "string", "enum": []string{"200", "201", "204", "400", "401", "402", "403", "404"}},
				"key":     map[string]any{"type": "string", "description": "The parameter a problem is about."},
				"message": map[string]any{"type": "string"},
			},
		},
		"GatewayAnswer": map[string]any{
			"type":     "object",
			"required": []string{"result"},
			"properties": map[string]any{
				"result":    map[string]any{"type": "string", "enum": []string{"success", "error"}},
				"error":     map[string]any{"type": "string"},
				"error_key": map[string]any{"type": "string", "description": "MISSING_<PARAM>, INVALID_<PARAM>, <PARAM>_IN_USE, AUTH_REQUIRED, INVALID_LOGIN, LOGIN_BLOCKED, PERMISSION_DENIED, NO_SUCH_SIP_ENDPOINT, UNKNOWN_METHOD, INVALID_REQUEST, INTERNAL_ERROR"},
			},
			"additionalProperties": true,
		},
	}
	paths := map[string]any{}
	envelope := map[string]any{"200": map[string]any{
		"description": "The envelope (see Envelope for the outcome codes).",
		"content":     map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Envelope"}}},
	}}
	for _, f := range s.EnswitchFunctions() {
		name := schemaName(f.Name)
		schemas[name] = objectSchema(f.Params, f.Required)
		ref := map[string]any{"$ref": "#/components/schemas/" + name}
		op := func(method string) map[string]any {
			o := map[string]any{
				"operationId": method + "." + name,
				"summary":     f.Summary,
				"tags":        []string{"enswitch"},
				"responses":   envelope,
			}
			if method == "get" {
				o["parameters"] = []any{map[string]any{"name": "params", "in": "query", "style": "form", "explode": true, "schema": ref}}
			} else {
				content := map[string]any{
					"application/x-www-form-urlencoded": map[string]any{"schema": ref},
					"application/json":                  map[string]any{"schema": ref},
				}
				if f.Name == "peers/costs/import" {
					content["text/csv"] = map[string]any{"schema": map[string]any{"type": "string"}}
				}
				o["requestBody"] = map[string]any{"content": content}
			}
			return o
		}
		paths["/api/json/"+f.Name+"/"] = map[string]any{"get": op("get"), "post": op("post")}
	}
	gatewayPaths(paths, schemas)
	doc := map[string]any{
		"openapi": openAPIVersion,
		"info": map[string]any{
			"title":       "sipswitch admin APIs",
			"version":     version,
			"description": "The Enswitch-compatible JSON API (/api/json/<module>/<function>/) and the gateway-style method API (/admin/main.html, /json). Parameters may be separated by ';' or '&'. Generated from the parameter specs the APIs validate with.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"basic":        map[string]any{"type": "http", "scheme": "basic"},
				"authUsername": map[string]any{"type": "apiKey", "in": "query", "name": "auth_username"},
				"authPassword": map[string]any{"type": "apiKey", "in": "query", "name": "auth_password"},
				"gatewaySession": map[string]any{"type": "apiKey", "in": "cookie", "name": "sipswitch_gw_session",
					"description": "From a login at /admin/main.html."},
			},
		},
		"security": []any{
			map[string]any{"basic": []string{}},
			map[string]any{"authUsername": []string{}, "authPassword": []string{}},
		},
	}
	return json.MarshalIndent(doc, "", " ")
}

// gatewayPaths adds the gateway API: its login form and its /json
// methods.
func gatewayPaths(paths, schemas map[string]any) {
	answer := map[string]any{"200": map[string]any{
		"description": "The answer: result success with the method's members, or error with error and error_key.",
		"content":     map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/GatewayAnswer"}}},
	}}
	paths["/admin/main.html"] = map[string]any{"post": map[string]any{
		"operationId": "gateway.login",
		"summary":     "Log in to the gateway API: sets the session cookie",
		"tags":        []string{"gateway"},
		"security":    []any{},
		"requestBody": map[string]any{"required": true, "content": map[string]any{"application/x-www-form-urlencoded": map[string]any{"schema": objectSchema(
			[]Param{{Name: "admin_uid", Type: String}, {Name: "admin_password", Type: String}}, []string{"admin_uid", "admin_password"})}}},
		"responses": answer,
	}}
	ref := func(key string) Param {
		return withDoc(Param{Name: key, Type: String}, "names the SIP endpoint ("+map[string]string{"object_id": "its id", "object_name": "its name"}[key]+")")
	}
	save := []Param{
		withDoc(Param{Name: "object_id", Type: Integer, Min: 1, MinSet: true}, "the endpoint to update (else old_name, else name; none: create)"),
		withDoc(Param{Name: "old_name", Type: String}, "the endpoint to rename to name"),
	}
	save = append(save, SIPEndpointSpec.Params...)
	gatewayTakesJSON := func(s map[string]any) {
		// A list or object parameter (transport, audio_codecs,
		// codec_order) may be given as JSON, as sip_endpoint.list answers
		// it, or as its text.
		props := s["properties"].(map[string]any)
		for _, p := range SIPEndpointSpec.Params {
			if p.Canon != nil && p.Enum == nil && p.Type == String {
				text := props[p.Name].(map[string]any)
				props[p.Name] = map[string]any{
					"oneOf":       []any{map[string]any{"type": "string"}, map[string]any{"type": "array", "items": map[string]any{}}, map[string]any{"type": "object"}},
					"description": strings.TrimSpace("Text, or JSON as sip_endpoint.list answers it. " + fmtDefault(text)),
				}
			}
		}
	}
	methods := []struct {
		name, summary string
		params        []Param
		required      []string
	}{
		{"sip_endpoint.save", "Create or update a SIP endpoint; answers object_id and any warnings", save, nil},
		{"sip_endpoint.list", "One SIP endpoint's parameters (sip_endpoint)", []Param{ref("object_id"), ref("object_name")}, nil},
		{"sip_endpoints.list", "Every SIP endpoint (sip_endpoints)", nil, nil},
		{"sip_endpoint.delete", "Delete a SIP endpoint", []Param{ref("object_id"), ref("object_name"), enum("object_type", String, "sip_endpoint", "sip_endpoint")}, nil},
	}
	var oneOf []any
	mapping := map[string]any{}
	for _, m := range methods {
		name := "gateway." + m.name
		params := objectSchema(m.params, m.required)
		if m.name == "sip_endpoint.save" {
			gatewayTakesJSON(params)
		}
		schemas[name+".parameters"] = params
		schemas[name] = map[string]any{
			"type":     "object",
			"required": []string{"method"},
			"properties": map[string]any{
				"method":     map[string]any{"type": "string", "enum": []string{m.name}},
				"parameters": map[string]any{"$ref": "#/components/schemas/" + name + ".parameters"},
			},
			"description": m.summary,
		}
		oneOf = append(oneOf, map[string]any{"$ref": "#/components/schemas/" + name})
		mapping[m.name] = "#/components/schemas/" + name
	}
	paths["/json"] = map[string]any{"post": map[string]any{
		"operationId": "gateway.call",
		"summary":     "Call a gateway method (the session cookie, or HTTP basic authentication)",
		"tags":        []string{"gateway"},
		"security":    []any{map[string]any{"gatewaySession": []string{}}, map[string]any{"basic": []string{}}},
		"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
			"oneOf":         oneOf,
			"discriminator": map[string]any{"propertyName": "method", "mapping": mapping},
		}}}},
		"responses": answer,
	}}
}

// fmtDefault says a text schema's default and rule in words.
func fmtDefault(text map[string]any) string {
	var out []string
	if d, ok := text["default"]; ok {
		out = append(out, "Default "+strconv.Quote(d.(string))+".")
	}
	if d, ok := text["description"]; ok {
		out = append(out, d.(string))
	}
	return strings.Join(out, " ")
}
