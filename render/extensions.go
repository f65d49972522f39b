package render

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
)

// Dialplan context names.
const (
	phonesContext      = "phones"
	dialStringContext  = "dial-string"
	inboundDialContext = "inbound-dial"
	// patternAny is the character class of a dialled digit: the route
	// prefix alphabet. X would miss '*', '#' and '+'.
	patternAny = "[0-9*#+]"
)

func planContext(plan int, fax bool) string {
	if fax {
		return "plan-" + strconv.Itoa(plan) + "-fax"
	}
	return "plan-" + strconv.Itoa(plan)
}

func routeContext(id int) string { return "route-" + strconv.Itoa(id) }

// phoneContext is where line name's calls enter (its endpoint's context);
// phoneDialContext is where they are matched once decided on.
func phoneContext(name string) string     { return "phone-" + name }
func phoneDialContext(name string) string { return "phone-" + name + "-dial" }
func peerContext(id int) string           { return "peer-" + strconv.Itoa(id) }
func tgContext(id int) string             { return "timegroup-" + strconv.Itoa(id) }

// dialplan wraps a confWriter with exten/same helpers.
type dialplan struct{ *confWriter }

func (d dialplan) exten(ext, app string) { d.object("exten", ext+",1,"+app, "exten") }
func (d dialplan) same(app string)       { d.object("same", "n,"+app, "exten") }
func (d dialplan) label(l, app string)   { d.object("same", "n("+l+"),"+app, "exten") }

func renderExtensions(m *model, cfg *config) ([]byte, error) {
	w := m.newConfWriter("extensions.conf", 650*len(m.snap.Phones)+600*len(m.snap.Routes)+500*len(m.snap.Peers))
	d := dialplan{w}
	header(w, FileExtensions, m.snap.Revision)
	w.section("general")
	w.set("static", "yes", "general")
	w.set("writeprotect", "yes", "general")
	w.set("autofallthrough", "yes", "general")
	w.set("clearglobalvars", "yes", "general")
	// The route ordering in README relies on the list walk, not the
	// experimental trie.
	w.set("extenpatternmatchnew", "no", "general")

	w.section(phonesContext)
	seenExt := make(map[string]string, len(m.phones))
	for _, p := range m.phones {
		w.each(phoneRef(p), func() {
			if strings.HasPrefix(p.Name, "_") {
				w.fail(fmt.Errorf("%s: name: %w: a leading '_' makes an extension a pattern", w.ctx, ErrInvalidName))
				return
			}
			// Asterisk ignores '-' when matching extensions.
			k := strings.ReplaceAll(p.Name, "-", "")
			if prev, ok := seenExt[k]; ok {
				w.fail(fmt.Errorf("%s: name: %w: same dialplan extension as phone %q ('-' is ignored)", w.ctx, ErrNameConflict, prev))
				return
			}
			cos, err := m.lineCOS(p)
			if err != nil {
				w.fail(fmt.Errorf("%s: %w", w.ctx, err))
				return
			}
			// A virtual line's calls ring the device of the line it is
			// logged into (routing/virtual.go).
			dev, ok := m.logins.Device(p)
			if !ok {
				dev = p
			}
			phoneExtension(d, p, dev, cos, len(m.classes) > 0, m.localName, cfg, m.recordGroup(p))
			if w.err == nil {
				seenExt[k] = p.Name
			}
		})
	}
	for _, e := range m.endpoints {
		p := m.endpointLine(e)
		if p == nil {
			continue
		}
		w.each(endpointRef(e), func() {
			k := strings.ReplaceAll(p.Name, "-", "")
			if strings.HasPrefix(p.Name, "_") {
				w.fail(fmt.Errorf("%s: name: %w: a leading '_' makes an extension a pattern", w.ctx, ErrInvalidName))
				return
			}
			if prev, ok := seenExt[k]; ok {
				w.fail(fmt.Errorf("%s: name: %w: same dialplan extension as %q ('-' is ignored)", w.ctx, ErrNameConflict, prev))
				return
			}
			phoneExtension(d, p, p, "", len(m.classes) > 0, m.localName, cfg, m.recordGroup(p))
			if w.err == nil {
				seenExt[k] = p.Name
			}
		})
	}
	m.writeTrunkExtensions(d, seenExt, cfg)
	planIDs := make(map[int]bool, len(m.plans))
	for _, p := range m.plans {
		planIDs[p.ID] = true
	}
	for id := range m.routes {
		planIDs[id] = true
	}
	emergency, err := routing.ParseEmergencyNumbers(m.snap.Settings.EmergencyNumbers)
	if err != nil {
		w.ctx = "settings"
		w.fail(fmt.Errorf("%s: emergency_numbers: %w: %w", w.ctx, ErrInvalidValue, err))
	}
	for _, p := range m.phones {
		w.each(phoneRef(p), func() {
			plan := m.phonePlan(p)
			if !planIDs[plan] {
				plan = 0 // no such plan (none given, no default): no routes
			}
			phoneEntry(d, p, plan, emergency, cfg.sipDriver, len(m.endpointTrunks) > 0, m.recordGroup(p))
		})
	}
	for _, e := range m.endpoints {
		if p := m.endpointLine(e); p != nil {
			w.each(endpointRef(e), func() {
				plan := m.phonePlan(p)
				if !planIDs[plan] {
					plan = 0
				}
				phoneEntry(d, p, plan, emergency, cfg.sipDriver, len(m.endpointTrunks) > 0, m.recordGroup(p))
			})
		}
	}
	inboundEntry(d, cfg.sipDriver)
	dialStringSubroutine(d)

	ids := make([]int, 0, len(planIDs))
	for id := range planIDs {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	used := make(map[int]bool)
	for _, id := range ids {
		for _, fax := range []bool{false, true} {
			w.ctx = fmt.Sprintf("plan %d", id)
			w.section(planContext(id, fax))
			for _, r := range winningRoutes(m.routes[id], fax) {
				w.each(routeRef(r), func() {
					routeEntries(d, r, fax)
					used[r.ID] = w.err == nil
				})
			}
		}
	}

	routeIDs := make([]*routing.Route, 0, len(used))
	for _, rs := range m.routes {
		for _, r := range rs {
			if used[r.ID] {
				routeIDs = append(routeIDs, r)
			}
		}
	}
	sort.Slice(routeIDs, func(i, j int) bool { return routeIDs[i].ID < routeIDs[j].ID })
	for _, r := range routeIDs {
		w.each(routeRef(r), func() { routeBody(d, m, cfg, r) })
	}
	if len(routeIDs) > 0 {
		peerTry(d, cfg)
	}
	if m.costs != nil && len(m.costs.prefixes) > 0 {
		renderLCR(d, m.costs)
	}
	for _, p := range m.peers {
		w.each(peerRef(p), func() {
			peerSubroutine(d, p, cfg.sipDriver)
			m.reservedContext(d, p)
		})
	}
	for _, tg := range m.timeGroups {
		w.each(timeGroupRef(tg), func() { timeGroupSubroutine(d, tg) })
	}
	for _, c := range m.classes {
		w.each(classRef(c), func() { cosSubroutine(d, m, c) })
	}
	if m.lineLimits {
		w.ctx = "line limit"
		lineLimit(d)
	}
	if len(m.phones) > 0 || len(m.endpointLines) > 0 || len(m.endpointTrunks) > 0 {
		w.ctx = "line caller id"
		lineCallerID(d)
	}
	return w.bytes()
}

// mediaRank orders routes of equal prefixes: a route for exactly the call's
// media beats a voice_fax route.
func mediaRank(media string) int {
	if media == routing.MediaVoice || media == routing.MediaFax {
		return 0
	}
	return 1
}

func routeServes(r *routing.Route, fax bool) bool {
	switch r.Media {
	case routing.MediaVoice:
		return !fax
	case routing.MediaFax:
		return fax
	default:
		return true
	}
}

// winningRoutes keeps, for each (called, caller) prefix pair, the one route
// the engine would pick for the media (specific media, then lowest id), in
// (called, caller) order. Asterisk cannot hold two extensions with the same
// pattern and caller match.
func winningRoutes(rs []*routing.Route, fax bool) []*routing.Route {
	type key struct{ called, caller string }
	best := make(map[key]*routing.Route)
	for _, r := range rs {
		if !routeServes(r, fax) {
			continue
		}
		k := key{r.CalledPrefix, r.CallerPrefix}
		if cur, ok := best[k]; !ok || mediaRank(r.Media) < mediaRank(cur.Media) ||
			mediaRank(r.Media) == mediaRank(cur.Media) && r.ID < cur.ID {
			best[k] = r
		}
	}
	out := make([]*routing.Route, 0, len(best))
	for _, r := range best {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CalledPrefix != out[j].CalledPrefix {
			return out[i].CalledPrefix < out[j].CalledPrefix
		}
		return out[i].CallerPrefix < out[j].CallerPrefix
	})
	return out
}

