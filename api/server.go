// Package api serves the admin APIs over HTTP: the Enswitch-compatible
// JSON API at /api/json/<module>/<function>/ and the gateway-style method
// API. It parses requests, authenticates, calls the engine and writes the
// envelope; it holds no SQL and no SIP. What it reads of a request body,
// and when, is in body.go.
package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/routing"
)

// Observer is told the outcome of every API call (for metrics).
type Observer func(function, code string, took time.Duration)

// Handler is the Enswitch JSON API.
type Handler struct {
	svc       *engine.Service
	log       *slog.Logger
	observe   Observer
	functions map[string]function
	kinds     map[string]*engine.Kind
	routing   func(ctx context.Context) (*routing.RoutingState, error)
	// admissions, when set, is the live switch's (routes/simulate).
	admissions routing.Admissions
	// live, when set, is the SIP core's live state (live.go).
	live engine.LiveState
	// uploads holds a token for each rate deck being read.
	uploads chan struct{}
	// recordings is the directory calls/recording reads (recording.go).
	recordings string
}

// function is one API function: it gets the authenticated actor and the
// request's parameters (auth_* removed) and returns the envelope.
type function func(ctx context.Context, a *engine.Actor, p engine.Values) (Envelope, error)

// Option configures NewHandler.
type Option func(*Handler)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithObserver reports each call's function, code and duration.
func WithObserver(o Observer) Option { return func(h *Handler) { h.observe = o } }

// WithFunction adds (or replaces) an API function, e.g. routes/simulate
// provided by the part of the daemon that holds the routing table.
func WithFunction(name string, fn func(ctx context.Context, a *engine.Actor, p engine.Values) (Envelope, error)) Option {
	return func(h *Handler) { h.functions[name] = fn }
}

// WithAdmissions gives routes/simulate the live switch's admission state
// (calls in progress, spend), so that it shows what the SIP core would
// refuse now (routing.Simulate).
func WithAdmissions(a routing.Admissions) Option {
	return func(h *Handler) { h.admissions = a }
}

// WithRoutingState makes routes/simulate decide on the daemon's live
// routing state rather than one built from the store on demand.
func WithRoutingState(f func(ctx context.Context) (*routing.RoutingState, error)) Option {
	return func(h *Handler) { h.routing = f }
}

// WithUploadLimit sets how many rate decks (text/csv bodies of
// peers/costs/import) are read at once (default 2); another is answered
// HTTP 503 with Retry-After. Each may take maxUploadBody of temporary
// disk space.
func WithUploadLimit(n int) Option {
	return func(h *Handler) { h.uploads = make(chan struct{}, max(n, 1)) }
}

// NewHandler builds the API over a service.
func NewHandler(svc *engine.Service, opts ...Option) *Handler {
	h := &Handler{
		svc:       svc,
		log:       slog.Default(),
		functions: map[string]function{},
		kinds:     svc.Kinds(),
		uploads:   make(chan struct{}, 2),
	}
	for module, k := range h.kinds {
		h.addKind(module, k)
	}
	h.functions["settings/get"] = h.settingsGet
	h.functions["settings/update"] = h.settingsUpdate
	h.functions["plans/routes/simulate"] = h.simulate
	h.functions["routes/simulate"] = h.simulate
	h.functions["peers/costs/import"] = h.importCosts
	h.functions["calls/recording"] = h.callsRecording
	h.addLiveFunctions()
	h.routing = engine.NewRoutingStates(svc).Current
	for _, o := range opts {
		o(h)
	}
	return h
}

// Functions lists the function names the API answers, sorted.
func (h *Handler) Functions() []string {
	names := make([]string, 0, len(h.functions))
	for n := range h.functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

const prefix = "/api/json/"

// costsImport is the one function that takes a large body: a text/csv
// rate deck.
const costsImport = "peers/costs/import"

// ServeHTTP answers /api/json/<function>/.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name := strings.Trim(strings.TrimPrefix(r.URL.Path, prefix), "/")
	env, code, status := h.call(r, name)
	setStatusHeaders(w, status)
	if env.file != nil {
		serveFile(w, r, env.file)
	} else {
		writeEnvelope(w, status, env)
	}
	if h.observe != nil {
		fn := name
		if _, known := h.functions[name]; !known {
			fn = "unknown"
		}
		h.observe(fn, code, time.Since(start))
	}
}

