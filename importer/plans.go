package importer

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sipswitch/sipswitch/astconf"
	"github.com/sipswitch/sipswitch/routing"
)

// API modules of the objects extensions.conf gives.
const (
	ModulePlans  = "plans"
	ModuleRoutes = "plans/routes"
)

// The dialplan a line's context reaches becomes the line's rate plan, as
// far as a rate plan can say the same (see the package documentation):
// a plan routes a number by its longest called prefix among the plan's
// routes; Asterisk routes it by the first context (the line's, then its
// includes, depth first) with an extension that matches, and within it by
// the most specific pattern. Each extension is classified (entryKind);
// then, for every prefix any extension names, the importer asks what
// Asterisk does with numbers starting with it and writes the fewest
// routes (and forbidding routes, allow=0) that make the plan do the same.
// Where Asterisk does something a plan cannot, the plan does not route
// those numbers: narrower, never wider.

type entryKind int

const (
	// entryNone matches no dialled number (s, h, i, hints...) or is a
	// line's own number, which sipswitch rings before any route.
	entryNone entryKind = iota
	// entryRoute dials trunks of the import in turn for an open pattern.
	entryRoute
	// entryForbid hangs up (Hangup, Congestion, Busy): a route with
	// allow=0.
	entryForbid
	// entryOther does anything else: the plan does not route what it
	// takes.
	entryOther
)

// dpEntry is one extension as plans see it.
type dpEntry struct {
	ext   *dpExten
	pat   []patElem
	lit   bool     // a literal extension, tried before patterns
	pfx   []string // routes: the prefixes it matches; others: a cover
	kind  entryKind
	why   string // entryOther, entryNone: what it does instead
	trunk bool   // it dials a trunk of the import (a route Asterisk has)
	route *dpRoute
}

// dpRoute is what a route entry does: its peers in order.
type dpRoute struct {
	peers []*Object
	key   string
	from  []opt
	desc  string
	notes []string // what of the Dial() steps is not kept
}

// classify reads one extension.
func (m *mapper) classify(e *dpExten, lineNames map[string]bool) *dpEntry {
	en := &dpEntry{ext: e}
	name, cid, hasCID := strings.Cut(e.name, "/")
	pat, lit, err := parsePattern(name)
	switch {
	case err == errNotDial:
		en.kind, en.why = entryNone, "matches no dialled number (the dialplan's own extensions: s, h, i, t, named ones)"
		return en
	case err != nil:
		en.kind, en.why = entryNone, fmt.Sprintf("not a pattern Asterisk reads (%v)", err)
		return en
	}
	en.pat, en.lit = pat, lit
	var exact bool
	en.pfx, exact = prefixes(pat)
	if lit && lineNames[strings.ToLower(name)] && !hasCID {
		en.kind, en.why = entryNone, "the number is a line's name, which sipswitch rings before any route"
		return en
	}
	steps := e.run()
	en.kind = entryOther
	switch {
	case e.bad != "":
		en.why = "not read: " + e.bad
		return en
	case hasCID:
		en.why = fmt.Sprintf("matches the caller id too (/%s); a route of a plan matches the called number alone", cid)
	case len(steps) == 0:
		en.why = "has no priority 1"
		return en
	}
	var dials []dpStep
	forbid, other := false, ""
	for _, s := range steps {
		switch {
		case s.app == "noop" || s.app == "verbose" || s.app == "log":
			if len(dials) > 0 || forbid {
				continue
			}
		case s.app == "dial" && !forbid:
			dials = append(dials, s)
		case s.app == "hangup" || s.app == "congestion" || s.app == "busy":
			forbid = true
		default:
			if other == "" {
				other = fmt.Sprintf("runs %s(%s)", s.name, clipArgs(s.args))
			}
		}
	}
	if len(dials) == 0 {
		switch {
		case other != "":
			en.why = other + ", which no sipswitch object does"
		case en.why == "" && forbid:
			en.kind = entryForbid
		}
		return en
	}
	literal := ""
	if lit {
		literal = en.pfx[0]
	}
	route, why, trunk := m.dialRoute(dials, literal)
	en.trunk = trunk
	switch {
	case en.why != "":
	case other != "":
		en.why = other + " besides dialling"
	case why != "":
		en.why = why
	case !exact && !lit:
		en.why = "matches numbers of set lengths or more than 16 prefixes; a route matches every number starting with its prefix"
	default:
		en.kind, en.route = entryRoute, route
		route.desc = fmt.Sprintf("from extensions.conf [%s] exten => %s", e.ctx.name, e.name)
		route.from = e.lines
	}
	return en
}