// prefixMatchers returns the extension (or caller id) matchers that
// together match exactly the strings starting with prefix: the prefix
// itself and "_prefix." ('.' needs one more character). An empty prefix
// matches any non-empty string of the prefix alphabet.
func prefixMatchers(prefix string) []string {
	if prefix == "" {
		return []string{"_" + patternAny, "_" + patternAny + "."}
	}
	return []string{prefix, "_" + prefix + "."}
}

// routeEntries adds a route's extensions to a plan context; the route's
// subroutine gets the number and the call's media (the context's).
func routeEntries(d dialplan, r *routing.Route, fax bool) {
	if !routing.ValidPrefix(r.CalledPrefix) {
		d.fail(fmt.Errorf("%s: called_prefix: %w: %q (allowed 0-9 * # +)", d.ctx, ErrInvalidValue, r.CalledPrefix))
		return
	}
	if !routing.ValidPrefix(r.CallerPrefix) {
		d.fail(fmt.Errorf("%s: caller_prefix: %w: %q (allowed 0-9 * # +)", d.ctx, ErrInvalidValue, r.CallerPrefix))
		return
	}
	media := routing.MediaVoice
	if fax {
		media = routing.MediaFax
	}
	app := "Gosub(" + routeContext(r.ID) + ",s,1(${EXTEN}," + media + "))"
	for _, called := range prefixMatchers(r.CalledPrefix) {
		if r.CallerPrefix == "" {
			d.exten(called, app)
			continue
		}
		for _, caller := range prefixMatchers(r.CallerPrefix) {
			d.exten(called+"/"+caller, app)
		}
	}
}

// routeAttempt is one entry of a route's peer list as the dialplan dials
// it: a peer, or least cost.
type routeAttempt struct {
	peer      *routing.Peer
	leastCost bool
}

// routeAttempts resolves peer1..peer3 as routing.Decide does: 0 in peer1
// is the default peer, 0 elsewhere is none, unknown ids are skipped, -1 is
// every peer with a price for the number (when any cost rows exist), and a
// peer or least cost named twice is dialled once.
func routeAttempts(m *model, r *routing.Route) []routeAttempt {
	var out []routeAttempt
	seen := make(map[int]bool, 3)
	lcr := false
	for i, id := range []int{r.Peer1, r.Peer2, r.Peer3} {
		if i == 0 && id == routing.PeerNone {
			id = m.snap.Settings.DefaultPeer
		}
		switch {
		case id == routing.PeerLeastCost:
			if !lcr && m.costs != nil && len(m.costs.prefixes) > 0 {
				lcr = true
				out = append(out, routeAttempt{leastCost: true})
			}
		case id > 0 && !seen[id] && m.peerByID[id] != nil:
			seen[id] = true
			out = append(out, routeAttempt{peer: m.peerByID[id]})
		}
	}
	return out
}

