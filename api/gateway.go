package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/sipswitch/sipswitch/engine"
)

// The gateway-style method API (Digium Gateway "JSON Extend API"): log in
// at /admin/main.html for a session cookie, then POST
// {"method":"sip_endpoint.save","parameters":{...}} to /json. See
// GATEWAY.md.

// Paths of the gateway API.
const (
	GatewayLoginPath = "/admin/main.html"
	GatewayJSONPath  = "/json"
)

// SessionCookie is the name of the gateway API's session cookie.
const SessionCookie = "sipswitch_gw_session"

// GatewayHandler serves the gateway API.
type GatewayHandler struct {
	svc     *engine.Service
	log     *slog.Logger
	now     func() time.Time
	idle    time.Duration // a session unused this long ends
	maxAge  time.Duration // a session ends this long after login, used or not
	perUser int           // live sessions of one user; a login past it ends the oldest
	methods map[string]gatewayMethod

	sessions *Sessions // sessions.go
}

// gatewayMethod answers one method: members to add to {"result":"success"}.
type gatewayMethod func(ctx context.Context, a *engine.Actor, p engine.Values) (map[string]any, error)

// GatewayOption configures NewGatewayHandler.
type GatewayOption func(*GatewayHandler)

// WithGatewayLogger sets the logger.
func WithGatewayLogger(l *slog.Logger) GatewayOption { return func(h *GatewayHandler) { h.log = l } }

// WithSessionTimeouts sets how long an unused session lives (default 30
// minutes) and how long any session lives (default 12 hours).
func WithSessionTimeouts(idle, maxAge time.Duration) GatewayOption {
	return func(h *GatewayHandler) { h.idle, h.maxAge = idle, maxAge }
}

// WithSessionLimit sets how many live sessions one user may hold (default
// 10); a login past it ends the user's oldest session.
func WithSessionLimit(n int) GatewayOption {
	return func(h *GatewayHandler) { h.perUser = max(n, 1) }
}

// WithGatewayClock replaces time.Now for session expiry (tests).
func WithGatewayClock(now func() time.Time) GatewayOption {
	return func(h *GatewayHandler) { h.now = now }
}

// NewGatewayHandler builds the gateway API over a service. Mount it at
// GatewayLoginPath and GatewayJSONPath.
func NewGatewayHandler(svc *engine.Service, opts ...GatewayOption) *GatewayHandler {
	h := &GatewayHandler{
		svc:     svc,
		log:     slog.Default(),
		now:     time.Now,
		idle:    30 * time.Minute,
		maxAge:  12 * time.Hour,
		perUser: 10,
	}
	h.methods = map[string]gatewayMethod{
		"sip_endpoint.save":   h.sipEndpointSave,
		"sip_endpoint.list":   h.sipEndpointList,
		"sip_endpoints.list":  h.sipEndpointsList,
		"sip_endpoint.delete": h.sipEndpointDelete,
	}
	for _, o := range opts {
		o(h)
	}
	h.sessions = NewSessions(h.idle, h.maxAge, h.perUser, h.now)
	return h
}

// gatewayError is an answer {"result":"error"} with its language key.
type gatewayError struct {
	key, message string
}

func (e *gatewayError) Error() string { return e.message }

var (
	errAuthRequired = &gatewayError{"AUTH_REQUIRED", "Log in at " + GatewayLoginPath + " (or use HTTP basic authentication) first; the session may have expired."}
	errBadLogin     = &gatewayError{"INVALID_LOGIN", "The user name or password is incorrect."}
	errLoginBlocked = &gatewayError{"LOGIN_BLOCKED", "Too many failed logins; try again later."}
	errPermission   = &gatewayError{"PERMISSION_DENIED", "Your role does not allow this; the gateway API needs the system role."}
	errNoEndpoint   = &gatewayError{"NO_SUCH_SIP_ENDPOINT", "The SIP endpoint does not exist."}
	errMethodPOST   = &gatewayError{"INVALID_REQUEST", "Use POST."}
	errInternal     = &gatewayError{"INTERNAL_ERROR", "The request could not be completed; nothing was changed."}
)