// call authenticates and runs one function. The order is what bounds an
// unauthenticated client (see body.go): credentials in the query string
// or basic authentication are checked before any of the body is read; a
// form or JSON body, which may carry the credentials instead, is read
// only up to maxBody; a text/csv deck only by the import, after it.
func (h *Handler) call(r *http.Request, name string) (env Envelope, code string, status int) {
	// A bug must not become a 500 or a dropped connection: the client gets
	// an envelope, and the transaction of the call has been rolled back.
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("api call panicked", "function", name, "panic", p)
			env, code, status = failure(CodeBadInput, "", "The request could not be completed; nothing was changed."), CodeBadInput, http.StatusOK
		}
	}()
	fail := func(err error) (Envelope, string, int) {
		env, code := envelopeForError(h.log, name, err)
		return env, code, httpStatus(err)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return failure(CodeBadInput, "", "Use GET or POST."), CodeBadInput, http.StatusOK
	}
	fn, known := h.functions[name]
	if !known {
		return failure(CodeNotFound, "", "No such function: "+clip(name)), CodeNotFound, http.StatusOK
	}
	// Who asked, from where and for what: the audit log's (engine/audit.go).
	r = r.WithContext(engine.WithOrigin(r.Context(), engine.Origin{Addr: remoteAddr(r), Via: engine.ViaAPI, Function: name}))
	params, err := ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fail(err)
	}
	ct := ""
	if r.Method == http.MethodPost {
		ct, _, _ = mime.ParseMediaType(r.Header.Get("Content-Type"))
	}
	deck := ct == "text/csv"
	if deck && name != costsImport {
		return failure(CodeBadInput, "body", "A text/csv body is taken only by "+costsImport+"."), CodeBadInput, http.StatusOK
	}
	limit := int64(maxBody)
	if deck {
		limit = maxUploadBody
	}
	if r.Method == http.MethodPost && r.ContentLength > limit {
		return fail(fmt.Errorf("%w: %d bytes, over the limit of %d", ErrTooLarge, r.ContentLength, limit))
	}
	// INFERRED: credentials in the query string, else in HTTP basic
	// authentication, are the request's; auth_* in a body count only when
	// neither is given.
	user, password, inRequestLine := params["auth_username"], params["auth_password"], params["auth_username"] != ""
	if !inRequestLine {
		user, password, inRequestLine = r.BasicAuth()
	}
	var actor *engine.Actor
	if inRequestLine {
		// The service counts failures per address and username for this
		// API and the gateway's together.
		if actor, err = h.svc.Login(r.Context(), remoteAddr(r), user, password); err != nil {
			return fail(err)
		}
	}
	if r.Method == http.MethodPost && !deck {
		body, err := readBody(r, maxBody)
		if err != nil {
			return fail(err)
		}
		more, err := ParseBody(ct, body)
		if err != nil {
			return fail(err)
		}
		if inRequestLine {
			delete(more, "auth_username")
			delete(more, "auth_password")
		}
		maps.Copy(params, more)
	}
	if actor == nil {
		if deck {
			return failure(CodeBadAuth, "auth_username", "A text/csv body is read only from an authenticated request: give auth_username and auth_password in the query string, or use HTTP basic authentication."), CodeBadAuth, http.StatusOK
		}
		if actor, err = h.svc.Login(r.Context(), remoteAddr(r), params["auth_username"], params["auth_password"]); err != nil {
			return fail(err)
		}
	}
	delete(params, "auth_username")
	delete(params, "auth_password")
	var out Envelope
	if deck {
		out, err = h.importCostsUpload(r.Context(), actor, params, r.Body)
	} else {
		out, err = fn(r.Context(), actor, params)
	}
	if err != nil {
		return fail(err)
	}
	return out, out.Responses[0].Code, http.StatusOK
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// validateOnly reads the validation switch every create and update takes.
func validateOnly(p engine.Values) (bool, error) {
	switch p["validation"] {
	case "", "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, engine.FieldErrors{{Key: "validation", Message: "validation must be 0 or 1"}}
}

func (h *Handler) addKind(module string, k *engine.Kind) {
	if k.ReadOnly() {
		h.addReadFunctions(module, k)
		return
	}
	h.functions[module+"/create"] = func(ctx context.Context, a *engine.Actor, p engine.Values) (Envelope, error) {
		vo, err := validateOnly(p)
		if err != nil {
			return Envelope{}, err
		}
		id, err := h.svc.Create(ctx, a, k, p, vo)
		if err != nil {
			return Envelope{}, err
		}
		if k.ReturnsID {
			return ok(CodeOK, map[string]any{"id": id}), nil
		}
		return ok(CodeNoContent, nil), nil
	}
	h.functions[module+"/update"] = func(ctx context.Context, a *engine.Actor, p engine.Values) (Envelope, error) {
		vo, err := validateOnly(p)
		if err != nil {
			return Envelope{}, err
		}
		key := p[k.Key]
		if k.Key == "id" {
			delete(p, "id")
		}
		if err := h.svc.Update(ctx, a, k, key, p, vo); err != nil {
			return Envelope{}, err
		}
		return ok(CodeNoContent, nil), nil
	}
	h.functions[module+"/delete"] = func(ctx context.Context, a *engine.Actor, p engine.Values) (Envelope, error) {
		if err := h.svc.Delete(ctx, a, k, p[k.Key]); err != nil {
			return Envelope{}, err
		}
		return ok(CodeNoContent, nil), nil
	}
	h.addReadFunctions(module, k)
}

// addReadFunctions adds module/get and module/list.
func (h *Handler) addReadFunctions(module string, k *engine.Kind) {
	h.functions[module+"/get"] = func(ctx context.Context, a *engine.Actor, p engine.Values) (Envelope, error) {
		opts, err := listOptions(p, k)
		if err != nil {
			return Envelope{}, err
		}
		obj, err := h.svc.Get(ctx, a, k, p[k.Key], opts)
		if err != nil {
			return Envelope{}, err
		}
		return ok(CodeOK, obj), nil
	}
	h.functions[module+"/list"] = func(ctx context.Context, a *engine.Actor, p engine.Values) (Envelope, error) {
		opts, err := listOptions(p, k)
		if err != nil {
			return Envelope{}, err
		}
		rows, total, err := h.svc.List(ctx, a, k, opts)
		if err != nil {
			return Envelope{}, err
		}
		// INFERRED: Enswitch lists take count=1 to return how many rows
		// match instead of the rows, and pages=1 for how many pages of
		// limit rows they make.
		switch {
		case p["count"] == "1":
			return ok(CodeOK, map[string]any{"count": total}), nil
		case p["pages"] == "1":
			pages := 1
			if opts.Limit > 0 {
				pages = (total + opts.Limit - 1) / opts.Limit
			}
			return ok(CodeOK, map[string]any{"pages": pages}), nil
		}
		if rows == nil {
			rows = []map[string]any{}
		}
		return ok(CodeOK, rows), nil
	}
}

// listOptions reads the list parameters every Enswitch list takes.
func listOptions(p engine.Values, k *engine.Kind) (engine.ListOptions, error) {
	var errs engine.FieldErrors
	flagParam := func(name string) bool {
		switch p[name] {
		case "", "0":
			return false
		case "1":
			return true
		}
		errs = append(errs, engine.FieldError{Key: name, Message: name + " must be 0 or 1"})
		return false
	}
	numParam := func(name string) int {
		v := p[name]
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, engine.FieldError{Key: name, Message: name + " must be a whole number of 0 or more"})
		}
		return n
	}
	opts := engine.ListOptions{
		Sort:       p["sort"],
		Descending: flagParam("descending"),
		Limit:      numParam("limit"),
		Offset:     numParam("offset"),
		Password:   flagParam("password"),
		Filters:    engine.Values{},
	}
	flagParam("count")
	flagParam("pages")
	for name := range k.Filters {
		if v, ok := p[name]; ok {
			opts.Filters[name] = v
		}
	}
	for name := range k.Ranges {
		if v, ok := p[name]; ok {
			opts.Filters[name] = v
		}
	}
	if len(errs) > 0 {
		return opts, errs
	}
	return opts, nil
}