func clipArgs(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// dialRoute reads Dial() steps tried in turn: each must send the dialled
// number (a literal prefix may go before it: the peer's called_prefix) to
// a trunk of the import, at most three (peer1, peer2, peer3). trunk says
// whether a step names a trunk of the import at all.
func (m *mapper) dialRoute(dials []dpStep, literal string) (r *dpRoute, why string, trunk bool) {
	for _, s := range dials {
		if _, t, _, err := parseDialString(splitArgs(s.args)[0]); err == nil && t != "" && m.names[strings.ToLower(t)] != nil {
			trunk = true
		}
	}
	if len(dials) > 3 {
		return nil, fmt.Sprintf("dials %d trunks in turn; a route tries three peers at most", len(dials)), trunk
	}
	r = &dpRoute{}
	prefixes := map[*Object]string{}
	for _, s := range dials {
		args := splitArgs(s.args)
		tech, name, num, err := parseDialString(args[0])
		if err != nil {
			return nil, err.Error(), trunk
		}
		if name == "" {
			return nil, fmt.Sprintf("dials %s/%s, a line by its number: sipswitch rings lines by name before any route", tech, num), trunk
		}
		peer, why := m.routePeer(name)
		if peer == nil {
			return nil, why, trunk
		}
		prefix, ok := dialledNumber(num)
		if literal != "" && !ok {
			// A literal extension may name its own number.
			prefix, ok = strings.CutSuffix(num, literal)
			ok = ok && dialChars(prefix)
		}
		if !ok {
			return nil, fmt.Sprintf("sends %q to trunk %s; a route sends the number dialled, with the peer's called_prefix in front (stripping digits, ${EXTEN:n}, cannot be expressed)", num, name), trunk
		}
		if have, set := m.peerPrefix[peer]; set && have != prefix {
			return nil, fmt.Sprintf("sends %q to trunk %s, which another route sends %q${EXTEN}: a peer has one called_prefix", num, name, have), trunk
		}
		prefixes[peer] = prefix
		r.peers = append(r.peers, peer)
		if len(args) > 1 && args[1] != "" {
			r.notes = append(r.notes, fmt.Sprintf("Dial timeout %s s for %s not imported: a peer is tried until it answers or fails", args[1], name))
		}
		if len(args) > 2 && args[2] != "" {
			r.notes = append(r.notes, fmt.Sprintf("Dial options %q for %s not imported: peers have no such setting", args[2], name))
		}
	}
	for p, prefix := range prefixes {
		m.peerPrefix[p] = prefix
	}
	var key []string
	for _, p := range r.peers {
		key = append(key, strings.ToLower(p.Name))
	}
	r.key = strings.Join(key, ",")
	return r, "", trunk
}

// parseDialString reads the dial strings that reach a trunk:
// PJSIP/number@endpoint, SIP/peer/number, SIP/number@peer; without a
// trunk, PJSIP/number and SIP/number dial a line.
func parseDialString(s string) (tech, trunk, num string, err error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "&") {
		return "", "", "", fmt.Errorf("dials %q, several channels at once; a route tries its peers in turn", s)
	}
	tech, rest, ok := strings.Cut(s, "/")
	if !ok || strings.HasPrefix(s, "$") {
		return "", "", "", fmt.Errorf("dials %q; a route reaches peers of type sip or pjsip (a variable is not read)", s)
	}
	switch strings.ToUpper(tech) {
	case "PJSIP":
		if strings.Contains(rest, "/") {
			return "", "", "", fmt.Errorf("dials %q, a URI of its own; a route sends to the peer's destination", s)
		}
		num, trunk, _ = strings.Cut(rest, "@")
		if trunk == "" && !strings.Contains(num, "${") {
			// PJSIP/endpoint: its contact, no number.
			return "", "", "", fmt.Errorf("dials trunk %s without a number; a route sends the number dialled", num)
		}
		return "PJSIP", trunk, num, nil
	case "SIP":
		if peer, n, ok := strings.Cut(rest, "/"); ok {
			return "SIP", peer, n, nil
		}
		num, trunk, _ = strings.Cut(rest, "@")
		if trunk == "" && !strings.Contains(num, "${") {
			return "", "", "", fmt.Errorf("dials trunk %s without a number; a route sends the number dialled", num)
		}
		return "SIP", trunk, num, nil
	}
	return "", "", "", fmt.Errorf("dials %q, a %s channel; routes reach peers of type sip or pjsip", s, tech)
}

