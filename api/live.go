package api

import (
	"cmp"
	"context"

	"net"
	"slices"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/records"
)

// The live functions (engine/live.go): registrations/list,
// registrations/delete, calls/active and calls/hangup. They answer from
// the daemon's SIP core through an engine.LiveState (WithLiveState);
// without one (an API served over a store alone) they answer that the
// live state is not served here.

// WithLiveState gives the live functions the SIP core's state.
func WithLiveState(l engine.LiveState) Option {
	return func(h *Handler) { h.live = l }
}

func (h *Handler) addLiveFunctions() {
	h.functions["registrations/list"] = h.registrationsList
	h.functions["registrations/delete"] = h.registrationsDelete
	h.functions["calls/active"] = h.callsActive
	h.functions["calls/hangup"] = h.callsHangup
}

// errNoLive answers a live function on a server without a SIP core.
var errNoLive = engine.FieldErrors{{Key: "", Message: "this server carries no calls: the live state is served by sipswitch serve"}}

// livePage reads limit, offset, count and pages as every list takes them.
type livePage struct {
	limit, offset int
	count, pages  bool
}

func livePaging(p engine.Values) (livePage, error) {
	opts, err := listOptions(p, &engine.Kind{})
	if err != nil {
		return livePage{}, err
	}
	return livePage{limit: opts.Limit, offset: opts.Offset, count: p["count"] == "1", pages: p["pages"] == "1"}, nil
}

// page answers rows as a list answers them: a page of limit rows from
// offset, or count=1 / pages=1.
func page[T any](pg livePage, rows []T, row func(T) map[string]any) Envelope {
	switch {
	case pg.count:
		return ok(CodeOK, map[string]any{"count": len(rows)})
	case pg.pages:
		pages := 1
		if pg.limit > 0 {
			pages = (len(rows) + pg.limit - 1) / pg.limit
		}
		return ok(CodeOK, map[string]any{"pages": pages})
	}
	rows = rows[min(pg.offset, len(rows)):]
	if pg.limit > 0 {
		rows = rows[:min(pg.limit, len(rows))]
	}
	out := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		out = append(out, row(r))
	}
	return ok(CodeOK, out)
}

// RegistrationRow is how the API shows a binding.
func RegistrationRow(r engine.LiveRegistration) map[string]any {
	addr, port, err := net.SplitHostPort(r.Source)
	if err != nil {
		addr, port = r.Source, ""
	}
	row := map[string]any{
		"line": r.Phone, "contact": r.Contact, "source": r.Source,
		"source_address": addr, "source_port": port, "transport": r.Transport,
		"user_agent": r.UserAgent, "expires": r.ExpiresAt.Unix(), "host": r.Host,
		"registered": int64(0),
	}
	if !r.Since.IsZero() {
		row["registered"] = r.Since.Unix()
	}
	return row
}

func (h *Handler) registrationsList(ctx context.Context, a *engine.Actor, p engine.Values) (Envelope, error) {
	sc, err := h.svc.LiveScope(ctx, a, p["line"], p["customer"])
	if err != nil {
		return Envelope{}, err
	}
	pg, err := livePaging(p)
	if err != nil {
		return Envelope{}, err
	}
	if h.live == nil {
		return Envelope{}, errNoLive
	}
	var rows []engine.LiveRegistration
	for _, r := range h.live.Registrations() {
		if sc.Allows(r.Phone) {
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(x, y engine.LiveRegistration) int {
		return cmp.Or(cmp.Compare(x.Phone, y.Phone), cmp.Compare(x.Contact, y.Contact))
	})
	return page(pg, rows, RegistrationRow), nil
}

func (h *Handler) registrationsDelete(ctx context.Context, a *engine.Actor, p engine.Values) (Envelope, error) {
	var errs engine.FieldErrors
	if p["line"] == "" {
		errs = append(errs, engine.FieldError{Key: "line", Message: "line is required: the line whose binding to remove"})
	}
	if p["contact"] == "" {
		errs = append(errs, engine.FieldError{Key: "contact", Message: "contact is required: the binding's contact URI (registrations/list)"})
	}
	if len(errs) > 0 {
		return Envelope{}, errs
	}
	sc, err := h.svc.LiveScope(ctx, a, p["line"], "")
	if err != nil {
		return Envelope{}, err
	}
	if !sc.Allows(p["line"]) {
		return Envelope{}, engine.ErrNotFound
	}
	if h.live == nil {
		return Envelope{}, errNoLive
	}
	if err := h.live.Unregister(ctx, p["line"], p["contact"]); err != nil {
		return Envelope{}, err
	}
	return ok(CodeNoContent, nil), nil
}

// CallRow is how the API shows a call in progress.
func CallRow(c records.LiveCall) map[string]any {
	return map[string]any{
		"id": c.ID, "host": c.Host, "start": c.Start, "answer": c.Answer, "direction": c.Direction,
		"line": c.Line, "called_line": c.CalledLine, "customer": c.Customer, "caller": c.Caller,
		"called": c.Called, "route": c.Route, "peer": c.Peer, "attempt": c.Attempt, "state": c.State,
		"relayed": boolFlag(c.Relayed), "caller_loss": c.CallerLoss, "caller_jitter": c.CallerJitter,
		"callee_loss": c.CalleeLoss, "callee_jitter": c.CalleeJitter,
	}
}

func boolFlag(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (h *Handler) callsActive(ctx context.Context, a *engine.Actor, p engine.Values) (Envelope, error) {
	sc, err := h.svc.LiveScope(ctx, a, p["line"], p["customer"])
	if err != nil {
		return Envelope{}, err
	}
	pg, err := livePaging(p)
	if err != nil {
		return Envelope{}, err
	}
	switch p["state"] {
	case "", records.CallRinging, records.CallUp, records.CallHeld:
	default:
		return Envelope{}, engine.FieldErrors{{Key: "state", Message: `state must be one of "ringing", "up", "held"`}}
	}
	if h.live == nil {
		return Envelope{}, errNoLive
	}
	var rows []records.LiveCall
	for _, c := range h.live.ActiveCalls() {
		if sc.AllowsCall(&c) && (p["state"] == "" || c.State == p["state"]) {
			rows = append(rows, c)
		}
	}
	slices.SortFunc(rows, func(x, y records.LiveCall) int {
		return cmp.Or(cmp.Compare(x.Start, y.Start), cmp.Compare(x.ID, y.ID))
	})
	return page(pg, rows, CallRow), nil
}

func (h *Handler) callsHangup(ctx context.Context, a *engine.Actor, p engine.Values) (Envelope, error) {
	id := p["id"]
	if id == "" {
		return Envelope{}, engine.FieldErrors{{Key: "id", Message: "id is required: the call's id (calls/active)"}}
	}
	sc, err := h.svc.LiveScope(ctx, a, "", "")
	if err != nil {
		return Envelope{}, err
	}
	if h.live == nil {
		return Envelope{}, errNoLive
	}
	var found *records.LiveCall
	for _, c := range h.live.ActiveCalls() {
		if c.ID == id {
			found = &c
			break
		}
	}
	// Another's call answers as no call at all: the answer tells nothing
	// of calls the caller may not see.
	if found == nil || !sc.AllowsCall(found) {
		return Envelope{}, engine.ErrNotFound
	}
	if err := h.live.Hangup(id); err != nil {
		return Envelope{}, err
	}
	return ok(CodeNoContent, nil), nil
}