func (h *Handler) settingsGet(ctx context.Context, a *engine.Actor, _ engine.Values) (Envelope, error) {
	if !a.System() {
		return Envelope{}, engine.ErrRoleForbids
	}
	st, err := h.svc.Settings(ctx)
	if err != nil {
		return Envelope{}, err
	}
	return ok(CodeOK, st), nil
}

func (h *Handler) settingsUpdate(ctx context.Context, a *engine.Actor, p engine.Values) (Envelope, error) {
	// The engine checks each value (an id, or the emergency numbers).
	settings := map[string]string{}
	for _, key := range engine.SettingKeys {
		if v, given := p[key]; given {
			settings[key] = v
		}
	}
	if err := h.svc.SetSettings(ctx, a, settings); err != nil {
		return Envelope{}, err
	}
	return ok(CodeNoContent, nil), nil
}

// simulate answers routes/simulate: the route and ordered peers a call
// would get, decided exactly as the SIP core decides live calls.
func (h *Handler) simulate(ctx context.Context, a *engine.Actor, p engine.Values) (Envelope, error) {
	req, err := h.svc.SimulationRequest(ctx, a, p)
	if err != nil {
		return Envelope{}, err
	}
	state, err := h.routing(ctx)
	if err != nil {
		return Envelope{}, err
	}
	return ok(CodeOK, routing.Simulate(state, req, h.admissions)), nil
}