// dialledNumber reads L${EXTEN}: L is sent before the number dialled.
func dialledNumber(num string) (prefix string, ok bool) {
	for _, v := range []string{"${EXTEN}", "${EXTEN:0}"} {
		if p, ok := strings.CutSuffix(num, v); ok && dialChars(p) {
			return p, true
		}
	}
	return "", false
}

func dialChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDialChar(s[i]) {
			return false
		}
	}
	return true
}

// routePeer finds the peer a route to trunk sends calls through: a peer
// of the import, or for a SIP endpoint of the import (a trunk that
// registers: sip_endpoints are never dialled) a peer made from it,
// <name>-calls (the renderer keeps -out, -reg and -realm for the SIP endpoint's own sections), when that is no wider than Asterisk was: its calls were
// taken unchallenged (insecure), as a peer's are.
func (m *mapper) routePeer(trunk string) (*Object, string) {
	o := m.names[strings.ToLower(trunk)]
	switch {
	case o == nil:
		return nil, fmt.Sprintf("dials trunk %s, which is no peer or SIP endpoint this import creates", trunk)
	case o.Module == ModulePeers:
		return o, ""
	case o.Module != ModuleSIPEndpoints:
		return nil, fmt.Sprintf("dials %s, a line: sipswitch rings lines by name before any route", trunk)
	}
	if p := m.companions[o]; p != nil {
		return p, ""
	}
	if o.Params["insecure"] != "1" {
		return nil, fmt.Sprintf("dials trunk %s, a SIP endpoint (it registers), whose calls are challenged: a peer for its outbound calls would take its calls by address, which Asterisk never did", trunk)
	}
	name := o.Name + "-calls"
	if prev := m.names[strings.ToLower(name)]; prev != nil || !validName(ModulePeers, name) {
		return nil, fmt.Sprintf("dials trunk %s, a SIP endpoint (it registers); the peer its outbound calls need cannot be named %s", trunk, name)
	}
	p := &Object{Module: ModulePeers, Name: name, Pos: o.Pos, Params: map[string]string{"name": name}, From: map[string][]astconf.Pos{"name": {o.Pos}}}
	typ := o.driver
	if typ == "" {
		typ = routing.PeerSIP
	}
	p.Params["type"] = typ
	dest := o.Params["host"]
	if strings.Count(dest, ":") > 1 && !strings.HasPrefix(dest, "[") {
		dest = "[" + dest + "]"
	}
	if port := o.Params["port"]; port != "" && port != "0" {
		dest += ":" + port
	}
	copyParam := func(to, value string, from ...string) {
		if value == "" {
			return
		}
		p.Params[to] = value
		for _, f := range from {
			p.From[to] = append(p.From[to], o.From[f]...)
		}
	}
	copyParam("destination", dest, "host", "port")
	copyParam("username", o.Params["defaultuser"], "defaultuser")
	if o.Params["remotesecret"] != "" {
		copyParam("password", o.Params["remotesecret"], "remotesecret")
	} else {
		copyParam("password", o.Params["secret"], "secret")
	}
	if list := endpointCodecList(o.Params["audio_codecs"], o.Params["codec_order"]); list != "" {
		copyParam("codecs", list, "audio_codecs", "codec_order")
	}
	if d := o.Params["dtmfmode"]; d == "info" || d == "inband" {
		copyParam("dtmfmode", d, "dtmfmode")
	}
	copyParam("proxy", o.Params["outboundproxy"], "outboundproxy")
	m.companions[o] = p
	return p, ""
}

