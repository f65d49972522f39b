package routing

import (
	"errors"
	"fmt"
	"net/url"
)

// Dialled numbers.
//
// Every number that comes from outside the switch — the user part of a
// Request-URI, a From user of a peer's call, a line's forwarding number or
// destination, a caller id or a prefix given to the API — is turned into a
// dial string by NormalizeNumber before anything is decided on it, and the
// dial string is what the switch routes, bars, charges, records and sends
// on. A toll-fraud attempt that writes a barred number differently
// (44%39%30%39123, 44-909-123, 44.909.123, 44(909)123) is thereby decided
// on as 44909123, the number the carrier would dial.
//
// A dial string is 1 to MaxPrefixLen characters of 0-9, '*' and '#', with
// an optional leading '+' (RFC 3966 global-number-digits: the '+' of an
// E.164 number is kept and routed as written; plans that want it route a
// "+" prefix). NormalizeNumber:
//   - decodes RFC 3261 19.1.2 escapes (%HH; a malformed escape is refused,
//     and a decoded '%' is not decoded again);
//   - removes RFC 3966 5.1.1 visual separators ('-', '.', '(' and ')') and
//     spaces;
//   - refuses what is then not a dial string (ErrInvalidNumber).
//
// The SIP core answers 484 Address Incomplete to a call whose number is
// refused, the API 400 naming the parameter. A line's name is not a number:
// a called user that is exactly a line's name reaches the line whatever it
// holds (the SIP core looks names up before numbers), and engine refuses a
// name made only of digits and separators unless it is already a dial
// string, so no line can be reached by one spelling and a carrier by
// another.

// ErrInvalidNumber is a number that is not a dial string even after
// normalisation.
var ErrInvalidNumber = errors.New("not a dialable number")

// NumberRule says what NormalizeNumber accepts, for error messages and
// documentation: it completes "<param> must be ...".
const NumberRule = "a number of at most 64 characters 0-9, * and #, with an optional leading + (the separators - . ( ) and spaces are removed)"

// IsDialString reports whether s is a dial string: 1 to MaxPrefixLen
// characters of 0-9 * #, with an optional leading '+'. It is what the route
// table, classes of service and cost lookups are decided on.
func IsDialString(s string) bool { return s != "" && s != "+" && isPrefixString(s) }

// isPrefixString reports whether s is a prefix of dial strings: at most
// MaxPrefixLen characters of 0-9 * #, with an optional leading '+'. "" and
// "+" (every number, every E.164 number) are prefixes but not numbers.
func isPrefixString(s string) bool {
	if len(s) > MaxPrefixLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '*', c == '#':
		case c == '+' && i == 0:
		default:
			return false
		}
	}
	return true
}

// NormalizeNumber returns the dial string s stands for (see Dialled
// numbers): escapes decoded, separators removed, or ErrInvalidNumber. A
// string that already is a dial string is returned as it is, without
// allocating.
func NormalizeNumber(s string) (string, error) {
	n, err := normalize(s)
	if err == nil && !IsDialString(n) {
		return "", fmt.Errorf("%w: %q", ErrInvalidNumber, clipNumber(s))
	}
	return n, err
}

// NormalizePrefix is NormalizeNumber for a called or caller prefix, which
// may also be "" (every number) or "+" (every number written with '+').
func NormalizePrefix(s string) (string, error) { return normalize(s) }

// normalize decodes escapes and removes separators, and refuses what is
// then not a prefix string.
func normalize(s string) (string, error) {
	if isPrefixString(s) {
		return s, nil
	}
	if len(s) > 4*MaxPrefixLen {
		return "", fmt.Errorf("%w: %d characters", ErrInvalidNumber, len(s))
	}
	var buf [4 * MaxPrefixLen]byte
	out := buf[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return "", fmt.Errorf("%w: malformed escape in %q", ErrInvalidNumber, clipNumber(s))
			}
			c = byte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		}
		switch c {
		case '-', '.', '(', ')', ' ':
			continue
		}
		out = append(out, c)
	}
	if !isPrefixString(string(out)) {
		return "", fmt.Errorf("%w: %q", ErrInvalidNumber, clipNumber(s))
	}
	return string(out), nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// clipNumber bounds what an error repeats of an outside string.
func clipNumber(s string) string {
	if len(s) > MaxPrefixLen {
		return s[:MaxPrefixLen] + "..."
	}
	return s
}

// Dialled is what the switch decides a called number or a line's
// destination on: a line's name as it is, when line finds one (names are
// looked up before numbers and may hold letters; line returns the name as
// stored), else the number's dial string. A name written with escapes
// (RFC 3261 19.1.4: the same URI) is the line too. ErrInvalidNumber when
// it is neither. The SIP core, the renderer and simulation all decide with
// it.
func Dialled(s string, line func(name string) (string, bool)) (string, error) {
	if name, ok := line(s); ok {
		return name, nil
	}
	n, err := NormalizeNumber(s)
	if err == nil {
		return n, nil
	}
	if u, uerr := url.PathUnescape(s); uerr == nil && u != s {
		if name, ok := line(u); ok {
			return name, nil
		}
	}
	return "", err
}
