package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/engine"
)

// Errors of request parsing; they become a 400 naming the part at fault.
var (
	ErrBadQuery = errors.New("malformed parameters")
	ErrBadBody  = errors.New("malformed request body")
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

// ParseBody reads the parameters of a POST body of media type ct: a JSON
// object (application/json, or no type and a body beginning with '{'), or
// else a form (ParseQuery).
func ParseBody(ct string, body []byte) (engine.Values, error) {
	if ct == "application/json" || (ct == "" && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))) {
		return ParseJSONObject(body)
	}
	return ParseQuery(string(bytes.TrimSpace(body)))
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