// usePeer adds a peer made for routes (routePeer) to the import, once a
// route uses it.
func (m *mapper) usePeer(p *Object) {
	key := strings.ToLower(p.Name)
	if m.names[key] == p {
		return
	}
	m.names[key] = p
	m.res.Objects = append(m.res.Objects, p)
	for e, c := range m.companions {
		if c == p {
			m.res.Findings = append(m.res.Findings, Finding{Pos: p.Pos, Object: p.What(),
				Message: fmt.Sprintf("made from SIP endpoint %s for the routes that dial it: the SIP endpoint registers, the peer carries the calls routed to it and takes its calls by address, as insecure=invite did", e.Name)})
		}
	}
}

// endpointCodecList is a SIP endpoint's enabled codecs in its order.
func endpointCodecList(enabled, order string) string {
	if enabled == "" {
		return ""
	}
	on := splitList(enabled)
	var out []string
	for _, c := range splitList(order) {
		if slices.Contains(on, c) {
			out = append(out, c)
		}
	}
	for _, c := range on {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return strings.Join(out, ",")
}

// planLayer is one context in a plan's search order.
type planLayer struct {
	ctx     *dpContext
	entries []*dpEntry
	timed   string // a timed include: its extensions apply some of the time
}

// searchOrder lists the contexts Asterisk searches for a number dialled in
// root: root's extensions, its switches (anything: they ask elsewhere),
// then its includes depth first, each context once.
func searchOrder(contexts map[string]*dpContext, root *dpContext, notes func(o opt, msg string)) []planLayer {
	var out []planLayer
	seen := map[*dpContext]bool{}
	var walk func(c *dpContext, timed string)
	walk = func(c *dpContext, timed string) {
		if seen[c] {
			return
		}
		seen[c] = true
		out = append(out, planLayer{ctx: c, timed: timed})
		if len(c.switches) > 0 {
			sw := c.switches[0]
			out = append(out, planLayer{ctx: c, entries: []*dpEntry{{kind: entryOther, pfx: []string{""}, pat: []patElem{{weight: weightBang}},
				why: fmt.Sprintf("%s => %s looks numbers up elsewhere", sw.Name, sw.Value)}}})
		}
		for _, inc := range c.includes {
			name, timing, _ := strings.Cut(inc.Value, ",")
			if name2, t2, ok := strings.Cut(name, "|"); ok {
				name, timing = name2, t2
			}
			name = strings.TrimSpace(name)
			next := contexts[strings.ToLower(name)]
			if next == nil {
				notes(inc, fmt.Sprintf("includes %s, which extensions.conf does not define (Asterisk ignores it)", name))
				continue
			}
			t := timed
			if strings.TrimSpace(timing) != "" {
				t = inc.Value
			}
			walk(next, t)
		}
	}
	walk(root, "")
	return out
}

// planAction is what a plan does with numbers of one prefix: route them
// through an entry's peers, or not ("").
func planAction(en *dpEntry) string {
	if en == nil || en.kind != entryRoute {
		return ""
	}
	return en.route.key
}

// decide is what Asterisk does with numbers starting with x (and no
// longer prefix any entry names): the first layer with a pattern whose
// prefixes take x, and in it the most specific pattern. Literal
// extensions match one number alone: point decides that number.
// ambiguous: Asterisk's choice rests on what is not modelled.
func decide(layers []planLayer, x string) (best *dpEntry, ambiguous bool) {
	return decideIn(layers, x, false)
}

// point is what Asterisk does with the number n itself: as decide, but a
// literal extension n of a layer is tried before its patterns.
func point(layers []planLayer, n string) (best *dpEntry, ambiguous bool) {
	return decideIn(layers, n, true)
}

func decideIn(layers []planLayer, x string, literals bool) (best *dpEntry, ambiguous bool) {
	for _, l := range layers {
		var cands []*dpEntry
		for _, en := range l.entries {
			if en == nil || en.kind == entryNone {
				continue
			}
			if en.lit {
				if literals && en.pfx[0] == x {
					cands = append(cands, en)
				}
				continue
			}
			for _, p := range en.pfx {
				if strings.HasPrefix(x, p) {
					cands = append(cands, en)
					break
				}
			}
		}
		if len(cands) == 0 {
			continue
		}
		best = cands[0]
		ambiguous = false
		for _, c := range cands[1:] {
			switch cmp := compareEntries(c, best); {
			case cmp < 0:
				best, ambiguous = c, false
			case cmp == 0:
				ambiguous = true
			}
		}
		if l.timed != "" && best.kind == entryRoute {
			// Its routes apply some of the time only.
			return best, true
		}
		return best, ambiguous
	}
	return nil, false
}

func compareEntries(a, b *dpEntry) int {
	switch {
	case a.lit && !b.lit:
		return -1
	case b.lit && !a.lit:
		return 1
	}
	return moreSpecific(a.pat, b.pat)
}

// planRoute is one route a plan gets: a prefix and the entry whose peers
// it takes (nil: allow=0).
type planRoute struct {
	prefix string
	entry  *dpEntry
	// cause is the entry a forbidding route stands for.
	cause *dpEntry
}

// planRoutes computes the routes that make a plan route as Asterisk does
// from layers. decided records, per entry, the prefixes (for a literal:
// its number) Asterisk gives it and the plan routes as it does; lost, the
// entry that takes an entry's own numbers instead (nil when Asterisk's
// choice is not certain, or a literal's number cannot have a route of its
// own).
func planRoutes(layers []planLayer) (routes []planRoute, decided map[*dpEntry][]string, lost map[*dpEntry]*dpEntry) {
	regions := map[string]bool{"": true}
	var literals []*dpEntry
	for _, l := range layers {
		for _, en := range l.entries {
			if en == nil || en.kind == entryNone {
				continue
			}
			if en.lit {
				literals = append(literals, en)
			}
			for _, p := range en.pfx {
				regions[p] = true
			}
		}
	}
	keys := make([]string, 0, len(regions))
	for k := range regions {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) < len(keys[j])
		}
		return keys[i] < keys[j]
	})
	decided = map[*dpEntry][]string{}
	lost = map[*dpEntry]*dpEntry{}
	current := func(x string) string {
		act, n := "", -1
		for _, r := range routes {
			if strings.HasPrefix(x, r.prefix) && len(r.prefix) > n {
				act, n = planAction(r.entry), len(r.prefix)
			}
		}
		return act
	}
	for _, x := range keys {
		best, ambiguous := decide(layers, x)
		want := planAction(best)
		if ambiguous {
			want = ""
		}
		if best != nil && !ambiguous {
			decided[best] = append(decided[best], x)
		}
		// An entry that names x itself but loses it.
		for _, l := range layers {
			for _, en := range l.entries {
				if en != nil && !en.lit && en.kind == entryRoute && en != best && slices.Contains(en.pfx, x) {
					if _, seen := lost[en]; !seen {
						lost[en] = best
					}
				}
			}
		}
		if want == current(x) {
			continue
		}
		r := planRoute{prefix: x}
		if want != "" {
			r.entry = best
		} else {
			r.cause = best
		}
		routes = append(routes, r)
	}
	// forbidAt makes the plan route no number starting with n: a route
	// of that very prefix gives way (narrower, never wider).
	forbidAt := func(n string, cause *dpEntry) {
		out := routes[:0]
		for _, r := range routes {
			if r.prefix != n {
				out = append(out, r)
			} else if r.entry != nil {
				decided[r.entry] = slices.DeleteFunc(decided[r.entry], func(x string) bool { return x == n })
				lost[r.entry] = cause
			}
		}
		routes = append(out, planRoute{prefix: n, cause: cause})
	}
	// Literal numbers: the plan does with the number what Asterisk
	// does, or, when a route of its own would take longer numbers too,
	// does not route it (narrower).
	for _, lit := range literals {
		n := lit.pfx[0]
		best, ambiguous := point(layers, n)
		if best != lit {
			if best != nil && !ambiguous {
				lost[lit] = best
			} else {
				lost[lit] = nil
			}
			continue
		}
		want, cur := planAction(lit), current(n)
		switch {
		case want == cur:
			decided[lit] = append(decided[lit], n)
		case want == "":
			forbidAt(n, lit)
		default:
			lost[lit] = nil
			if cur != "" {
				forbidAt(n, lit)
			}
		}
	}
	return routes, decided, lost
}

