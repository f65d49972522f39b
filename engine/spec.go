package engine

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Type is the type of an API parameter, as the Enswitch pages name it.
type Type int

const (
	String Type = iota
	Integer
	Decimal
)

func (t Type) String() string {
	switch t {
	case Integer:
		return "Integer"
	case Decimal:
		return "Decimal"
	default:
		return "String"
	}
}

// Values are API parameters by name, each in canonical text form: integers
// without sign noise or leading zeros, decimals as Go formats them.
type Values map[string]string

// Param is one parameter of an API function: every rule about it lives here
// and nowhere else, so the HTTP API and the YAML loader validate alike.
type Param struct {
	Name    string
	Type    Type
	Default string   // value taken on create when omitted
	Enum    []string // allowed canonical values; nil for any
	// Min and Max bound Integer and Decimal values when MinSet/MaxSet.
	Min, Max       float64
	MinSet, MaxSet bool
	// Required: the parameter must be present and, unless EmptyOK,
	// non-empty.
	Required bool
	EmptyOK  bool
	// RequiredIf makes the parameter required when the condition holds on
	// the other (already normalized) values; RequiredDoc says when, for
	// messages and docs.
	RequiredIf  func(v Values) bool
	RequiredDoc string
	// Check is an extra rule on the canonical value (names, prefixes...).
	Check func(v string) error
	// NotStored marks parameters that steer the call (validation,
	// copy_password) rather than describe the object.
	NotStored bool
	// OwnerManaged marks what an object's owner may change without the
	// operator's privileges (a line's forwarding, dnd, ring time...:
	// Enswitch's user portal). Everything else, limits, class of service,
	// plan, owner, customer and whatever another object's secret flows
	// from, stays the operator's; Kind.ownerOnly says who is such an owner.
	OwnerManaged bool
	// Canon, when set, turns raw input into the canonical text before the
	// type, Enum and Check rules: for parameters given as lists or objects
	// (JSON text) and for inputs that merge into the current value (the
	// stored one on update, the default on create).
	Canon func(raw, current string) (string, error)
	// Refused, when set, says why the switch takes only the default: the
	// parameter does nothing on any path (the parameter table,
	// engine/paramtable.go, sets it), so another value is refused rather
	// than stored to do nothing.
	Refused string
	// DefaultFrom, when set, computes the create-time default from the
	// other (already normalized) values instead of Default.
	DefaultFrom func(v Values) string
}

// FieldError is one problem with one parameter: Key is the parameter
// name, Message says what is wrong in words an operator understands.
type FieldError struct {
	Key     string `json:"key"`
	Message string `json:"message"`
	// Reason tells a missing or taken value from an invalid one, for APIs
	// that answer with a language key per problem (MISSING_NAME).
	Reason Reason `json:"-"`
}

// Reason classifies a FieldError.
type Reason int

const (
	ReasonInvalid Reason = iota // the value breaks a rule
	ReasonMissing               // a required value is absent or empty
	ReasonInUse                 // the value (a name) belongs to another object
)

func (e FieldError) Error() string { return e.Key + ": " + e.Message }

// FieldErrors is a list of problems, all found in one pass so a client
// fixes its request once.
type FieldErrors []FieldError