// ServeHTTP answers GatewayLoginPath and GatewayJSONPath. Every answer is
// HTTP 200 with "result" saying what happened, as the gateway does, but
// for a body over maxBody: 413, as the Enswitch API answers it (body.go).
func (h *GatewayHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var out map[string]any
	status := http.StatusOK
	func() {
		defer func() {
			if p := recover(); p != nil {
				h.log.Error("gateway call panicked", "path", r.URL.Path, "panic", p)
				out, status = errorAnswer(errInternal), http.StatusOK
			}
		}()
		switch r.URL.Path {
		case GatewayLoginPath:
			out, status = h.login(w, r)
		case GatewayJSONPath:
			out, status = h.call(r)
		default:
			out = errorAnswer(&gatewayError{"INVALID_REQUEST", "No such path: " + clip(r.URL.Path)})
		}
	}()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

// errTooLarge answers a body over maxBody, unread.
var errTooLarge = &gatewayError{"INVALID_REQUEST", fmt.Sprintf("The request body is too large: at most %d bytes.", maxBody)}

// readGatewayBody reads a body of at most maxBody bytes, or answers why
// not.
func readGatewayBody(r *http.Request) ([]byte, map[string]any, int) {
	body, err := readBody(r, maxBody)
	switch {
	case errors.Is(err, ErrTooLarge):
		return nil, errorAnswer(errTooLarge), http.StatusRequestEntityTooLarge
	case err != nil:
		return nil, errorAnswer(&gatewayError{"INVALID_REQUEST", "The request body could not be read."}), http.StatusOK
	}
	return body, nil, http.StatusOK
}

func (h *GatewayHandler) login(w http.ResponseWriter, r *http.Request) (map[string]any, int) {
	if r.Method != http.MethodPost {
		return errorAnswer(errMethodPOST), http.StatusOK
	}
	body, refused, status := readGatewayBody(r)
	if refused != nil {
		return refused, status
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return errorAnswer(&gatewayError{"INVALID_REQUEST", "The login form could not be read."}), http.StatusOK
	}
	r = r.WithContext(engine.WithOrigin(r.Context(), engine.Origin{Addr: remoteAddr(r), Via: engine.ViaGateway, Function: "login"}))
	actor, err := h.authenticate(r, form.Get("admin_uid"), form.Get("admin_password"))
	if err != nil {
		return h.errorFor(err), http.StatusOK
	}
	// Only the system role may call a method; a session for any other
	// would be memory held for nothing.
	if !actor.System() {
		return errorAnswer(errPermission), http.StatusOK
	}
	// At most perUser sessions for each system user (INFERRED: 10; only
	// system users get sessions, and only a system user makes one).
	token, _, err := h.sessions.Start(actor)
	if err != nil {
		h.log.Error("gateway session id", "error", err)
		return errorAnswer(errInternal), http.StatusOK
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	return map[string]any{"result": "success"}, http.StatusOK
}

// authenticate checks credentials under the service's failed-login limits,
// which count this API's failures and the Enswitch API's together.
func (h *GatewayHandler) authenticate(r *http.Request, user, password string) (*engine.Actor, error) {
	actor, err := h.svc.Login(r.Context(), remoteAddr(r), user, password)
	switch {
	case errors.Is(err, engine.ErrLoginBlocked):
		return nil, errLoginBlocked
	case errors.Is(err, engine.ErrBadCredentials):
		return nil, errBadLogin
	}
	return actor, err
}

// session returns the actor of a live session cookie, refreshing its idle
// timer.
func (h *GatewayHandler) session(r *http.Request) *engine.Actor {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil
	}
	if s := h.sessions.Get(c.Value); s != nil {
		return s.Actor
	}
	return nil
}

// gatewayRequest is the body of a /json call.
type gatewayRequest struct {
	Method     string                     `json:"method"`
	Parameters map[string]json.RawMessage `json:"parameters"`
}

func (h *GatewayHandler) call(r *http.Request) (map[string]any, int) {
	if r.Method != http.MethodPost {
		return errorAnswer(errMethodPOST), http.StatusOK
	}
	if r.ContentLength > maxBody {
		return errorAnswer(errTooLarge), http.StatusRequestEntityTooLarge
	}
	// Who asked and from where: the audit log's (engine/audit.go); run
	// adds the method.
	r = r.WithContext(engine.WithOrigin(r.Context(), engine.Origin{Addr: remoteAddr(r), Via: engine.ViaGateway}))
	// The session or the credentials first: nothing of the body is read
	// for a client that has neither.
	actor := h.session(r)
	if actor == nil {
		user, pw, ok := r.BasicAuth()
		if !ok {
			return errorAnswer(errAuthRequired), http.StatusOK
		}
		a, err := h.authenticate(r, user, pw)
		if err != nil {
			return h.errorFor(err), http.StatusOK
		}
		actor = a
	}
	body, refused, status := readGatewayBody(r)
	if refused != nil {
		return refused, status
	}
	return h.run(r.Context(), remoteAddr(r), actor, body), http.StatusOK
}

// run answers the method a body names.
func (h *GatewayHandler) run(ctx context.Context, addr netip.Addr, actor *engine.Actor, body []byte) map[string]any {
	var req gatewayRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil || dec.More() {
		return errorAnswer(&gatewayError{"INVALID_REQUEST", "The body must be a JSON object {\"method\": ..., \"parameters\": {...}}."})
	}
	fn, ok := h.methods[req.Method]
	if !ok {
		return errorAnswer(&gatewayError{"UNKNOWN_METHOD", "No such method: " + clip(req.Method)})
	}
	ctx = engine.WithOrigin(ctx, engine.Origin{Addr: addr, Via: engine.ViaGateway, Function: req.Method})
	params, err := gatewayParams(req.Parameters)
	if err != nil {
		return h.errorFor(err)
	}
	members, err := fn(ctx, actor, params)
	if err != nil {
		return h.errorFor(err)
	}
	out := map[string]any{"result": "success"}
	maps.Copy(out, members)
	return out
}

// gatewayParams turns JSON members into Values: strings as they are,
// numbers as written, booleans as 1/0, null as empty, and lists or
// objects as their JSON text for the parameters whose spec reads them
// (transport, audio_codecs, codec_order).
func gatewayParams(raw map[string]json.RawMessage) (engine.Values, error) {
	vals := make(engine.Values, len(raw))
	var errs engine.FieldErrors
	for k, m := range raw {
		m = bytes.TrimSpace(m)
		if len(m) == 0 {
			continue
		}
		switch m[0] {
		case '"':
			var s string
			_ = json.Unmarshal(m, &s)
			vals[k] = s
		case '[', '{':
			if p, ok := engine.SIPEndpointSpec.Param(k); !ok || p.Canon == nil {
				errs = append(errs, engine.FieldError{Key: k, Message: k + " must be a single value, not a list or object"})
				continue
			}
			var b bytes.Buffer
			_ = json.Compact(&b, m)
			vals[k] = b.String()
		case 'n':
			vals[k] = ""
		case 't':
			vals[k] = "1"
		case 'f':
			vals[k] = "0"
		default:
			vals[k] = string(m)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return vals, nil
}

// ErrorKey derives the gateway's language key from a FieldError:
// MISSING_NAME, NAME_IN_USE, INVALID_SESSION_TIMERS...
func ErrorKey(fe engine.FieldError) string {
	p := strings.ToUpper(strings.NewReplacer("-", "_", " ", "_").Replace(fe.Key))
	switch fe.Reason {
	case engine.ReasonMissing:
		return "MISSING_" + p
	case engine.ReasonInUse:
		return p + "_IN_USE"
	}
	return "INVALID_" + p
}

func errorAnswer(e *gatewayError) map[string]any {
	return map[string]any{"result": "error", "error": e.message, "error_key": e.key}
}

// errorFor maps an outcome to its answer. FieldErrors give the first
// problem's key and every problem's sentence; anything unexpected is
// logged and answered without detail.
func (h *GatewayHandler) errorFor(err error) map[string]any {
	var ge *gatewayError
	var fes engine.FieldErrors
	switch {
	case errors.As(err, &ge):
		return errorAnswer(ge)
	case errors.As(err, &fes) && len(fes) > 0:
		msgs := make([]string, len(fes))
		for i, fe := range fes {
			msgs[i] = fe.Message
		}
		return errorAnswer(&gatewayError{ErrorKey(fes[0]), strings.Join(msgs, "; ") + "."})
	case errors.Is(err, engine.ErrRoleForbids):
		return errorAnswer(errPermission)
	case errors.Is(err, engine.ErrNotFound):
		return errorAnswer(errNoEndpoint)
	}
	h.log.Error("gateway call failed", "error", err)
	return errorAnswer(errInternal)
}

func (h *GatewayHandler) sipEndpointSave(ctx context.Context, a *engine.Actor, p engine.Values) (map[string]any, error) {
	res, err := h.svc.SaveSIPEndpoint(ctx, a, p)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"object_id": fmt.Sprint(res.ID)}
	if len(res.Warnings) > 0 {
		out["warnings"] = res.Warnings
	}
	return out, nil
}

func endpointRef(p engine.Values) engine.SIPEndpointRef {
	return engine.SIPEndpointRef{ObjectID: p["object_id"], Name: p["object_name"]}
}

func (h *GatewayHandler) sipEndpointList(ctx context.Context, a *engine.Actor, p engine.Values) (map[string]any, error) {
	v, err := h.svc.SIPEndpoint(ctx, a, endpointRef(p))
	if err != nil {
		return nil, err
	}
	return map[string]any{"sip_endpoint": presentEndpoint(v)}, nil
}

func (h *GatewayHandler) sipEndpointsList(ctx context.Context, a *engine.Actor, _ engine.Values) (map[string]any, error) {
	all, err := h.svc.SIPEndpoints(ctx, a)
	if err != nil {
		return nil, err
	}
	list := make([]map[string]any, len(all))
	for i, v := range all {
		list[i] = presentEndpoint(v)
	}
	return map[string]any{"sip_endpoints": list}, nil
}

func (h *GatewayHandler) sipEndpointDelete(ctx context.Context, a *engine.Actor, p engine.Values) (map[string]any, error) {
	if t := p["object_type"]; t != "" && t != "sip_endpoint" {
		return nil, engine.FieldErrors{{Key: "object_type", Message: fmt.Sprintf("object_type must be sip_endpoint, got %q", clip(t))}}
	}
	if err := h.svc.DeleteSIPEndpoint(ctx, a, endpointRef(p)); err != nil {
		return nil, err
	}
	return map[string]any{"invalid_rules": []any{}, "invalid_groups": []any{}}, nil
}

// presentEndpoint shapes stored values as sip_endpoint.save takes them, so
// a listed endpoint can be saved back unchanged: strings everywhere,
// transport as a list, audio_codecs as {id, value} for every codec and
// codec_order as {id, order} in preference order.
func presentEndpoint(v engine.Values) map[string]any {
	out := make(map[string]any, len(v))
	for k, s := range v {
		out[k] = s
	}
	out["transport"] = strings.Split(v["transport"], ",")
	enabled := map[string]bool{}
	for c := range strings.SplitSeq(v["audio_codecs"], ",") {
		enabled[c] = true
	}
	codecs := make([]map[string]string, 0, len(engine.AudioCodecIDs))
	for _, c := range engine.AudioCodecIDs {
		val := "0"
		if enabled[c] {
			val = "1"
		}
		codecs = append(codecs, map[string]string{"id": c, "value": val})
	}
	out["audio_codecs"] = codecs
	order := []map[string]string{}
	for i, c := range strings.Split(v["codec_order"], ",") {
		if c != "" {
			order = append(order, map[string]string{"id": c, "order": fmt.Sprint(i + 1)})
		}
	}
	out["codec_order"] = order
	return out
}
