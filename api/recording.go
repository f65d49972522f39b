package api

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strconv"
	"time"

	"github.com/sipswitch/sipswitch/engine"
)

// calls/recording (issue 29): the recording of a call, to whoever may
// read the call (calls/get's rule: another customer's call is 404, as
// one that does not exist). id is the call record's id. The answer is
// the file itself, audio/wav (Range requests served), not an envelope;
// a refusal is the usual envelope. The file is read from the recordings
// directory (WithRecordings, the daemon's media.recordings_dir) through
// os.Root: the record's path cannot name anything outside it. A
// recording deleted after its group's retention, or made by another
// switch host of the cluster (the record's host), is 404 here.

// WithRecordings sets the directory calls/recording reads; "" (the
// default) serves none.
func WithRecordings(dir string) Option {
	return func(h *Handler) { h.recordings = dir }
}

// fileAnswer is an answer that is a file rather than an envelope.
type fileAnswer struct {
	f       *os.File
	name    string
	modTime time.Time
}

// errNoRecording is calls/recording's 404 for a recorded call whose file
// is not here.
var errNoRecording = engine.FieldErrors{{Key: "id", Message: "the call's recording is not on this host: deleted after its record group's retention, or recorded by another host (the call's host)"}}

func (h *Handler) callsRecording(ctx context.Context, a *engine.Actor, p engine.Values) (Envelope, error) {
	id := p["id"]
	if id == "" {
		return Envelope{}, engine.FieldErrors{{Key: "id", Message: "id is required: the call record's id (calls/list)"}}
	}
	if n, err := strconv.ParseInt(id, 10, 64); err != nil || n < 1 {
		return Envelope{}, engine.FieldErrors{{Key: "id", Message: "id must be a positive integer"}}
	}
	rel, err := h.svc.CallRecording(ctx, a, id)
	if err != nil {
		return Envelope{}, err
	}
	if h.recordings == "" {
		return failure(CodeNotFound, "id", "this server serves no recordings (media.recordings_dir)"), nil
	}
	root, err := os.OpenRoot(h.recordings)
	if err != nil {
		return failure(CodeNotFound, "id", errNoRecording[0].Message), nil
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			h.log.Warn("api recording not readable", "call", id, "error", err)
		}
		return failure(CodeNotFound, "id", errNoRecording[0].Message), nil
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
		return failure(CodeNotFound, "id", errNoRecording[0].Message), nil
	}
	env := ok(CodeOK, nil)
	env.file = &fileAnswer{f: f, name: path.Base(rel), modTime: info.ModTime()}
	return env, nil
}

// serveFile answers with a file answer's bytes and closes it.
func serveFile(w http.ResponseWriter, r *http.Request, fa *fileAnswer) {
	defer fa.f.Close()
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="`+fa.name+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, fa.name, fa.modTime, fa.f)
}
