package api

import (
	"math"
	"net"
	"strconv"
	"unicode/utf8"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/records"
)

// The event stream's rows, appended to a buffer: the bytes
// json.Marshal writes for CallRow and RegistrationRow (keys in order,
// strings escaped as encoding/json escapes them, HTML characters
// included), without the map, the reflection and the key sort, which
// cost the SIP core several microseconds an event when it published them
// (TestEventRowsAsJSON and FuzzAppendCallRow hold the two equal).

// AppendCallRow appends calls/active's row of c as JSON.
func AppendCallRow(b []byte, c *records.LiveCall) []byte {
	b = append(b, `{"answer":`...)
	b = strconv.AppendInt(b, c.Answer, 10)
	b = append(b, `,"attempt":`...)
	b = strconv.AppendInt(b, int64(c.Attempt), 10)
	b = appendKeyString(b, `,"called":`, c.Called)
	b = appendKeyString(b, `,"called_line":`, c.CalledLine)
	b = append(b, `,"callee_jitter":`...)
	b = appendJSONFloat(b, c.CalleeJitter)
	b = append(b, `,"callee_loss":`...)
	b = appendJSONFloat(b, c.CalleeLoss)
	b = appendKeyString(b, `,"caller":`, c.Caller)
	b = append(b, `,"caller_jitter":`...)
	b = appendJSONFloat(b, c.CallerJitter)
	b = append(b, `,"caller_loss":`...)
	b = appendJSONFloat(b, c.CallerLoss)
	b = append(b, `,"customer":`...)
	b = strconv.AppendInt(b, int64(c.Customer), 10)
	b = appendKeyString(b, `,"direction":`, c.Direction)
	b = appendKeyString(b, `,"host":`, c.Host)
	b = appendKeyString(b, `,"id":`, c.ID)
	b = appendKeyString(b, `,"line":`, c.Line)
	b = appendKeyString(b, `,"peer":`, c.Peer)
	b = append(b, `,"relayed":`...)
	b = strconv.AppendInt(b, int64(boolFlag(c.Relayed)), 10)
	b = append(b, `,"route":`...)
	b = strconv.AppendInt(b, int64(c.Route), 10)
	b = append(b, `,"start":`...)
	b = strconv.AppendInt(b, c.Start, 10)
	b = appendKeyString(b, `,"state":`, c.State)
	return append(b, '}')
}

// AppendRegistrationRow appends registrations/list's row of r as JSON.
func AppendRegistrationRow(b []byte, r *engine.LiveRegistration) []byte {
	addr, port, err := net.SplitHostPort(r.Source)
	if err != nil {
		addr, port = r.Source, ""
	}
	var since int64
	if !r.Since.IsZero() {
		since = r.Since.Unix()
	}
	b = appendKeyString(b, `{"contact":`, r.Contact)
	b = append(b, `,"expires":`...)
	b = strconv.AppendInt(b, r.ExpiresAt.Unix(), 10)
	b = appendKeyString(b, `,"host":`, r.Host)
	b = appendKeyString(b, `,"line":`, r.Phone)
	b = append(b, `,"registered":`...)
	b = strconv.AppendInt(b, since, 10)
	b = appendKeyString(b, `,"source":`, r.Source)
	b = appendKeyString(b, `,"source_address":`, addr)
	b = appendKeyString(b, `,"source_port":`, port)
	b = appendKeyString(b, `,"transport":`, r.Transport)
	b = appendKeyString(b, `,"user_agent":`, r.UserAgent)
	return append(b, '}')
}

func appendKeyString(b []byte, key, s string) []byte {
	return appendJSONString(append(b, key...), s)
}

// appendJSONFloat writes f as encoding/json does (ECMAScript's number
// to string: exponent form below 1e-6 and from 1e21). A value JSON
// cannot hold (NaN, an infinity: never a loss or jitter) is written 0.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// A two-digit exponent, as ECMAScript writes it: 1e-07 is 1e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s quoted as encoding/json does by default:
// quote, backslash and control characters escaped (\b \f \n \r \t by
// name), <, > and & as \u escapes (safe inside HTML), invalid UTF-8 as
// U+FFFD and the JavaScript line terminators U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