func routeBody(d dialplan, m *model, cfg *config, r *routing.Route) {
	d.section(routeContext(r.ID))
	d.exten("s", fmt.Sprintf("NoOp(route %d plan %d called %s caller %s media %s)", r.ID, r.Plan, orAny(r.CalledPrefix), orAny(r.CallerPrefix), orAny(r.Media)))
	// An emergency call (SS_EMERGENCY, emergencyEntries) skips the line's
	// limit and class, as on the SIP core.
	notEmergency := ""
	if m.snap.Settings.EmergencyNumbers != "" {
		notEmergency = ` & "${SS_EMERGENCY}" != "1"`
	}
	if m.lineLimits {
		// The calling line's totalmaximum (lineLimit), as the SIP core
		// holds the caller's slot.
		d.same(`ExecIf($["${SS_TOTALMAX}" != ""` + notEmergency + `]?Gosub(` + lineLimitContext + `,s,1))`)
	}
	if len(m.classes) > 0 {
		// The calling line's class of service decides first (cos.go).
		d.same(`GosubIf($["${SS_COS}" != ""` + notEmergency + `]?cos-${SS_COS},s,1(${ARG1}))`)
	}
	switch r.Allow {
	case routing.AllowForbid:
		d.same("Hangup(21)")
		return
	case routing.AllowAlways:
	case routing.AllowInTimeGroup, routing.AllowOutOfTimeGroup:
		tg := r.TimeGroup
		if tg == 0 {
			if p := m.planByID[r.Plan]; p != nil {
				tg = p.COSTimeGroup
			}
		}
		if m.tgByID[tg] == nil {
			if r.Allow == routing.AllowInTimeGroup {
				d.same("Hangup(21)")
				return
			}
			break
		}
		d.same("Gosub(" + tgContext(tg) + ",s,1)")
		if r.Allow == routing.AllowInTimeGroup {
			d.same(`GotoIf($["${GOSUB_RETVAL}" = "1"]?allowed)`)
		} else {
			d.same(`GotoIf($["${GOSUB_RETVAL}" != "1"]?allowed)`)
		}
		d.same("Hangup(21)")
		d.label("allowed", "NoOp(allowed by timegroup "+strconv.Itoa(tg)+")")
	default:
		d.fail(fmt.Errorf("%s: allow: %w: %d", d.ctx, ErrUnsupported, r.Allow))
		return
	}
	attempts := routeAttempts(m, r)
	if len(attempts) == 0 {
		d.same("Hangup(34)")
		return
	}
	// A line that withholds its number outside (presentation_external 0).
	d.same(`ExecIf($["${SS_PRES_EXTERNAL}" = "0"]?Set(CALLERID(pres)=prohib))`)
	for _, a := range attempts {
		if a.leastCost {
			d.same("GosubIf(${DIALPLAN_EXISTS(" + lcrContext + ",${ARG1},1)}?" + lcrContext + ",${ARG1},1(${ARG1},${ARG2}))")
			continue
		}
		d.same("Gosub(" + peerTryContext + ",s,1(" + strconv.Itoa(a.peer.ID) + ",${ARG1}))")
	}
	// No peer was dialled: least cost found no price (the engine's no peer).
	d.same(`ExecIf($["${SS_DIALLED}" = ""]?Hangup(34))`)
	// The last peer failed without a Dial (fail_percent, outmaximum): the
	// SIP core's 503. Else the cause the last Dial left on the channel.
	d.same(`ExecIf($["${SS_NODIAL}" != ""]?Hangup(${SS_NODIAL}))`)
	d.same("Hangup()")
}

func orAny(s string) string {
	if s == "" {
		return "any"
	}
	return s
}

// dialString is the channel a peer is dialled on; num is the dialplan
// expression of the number to send.
func dialString(p *routing.Peer, num string, driver Driver) (string, error) {
	switch {
	case p.Type == routing.PeerSIP && driver == DriverChanSIP:
		return "SIP/" + p.Name + "/" + num, nil
	case p.IsSIP():
		return "PJSIP/" + num + "@" + p.Name, nil
	}
	switch p.Type {
	case routing.PeerIAX:
		return "IAX2/" + p.Name + "/" + num, nil
	case routing.PeerDAHDI, routing.PeerZap:
		return "DAHDI/g" + strconv.Itoa(p.ChannelGroup) + "/" + num, nil
	case routing.PeerContext:
		if err := checkSectionName(p.Context); err != nil || !dialplanSafe(p.Context) {
			return "", fmt.Errorf("context: %w: %q", ErrInvalidName, p.Context)
		}
		return "Local/" + num + "@" + p.Context, nil
	}
	return "", fmt.Errorf("type: %w: %q", ErrUnsupported, p.Type)
}

func peerSubroutine(d dialplan, p *routing.Peer, driver Driver) {
	if !routing.ValidPrefix(p.CalledPrefix) {
		d.fail(fmt.Errorf("%s: called_prefix: %w: %q", d.ctx, ErrInvalidValue, p.CalledPrefix))
		return
	}
	for param, v := range map[string]string{"callerid": p.CallerID, "callerid_unknown": p.CallerIDUnknown, "callerid_withheld": p.CallerIDWithheld} {
		if !dialplanSafe(v) {
			d.fail(fmt.Errorf("%s: %s: %w: %q has characters the dialplan would interpret", d.ctx, param, ErrInvalidValue, v))
			return
		}
	}
	dial, err := dialString(p, p.CalledPrefix+"${num}", driver)
	if err != nil {
		d.fail(fmt.Errorf("%s: %w", d.ctx, err))
		return
	}
	group := "peer-" + strconv.Itoa(p.ID)
	ctx := peerContext(p.ID)
	d.section(ctx)
	d.exten("s", "NoOp(peer "+strconv.Itoa(p.ID)+" "+p.Name+" "+p.Type+")")
	if p.OutMaximum >= 0 {
		d.same("GotoIf($[${GROUP_COUNT(" + group + "@outmaximum)} >= " + strconv.Itoa(p.OutMaximum) + "]?full)")
	}
	// fail_percent ("percentage of calls to fail"): as on the SIP core, a
	// hit is the peer's 503 (CONGESTION), and the failover policy decides
	// whether the next peer follows.
	switch {
	case p.FailPercent >= 100:
		d.same("Goto(failed)")
	case p.FailPercent > 0:
		d.same("GotoIf($[${RAND(1,100)} <= " + strconv.Itoa(p.FailPercent) + "]?failed)")
	}
	d.same("Set(LOCAL(num)=${ARG1})")
	d.same("Set(SS_NODIAL=)")
	next := "Dial("
	if p.CalledStripHash == 1 {
		// Only trailing '#'s go: FILTER would drop every '#'.
		d.label("strip", `GotoIf($["${num:-1}" != "#"]?stripped)`)
		d.same("Set(LOCAL(num)=${num:0:-1})")
		d.same("Goto(strip)")
		d.label("stripped", next+dial+",,b("+ctx+"-predial^s^1))")
	} else {
		d.same(next + dial + ",,b(" + ctx + "-predial^s^1))")
	}
	d.same("Return()")
	if p.OutMaximum >= 0 {
		d.label("full", "Set(DIALSTATUS=CHANUNAVAIL)")
		d.same("Set(SS_NODIAL=34)")
		d.same("Return()")
	}
	if p.FailPercent > 0 {
		d.label("failed", "Set(DIALSTATUS=CONGESTION)")
		d.same("Set(SS_NODIAL=34)")
		d.same("Return()")
	}

	// Runs on the outgoing channel before it is dialled, so the group
	// counts calls to the peer and caller id changes stay on this leg.
	// The identity an outgoing channel sends (its From) is its connected
	// line, which Dial copied from the caller's caller id: CALLERID() of
	// the outgoing channel is the called party and changes nothing the
	// peer sees (found by calls through Asterisk 20.20.1).
	d.section(ctx + "-predial")
	if p.OutMaximum >= 0 {
		d.exten("s", "Set(GROUP(outmaximum)="+group+")")
	} else {
		d.exten("s", "NoOp(peer "+strconv.Itoa(p.ID)+" predial)")
	}
	predialCallerID(d, p)
}

