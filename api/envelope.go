package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/sipswitch/sipswitch/engine"
)

// Enswitch response codes (always sent with HTTP 200; clients read the
// JSON code).
const (
	CodeOK          = "200"
	CodeValidated   = "201"
	CodeNoContent   = "204"
	CodeBadInput    = "400"
	CodeBadAuth     = "401"
	CodeRoleForbids = "402"
	CodePlanForbids = "403"
	CodeNotFound    = "404"
)

// Response is one element of the envelope's responses list.
type Response struct {
	Code    string `json:"code"`
	Key     string `json:"key"`
	Message string `json:"message"`
}

// Envelope is the body of every Enswitch API answer.
type Envelope struct {
	Responses []Response `json:"responses"`
	Data      any        `json:"data,omitempty"`
	// file, when set, is the answer instead of the envelope
	// (calls/recording, recording.go).
	file *fileAnswer
}

// writeEnvelope answers with status: 200 but for the refusals of a body
// that HTTP itself must carry (httpStatus).
func writeEnvelope(w http.ResponseWriter, status int, env Envelope) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(env)
}

func ok(code string, data any) Envelope {
	return Envelope{Responses: []Response{{Code: code, Key: "", Message: "OK"}}, Data: data}
}

func failure(code, key, message string) Envelope {
	return Envelope{Responses: []Response{{Code: code, Key: key, Message: message}}}
}

// envelopeForError maps an engine outcome to its Enswitch code. Anything
// unexpected is logged and answered as a 400 without detail: a client
// never sees a 500 or an internal message.
func envelopeForError(log *slog.Logger, function string, err error) (Envelope, string) {
	var fes engine.FieldErrors
	var forbidden engine.ForbiddenParams
	switch {
	case errors.As(err, &forbidden):
		env := Envelope{}
		for _, key := range forbidden {
			env.Responses = append(env.Responses, Response{Code: CodeRoleForbids, Key: key, Message: "Your role does not allow changing " + key + "."})
		}
		return env, CodeRoleForbids
	case errors.As(err, &fes):
		env := Envelope{}
		for _, fe := range fes {
			env.Responses = append(env.Responses, Response{Code: CodeBadInput, Key: fe.Key, Message: fe.Message})
		}
		return env, CodeBadInput
	case errors.Is(err, engine.ErrValidated):
		return Envelope{Responses: []Response{{Code: CodeValidated, Key: "", Message: "Input passed validation."}}}, CodeValidated
	case errors.Is(err, engine.ErrLoginBlocked):
		return failure(CodeBadAuth, "auth_username", "Too many failed logins; try again later."), CodeBadAuth
	case errors.Is(err, engine.ErrBadCredentials):
		return failure(CodeBadAuth, "auth_username", "The authentication details provided are invalid."), CodeBadAuth
	case errors.Is(err, engine.ErrRoleForbids):
		return failure(CodeRoleForbids, "", "Your role does not allow this."), CodeRoleForbids
	case errors.Is(err, engine.ErrPlanForbids):
		return failure(CodePlanForbids, "", "Your rate plan does not allow this."), CodePlanForbids
	case errors.Is(err, engine.ErrNotFound):
		return failure(CodeNotFound, "", "The object does not exist, or you do not have permission to access it."), CodeNotFound
	case errors.Is(err, ErrTooLarge):
		return failure(CodeBadInput, "body", fmt.Sprintf("The request body is too large: at most %d bytes, or %d for a text/csv rate deck POSTed to %s.", maxBody, maxUploadBody, costsImport)), CodeBadInput
	case errors.Is(err, ErrUploadsBusy):
		return failure(CodeBadInput, "body", fmt.Sprintf("Too many rate decks are being uploaded; retry in %d seconds.", uploadRetryAfter)), CodeBadInput
	case errors.Is(err, ErrBadQuery), errors.Is(err, ErrBadBody):
		return failure(CodeBadInput, "", err.Error()), CodeBadInput
	}
	log.Error("api call failed", "function", function, "error", err)
	return failure(CodeBadInput, "", "The request could not be completed; nothing was changed."), CodeBadInput
}