// dialplan maps extensions.conf: every context an imported line's calls
// enter becomes a rate plan when the dialplan gives it routes; the lines
// get that plan; every extension read is mapped or reported.
func (m *mapper) dialplan(cfg *astconf.Config) {
	contexts, order := m.parseDialplan(cfg)
	lineNames := map[string]bool{}
	var lines []*Object
	for _, o := range m.res.Objects {
		if o.Module == ModulePhones {
			lineNames[strings.ToLower(o.Name)] = true
			lines = append(lines, o)
		}
	}
	entries := map[*dpExten]*dpEntry{}
	classify := func(c *dpContext) {
		for _, e := range c.extens {
			if entries[e] == nil {
				entries[e] = m.classify(e, lineNames)
			}
		}
	}
	// Per entry, what became of it across plans.
	type fate struct {
		plans  []string
		routed bool
		lostTo *dpEntry
		forbid []string // prefixes plans do not route because of it
	}
	fates := map[*dpEntry]*fate{}
	fateOf := func(en *dpEntry) *fate {
		if fates[en] == nil {
			fates[en] = &fate{}
		}
		return fates[en]
	}
	reached := map[*dpContext]bool{}
	planned := map[astconf.Pos]bool{} // includes a plan is built through
	plans := map[*dpContext]*Object{}
	done := map[*dpContext]bool{}
	for _, line := range lines {
		c := contexts[strings.ToLower(line.context)]
		if line.context == "" || c == nil || done[c] {
			continue
		}
		done[c] = true
		notes := func(o opt, msg string) {
			o.use()
			m.res.Findings = append(m.res.Findings, Finding{Pos: o.Pos, Object: "[" + o.t.sec.Name + "]", Option: optionText(o.Option), Message: msg})
		}
		var layers []planLayer
		for _, l := range searchOrder(contexts, c, notes) {
			reached[l.ctx] = true
			classify(l.ctx)
			if l.entries == nil {
				for _, e := range l.ctx.extens {
					l.entries = append(l.entries, entries[e])
				}
			}
			layers = append(layers, l)
		}
		routes, decided, lost := planRoutes(layers)
		for _, l := range layers {
			for _, en := range l.entries {
				if en.ext == nil {
					continue
				}
				f := fateOf(en)
				f.plans = append(f.plans, c.name)
				if en.kind == entryRoute && len(decided[en]) > 0 {
					f.routed = true
				} else if lost[en] != nil && f.lostTo == nil {
					f.lostTo = lost[en]
				}
			}
		}
		allow := 0
		for _, r := range routes {
			if r.entry != nil {
				allow++
			}
		}
		if allow == 0 {
			continue
		}
		plan := &Object{Module: ModulePlans, Name: c.name, Pos: c.pos, Params: map[string]string{"name": c.name},
			From: map[string][]astconf.Pos{"name": {c.pos}}}
		plans[c] = plan
		for _, l := range layers {
			for _, inc := range l.ctx.includes {
				inc.use()
				plan.Implied = append(plan.Implied, inc.Pos)
				planned[inc.Pos] = true
			}
		}
		m.res.Objects = append(m.res.Objects, plan)
		for _, r := range routes {
			m.planRoute(plan, r)
			if r.entry == nil && r.cause != nil {
				fateOf(r.cause).forbid = append(fateOf(r.cause).forbid, r.prefix)
			}
		}
	}
	// Lines: the plan of their context.
	for _, line := range lines {
		if plan := plans[contexts[strings.ToLower(line.context)]]; plan != nil && line.context != "" {
			if line.Refs == nil {
				line.Refs = map[string]*Object{}
			}
			line.Refs["plan"] = plan
			if o := line.contextOpt; o.t != nil {
				o.use()
				line.From["plan"] = append(line.From["plan"], o.Pos)
			}
			line.context = ""
		} else if c := contexts[strings.ToLower(line.context)]; c != nil {
			line.contextWhy = fmt.Sprintf("context %s gives no route a rate plan can hold (see its extensions)", c.name)
		} else if line.context != "" {
			line.contextWhy = fmt.Sprintf("extensions.conf defines no context %s", line.context)
		}
	}
	// Every extension reached: mapped by a route, or reported.
	for _, c := range order {
		if !reached[c] {
			continue
		}
		for _, e := range c.extens {
			en := entries[e]
			f := fates[en]
			if en == nil || f == nil {
				continue
			}
			m.extenFinding(en, f.routed, f.lostTo, f.forbid, f.plans)
		}
		for _, inc := range c.includes {
			if !planned[inc.Pos] && !inc.t.used[inc.idx] {
				inc.use()
				m.res.Findings = append(m.res.Findings, Finding{Pos: inc.Pos, Object: "[" + c.name + "]", Option: optionText(inc.Option),
					Message: "not imported: the contexts it joins give no route a rate plan can hold"})
			}
		}
	}
	// Contexts no line reaches.
	for _, c := range order {
		if reached[c] || c.t == nil {
			continue
		}
		f := Finding{Pos: c.pos, Object: "[" + c.name + "]", Message: "not imported: no imported line's calls enter this context or one that includes it (calls from peers enter sipswitch's context \"inbound\", which rings lines by name)"}
		for i, o := range c.t.sec.Options {
			if !c.t.used[i] {
				c.t.used[i] = true
				f.Covers = append(f.Covers, o.Pos)
			}
		}
		m.res.Findings = append(m.res.Findings, f)
	}
}