// predialCallerID renders the caller id steps of a peer's pre-dial
// subroutine: the peer is sent what the SIP core sends it
// (routing.TranslateNumbers, routing.SentFrom, sip's peerInvite). res_pjsip
// (and chan_sip) send From anonymous whenever the connected line's
// presentation is restricted, P-Asserted-Identity then only to a peer
// trusted with it (trust_id_outbound: send_privacy) with Privacy: id, and
// otherwise the connected line's number and name. So:
//   - a peer with send_privacy gets a caller who may not be shown (withheld
//     or unknown) restricted: From anonymous, the identity (forced
//     callerid; the withheld caller's own number; callerid_unknown) in
//     P-Asserted-Identity;
//   - any other peer gets its substitute (forced callerid, callerid_unknown,
//     callerid_withheld) shown as allowed, without the caller's name, or,
//     when the substitute is empty, the restricted anonymous From.
func predialCallerID(d dialplan, p *routing.Peer) {
	trusted := p.SendPrivacy == 1
	// show sets the number n shown to the peer: allowed for an untrusted
	// peer, restricted (From anonymous, n asserted) for a trusted one when
	// the caller may not be shown.
	show := func(n string, restricted bool) {
		d.same("Set(CONNECTEDLINE(name,i)=)")
		if n == "" {
			// No number: anonymous however the peer is trusted (the SIP
			// core's From for an empty caller id).
			d.same("Set(CONNECTEDLINE(pres,i)=prohib)")
			return
		}
		d.same("Set(CONNECTEDLINE(num,i)=" + n + ")")
		if restricted && trusted {
			d.same("Set(CONNECTEDLINE(pres,i)=prohib)")
		} else {
			d.same("Set(CONNECTEDLINE(pres,i)=allowed)")
		}
	}
	if p.CallerID != "" {
		// Forced: the peer's own number, shown unless the caller may not be
		// and the peer is trusted (then asserted, From anonymous).
		d.same(`GotoIf($["${CONNECTEDLINE(num)}" = "" | "${CONNECTEDLINE(num-pres):0:6}" = "prohib"]?restricted)`)
		show(p.CallerID, false)
		d.same("Return()")
		d.label("restricted", "NoOp(caller not shown)")
		show(p.CallerID, true)
		d.same("Return()")
		return
	}
	d.same(`GotoIf($["${CONNECTEDLINE(num)}" = ""]?unknown)`)
	d.same(`GotoIf($["${CONNECTEDLINE(num-pres):0:6}" = "prohib"]?withheld)`)
	d.same("Return()")
	d.label("unknown", "NoOp(caller unknown)")
	show(p.CallerIDUnknown, true)
	d.same("Return()")
	d.label("withheld", "NoOp(caller withheld)")
	if trusted {
		// The caller's own number stays, restricted: asserted to this
		// peer with Privacy: id, From anonymous.
		d.same("Return()")
		return
	}
	show(p.CallerIDWithheld, true)
	d.same("Return()")
}

