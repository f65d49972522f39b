package render

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/sipswitch/sipswitch/routing"
)

// Classes of service in the dialplan. A line's class (its cos, or the
// default_cos setting for 0) travels with its calls as the channel
// variable SS_COS: set by the line's endpoint on the calls it makes, and
// set anew by the line's own extension before it forwards a call (a
// forwarded call is the forwarding line's). Every route body starts by
// running the class's subroutine cos-N on the number, which hangs up with
// cause 21 (call rejected: 403 on SIP) when the class bars it — before any
// peer, as the SIP core refuses it. SS_COS empty: every number allowed.

func cosContext(id int) string { return "cos-" + strconv.Itoa(id) }

// lineCOS is the SS_COS value of line p's calls.
func (m *model) lineCOS(p *routing.Phone) (string, error) {
	id := p.COS
	if id == routing.COSDefault {
		id = m.snap.Settings.DefaultCOS
	}
	if id == routing.COSDefault || id == routing.COSAllowAll {
		return "", nil
	}
	if m.cosByID[id] == nil {
		return "", fmt.Errorf("cos: %w: class of service %d does not exist", ErrInvalidValue, id)
	}
	return strconv.Itoa(id), nil
}

// cosSubroutine renders class c as Gosub(cos-N,s,1(number)): its rules in
// order, the first matching (and, with a time group, active) one
// deciding, then its otherwise.
func cosSubroutine(d dialplan, m *model, c *routing.ClassOfService) {
	d.section(cosContext(c.ID))
	d.exten("s", fmt.Sprintf("NoOp(class of service %d)", c.ID))
	rules := slices.Clone(c.Rules)
	slices.SortFunc(rules, func(a, b routing.COSRule) int {
		return cmp.Or(cmp.Compare(a.Position, b.Position), cmp.Compare(a.ID, b.ID))
	})
	for _, r := range rules {
		if !routing.ValidPrefix(r.Prefix) {
			d.fail(fmt.Errorf("%s: rule %d: prefix: %w: %q", d.ctx, r.ID, ErrInvalidValue, r.Prefix))
			return
		}
		target := "deny"
		if r.Allow == 1 {
			target = "allow"
		}
		cond := `"${ARG1:0:` + strconv.Itoa(len(r.Prefix)) + `}" = "` + r.Prefix + `"`
		if r.Prefix == "" {
			cond = "1"
		}
		if r.TimeGroup != 0 {
			if m.tgByID[r.TimeGroup] == nil {
				continue // an unknown group is never active: the rule never matches
			}
			d.same("Gosub(" + tgContext(r.TimeGroup) + ",s,1)")
			cond = `"${GOSUB_RETVAL}" = "1" & ` + cond
		}
		d.same("GotoIf($[" + cond + "]?" + target + ")")
	}
	if c.Otherwise == routing.COSAllow {
		d.same("Goto(allow)")
	} else {
		d.same("Goto(deny)")
	}
	d.label("allow", "Return()")
	d.label("deny", "Hangup(21)")
}
