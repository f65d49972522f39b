//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Bencode, the encoding of rtpengine's ng control protocol (and of
// BitTorrent): byte strings "4:spam", integers "i42e", lists "l...e" and
// dictionaries "d...e" with keys sorted as raw strings. Only what the ng
// protocol needs: encoding of strings, integers, lists and dictionaries
// with string keys; decoding into string, int64, []any and map[string]any.

var errBencode = errors.New("bencode")

// bencode appends the encoding of v: string, []byte, int, int64, []string,
// []any or map[string]any.
func bencode(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		dst = strconv.AppendInt(dst, int64(len(v)), 10)
		return append(append(dst, ':'), v...), nil
	case []byte:
		dst = strconv.AppendInt(dst, int64(len(v)), 10)
		return append(append(dst, ':'), v...), nil
	case int:
		return append(strconv.AppendInt(append(dst, 'i'), int64(v), 10), 'e'), nil
	case int64:
		return append(strconv.AppendInt(append(dst, 'i'), v, 10), 'e'), nil
	case []string:
		dst = append(dst, 'l')
		for _, s := range v {
			dst, _ = bencode(dst, s)
		}
		return append(dst, 'e'), nil
	case []any:
		dst = append(dst, 'l')
		for _, e := range v {
			var err error
			if dst, err = bencode(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, 'e'), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // bencode's order: raw bytes
		dst = append(dst, 'd')
		for _, k := range keys {
			dst, _ = bencode(dst, k)
			var err error
			if dst, err = bencode(dst, v[k]); err != nil {
				return nil, err
			}
		}
		return append(dst, 'e'), nil
	}
	return nil, fmt.Errorf("%w: cannot encode %T", errBencode, v)
}

// bdecode decodes one value that must fill b.
func bdecode(b []byte) (any, error) {
	v, rest, err := bdecodeNext(b, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the value", errBencode, len(rest))
	}
	return v, nil
}

// maxDepth bounds nesting: the ng replies are two or three levels deep.
const maxDepth = 32

func bdecodeNext(b []byte, depth int) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("%w: unexpected end", errBencode)
	}
	if depth > maxDepth {
		return nil, nil, fmt.Errorf("%w: nested deeper than %d", errBencode, maxDepth)
	}
	switch c := b[0]; {
	case c == 'i':
		end := bytes.IndexByte(b, 'e')
		if end < 0 {
			return nil, nil, fmt.Errorf("%w: unterminated integer", errBencode)
		}
		n, err := strconv.ParseInt(string(b[1:end]), 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: integer %q", errBencode, b[1:end])
		}
		return n, b[end+1:], nil
	case c >= '0' && c <= '9':
		colon := bytes.IndexByte(b, ':')
		if colon < 0 {
			return nil, nil, fmt.Errorf("%w: string without ':'", errBencode)
		}
		n, err := strconv.Atoi(string(b[:colon]))
		if err != nil || n < 0 || n > len(b)-colon-1 {
			return nil, nil, fmt.Errorf("%w: string length %q", errBencode, b[:colon])
		}
		return string(b[colon+1 : colon+1+n]), b[colon+1+n:], nil
	case c == 'l':
		list := []any{}
		b = b[1:]
		for len(b) > 0 && b[0] != 'e' {
			v, rest, err := bdecodeNext(b, depth+1)
			if err != nil {
				return nil, nil, err
			}
			list, b = append(list, v), rest
		}
		if len(b) == 0 {
			return nil, nil, fmt.Errorf("%w: unterminated list", errBencode)
		}
		return list, b[1:], nil
	case c == 'd':
		dict := map[string]any{}
		b = b[1:]
		for len(b) > 0 && b[0] != 'e' {
			k, rest, err := bdecodeNext(b, depth+1)
			if err != nil {
				return nil, nil, err
			}
			key, ok := k.(string)
			if !ok {
				return nil, nil, fmt.Errorf("%w: dictionary key %T", errBencode, k)
			}
			v, rest, err := bdecodeNext(rest, depth+1)
			if err != nil {
				return nil, nil, err
			}
			dict[key], b = v, rest
		}
		if len(b) == 0 {
			return nil, nil, fmt.Errorf("%w: unterminated dictionary", errBencode)
		}
		return dict, b[1:], nil
	}
	return nil, nil, fmt.Errorf("%w: unexpected %q", errBencode, b[0])
}