func (es FieldErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Spec is the parameter list of one object kind. Create and update of the
// kind validate against the same Spec: update merges the provided values
// over the stored ones first, so conditional rules see the whole object.
type Spec struct {
	Params []Param
	byName map[string]int
}

// newSpec indexes params; it panics on a duplicate name because specs are
// package-level literals and a duplicate is a programming error.
func newSpec(params ...Param) *Spec {
	s := &Spec{Params: params, byName: make(map[string]int, len(params))}
	for i, p := range params {
		if _, dup := s.byName[p.Name]; dup {
			panic("engine: duplicate param " + p.Name)
		}
		s.byName[p.Name] = i
	}
	return s
}

// Param returns the named parameter.
func (s *Spec) Param(name string) (*Param, bool) {
	i, ok := s.byName[name]
	if !ok {
		return nil, false
	}
	return &s.Params[i], true
}

// Defaults returns every stored parameter at its documented default.
func (s *Spec) Defaults() Values {
	v := make(Values, len(s.Params))
	for _, p := range s.Params {
		if !p.NotStored {
			v[p.Name] = p.Default
		}
	}
	return v
}

// Validate checks input against the spec. base holds the values input is
// merged over: nil on create (omitted parameters take their defaults), the
// stored object on update. The
// result holds every parameter of the spec in canonical form. Parameters
// the spec does not know are ignored, as Enswitch does. Problems come back
// as FieldErrors sorted by parameter order in the spec.
func (s *Spec) Validate(input, base Values) (Values, FieldErrors) {
	out := make(Values, len(s.Params))
	maps.Copy(out, base)
	var errs FieldErrors
	for _, p := range s.Params {
		raw, given := input[p.Name]
		if !given {
			if _, ok := out[p.Name]; !ok && !p.NotStored {
				out[p.Name] = p.Default
			}
			continue
		}
		current, ok := out[p.Name]
		if !ok {
			current = p.Default
		}
		canon, err := p.normalize(raw, current)
		if err != nil {
			errs = append(errs, FieldError{Key: p.Name, Message: p.Name + " " + err.Error()})
			continue
		}
		out[p.Name] = canon
	}
	for _, p := range s.Params {
		_, given := input[p.Name]
		_, inBase := base[p.Name]
		if p.DefaultFrom != nil && !given && !inBase {
			out[p.Name] = p.DefaultFrom(out)
		}
	}
	for _, p := range s.Params {
		if hasError(errs, p.Name) {
			continue
		}
		if !p.Required && (p.RequiredIf == nil || !p.RequiredIf(out)) {
			continue
		}
		_, inInput := input[p.Name]
		_, inBase := base[p.Name]
		missing := out[p.Name] == "" && !p.EmptyOK
		if p.Required && !inInput && !inBase {
			missing = true
		}
		if missing {
			msg := p.Name + " is required"
			if p.RequiredDoc != "" {
				msg += " " + p.RequiredDoc
			}
			errs = append(errs, FieldError{Key: p.Name, Message: msg, Reason: ReasonMissing})
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return s.byName[errs[i].Key] < s.byName[errs[j].Key] })
	return out, errs
}

// Unmanaged lists, in spec order, the parameters input gives that are not
// OwnerManaged and whose value differs from base (the stored object): what
// an owner asks to change but only the operator may. A value that does not
// parse counts as a change, since the owner may not set the parameter at
// all; a steering parameter (NotStored) changes something when it is not
// empty.
func (s *Spec) Unmanaged(input, base Values) []string {
	var out []string
	for _, p := range s.Params {
		raw, given := input[p.Name]
		if !given || p.OwnerManaged {
			continue
		}
		current, ok := base[p.Name]
		if !ok {
			current = p.Default
		}
		if canon, err := p.normalize(raw, current); err != nil || canon != current {
			out = append(out, p.Name)
		}
	}
	return out
}

func hasError(errs FieldErrors, key string) bool {
	for _, e := range errs {
		if e.Key == key {
			return true
		}
	}
	return false
}

// normalize turns raw input into the canonical form or says why it can't.
func (p *Param) normalize(raw, current string) (string, error) {
	// Every value ends up in a config file, a SIP header, a log line or a
	// JSON answer: bytes that are not text (a percent-encoded %FF) would be
	// stored and then break or be mangled by each of those.
	if !utf8.ValidString(raw) {
		return "", fmt.Errorf("must be UTF-8 text")
	}
	if strings.ContainsAny(raw, "\x00\r\n") {
		return "", fmt.Errorf("must not contain control characters")
	}
	if p.Canon != nil {
		c, err := p.Canon(raw, current)
		if err != nil {
			return "", err
		}
		raw = c
	}
	canon := raw
	switch p.Type {
	case Integer:
		t := strings.TrimSpace(raw)
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			if t == "" && !p.Required {
				return "", fmt.Errorf("must be an integer, got an empty value")
			}
			return "", fmt.Errorf("must be an integer, got %q", clip(raw))
		}
		if n < -1<<53 || n > 1<<53 {
			return "", fmt.Errorf("is out of range")
		}
		canon = strconv.FormatInt(n, 10)
		if err := p.checkRange(float64(n)); err != nil {
			return "", err
		}
	case Decimal:
		t := strings.TrimSpace(raw)
		f, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "", fmt.Errorf("must be a decimal number, got %q", clip(raw))
		}
		canon = strconv.FormatFloat(f, 'f', -1, 64)
		if err := p.checkRange(f); err != nil {
			return "", err
		}
	}
	if p.Enum != nil && !contains(p.Enum, canon) {
		return "", fmt.Errorf("must be one of %s, got %q", quoteList(p.Enum), clip(raw))
	}
	if p.Check != nil {
		if err := p.Check(canon); err != nil {
			return "", err
		}
	}
	// A value stored before the parameter was refused may be sent back
	// unchanged (a client writing back what it read); it can only be
	// cleared.
	if p.Refused != "" && canon != p.Default && canon != current {
		return "", fmt.Errorf("is not supported (%s): only %q is accepted", p.Refused, p.Default)
	}
	return canon, nil
}

func (p *Param) checkRange(f float64) error {
	switch {
	case p.MinSet && p.MaxSet && (f < p.Min || f > p.Max):
		return fmt.Errorf("must be between %s and %s", fmtNum(p.Min), fmtNum(p.Max))
	case p.MinSet && f < p.Min:
		return fmt.Errorf("must be at least %s", fmtNum(p.Min))
	case p.MaxSet && f > p.Max:
		return fmt.Errorf("must be at most %s", fmtNum(p.Max))
	}
	return nil
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func contains(list []string, s string) bool {
	return slices.Contains(list, s)
}

func quoteList(list []string) string {
	if len(list) == 0 {
		return "nothing"
	}
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// clip keeps error messages short when a client sends a huge value.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