// costsImportParams reads peers/costs/import's peer and replace.
func costsImportParams(p engine.Values) (peer int, replace bool, err error) {
	peer, err = strconv.Atoi(p["peer"])
	if err != nil || peer < 1 {
		return 0, false, engine.FieldErrors{{Key: "peer", Message: "peer must be a peer id"}}
	}
	switch p["replace"] {
	case "", "0":
	case "1":
		replace = true
	default:
		return 0, false, engine.FieldErrors{{Key: "replace", Message: "replace must be 0 or 1"}}
	}
	return peer, replace, nil
}

// importCosts loads a peer's cost table from the csv parameter (a deck
// small enough for a query string or a maxBody form); replace=1 drops the
// peer's old rows first. A larger deck is POSTed as text/csv
// (importCostsUpload).
func (h *Handler) importCosts(ctx context.Context, a *engine.Actor, p engine.Values) (Envelope, error) {
	peer, replace, err := costsImportParams(p)
	if err != nil {
		return Envelope{}, err
	}
	if p["csv"] == "" {
		return Envelope{}, engine.FieldErrors{{Key: "csv", Message: "csv is required: POST the rate deck as text/csv or give it in the csv parameter"}}
	}
	n, err := h.svc.ImportCosts(ctx, a, peer, strings.NewReader(p["csv"]), replace)
	if err != nil {
		return Envelope{}, err
	}
	return ok(CodeOK, map[string]any{"imported": n}), nil
}

// importCostsUpload is peers/costs/import with the deck as a text/csv
// body: taken only while fewer than WithUploadLimit decks are being read,
// and read only once the engine has authorized the import.
func (h *Handler) importCostsUpload(ctx context.Context, a *engine.Actor, p engine.Values, body io.Reader) (Envelope, error) {
	peer, replace, err := costsImportParams(p)
	if err != nil {
		return Envelope{}, err
	}
	select {
	case h.uploads <- struct{}{}:
		defer func() { <-h.uploads }()
	default:
		return Envelope{}, ErrUploadsBusy
	}
	deck := &spooledBody{body: body, limit: maxUploadBody}
	defer deck.Close()
	n, err := h.svc.ImportCosts(ctx, a, peer, deck, replace)
	if deck.err != nil {
		// The upload itself failed (too large, or the client went away);
		// the engine's error only says the deck could not be read.
		return Envelope{}, deck.err
	}
	if err != nil {
		return Envelope{}, err
	}
	return ok(CodeOK, map[string]any{"imported": n}), nil
}