var weekdayNames = [8]string{"", "mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// periodTimes renders a period's time window for GotoIfTime; a window that
// ends where it starts (00:00-00:00, 09:30-09:30) and 00:00-23:59 are the
// whole day (routing's rule).
func periodTimes(p *routing.TimePeriod) (string, error) {
	for _, v := range []struct {
		n, max int
		name   string
	}{{p.StartHour, 23, "starthour"}, {p.StartMinute, 59, "startminute"}, {p.EndHour, 23, "endhour"}, {p.EndMinute, 59, "endminute"}} {
		if v.n < 0 || v.n > v.max {
			return "", fmt.Errorf("%s: %w: %d", v.name, ErrInvalidValue, v.n)
		}
	}
	if p.StartHour == p.EndHour && p.StartMinute == p.EndMinute ||
		p.StartHour == 0 && p.StartMinute == 0 && p.EndHour == 23 && p.EndMinute == 59 {
		return "*", nil
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d", p.StartHour, p.StartMinute, p.EndHour, p.EndMinute), nil
}

func periodDays(days string) (string, error) {
	var set [8]bool
	n := 0
	for i := 0; i < len(days); i++ {
		c := days[i]
		if c < '1' || c > '7' {
			return "", fmt.Errorf("days: %w: %q", ErrInvalidValue, days)
		}
		if !set[c-'0'] {
			set[c-'0'] = true
			n++
		}
	}
	if n == 0 || n == 7 {
		return "*", nil
	}
	var out []string
	for i := 1; i <= 7; i++ {
		if set[i] {
			out = append(out, weekdayNames[i])
		}
	}
	return strings.Join(out, "&"), nil
}

// periodDate turns "YYYY-MM-DD" into YYYYMMDD for a numeric comparison
// with STRFTIME(%Y%m%d): GotoIfTime has no year, so date ranges are
// compared as numbers instead (they may span months and years).
func periodDate(s, param string) (string, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return "", fmt.Errorf("%s: %w: %q (want YYYY-MM-DD)", param, ErrInvalidValue, s)
	}
	out := s[0:4] + s[5:7] + s[8:10]
	for i := 0; i < len(out); i++ {
		if out[i] < '0' || out[i] > '9' {
			return "", fmt.Errorf("%s: %w: %q (want YYYY-MM-DD)", param, ErrInvalidValue, s)
		}
	}
	return out, nil
}

func timeGroupSubroutine(d dialplan, tg *routing.TimeGroup) {
	periods := append([]routing.TimePeriod(nil), tg.Periods...)
	sort.Slice(periods, func(i, j int) bool { return periods[i].ID < periods[j].ID })
	d.section(tgContext(tg.ID))
	d.exten("s", "NoOp(timegroup "+strconv.Itoa(tg.ID)+")")
	for i := range periods {
		p := &periods[i]
		tz := p.Timezone
		if tz == "" {
			tz = "UTC" // STRFTIME and GotoIfTime would otherwise use the host's zone
		}
		if !dialplanSafe(tz) || strings.ContainsAny(tz, " ,") {
			d.fail(fmt.Errorf("%s: period %d: timezone: %w: %q", d.ctx, p.ID, ErrInvalidValue, p.Timezone))
			return
		}
		times, err := periodTimes(p)
		if err == nil {
			var days string
			days, err = periodDays(p.Days)
			if err == nil {
				err = timePeriodChecks(d, i, len(periods), p, tz, times, days)
			}
		}
		if err != nil {
			d.fail(fmt.Errorf("%s: period %d: %w", d.ctx, p.ID, err))
			return
		}
	}
	d.label("inactive", "Return(0)")
	d.label("active", "Return(1)")
}

func timePeriodChecks(d dialplan, i, n int, p *routing.TimePeriod, tz, times, days string) error {
	next := "p" + strconv.Itoa(i+2)
	if i == n-1 {
		next = "inactive"
	}
	var steps []string
	today := "${STRFTIME(${EPOCH}," + tz + ",%Y%m%d)}"
	if p.StartDate != "" {
		v, err := periodDate(p.StartDate, "startdate")
		if err != nil {
			return err
		}
		steps = append(steps, "GotoIf($["+today+" < "+v+"]?"+next+")")
	}
	if p.EndDate != "" {
		v, err := periodDate(p.EndDate, "enddate")
		if err != nil {
			return err
		}
		steps = append(steps, "GotoIf($["+today+" > "+v+"]?"+next+")")
	}
	if times == "*" && days == "*" {
		steps = append(steps, "Goto(active)")
	} else {
		steps = append(steps, "GotoIfTime("+times+","+days+",*,*,"+tz+"?active)")
	}
	d.label("p"+strconv.Itoa(i+1), steps[0])
	for _, s := range steps[1:] {
		d.same(s)
	}
	return nil
}

// maxHops is the SIP core's bound on how often one call is sent on from
// line to line (sip.maxHops): SS_HOPS counts the diversions on the
// channel. Without it, two lines forwarding to each other loop in the
// dialplan forever.
const maxHops = 5

// hopGuard is the expression that is true once a call has been sent on
// maxHops times (SS_HOPS empty counts as 0).
var hopGuard = "$[0${SS_HOPS} >= " + strconv.Itoa(maxHops) + "]"

// divert is the steps that mark the call as sent on by line (REDIRECTING,
// which Dial copies to the outgoing channel): res_pjsip then sends a
// Diversion header naming the line and why (RFC 5806; reason names
// Asterisk's: cfu unconditional, cfb user-busy, cfnr no-answer,
// unavailable), as the SIP core does: one header, the most recent
// diversion (res_pjsip erases any earlier one; so does the SIP core).
func divert(line, reason string) []string {
	return []string{
		"Set(REDIRECTING(from-num,i)=" + line + ")",
		"Set(REDIRECTING(reason,i)=" + reason + ")",
		"Set(REDIRECTING(count,i)=${SS_HOPS})",
	}
}

// destination renders a busy / no-answer / unregistered destination
// (btype/bnumber, dtype/dnumber, utype/unumber) as the steps after its
// label. cause is the hangup cause of the SIP core's answer when the
// destination ends the call: 17 (486) for busy, 20 (480) otherwise;
// reason the REDIRECTING reason of a call it sends on.
func destination(p *routing.Phone, typ, number, typParam, numParam, vmFlag string, cause int, reason string, lineName func(string) (string, bool), cfg *config) ([]string, error) {
	end := "Hangup(" + strconv.Itoa(cause) + ")"
	switch strings.ToLower(typ) {
	case "", "hangup":
		return []string{end}, nil
	case "number", "phone", "external":
		number, err := routing.Dialled(number, lineName)
		if err != nil {
			// Neither a line nor a number (a line deleted since, a value
			// stored before the API normalised numbers): the SIP core ends
			// the call with the destination's code, and so does this.
			return []string{end}, nil
		}
		if number == p.Name {
			// A line that sends its calls on to itself ends them, as on
			// the SIP core (a busy line would ring itself busy again).
			return []string{end}, nil
		}
		steps := []string{"ExecIf(" + hopGuard + "?" + end + ")", "Set(SS_HOPS=$[0${SS_HOPS} + 1])"}
		steps = append(steps, divert(p.Name, reason)...)
		return append(steps, "Goto("+phoneDialContext(p.Name)+","+number+",1)"), nil
	case "voicemail":
		box := number
		if box == "" {
			box = p.Mailbox
		}
		if box == "" || !dialplanSafe(box) || strings.ContainsAny(box, " /") {
			return nil, fmt.Errorf("%s: %w: voicemail needs a mailbox", numParam, ErrInvalidValue)
		}
		return []string{"VoiceMail(" + mailboxValue(box, cfg.vmContext) + "," + vmFlag + ")", end}, nil
	}
	return nil, fmt.Errorf("%s: %w: %q (hangup, number, phone, external, voicemail)", typParam, ErrUnsupported, typ)
}

// phoneExtension renders calls to line p, which ring device dev (p, or
// the line virtual line p is logged into: its contacts and delivery). cos
// is p's class (SS_COS) and classes says whether the switch has any (else
// SS_COS is never set); rec is p's record group (record.go).
func phoneExtension(d dialplan, p, dev *routing.Phone, cos string, classes bool, lineName func(string) (string, bool), cfg *config, rec *routing.RecordGroup) {
	busy, err := destination(p, p.BType, p.BNumber, "btype", "bnumber", "b", 17, "cfb", lineName, cfg)
	if err != nil {
		d.fail(fmt.Errorf("%s: %w", d.ctx, err))
		return
	}
	noAnswer, err := destination(p, p.DType, p.DNumber, "dtype", "dnumber", "u", 20, "cfnr", lineName, cfg)
	if err != nil {
		d.fail(fmt.Errorf("%s: %w", d.ctx, err))
		return
	}
	unavail, err := destination(p, p.UType, p.UNumber, "utype", "unumber", "u", 20, "unavailable", lineName, cfg)
	if err != nil {
		d.fail(fmt.Errorf("%s: %w", d.ctx, err))
		return
	}
	if dev != p {
		d.exten(p.Name, "NoOp(phone "+p.Name+" logged into "+dev.Name+")")
	} else {
		d.exten(p.Name, "NoOp(phone "+p.Name+")")
	}
	// A call from a line holds a slot of the calling line too (lineLimit).
	d.same(`ExecIf($["${SS_TOTALMAX}" != ""]?Gosub(` + lineLimitContext + `,s,1))`)
	if p.Forwarding != "" && p.UseForwarding == 1 || sendsOn(p) {
		// What this extension sends on is the line's own call: its class
		// of service (cos.go) and its customer's reserved peers, not the
		// caller's.
		if classes {
			d.same("Set(SS_COS=" + cos + ")")
		}
		d.same("Set(SS_CUSTOMER=" + strconv.Itoa(p.Customer) + ")")
	}
	// The SIP core's order: forwarding, then dnd, then acr, then the
	// line's totalmaximum (calls to and from it: categories tmin, tmout).
	full := ""
	if p.TotalMaximum >= 0 {
		full = "GotoIf($[${GROUP_COUNT(phone-" + p.Name + "@tmin)} + ${GROUP_COUNT(phone-" + p.Name + "@tmout)} >= " + strconv.Itoa(p.TotalMaximum) + "]?"
	}
	if p.Forwarding != "" && p.UseForwarding == 1 {
		fwd, err := routing.Dialled(p.Forwarding, lineName)
		if err != nil || fwd == p.Name {
			// Forwarding to itself, or to what is neither a line nor a
			// number (a line deleted since, a value stored before the API
			// normalised numbers), ends the call (480), as on the SIP
			// core; the value itself never reaches the dialplan.
			d.same("Hangup(20)")
			return
		}
		// Sent on maxHops times already: forwarding is ignored and the
		// line rings, as on the SIP core.
		d.same("GotoIf(" + hopGuard + "?ring)")
		// A call forwarded out is the line's: it needs a slot (486
		// without). Forwarded to another line, it is that line's call.
		_, toLine := lineName(fwd)
		slot := full != "" && !toLine
		if slot {
			d.same(full + "fwdfull)")
			d.same("Set(GROUP(tmin)=phone-" + p.Name + ")")
		}
		d.same("Set(SS_HOPS=$[0${SS_HOPS} + 1])")
		for _, step := range divert(p.Name, "cfu") {
			d.same(step)
		}
		d.same("Goto(" + phoneDialContext(p.Name) + "," + fwd + ",1)")
		if slot {
			d.label("fwdfull", "Hangup(17)")
		}
		d.label("ring", "NoOp(forwarding not followed: hop limit)")
	}
	if p.DND == 1 {
		// dnd "rejects all calls": 486, not the busy destination (the
		// SIP core's meaning).
		d.same("Hangup(17)")
		return
	}
	if p.ACR == 1 {
		// The caller as this line would see it (its internal identity:
		// lineCallerID), unknown or withheld.
		d.same(`GotoIf($["${CALLERID(num)}${SS_CID_INTERNAL}" = ""]?reject)`)
		d.same(`GotoIf($["${CALLERID(num-pres):0:6}" = "prohib" | "${SS_PRES_INTERNAL}" = "0"]?reject)`)
	}
	recordSteps(d, rec, p, false, cfg.sipDriver) // record.go
	if full != "" {
		d.same(full + "busy)")
		d.same("Set(GROUP(tmin)=phone-" + p.Name + ")")
	}
	ring := ""
	if p.RingTime > 0 {
		ring = strconv.Itoa(p.RingTime)
	}
	target := string(cfg.sipDriver) + "/" + dev.Name
	if strings.EqualFold(dev.Delivery, "last_number") {
		// The Request-URI carries the number the call was sent to (the
		// line's), not the registered contact's user, as on the SIP core.
		if cfg.sipDriver == DriverPJSIP {
			target = "PJSIP/" + p.Name + "@" + dev.Name
		} else {
			target = "SIP/" + dev.Name + "/" + p.Name
		}
	}
	// The called line sees the caller's internal identity (a calling
	// line's callerid_internal, callername_internal, presentation_internal)
	// on the outgoing channel only: CALLERID stays the external one that a
	// forwarded call shows outside, as on the SIP core.
	opts := "b(" + lineCallerIDContext + "^s^1(${SS_CID_INTERNAL}^${SS_CNAME_INTERNAL}^${SS_PRES_INTERNAL}))"
	if p.MusicRinging == 1 {
		opts = "m" + opts // music on hold to the caller instead of ringing
	}
	// A line with no registered contact is not dialled: the SIP core
	// takes its unregistered destination at once, and Asterisk, asked to
	// dial it, logs an ERROR per call (pjsip: "Is endpoint registered and
	// reachable?") before coming to the same place (found by calls through
	// Asterisk 20.20.1).
	if cfg.sipDriver == DriverPJSIP {
		d.same(`GotoIf($["${PJSIP_DIAL_CONTACTS(` + dev.Name + `)}" = ""]?unavail)`)
	} else {
		d.same(`GotoIf($["${DEVICE_STATE(SIP/` + dev.Name + `)}" = "UNAVAILABLE"]?unavail)`)
	}
	d.same("Dial(" + strings.TrimRight(target+","+ring+","+opts, ",") + ")")
	d.same(`GotoIf($["${DIALSTATUS}" = "BUSY"]?busy)`)
	d.same(`GotoIf($["${DIALSTATUS}" = "CHANUNAVAIL"]?unavail)`)
	for _, dest := range []struct {
		label string
		steps []string
	}{{"noanswer", noAnswer}, {"busy", busy}, {"unavail", unavail}} {
		d.label(dest.label, dest.steps[0])
		for _, step := range dest.steps[1:] {
			d.same(step)
		}
	}
	if p.ACR == 1 {
		d.label("reject", "Hangup(21)")
	}
}

// sendsOn reports whether one of p's busy, no-answer or unregistered
// destinations sends the call on to a number.
func sendsOn(p *routing.Phone) bool {
	for _, d := range [][2]string{{p.BType, p.BNumber}, {p.DType, p.DNumber}, {p.UType, p.UNumber}} {
		switch strings.ToLower(d[0]) {
		case "number", "phone", "external":
			if d[1] != "" {
				return true
			}
		}
	}
	return false
}

// lineCallerIDContext is the pre-dial subroutine of calls to lines: the
// connected line the called phone is sent (its From) is the calling line's
// internal identity: its number when it has one (ARG1), its name (ARG2),
// ARG3 "0" withheld.
const lineCallerIDContext = "line-callerid"

func lineCallerID(d dialplan) {
	d.section(lineCallerIDContext)
	d.exten("s", `ExecIf($["${ARG1}" != ""]?Set(CONNECTEDLINE(num,i)=${ARG1}))`)
	// The name is the calling line's callername_internal even when empty,
	// as on the SIP core: else the caller's external name would show
	// (seen through Asterisk 20.20.1).
	d.same("Set(CONNECTEDLINE(name,i)=${ARG2})")
	d.same(`ExecIf($["${ARG3}" = "0"]?Set(CONNECTEDLINE(pres,i)=prohib))`)
	d.same("Return()")
}

// lineLimitContext counts a call against the calling line's totalmaximum.
const lineLimitContext = "line-limit"

// lineLimit renders the subroutine that holds a slot of the calling line
// (endpoint variables SS_LINE and SS_TOTALMAX) for a call it makes, once
// per call: the category tmout counts calls from a line, tmin calls to
// it, and a line is full when both together reach its totalmaximum.
func lineLimit(d dialplan) {
	d.section(lineLimitContext)
	d.exten("s", `GotoIf($["${SS_TM_COUNTED}" = "1"]?done)`)
	d.same(`GotoIf($[${GROUP_COUNT(phone-${SS_LINE}@tmin)} + ${GROUP_COUNT(phone-${SS_LINE}@tmout)} < ${SS_TOTALMAX}]?ok)`)
	d.same("Hangup(17)")
	d.label("ok", "Set(GROUP(tmout)=phone-${SS_LINE})")
	d.same("Set(SS_TM_COUNTED=1)")
	d.label("done", "Return()")
}

// Dialled numbers (routing's rule, which the SIP core and simulation
// follow): a call is decided on the called line's name as it is, else on
// the number's dial string (the separators - . ( ) and spaces removed; '+'
// only first), and a number that is neither is refused 484. Asterisk has
// decoded %HH escapes of the Request-URI user by the time the dialplan
// runs (pjsip's URI parser; chan_sip with pedantic=yes) and ignores '-'
// when it matches, but "44.909.123" would still match the pattern _44.
// and never _44909. So no call is matched as written: a line's calls enter
// phone-<name> and a carrier's enter inbound, each holding one catch-all
// extension that decides on the number and only then goes to the context
// that matches it (phone-<name>-dial, inbound-dial); an extension that is
// not there goes to i, Hangup(1), 404 as on the SIP core. The catch-all is
// _! (zero or more of anything): _. would do, but Asterisk warns against
// it once per context at every reload. The raw
// extension is never passed as an application argument (a decoded ',' or
// ')' would split it): it travels in SS_NUMBER.

// dialStringSubroutine renders dial-string: the dial string of
// ${SS_NUMBER}, or "" when it is none, as routing.NormalizeNumber decides.
// Only lengths and FILTER()ed text reach an expression, so no character
// of the number is ever read as dialplan syntax.
func dialStringSubroutine(d dialplan) {
	d.section(dialStringContext)
	d.exten("s", `GotoIf($[${LEN(${FILTER(-()*#+. 0-9,${SS_NUMBER})})} != ${LEN(${SS_NUMBER})}]?none)`)
	d.same("Set(LOCAL(n)=${FILTER(*#+0-9,${SS_NUMBER})})")
	d.same(`Set(LOCAL(rest)=${IF($["${n:0:1}" = "+"]?${n:1}:${n})})`)
	d.same("GotoIf($[${LEN(${rest})} = 0 | ${LEN(${n})} > " + strconv.Itoa(routing.MaxPrefixLen) + "]?none)")
	d.same("GotoIf($[${LEN(${FILTER(*#0-9,${rest})})} != ${LEN(${rest})}]?none)")
	d.same("Return(${n})")
	d.label("none", "Return()")
}

// decideCalled renders the steps of an entry context's catch-all: a line
// named exactly the extension is rung (phones), and with trunks a trunk so
// named is dialled (endpoints: a line's call only), anything else is the
// number's dial string in matchContext, or 484.
func decideCalled(d dialplan, matchContext string, trunks bool) {
	d.same("Set(SS_NUMBER=${EXTEN})")
	// Only a string of name characters can be a line's name; anything
	// else must not reach DIALPLAN_EXISTS's arguments.
	d.same("GotoIf($[${LEN(${FILTER(-+.0-9A-Z_a-z,${EXTEN})})} != ${LEN(${EXTEN})}]?number)")
	d.same("GotoIf(${DIALPLAN_EXISTS(" + phonesContext + ",${EXTEN},1)}?" + phonesContext + ",${EXTEN},1)")
	if trunks {
		d.same("GotoIf(${DIALPLAN_EXISTS(" + endpointsContext + ",${EXTEN},1)}?" + endpointsContext + ",${EXTEN},1)")
	}
	d.label("number", "Gosub("+dialStringContext+",s,1)")
	d.same(`GotoIf($["${GOSUB_RETVAL}" = ""]?invalid)`)
	d.same("Goto(" + matchContext + ",${GOSUB_RETVAL},1)")
	d.label("invalid", "Hangup(28)") // 484 Address Incomplete
}

// phoneEntry renders line p's entry context and the context its calls
// are matched in: other lines, then its plan's routes (plan 0: the line
// has no plan that exists, so no routes, as on the SIP core).
func phoneEntry(d dialplan, p *routing.Phone, plan int, emergency []string, driver Driver, trunks bool, rec *routing.RecordGroup) {
	d.section(phoneContext(p.Name))
	d.exten("_!", "NoOp(call from line "+p.Name+")")
	callerWithholds(d, driver)
	recordSteps(d, rec, p, true, driver) // record.go
	decideCalled(d, phoneDialContext(p.Name), trunks)
	d.section(phoneDialContext(p.Name))
	if plan != 0 {
		emergencyEntries(d, p, planContext(plan, p.Media == routing.MediaFax), emergency)
	}
	d.object("include", phonesContext, "name")
	if trunks {
		d.object("include", endpointsContext, "name")
	}
	if plan == 0 {
		// No such rate plan (none given, no default, or one deleted):
		// the SIP core refuses every number but a line's with 503
		// (routing.ErrUnknownPlan), cause 34.
		d.exten("i", "Hangup(34)")
		return
	}
	d.object("include", planContext(plan, p.Media == routing.MediaFax), "plan")
	d.exten("i", "Hangup(1)") // no route: 404
}

// emergencyEntries renders line p's calls to the emergency numbers
// (routing/emergency.go): an extension of its own, which Asterisk matches
// before the included contexts, marks the call (SS_EMERGENCY, which lets
// route bodies skip the line's totalmaximum and class of service),
// presents the line's callerid_location (allowed) and goes on to the
// route the plan has for the number, or 404 when it has none. The
// location itself (PIDF-LO, Geolocation) is not rendered: README.md.
func emergencyEntries(d dialplan, p *routing.Phone, plan string, numbers []string) {
	cid := routing.EmergencyCallerID(p)
	for _, n := range numbers {
		d.exten(n, "Set(SS_EMERGENCY=1)")
		if cid != "" {
			d.same("Set(CALLERID(num)=" + cid + ")")
			d.same("Set(CALLERID(pres)=allowed)")
			d.same("Set(SS_PRES_EXTERNAL=1)")
		}
		d.same("GotoIf(${DIALPLAN_EXISTS(" + plan + ",${EXTEN},1)}?" + plan + ",${EXTEN},1)")
		d.same("Hangup(1)")
	}
}

// callerWithholds renders the SIP core's rule for a caller that withholds
// its number (sip.callerIdentity, RFC 3323): a Privacy header holding
// "id" (ASCII case-insensitive), or From anonymous, withholds the call both ways whatever the
// line's presentation_external/_internal say. Asterisk trusts no identity
// a phone sends (trust_id_inbound is never rendered), so the header is
// read here and the line's endpoint variables SS_PRES_EXTERNAL and
// SS_PRES_INTERNAL (presentation_external/_internal 0) are set on the
// caller's channel, which every later step reads. The header's text only
// ever sits in a variable that STRREPLACE reads by name, and only lengths
// reach an expression, so no character of it is read as dialplan syntax.
func callerWithholds(d dialplan, driver Driver) {
	read := "PJSIP_HEADER(read,Privacy)"
	if driver == DriverChanSIP {
		read = "SIP_HEADER(Privacy)"
	}
	d.same("Set(SS_PRIVACY=${TOLOWER(${" + read + "})})")
	withholds := `$[${LEN(${STRREPLACE(SS_PRIVACY,id)})} != ${LEN(${SS_PRIVACY})}]`
	d.same("ExecIf(" + withholds + "?Set(SS_PRES_EXTERNAL=0))")
	d.same("ExecIf(" + withholds + "?Set(SS_PRES_INTERNAL=0))")
	// From anonymous (RFC 3323 4.1.1.3) withholds too: the From header's
	// URI user, ASCII case-insensitive, is anonymous (":anonymous@" in it).
	from := "PJSIP_HEADER(read,From)"
	if driver == DriverChanSIP {
		from = "SIP_HEADER(From)"
	}
	d.same("Set(SS_FROM=${TOLOWER(${" + from + "})})")
	anonymous := `$[${LEN(${STRREPLACE(SS_FROM,:anonymous@)})} != ${LEN(${SS_FROM})}]`
	d.same("ExecIf(" + anonymous + "?Set(SS_PRES_EXTERNAL=0))")
	d.same("ExecIf(" + anonymous + "?Set(SS_PRES_INTERNAL=0))")
}

// inboundEntry renders the context carriers' calls enter: the caller's
// number is decided on as its dial string (none: unknown, as on the SIP
// core), and the called number may only reach a line.
func inboundEntry(d dialplan, driver Driver) {
	d.section(inboundContext)
	d.exten("_!", "NoOp(call from a carrier or trunk)")
	// A carrier's caller who withholds (Privacy: id) is withheld both
	// ways, as on the SIP core (sip.callerIdentity for a peer's call).
	callerWithholds(d, driver)
	d.same("Set(SS_NUMBER=${CALLERID(num)})")
	d.same("Gosub(" + dialStringContext + ",s,1)")
	d.same("Set(CALLERID(num)=${GOSUB_RETVAL})")
	// No number (none sent, or nothing of it a dial string): unknown, shown
	// to the called line as anonymous, as on the SIP core.
	d.same(`ExecIf($["${CALLERID(num)}" = ""]?Set(SS_PRES_INTERNAL=0))`)
	decideCalled(d, inboundDialContext, false)
	d.section(inboundDialContext)
	d.object("include", phonesContext, "inbound")
	d.exten("i", "Hangup(1)")
}

// reservedContext renders, for a peer reserved for a customer
// (routing.RoutingState.mayUse: peers/create customer above 0), the
// customers whose calls may use it: that customer and those below it, an
// extension each, which peer-try looks up by the calling line's
// SS_CUSTOMER.
func (m *model) reservedContext(d dialplan, p *routing.Peer) {
	if p.Customer <= 0 {
		return
	}
	d.section(reservedContext(p.ID))
	d.exten("s", fmt.Sprintf("NoOp(peer %d is reserved for customer %d)", p.ID, p.Customer))
	ids := make([]int, 0, len(m.custByID))
	for id := range m.custByID {
		if m.withinCustomer(id, p.Customer) {
			ids = append(ids, id)
		}
	}
	if !slices.Contains(ids, p.Customer) {
		ids = append(ids, p.Customer)
	}
	sort.Ints(ids)
	for _, id := range ids {
		d.exten(strconv.Itoa(id), "Return()")
	}
}

func reservedContext(peer int) string { return "reserved-" + strconv.Itoa(peer) }

// withinCustomer is routing's rule: c is top or a customer below it.
func (m *model) withinCustomer(c, top int) bool {
	for range len(m.custByID) + 1 {
		if c == top {
			return true
		}
		cust := m.custByID[c]
		if cust == nil || cust.Parent == 0 {
			return false
		}
		c = cust.Parent
	}
	return false
}
