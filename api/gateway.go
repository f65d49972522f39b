package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
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
	methods map[string]gatewayMethod

	mu       sync.Mutex
	sessions map[string]*gatewaySession
}

type gatewaySession struct {
	actor    *engine.Actor
	created  time.Time
	lastUsed time.Time
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

// WithGatewayClock replaces time.Now for session expiry (tests).
func WithGatewayClock(now func() time.Time) GatewayOption {
	return func(h *GatewayHandler) { h.now = now }
}

// NewGatewayHandler builds the gateway API over a service. Mount it at
// GatewayLoginPath and GatewayJSONPath.
func NewGatewayHandler(svc *engine.Service, opts ...GatewayOption) *GatewayHandler {
	h := &GatewayHandler{
		svc:      svc,
		log:      slog.Default(),
		now:      time.Now,
		idle:     30 * time.Minute,
		maxAge:   12 * time.Hour,
		sessions: map[string]*gatewaySession{},
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
// HTTP 200 with "result" saying what happened, as the gateway does.
func (h *GatewayHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var out map[string]any
	func() {
		defer func() {
			if p := recover(); p != nil {
				h.log.Error("gateway call panicked", "path", r.URL.Path, "panic", p)
				out = errorAnswer(errInternal)
			}
		}()
		switch r.URL.Path {
		case GatewayLoginPath:
			out = h.login(w, r)
		case GatewayJSONPath:
			out = h.call(r)
		default:
			out = errorAnswer(&gatewayError{"INVALID_REQUEST", "No such path: " + clip(r.URL.Path)})
		}
	}()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(out)
}

func (h *GatewayHandler) login(w http.ResponseWriter, r *http.Request) map[string]any {
	if r.Method != http.MethodPost {
		return errorAnswer(errMethodPOST)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		return errorAnswer(&gatewayError{"INVALID_REQUEST", "The login form could not be read."})
	}
	actor, err := h.authenticate(r, r.PostForm.Get("admin_uid"), r.PostForm.Get("admin_password"))
	if err != nil {
		return h.errorFor(err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		h.log.Error("gateway session id", "error", err)
		return errorAnswer(errInternal)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	now := h.now()
	h.mu.Lock()
	h.pruneLocked(now)
	h.sessions[token] = &gatewaySession{actor: actor, created: now, lastUsed: now}
	h.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	return map[string]any{"result": "success"}
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

func (h *GatewayHandler) pruneLocked(now time.Time) {
	for t, s := range h.sessions {
		if h.expired(s, now) {
			delete(h.sessions, t)
		}
	}
}

func (h *GatewayHandler) expired(s *gatewaySession, now time.Time) bool {
	return now.Sub(s.lastUsed) >= h.idle || now.Sub(s.created) >= h.maxAge
}

// session returns the actor of a live session cookie, refreshing its idle
// timer.
func (h *GatewayHandler) session(r *http.Request) *engine.Actor {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil
	}
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sessions[c.Value]
	if s == nil {
		return nil
	}
	if h.expired(s, now) {
		delete(h.sessions, c.Value)
		return nil
	}
	s.lastUsed = now
	return s.actor
}

// gatewayRequest is the body of a /json call.
type gatewayRequest struct {
	Method     string                     `json:"method"`
	Parameters map[string]json.RawMessage `json:"parameters"`
}

func (h *GatewayHandler) call(r *http.Request) map[string]any {
	if r.Method != http.MethodPost {
		return errorAnswer(errMethodPOST)
	}
	actor := h.session(r)
	if actor == nil {
		user, pw, ok := r.BasicAuth()
		if !ok {
			return errorAnswer(errAuthRequired)
		}
		a, err := h.authenticate(r, user, pw)
		if err != nil {
			return h.errorFor(err)
		}
		actor = a
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return errorAnswer(&gatewayError{"INVALID_REQUEST", "The request body could not be read or is too large."})
	}
	var req gatewayRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil || dec.More() {
		return errorAnswer(&gatewayError{"INVALID_REQUEST", "The body must be a JSON object {\"method\": ..., \"parameters\": {...}}."})
	}
	fn, ok := h.methods[req.Method]
	if !ok {
		return errorAnswer(&gatewayError{"UNKNOWN_METHOD", "No such method: " + clip(req.Method)})
	}
	params, err := gatewayParams(req.Parameters)
	if err != nil {
		return h.errorFor(err)
	}
	members, err := fn(r.Context(), actor, params)
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