// lineContexts reports the contexts of lines that got no rate plan from
// them: the line follows the default plan.
func (m *mapper) lineContexts() {
	for _, line := range m.res.Objects {
		o := line.contextOpt
		if line.Module != ModulePhones || line.context == "" || o.t == nil || o.t.shared {
			continue // the driver's default, or [general]'s: reported there
		}
		why := line.contextWhy
		if why == "" {
			why = "there is no extensions.conf"
		}
		o.use()
		m.res.Findings = append(m.res.Findings, Finding{Pos: o.Pos, Object: line.What(), Option: optionText(o.Option),
			Message: fmt.Sprintf("not imported: %s; the line follows the default rate plan", why)})
	}
}

// planRoute adds one route of plan.
func (m *mapper) planRoute(plan *Object, r planRoute) {
	label := r.prefix
	if label == "" {
		label = "(any number)"
	}
	ro := &Object{Module: ModuleRoutes, Name: label + " of plan " + plan.Name, Pos: plan.Pos,
		Params: map[string]string{"called_prefix": r.prefix},
		From:   map[string][]astconf.Pos{}, Refs: map[string]*Object{"plan": plan}}
	switch {
	case r.entry != nil:
		m.emitted[r.entry] = true
		ro.Pos = r.entry.ext.pos
		ro.Params["allow"] = "1"
		ro.Params["description"] = r.entry.route.desc
		for i, p := range r.entry.route.peers {
			m.usePeer(p)
			ro.Refs[fmt.Sprintf("peer%d", i+1)] = p
			if prefix := m.peerPrefix[p]; prefix != "" {
				p.Params["called_prefix"] = prefix
				for _, o := range r.entry.route.from {
					p.From["called_prefix"] = append(p.From["called_prefix"], o.Pos)
				}
			}
		}
		for _, o := range r.entry.route.from {
			o.use()
			ro.From["called_prefix"] = append(ro.From["called_prefix"], o.Pos)
		}
	default:
		ro.Params["allow"] = "0"
		ro.Params["description"] = "not routed: extensions.conf handles these numbers otherwise"
		if r.cause != nil && r.cause.ext != nil {
			ro.Pos = r.cause.ext.pos
			ro.Params["description"] = fmt.Sprintf("not routed: extensions.conf [%s] exten => %s", r.cause.ext.ctx.name, r.cause.ext.name)
			if r.cause.kind == entryForbid {
				for _, o := range r.cause.ext.lines {
					o.use()
					ro.From["allow"] = append(ro.From["allow"], o.Pos)
				}
			}
		}
	}
	m.res.Objects = append(m.res.Objects, ro)
}

