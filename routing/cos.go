package routing

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ClassOfService says which numbers a line may call (Enswitch's class of
// service, phones/create "cos"): an ordered list of called-number prefix
// rules, each allowing or barring, the first that matches deciding. A rule
// with a time group matches only while the group is active. A number no
// rule matches is allowed or barred as Otherwise says.
type ClassOfService struct {
	ID          int       `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Customer    int       `json:"customer"`
	Otherwise   string    `json:"otherwise"` // COSAllow or COSDeny
	Rules       []COSRule `json:"rules,omitempty"`
}

// COSRule is one rule of a class of service (cos/rules).
type COSRule struct {
	ID          int    `json:"id"`
	COS         int    `json:"cos"`
	Position    int    `json:"position"` // rules are tried in ascending position, then id
	Prefix      string `json:"prefix"`   // called-number prefix; "" matches every number
	Allow       int    `json:"allow"`    // 1 allows, 0 bars
	TimeGroup   int    `json:"timegroup"`
	Description string `json:"description"`
}

// Class of service ids and outcomes that need no object.
const (
	// COSDefault (a line's cos 0) is the switch's default_cos setting;
	// when that is 0 too, every number is allowed.
	COSDefault = 0
	// COSAllowAll is the built-in system class that allows every call.
	COSAllowAll = 1

	COSAllow = "allow"
	COSDeny  = "deny"
)

// EffectiveCOS is the class of service a line's calls are checked against:
// its own, or for cos 0 the switch's default_cos (0 when none: all calls).
func (s *RoutingState) EffectiveCOS(line *Phone) int {
	if line.COS == COSDefault {
		return s.cos.def
	}
	return line.COS
}

// cosTable holds every class of service with its rules in match order.
type cosTable struct {
	classes map[int]*ClassOfService
	groups  *TimeGroupSet
	def     int
}

func compileCOS(classes []ClassOfService, def int, groups *TimeGroupSet) (*cosTable, error) {
	t := &cosTable{classes: make(map[int]*ClassOfService, len(classes)), groups: groups, def: def}
	for i := range classes {
		c := classes[i]
		if c.Otherwise != COSAllow && c.Otherwise != COSDeny {
			return nil, fmt.Errorf("class of service %d: otherwise %q: want allow or deny", c.ID, c.Otherwise)
		}
		c.Rules = slices.Clone(c.Rules)
		for _, r := range c.Rules {
			if !ValidPrefix(r.Prefix) {
				return nil, fmt.Errorf("class of service %d rule %d: prefix %q: want up to %d characters of 0-9 * # +", c.ID, r.ID, r.Prefix, MaxPrefixLen)
			}
		}
		slices.SortFunc(c.Rules, func(a, b COSRule) int {
			return cmp.Or(cmp.Compare(a.Position, b.Position), cmp.Compare(a.ID, b.ID))
		})
		t.classes[c.ID] = &c
	}
	return t, nil
}

// check applies class id (a line's cos) to called at now. It returns the
// rule that decided (nil when none did: the class's Otherwise, the
// built-in class, or no class at all) and whether the call may go on. An
// id that names no class bars the call: a line must never gain more than
// its operator gave it because a class was deleted under it.
func (t *cosTable) check(id int, called string, now time.Time) (*COSRule, bool) {
	if id == COSDefault {
		id = t.def
	}
	if id == COSDefault || id == COSAllowAll {
		return nil, true
	}
	c := t.classes[id]
	if c == nil {
		return nil, false
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		if !strings.HasPrefix(called, r.Prefix) {
			continue
		}
		if r.TimeGroup != 0 && !t.groups.Active(r.TimeGroup, now) {
			continue
		}
		return r, r.Allow == 1
	}
	return nil, c.Otherwise == COSAllow
}
