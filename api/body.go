package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
)

// Request bodies (issue 23, finding 4: eight unauthenticated 60 MiB
// bodies took the daemon from 39 to 1,413 MiB, each read whole before its
// wrong password was checked).
//
// INFERRED, the rule for both APIs:
//   - A form or JSON body is at most maxBody bytes, for every function and
//     method, whoever sends it; a larger one is refused unread (HTTP 413)
//     as soon as its Content-Length, or its first maxBody+1 bytes, say so.
//     maxBody holds phones/create with every free-text parameter at its
//     1,024-byte maximum, percent-encoded non-ASCII text (44 kB,
//     TestLargestLegitimateBodyFits), with room to spare.
//   - The one larger body is a rate deck, POSTed as text/csv to
//     peers/costs/import, up to maxUploadBody. It is read only after the
//     request authenticated from its query string (auth_username and
//     auth_password) or HTTP basic authentication, and after the engine
//     found that user allowed to import (ImportCosts authorizes before it
//     reads); otherwise nothing of it is read.
//   - At most WithUploadLimit (default 2) decks are read at once; another
//     is answered 503 with Retry-After, unread.
//   - A deck is copied to an unlinked temporary file as it arrives and
//     parsed from there row by row in the import's one transaction: memory
//     does not grow with the deck, and the store's write lock is not held
//     while a slow client uploads.
const (
	maxBody       = 64 << 10
	maxUploadBody = 64 << 20
)

// Errors of request bodies answered with an HTTP status besides the
// envelope: the body was not read to its end, so the server closes the
// connection after answering, and a client or proxy in the middle of
// sending learns why from the status.
var (
	ErrTooLarge    = errors.New("request body too large")                 // 413
	ErrUploadsBusy = errors.New("too many rate decks are being uploaded") // 503
)

// uploadRetryAfter is the Retry-After of ErrUploadsBusy, in seconds.
const uploadRetryAfter = 5

// httpStatus is the HTTP status an error is answered with; 200 for all
// but the errors above, as the Enswitch API answers.
func httpStatus(err error) int {
	switch {
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUploadsBusy):
		return http.StatusServiceUnavailable
	}
	return http.StatusOK
}

// setStatusHeaders adds what a status other than 200 needs.
func setStatusHeaders(w http.ResponseWriter, status int) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(uploadRetryAfter))
	}
}

// readBody reads a body of at most limit bytes; a larger one is
// ErrTooLarge, read no further than limit+1 bytes (not at all when its
// Content-Length says so).
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, over the limit of %d", ErrTooLarge, r.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadBody, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: over the limit of %d bytes", ErrTooLarge, limit)
	}
	return body, nil
}

// spooledBody is an upload read on its first Read: copied whole (up to
// limit bytes) to an unlinked temporary file, then read from the file. So
// nothing is read from the client until the consumer starts reading (after
// its own authorization), and the consumer reads at disk speed. Close it.
type spooledBody struct {
	body  io.Reader
	limit int64
	file  *os.File
	err   error
}

func (s *spooledBody) Read(p []byte) (int, error) {
	if s.file == nil && s.err == nil {
		s.err = s.spool()
	}
	if s.err != nil {
		return 0, s.err
	}
	return s.file.Read(p)
}

func (s *spooledBody) spool() error {
	f, err := os.CreateTemp("", "sipswitch-upload-*.csv")
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	// Unlinked at once: the space is freed when the file is closed, even
	// if the process dies first.
	os.Remove(f.Name())
	n, err := io.Copy(f, io.LimitReader(s.body, s.limit+1))
	if err == nil && n > s.limit {
		err = fmt.Errorf("%w: over the limit of %d bytes", ErrTooLarge, s.limit)
	} else if err != nil {
		err = fmt.Errorf("%w: %v", ErrBadBody, err)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return err
	}
	s.file = f
	return nil
}

// Close removes the temporary file.
func (s *spooledBody) Close() error {
	if s.file == nil {
		return nil
	}
	return s.file.Close()
}