// extenFinding reports what became of one extension, covering its lines.
func (m *mapper) extenFinding(en *dpEntry, routed bool, lostTo *dpEntry, forbid, plans []string) {
	e := en.ext
	f := Finding{Pos: e.pos, Object: "[" + e.ctx.name + "]", Option: "exten => " + e.name}
	switch {
	case en.kind == entryRoute && routed:
		for _, n := range en.route.notes {
			m.res.Findings = append(m.res.Findings, Finding{Pos: e.pos, Object: f.Object, Option: f.Option, Message: n})
		}
		if m.emitted[en] {
			m.coverLines(e, nil)
			return
		}
		f.Message = "imported as the route of a shorter prefix to the same peers"
	case en.kind == entryRoute && lostTo != nil && lostTo.ext != nil:
		f.Message = fmt.Sprintf("not imported: Asterisk matches its numbers with exten => %s (%s) first", lostTo.ext.name, lostTo.ext.pos)
	case en.kind == entryRoute && lostTo != nil:
		f.Message = "not imported: Asterisk asks elsewhere first (" + lostTo.why + ")"
	case en.kind == entryRoute && en.lit:
		f.Refused, f.Message = true, fmt.Sprintf("route %s: is one number; a route of its own would also take every longer number, which Asterisk does not send there (add the route by hand if that is meant)", en.pfx[0])
		m.res.mapRefused++
	case en.kind == entryRoute:
		f.Message = "not imported: which of the context's patterns Asterisk tries first for its numbers is not certain; the plan does not route them"
	case en.kind == entryForbid && len(forbid) > 0:
		m.coverLines(e, nil)
		return
	case en.kind == entryForbid:
		f.Message = "not imported: hangs up numbers no route of the plan takes anyway"
	case en.kind == entryNone:
		f.Message = "not imported: " + en.why
	case en.trunk:
		f.Refused = true
		f.Message = "route " + en.why
		m.res.mapRefused++
	default:
		f.Message = "not imported: " + en.why
	}
	if len(forbid) > 0 && en.kind != entryForbid {
		f.Message += fmt.Sprintf("; plan %s does not route numbers starting with %s", strings.Join(unique(plans), ", "), strings.Join(quoteAll(forbid), ", "))
	}
	m.coverLines(e, &f)
	m.res.Findings = append(m.res.Findings, f)
}

// coverLines marks an extension's lines read, and covered by f.
func (m *mapper) coverLines(e *dpExten, f *Finding) {
	for _, o := range e.lines {
		o.use()
		if f != nil && o.Pos != f.Pos {
			f.Covers = append(f.Covers, o.Pos)
		}
	}
}

func unique(list []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func quoteAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		if s == "" {
			s = "anything"
		}
		out[i] = s
	}
	return out
}
