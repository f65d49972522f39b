package api

import (
	"context"

	"github.com/sipswitch/sipswitch/engine"
)

// Invoke runs one API function for an actor already authenticated (the
// web console's session) and returns the envelope the API would send: the
// same function, checks and messages as /api/json/<name>/, so a page shows
// exactly what the API answers. The context should carry the request's
// origin (engine.WithOrigin) for the audit log.
func (h *Handler) Invoke(ctx context.Context, a *engine.Actor, name string, params engine.Values) (env Envelope) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("api call panicked", "function", name, "panic", p)
			env = failure(CodeBadInput, "", "The request could not be completed; nothing was changed.")
		}
	}()
	fn, known := h.functions[name]
	if !known {
		return failure(CodeNotFound, "", "No such function: "+clip(name))
	}
	if params == nil {
		params = engine.Values{}
	}
	out, err := fn(ctx, a, params)
	if err != nil {
		env, _ = envelopeForError(h.log, name, err)
		return env
	}
	if out.file != nil {
		// A file answer (calls/recording) is served over HTTP only.
		out.file.f.Close()
		return failure(CodeBadInput, "", name+" answers with the file itself: fetch "+prefix+name+"/")
	}
	return out
}
