package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

// ForbiddenParams is ErrRoleForbids for named parameters: the actor may
// update the object but not change these (a line owner asking for a higher
// totalmaximum). The API answers 402 naming each.
type ForbiddenParams []string

func (f ForbiddenParams) Error() string {
	return "your role does not allow changing " + strings.Join(f, ", ")
}

// Is makes errors.Is(err, ErrRoleForbids) hold, so every front end that
// maps the role error maps this one.
func (f ForbiddenParams) Is(target error) bool { return target == ErrRoleForbids }

// lineAdministrator reports whether the actor manages every line of its
// customers; without the privilege a user manages only the lines it owns,
// and of those only what PhoneSpec marks OwnerManaged.
func lineAdministrator(a *Actor) bool { return a.Can(PrivAdministrator, PrivWholesale) }

// lineVisible is phones/get's rule: a line of the actor's customer tree,
// and for a line owner one it owns.
func lineVisible(_ context.Context, _ *storage.Tx, a *Actor, v Values) (bool, error) {
	if !a.Owns(atoi(v["customer"])) {
		return false, nil
	}
	return lineAdministrator(a) || atoi(v["owner"]) == a.User.ID, nil
}

// readableLine returns the line called name when the actor may read it;
// ok is false both when it does not exist and when it is another's, so the
// answer reveals nothing about lines elsewhere.
func readableLine(ctx context.Context, tx *storage.Tx, a *Actor, name string) (v Values, ok bool, err error) {
	rec, err := tx.Get(ctx, "phones", "name", name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read telephone line %q: %w", name, err)
	}
	v = valuesOfRecord(rec)
	ok, err = lineVisible(ctx, tx, a, v)
	return v, ok, err
}

func notYourLine(key, name string) FieldError {
	return FieldError{Key: key, Message: fmt.Sprintf("telephone line %q does not exist or is not yours", name)}
}

// destinationLineTypes are the btype/dtype/utype values whose number names
// a line: ring it, or leave a message in its mailbox.
var destinationLineTypes = []string{"phone", "voicemail"}

// checkLineReferences: every parameter naming another line must name one
// the actor may read, or the answer to a foreign name would tell that the
// line exists (and the switch would ring, log in on top of, or open the
// mailbox of someone else's line). A reference is checked when it is set or
// changed; one the operator set and the owner leaves alone stays. The line
// itself may be named (its own mailbox) before it exists.
func checkLineReferences(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
	changed := func(keys ...string) bool {
		if old == nil {
			return true
		}
		for _, k := range keys {
			if v[k] != old[k] {
				return true
			}
		}
		return false
	}
	var errs FieldErrors
	refer := func(key, name string) error {
		if name == "" || strings.EqualFold(name, v["name"]) {
			return nil
		}
		_, ok, err := readableLine(ctx, tx, a, name)
		if err == nil && !ok {
			errs = append(errs, notYourLine(key, name))
		}
		return err
	}
	if v["ltype"] == routing.LTypePhone && changed("ltype", "lnumber") {
		if err := refer("lnumber", v["lnumber"]); err != nil {
			return nil, err
		}
		if len(errs) == 0 {
			more, err := checkLogin(ctx, tx, v)
			if err != nil {
				return nil, err
			}
			errs = append(errs, more...)
		}
	}
	for _, d := range [][2]string{{"btype", "bnumber"}, {"dtype", "dnumber"}, {"utype", "unumber"}} {
		// A line's name where a number goes out (external) is the line.
		names := contains(destinationLineTypes, v[d[0]]) || v[d[0]] == "external" && !routing.IsDialString(v[d[1]])
		if names && changed(d[0], d[1]) {
			if err := refer(d[1], v[d[1]]); err != nil {
				return nil, err
			}
		}
	}
	if f := v["forwarding"]; f != "" && !routing.IsDialString(f) && changed("forwarding") {
		if err := refer("forwarding", f); err != nil {
			return nil, err
		}
	}
	if box := v["mailbox"]; box != "" && changed("mailbox") {
		name, vmContext, hasContext := strings.Cut(box, "@")
		// INFERRED: a voicemail context is voicemail.conf's, outside the
		// store, so no line check can vouch for a box in it; only the
		// system owner, who runs that file, may name one.
		if hasContext && !a.System() {
			errs = append(errs, FieldError{Key: "mailbox", Message: fmt.Sprintf("mailbox must name a telephone line without a voicemail context; @%s may be given only by the system owner", vmContext)})
		} else if err := refer("mailbox", name); err != nil {
			return nil, err
		}
	}
	return errs, nil
}

// copyPassword resolves copy_password: the named line must be one the
// actor may read, in the same customer as the line being saved.
func copyPassword(ctx context.Context, tx *storage.Tx, a *Actor, v Values) (FieldErrors, error) {
	name := v["copy_password"]
	delete(v, "copy_password")
	if name == "" {
		return nil, nil
	}
	src, ok, err := readableLine(ctx, tx, a, name)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return FieldErrors{notYourLine("copy_password", name)}, nil
	case src["customer"] != v["customer"]:
		return FieldErrors{{Key: "copy_password", Message: fmt.Sprintf("telephone line %q is not in the line's customer; copy_password copies only within one customer", name)}}, nil
	}
	v["password"] = src["password"]
	return nil, nil
}

// checkLogin holds the rules of a virtual line's login (ltype phone,
// lnumber; routing/virtual.go) that make it mean one thing on every path:
// a line logs into another line, not itself; not into a line that is
// itself logged in, nor while others are logged into it (no chains); and
// one virtual line per physical line (the one whose number the desk's
// calls present). Logging out is ltype empty.
func checkLogin(ctx context.Context, tx *storage.Tx, v Values) (FieldErrors, error) {
	name, target := v["name"], v["lnumber"]
	if strings.EqualFold(target, name) {
		return FieldErrors{{Key: "lnumber", Message: "lnumber must name another line: a line cannot log into itself"}}, nil
	}
	recs, err := tx.List(ctx, "phones", storage.Query{Where: []storage.Cond{{Col: "ltype", Op: "=", Val: routing.LTypePhone}}})
	if err != nil {
		return nil, fmt.Errorf("read virtual lines: %w", err)
	}
	for _, rec := range recs {
		o := valuesOfRecord(rec)
		switch {
		case strings.EqualFold(o["name"], name):
		case strings.EqualFold(o["name"], target):
			return FieldErrors{{Key: "lnumber", Message: fmt.Sprintf("telephone line %q is itself logged into line %q: virtual lines do not chain", o["name"], o["lnumber"])}}, nil
		case strings.EqualFold(o["lnumber"], name):
			return FieldErrors{{Key: "ltype", Message: fmt.Sprintf("telephone line %q is logged into this line: a line others are logged into cannot log in itself", o["name"])}}, nil
		case strings.EqualFold(o["lnumber"], target):
			return FieldErrors{{Key: "lnumber", Message: fmt.Sprintf("telephone line %q is already logged into line %q: one virtual line per line (log it out first: ltype empty)", o["name"], target)}}, nil
		}
	}
	return nil, nil
}
