package render

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
)

// Sentinel errors; every error Render returns wraps one of them and names
// the object and parameter at fault.
var (
	ErrInvalidName  = errors.New("invalid section name")
	ErrInvalidValue = errors.New("invalid value")
	ErrNameConflict = errors.New("name used by two objects")
	ErrUnsupported  = errors.New("unsupported value")
)

// maxSectionName is the longest category name Asterisk keeps: the config
// parser copies names into char[80] and silently truncates longer ones.
const maxSectionName = 79

// checkSectionName rejects names Asterisk's config parser would cut or
// misread: ']' ends the header, ';' starts a comment, ',' '(' ')' are
// template syntax, whitespace is stripped.
func checkSectionName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrInvalidName)
	}
	if len(name) > maxSectionName {
		return fmt.Errorf("%w: %q is longer than %d characters", ErrInvalidName, name, maxSectionName)
	}
	if strings.ContainsAny(name, "[];,() \t\r\n\\\"'=") {
		return fmt.Errorf("%w: %q contains a character Asterisk treats as syntax", ErrInvalidName, name)
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x21 || name[i] > 0x7e {
			return fmt.Errorf("%w: %q contains a non-printable or non-ASCII byte", ErrInvalidName, name)
		}
	}
	return nil
}

// confValue makes a free-text value safe for an Asterisk config line: a
// newline would start a new line (an injected option), so it is refused; a
// ';' would start a comment, so it is escaped as "\;".
func confValue(v string) (string, error) {
	if strings.ContainsAny(v, "\r\n\x00") {
		return "", fmt.Errorf("%w: contains a line break", ErrInvalidValue)
	}
	if strings.TrimSpace(v) != v {
		return "", fmt.Errorf("%w: leading or trailing whitespace would be stripped by Asterisk", ErrInvalidValue)
	}
	if strings.HasSuffix(v, `\`) {
		return "", fmt.Errorf("%w: trailing backslash", ErrInvalidValue)
	}
	if !strings.Contains(v, ";") {
		return v, nil
	}
	return strings.ReplaceAll(v, ";", `\;`), nil
}

// dialplanSafe reports whether v can be pasted into a dialplan application
// argument as literal text: no variable syntax, quoting, argument
// separators or nesting characters.
func dialplanSafe(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case strings.IndexByte("+*#._@:-/ ", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// confWriter accumulates one config file. The first error sticks; later
// calls are no-ops so render code stays linear. Inside each, an error ends
// only the object being written (see each).
type confWriter struct {
	buf bytes.Buffer
	err error
	ctx string // object being written, for error messages
	// skip, when set, is told of each object each took back.
	skip func(objectRef, error)
}

// objectRef names a stored object the renderer can leave out: a kind
// ("phone", "peer", "route", "sip_endpoint", "timegroup", "class of
// service") and its name or id.
type objectRef struct {
	kind, key string
}

func phoneRef(p *routing.Phone) objectRef { return objectRef{"phone", p.Name} }
func peerRef(p *routing.Peer) objectRef   { return objectRef{"peer", strconv.Itoa(p.ID)} }
func routeRef(r *routing.Route) objectRef { return objectRef{"route", strconv.Itoa(r.ID)} }
func endpointRef(e *routing.SIPEndpoint) objectRef {
	return objectRef{"sip_endpoint", e.Name}
}
func timeGroupRef(tg *routing.TimeGroup) objectRef {
	return objectRef{"timegroup", strconv.Itoa(tg.ID)}
}
func classRef(c *routing.ClassOfService) objectRef {
	return objectRef{"class of service", strconv.Itoa(c.ID)}
}

// String is how errors and logs name the object: phone "2001", peer 3.
func (r objectRef) String() string {
	switch r.kind {
	case "phone", "sip_endpoint":
		return r.kind + " " + strconv.Quote(r.key)
	}
	return r.kind + " " + r.key
}

// each writes one object with fn. An error fn meets takes back everything
// fn wrote and leaves the object out (w.skip is told); the file goes on
// with the next object, so one object Asterisk cannot take never stops
// the rest of the switch from being rendered.
func (w *confWriter) each(ref objectRef, fn func()) {
	if w.err != nil {
		return
	}
	start := w.buf.Len()
	w.ctx = ref.String()
	fn()
	if w.err == nil {
		return
	}
	w.buf.Truncate(start)
	if w.skip == nil {
		return // no one to tell: the error stands for the whole file
	}
	w.skip(ref, w.err)
	w.err = nil
}

// newConfWriter sizes the buffer for the file up front: the files of a big
// switch run to a hundred megabytes, and growing a buffer by doubling
// copied and zeroed each byte several times over.
func newConfWriter(ctx string, sizeHint int) *confWriter {
	w := &confWriter{ctx: ctx}
	w.buf.Grow(sizeHint + 4096)
	return w
}

func (w *confWriter) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *confWriter) comment(text string) {
	if w.err != nil {
		return
	}
	if strings.ContainsAny(text, "\r\n") {
		w.fail(fmt.Errorf("%s: comment: %w", w.ctx, ErrInvalidValue))
		return
	}
	w.buf.WriteString("; ")
	w.buf.WriteString(text)
	w.buf.WriteByte('\n')
}

func (w *confWriter) section(name string) {
	if w.err != nil {
		return
	}
	if err := checkSectionName(name); err != nil {
		w.fail(fmt.Errorf("%s: %w", w.ctx, err))
		return
	}
	if w.buf.Len() > 0 {
		w.buf.WriteByte('\n')
	}
	w.buf.WriteByte('[')
	w.buf.WriteString(name)
	w.buf.WriteString("]\n")
}

// set writes "key=value"; param names the API parameter the value came
// from, for the error message.
func (w *confWriter) set(key, value, param string) {
	w.line(key, "=", value, param)
}

// object writes "key => value" (extensions.conf exten/same/include,
// sip.conf register).
func (w *confWriter) object(key, value, param string) {
	w.line(key, " => ", value, param)
}

func (w *confWriter) line(key, sep, value, param string) {
	if w.err != nil {
		return
	}
	v, err := confValue(value)
	if err != nil {
		w.fail(fmt.Errorf("%s: %s: %w", w.ctx, param, err))
		return
	}
	w.buf.WriteString(key)
	w.buf.WriteString(sep)
	w.buf.WriteString(v)
	w.buf.WriteByte('\n')
}

func (w *confWriter) setInt(key string, v int, param string) {
	w.set(key, strconv.Itoa(v), param)
}

func (w *confWriter) setBool(key string, v bool, param string) {
	if v {
		w.set(key, "yes", param)
	} else {
		w.set(key, "no", param)
	}
}

func (w *confWriter) bytes() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	return w.buf.Bytes(), nil
}

func header(w *confWriter, file string, revision int64) {
	w.comment(file + " generated by sipswitch from snapshot revision " + strconv.FormatInt(revision, 10) + ".")
	w.comment("Do not edit: changes are overwritten on the next render.")
}
