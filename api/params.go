package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/engine"
)

// Errors of request parsing; they become a 400 naming the part at fault.
var (
	ErrBadQuery = errors.New("malformed parameters")
	ErrBadBody  = errors.New("malformed request body")
	ErrTooLarge = errors.New("request body too large")
)

// maxBody bounds a request body; a CSV rate deck (text/csv, for
// peers/costs/import) may be larger, up to maxCSVBody.
const (
	maxBody    = 1 << 20
	maxCSVBody = 64 << 20
)

// ParseQuery splits a query string CGI-style: pairs are separated by '&'
// or ';' (every Enswitch example uses ';', which net/url rejects), and
// keys and values are percent-decoded with '+' as space. A key given twice
// keeps its last value.
func ParseQuery(raw string) (engine.Values, error) {
	vals := engine.Values{}
	for raw != "" {
		var pair string
		if i := strings.IndexAny(raw, "&;"); i >= 0 {
			pair, raw = raw[:i], raw[i+1:]
		} else {
			pair, raw = raw, ""
		}
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("%w: bad escape in name %q", ErrBadQuery, clip(k))
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("%w: bad escape in value of %q", ErrBadQuery, clip(key))
		}
		if key == "" {
			continue
		}
		vals[key] = val
	}
	return vals, nil
}

// ParseRequest gathers the parameters of a call from the query string and,
// for POST, a form or JSON body; body values override query values.
func ParseRequest(r *http.Request) (engine.Values, error) {
	vals, err := ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	if r.Method != http.MethodPost || r.Body == nil {
		return vals, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	limit := int64(maxBody)
	if ct == "text/csv" {
		limit = maxCSVBody
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadBody, err)
	}
	if int64(len(body)) > limit {
		return nil, ErrTooLarge
	}
	if ct == "text/csv" {
		// The body is the data of a bulk import; parameters stay in the
		// query string.
		vals["csv"] = string(body)
		return vals, nil
	}
	var more engine.Values
	switch {
	case ct == "application/json" || (ct == "" && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))):
		more, err = ParseJSONObject(body)
	default:
		more, err = ParseQuery(string(bytes.TrimSpace(body)))
	}
	if err != nil {
		return nil, err
	}
	maps.Copy(vals, more)
	return vals, nil
}

// ParseJSONObject reads a flat JSON object whose members are strings,
// numbers, booleans (as 1/0) or null (as empty).
func ParseJSONObject(body []byte) (engine.Values, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadBody, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrBadBody)
	}
	vals := make(engine.Values, len(obj))
	for k, v := range obj {
		switch x := v.(type) {
		case string:
			vals[k] = x
		case json.Number:
			vals[k] = x.String()
		case bool:
			vals[k] = strconv.Itoa(b2i(x))
		case nil:
			vals[k] = ""
		default:
			return nil, fmt.Errorf("%w: parameter %q must be a string or number", ErrBadBody, clip(k))
		}
	}
	return vals, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
