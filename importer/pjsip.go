package importer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/astconf"
	"github.com/sipswitch/sipswitch/routing"
)

// psec is one pjsip section with its type.
type psec struct {
	s       *astconf.Section
	t       *tracker
	v       *view
	typ     string
	claimed bool
}

// bundle is one endpoint stitched together with what it refers to.
type bundle struct {
	name     string
	pos      astconf.Pos
	ep       *view
	aors     []*view
	inAuth   []*view
	outAuth  []*view
	identify []*view
	regs     []*view
	// structural are options that only tie the parts together (type=,
	// aors=, auth=, endpoint=...); they are implied once mapped.
	structural []opt
	views      []*view
	transport  string // protocol of the endpoint's transport, "" unknown
}

type pjsipConf struct {
	m      *mapper
	byType map[string][]*psec
}

func (c *pjsipConf) find(typ, name string) *psec {
	for _, p := range c.byType[typ] {
		if strings.EqualFold(p.s.Name, name) {
			return p
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// pjsip reads pjsip.conf (wizard: pjsip_wizard.conf).
func (m *mapper) pjsip(cfg *astconf.Config, wizardFile bool) {
	c := &pjsipConf{m: m, byType: map[string][]*psec{}}
	inherited := inheritedNames(cfg)
	var order []*psec
	for _, s := range cfg.Sections {
		if s.Template {
			if !inherited[strings.ToLower(s.Name)] {
				m.skipSection(m.track(s, "template ["+s.Name+"]"), "template is not used by any section: no effect in Asterisk, nothing to import")
			}
			continue
		}
		t := m.track(s, "["+s.Name+"]")
		v := viewOf(t)
		typ, ok := v.peek("type")
		p := &psec{s: s, t: t, v: v, typ: strings.ToLower(typ.Value)}
		switch {
		case !ok:
			m.skipSection(t, "no type=: res_pjsip refuses a section without a type")
			continue
		case wizardFile && p.typ != "wizard":
			m.skipSection(t, "type=%s in pjsip_wizard.conf: the wizard reads only type=wizard sections", typ.Value)
			continue
		}
		t.object = "[" + s.Name + "] (" + p.typ + ")"
		if prev := c.find(p.typ, s.Name); prev != nil {
			m.skipSection(t, "a second %s section named %s: Asterisk keeps the first (%s)", p.typ, s.Name, prev.s.Pos)
			continue
		}
		c.byType[p.typ] = append(c.byType[p.typ], p)
		order = append(order, p)
	}
	for _, p := range order {
		switch p.typ {
		case "endpoint":
			p.claimed = true
			c.mapBundle(c.endpointBundle(p))
		case "wizard":
			p.claimed = true
			c.mapBundle(c.wizardBundle(p))
		}
	}
	for _, p := range order {
		if p.claimed || p.t.done {
			continue
		}
		switch p.typ {
		case "aor", "auth", "identify", "registration":
			m.skipSection(p.t, "the %s is not used by any endpoint: nothing to import", p.typ)
		case "transport":
			m.skipSection(p.t, "not imported: sipswitch renders its own transports (listen addresses are the daemon's configuration)")
		case "global", "system":
			m.skipSection(p.t, "not imported: global settings are the switch's own, not objects")
		case "acl":
			m.skipSection(p.t, "not imported: a line's source address restricts it (source); global ACLs have no sipswitch object")
		default:
			m.skipSection(p.t, "not imported: type=%s has no sipswitch object", p.typ)
		}
	}
}

// claimRefs returns the sections of typ named in the option's list.
func (c *pjsipConf) claimRefs(b *bundle, o opt, typ string) []*view {
	var out []*view
	for _, name := range splitList(o.Value) {
		p := c.find(typ, name)
		if p == nil {
			c.m.res.Findings = append(c.m.res.Findings, Finding{Pos: o.Pos, Object: "[" + b.name + "]", Option: optionText(o.Option), Message: fmt.Sprintf("names %s %q, which is not defined: Asterisk ignores it", typ, name)})
			continue
		}
		p.claimed = true
		out = append(out, p.v)
		b.views = append(b.views, p.v)
	}
	return out
}

func (c *pjsipConf) endpointBundle(p *psec) *bundle {
	b := &bundle{name: p.s.Name, pos: p.s.Pos, ep: p.v, views: []*view{p.v}}
	typ, _ := p.v.last("type")
	b.structural = append(b.structural, typ)
	for _, k := range []struct{ opt, typ string }{{"aors", "aor"}, {"auth", "auth"}, {"outbound_auth", "auth"}} {
		for _, o := range p.v.own(k.opt) {
			refs := c.claimRefs(b, o, k.typ)
			switch k.opt {
			case "aors":
				b.aors = append(b.aors, refs...)
			case "auth":
				b.inAuth = append(b.inAuth, refs...)
			default:
				b.outAuth = append(b.outAuth, refs...)
			}
		}
	}
	for _, o := range p.v.own("transport") {
		if t := c.find("transport", o.Value); t != nil {
			b.transport = strings.ToLower(t.v.value("protocol"))
			if b.transport == "" {
				b.transport = "udp"
			}
		}
	}
	for _, id := range c.byType["identify"] {
		if strings.EqualFold(id.v.value("endpoint"), b.name) {
			id.claimed = true
			b.identify = append(b.identify, id.v)
			b.views = append(b.views, id.v)
		}
	}
	// Registrations: by endpoint=, then by name, then by a shared
	// outbound auth, then by the server's host.
	outAuths := map[string]bool{}
	for _, o := range p.v.own("outbound_auth") {
		for _, n := range splitList(o.Value) {
			outAuths[strings.ToLower(n)] = true
		}
	}
	contactHosts := map[string]bool{}
	for _, a := range b.aors {
		for _, o := range a.own("contact") {
			if _, hp, err := sipURI(o.Value); err == nil {
				contactHosts[strings.ToLower(hostOnly(hp))] = true
			}
		}
	}
	matchers := []func(r *psec) bool{
		func(r *psec) bool { return strings.EqualFold(peekValue(r.v, "endpoint"), b.name) },
		func(r *psec) bool {
			n := strings.ToLower(r.s.Name)
			l := strings.ToLower(b.name)
			return peekValue(r.v, "endpoint") == "" && (n == l || n == l+"-reg" || n == l+"_reg" || n == "reg-"+l || n == "reg_"+l)
		},
		func(r *psec) bool {
			if peekValue(r.v, "endpoint") != "" {
				return false
			}
			for _, n := range splitList(peekValue(r.v, "outbound_auth")) {
				if outAuths[strings.ToLower(n)] {
					return true
				}
			}
			return false
		},
		func(r *psec) bool {
			_, hp, err := sipURI(peekValue(r.v, "server_uri"))
			return err == nil && peekValue(r.v, "endpoint") == "" && contactHosts[strings.ToLower(hostOnly(hp))]
		},
	}
	for _, match := range matchers {
		for _, r := range c.byType["registration"] {
			if !r.claimed && match(r) {
				r.claimed = true
				b.regs = append(b.regs, r.v)
				b.views = append(b.views, r.v)
			}
		}
		if len(b.regs) > 0 {
			break
		}
	}
	for _, r := range b.regs {
		for _, o := range r.own("outbound_auth") {
			for _, n := range splitList(o.Value) {
				if a := c.find("auth", n); a != nil && !a.claimed {
					a.claimed = true
					b.views = append(b.views, a.v)
				}
			}
		}
	}
	return b
}

func peekValue(v *view, name string) string {
	o, _ := v.peek(name)
	return o.Value
}

// wizardBundle expands a type=wizard section the way the wizard does:
// endpoint/, aor/, inbound_auth/, outbound_auth/, identify/ and
// registration/ options go to their object; remote_hosts makes the aor's
// contacts, the identify's matches (unless registrations are accepted)
// and the registrations' servers.
func (c *pjsipConf) wizardBundle(p *psec) *bundle {
	w := p.v
	b := &bundle{name: p.s.Name, pos: p.s.Pos, views: []*view{w}}
	ep, aor, in, out, ident, reg := &view{}, &view{}, &view{}, &view{}, &view{}, &view{}
	parts := map[string]*view{"endpoint/": ep, "aor/": aor, "inbound_auth/": in, "outbound_auth/": out, "identify/": ident, "registration/": reg}
	for _, o := range w.opts {
		for prefix, v := range parts {
			if len(o.Name) > len(prefix) && strings.EqualFold(o.Name[:len(prefix)], prefix) {
				r := o
				r.Name = o.Name[len(prefix):]
				v.opts = append(v.opts, r)
			}
		}
	}
	control := func(name string) (opt, bool) {
		o, ok := w.last(name)
		if ok {
			b.structural = append(b.structural, o)
		}
		return o, ok
	}
	control("type")
	synth := func(v *view, src opt, name, value string) {
		o := src
		o.Name, o.Value = name, value
		v.opts = append(v.opts, o)
	}
	if o, ok := control("transport"); ok {
		synth(ep, o, "transport", o.Value)
		synth(reg, o, "transport", o.Value)
		if t := c.find("transport", o.Value); t != nil {
			b.transport = strings.ToLower(t.v.value("protocol"))
		}
	}
	if o, ok := control("outbound_proxy"); ok {
		synth(ep, o, "outbound_proxy", o.Value)
		synth(reg, o, "outbound_proxy", o.Value)
	}
	hostsOpt, hasHosts := control("remote_hosts")
	hosts := splitList(hostsOpt.Value)
	acceptsReg, _ := control("accepts_registrations")
	sendsReg, _ := control("sends_registrations")
	sendsLine, _ := control("sends_line_with_registrations")
	acceptsAuth, _ := control("accepts_auth")
	sendsAuth, _ := control("sends_auth")
	contactPattern := "sip:${REMOTE_HOST}"
	if o, ok := control("contact_pattern"); ok {
		contactPattern = o.Value
	}
	serverPattern := "sip:${REMOTE_HOST}"
	if o, ok := control("server_uri_pattern"); ok {
		serverPattern = o.Value
	}
	clientPattern := "sip:${USERNAME}@${REMOTE_HOST}"
	if o, ok := control("client_uri_pattern"); ok {
		clientPattern = o.Value
	}
	if hasHosts && len(aor.own("contact")) == 0 {
		for _, h := range hosts {
			synth(aor, hostsOpt, "contact", strings.ReplaceAll(contactPattern, "${REMOTE_HOST}", h))
		}
	}
	if yes(acceptsReg.Value) && len(aor.own("max_contacts")) == 0 {
		// INFERRED: the wizard leaves max_contacts to aor/max_contacts;
		// a wizard that accepts registrations needs at least one.
		synth(aor, acceptsReg, "max_contacts", "1")
	}
	if hasHosts && !yes(acceptsReg.Value) && !yes(sendsLine.Value) && len(ident.own("match")) == 0 {
		for _, h := range hosts {
			synth(ident, hostsOpt, "match", hostOnly(h))
		}
	}
	if yes(acceptsAuth.Value) {
		b.inAuth = append(b.inAuth, in)
	} else {
		b.views = append(b.views, in) // reported as not imported
	}
	if yes(sendsAuth.Value) {
		b.outAuth = append(b.outAuth, out)
	} else {
		b.views = append(b.views, out)
	}
	if yes(sendsReg.Value) && len(hosts) > 0 {
		if len(reg.own("server_uri")) == 0 {
			synth(reg, hostsOpt, "server_uri", strings.ReplaceAll(serverPattern, "${REMOTE_HOST}", hosts[0]))
		}
		if len(reg.own("client_uri")) == 0 {
			user := out.value("username")
			synth(reg, hostsOpt, "client_uri", strings.ReplaceAll(strings.ReplaceAll(clientPattern, "${REMOTE_HOST}", hosts[0]), "${USERNAME}", user))
		}
		b.regs = append(b.regs, reg)
		if len(hosts) > 1 {
			c.m.res.Findings = append(c.m.res.Findings, Finding{Pos: hostsOpt.Pos, Object: "[" + b.name + "]", Option: optionText(hostsOpt.Option), Message: fmt.Sprintf("the wizard registers to each of %d hosts; the SIP endpoint registers to the first, %s", len(hosts), hosts[0])})
		}
	} else {
		b.views = append(b.views, reg)
	}
	b.ep = ep
	b.aors = []*view{aor}
	b.identify = []*view{ident}
	b.views = append(b.views, ep, aor, ident)
	return b
}

// mapBundle classifies an endpoint by its shape and maps it.
func (c *pjsipConf) mapBundle(b *bundle) {
	var contacts []opt
	maxContacts := 0
	for _, a := range b.aors {
		contacts = append(contacts, a.own("contact")...)
		if o, ok := a.peek("max_contacts"); ok {
			if n, err := strconv.Atoi(o.Value); err == nil && n > maxContacts {
				maxContacts = n
			}
		}
	}
	var matches []opt
	for _, id := range b.identify {
		matches = append(matches, id.own("match")...)
	}
	switch {
	case len(b.regs) > 0:
		c.pjEndpoint(b)
	case len(b.inAuth) > 0 || len(b.ep.own("auth")) > 0:
		// A device that authenticates is a line, whatever its contact:
		// as a peer it would be trusted by address, a trust Asterisk
		// never gave it.
		c.pjLine(b)
	case len(contacts) > 0:
		c.pjPeer(b, contacts, nil)
	case maxContacts > 0:
		c.pjLine(b)
	case len(matches) > 0:
		c.pjPeer(b, nil, matches)
	default:
		f := Finding{Pos: b.pos, Object: "[" + b.name + "]", Refused: true,
			Message: "the endpoint has no contact, takes no registrations (max_contacts) and is identified by no address: nothing to import"}
		for _, v := range b.views {
			for _, o := range v.opts {
				o.use()
				f.Covers = append(f.Covers, o.Pos)
			}
		}
		c.m.res.Findings = append(c.m.res.Findings, f)
		c.m.res.mapRefused++
	}
}

// transportCheck maps an endpoint's transport: UDP is what lines and peers
// are rendered with.
func transportCheck(b *build, bu *bundle) {
	for _, o := range bu.ep.own("transport") {
		if bu.transport == "" || bu.transport == "udp" {
			b.implied(o)
		} else {
			b.warn(o, "not imported: lines and peers are rendered on UDP (transport-udp); this transport is %s", bu.transport)
		}
	}
}

func (c *pjsipConf) pjLine(bu *bundle) {
	b := c.m.newBuild(ModulePhones, bu.name, bu.pos)
	b.implied(bu.structural...)
	ep := bu.ep
	for _, k := range []string{"aors", "auth"} {
		b.implied(ep.own(k)...)
	}
	switch len(bu.inAuth) {
	case 0:
		b.refuse(bu.pos, "", "no auth=: a line that registers without a password is not imported (the switch never routes unauthenticated calls)")
	default:
		a := bu.inAuth[0]
		if t, ok := a.last("type"); ok {
			b.implied(t)
		}
		if t, ok := digestAuth(a); ok {
			b.refuse(t.Pos, optionText(t.Option), "the line's password is kept only as an MD5 digest (auth_type=%s); sipswitch needs the password itself (create the line with phones/create)", t.Value)
		} else if t, ok := a.last("auth_type"); ok {
			if strings.EqualFold(t.Value, "userpass") {
				b.implied(t)
			} else {
				b.refuse(t.Pos, optionText(t.Option), "the line's password is not kept as plain text (auth_type=%s); sipswitch needs the password itself", t.Value)
			}
		}
		if o, ok := a.last("password"); ok && o.Value != "" {
			linePassword(b, o)
		} else {
			b.refuse(bu.pos, "", "the auth section has no password")
		}
		if o, ok := a.last("username"); ok {
			if strings.EqualFold(o.Value, bu.name) {
				b.implied(o)
			} else {
				b.warn(o, "not imported: a line authenticates as its name, %s", bu.name)
			}
		}
		for _, extra := range bu.inAuth[1:] {
			for _, o := range extra.opts {
				b.warn(o, "not imported: a line has one password (the first auth= section's)")
			}
		}
	}
	for _, a := range bu.aors {
		if t, ok := a.last("type"); ok {
			b.implied(t)
		}
		if o, ok := a.last("max_contacts"); ok {
			if o.Value == "1" {
				b.implied(o)
			} else {
				b.warn(o, "not imported: lines keep one registration (max_contacts=1)")
			}
		}
		if o, ok := a.last("remove_existing"); ok && yes(o.Value) {
			b.implied(o)
		}
		for _, o := range a.own("contact") {
			b.warn(o, "not imported: a line is reached where it registers from; Asterisk sent its calls to this static contact, sipswitch sends them once the phone registers (set it to register)")
		}
		if o, ok := a.last("qualify_frequency"); ok {
			n, _ := strconv.Atoi(o.Value)
			switch {
			case n <= 0:
				b.set("ping", "0", o)
			case n == 60:
				b.set("ping", "1", o)
			default:
				b.set("ping", "1", o)
				b.note(o.Pos, "qualify_frequency=%s: the line is pinged; every 60 s when rendered", o.Value)
			}
		}
		if o, ok := a.last("mailboxes"); ok {
			lineMailbox(b, o)
		}
	}
	for _, a := range bu.outAuth {
		for _, o := range a.opts {
			b.warn(o, "not imported: a line does not authenticate to others (outbound_auth)")
		}
	}
	for _, id := range bu.identify {
		for _, o := range id.opts {
			b.warn(o, "not imported: a line is identified by its name and password, not by address (identify)")
		}
	}
	if o, ok := ep.last("context"); ok {
		lineContext(b, o, o.Value)
	} else {
		lineContext(b, opt{}, "default") // res_pjsip's default context
	}
	transportCheck(b, bu)
	lineCodec(b, codecOptsOf(ep), false)
	if o, ok := ep.last("callerid"); ok {
		lineCallerID(b, o)
	}
	for _, o := range ep.own("set_var") {
		lineSetVar(b, o)
	}
	if o, ok := ep.last("language"); ok {
		b.set("language", o.Value, o)
	}
	if o, ok := ep.last("moh_suggest"); ok {
		lineMusic(b, o)
	}
	if o, ok := ep.last("mailboxes"); ok {
		lineMailbox(b, o)
	}
	lineACL(b, ep)
	if o, ok := ep.last("device_state_busy_at"); ok {
		if n, err := strconv.Atoi(o.Value); err == nil && n > 0 {
			b.set("totalmaximum", o.Value, o)
		} else if err == nil {
			b.implied(o)
		} else {
			b.warn(o, "not imported: not a number")
		}
	}
	if o, ok := ep.last("t38_udptl"); ok {
		ec, hasEC := ep.last("t38_udptl_ec")
		if hasEC {
			b.implied(ec)
		}
		lineT38(b, o, ec.Value)
	}
	if o, ok := ep.last("dtmf_mode"); ok && (strings.EqualFold(o.Value, "rfc4733") || strings.EqualFold(o.Value, "rfc2833")) {
		b.implied(o)
	}
	pjsipEncryption(b, ep.last)
	b.done(bu.views...)
}

func codecOptsOf(v *view) []opt {
	var out []opt
	for _, o := range v.opts {
		if strings.EqualFold(o.Name, "allow") || strings.EqualFold(o.Name, "disallow") {
			out = append(out, o)
		}
	}
	return out
}

func (c *pjsipConf) pjPeer(bu *bundle, contacts, matches []opt) {
	b := c.m.newBuild(ModulePeers, bu.name, bu.pos)
	b.implied(bu.structural...)
	ep := bu.ep
	b.implied(ep.own("aors")...)
	b.set("type", routing.PeerPJSIP)
	var dests []string
	hosts := map[string]bool{}
	var from []opt
	for _, o := range contacts {
		user, hp, err := sipURI(o.Value)
		if err != nil {
			b.warn(o, "not imported: %v", err)
			continue
		}
		if user != "" {
			b.note(o.Pos, "contact user %s not imported: calls to a peer carry the dialled number", user)
		}
		for _, p := range uriParams(o.Value) {
			if p != "lr" {
				b.note(o.Pos, "contact parameter ;%s not imported", p)
			}
		}
		dests = append(dests, hp)
		hosts[strings.ToLower(hostOnly(hp))] = true
		from = append(from, o)
	}
	if len(contacts) == 0 {
		for _, o := range matches {
			for _, m := range splitList(o.Value) {
				if strings.Contains(m, "/") {
					continue
				}
				dests = append(dests, m)
				hosts[strings.ToLower(hostOnly(m))] = true
				from = append(from, o)
			}
		}
		b.note(bu.pos, "no contact: the peer's destination is taken from its identify match (%s)", strings.Join(dests, ","))
	}
	if len(dests) == 0 {
		b.refuse(bu.pos, "", "no usable contact or address to send calls to")
	} else {
		b.set("destination", strings.Join(dests, ","), from...)
	}
	for _, id := range bu.identify {
		for _, k := range []string{"type", "endpoint"} {
			if o, ok := id.last(k); ok {
				b.implied(o)
			}
		}
		for _, o := range id.own("match") {
			extra := false
			for _, m := range splitList(o.Value) {
				if !hosts[strings.ToLower(hostOnly(m))] {
					extra = true
				}
			}
			if extra {
				b.warn(o, "not imported: a peer is identified by its destinations' addresses (%s)", strings.Join(dests, ","))
			} else {
				b.implied(o)
			}
		}
	}
	if len(bu.identify) == 0 || len(matches)+len(identifyMatches(bu)) == 0 {
		b.note(bu.pos, "no identify: sipswitch accepts calls from a peer's destination addresses without a challenge")
	}
	for _, a := range bu.aors {
		if t, ok := a.last("type"); ok {
			b.implied(t)
		}
	}
	// Outbound credentials: the first outbound auth.
	var user string
	if len(bu.outAuth) > 0 {
		b.implied(ep.own("outbound_auth")...)
		a := bu.outAuth[0]
		if t, ok := a.last("type"); ok {
			b.implied(t)
		}
		if t, ok := a.last("auth_type"); ok && strings.EqualFold(t.Value, "userpass") {
			b.implied(t)
		}
		if o, ok := a.last("username"); ok && o.Value != "" {
			user = o.Value
			b.set("username", o.Value, o)
		}
		if o, ok := a.last("password"); ok {
			b.set("password", o.Value, o)
		}
		for _, extra := range bu.outAuth[1:] {
			for _, o := range extra.opts {
				b.warn(o, "not imported: a peer sends one username and password (the first outbound_auth's)")
			}
		}
	}
	if o, ok := ep.last("from_user"); ok {
		switch {
		case user == "":
			b.set("username", o.Value, o)
		case o.Value == user:
			b.set("username", o.Value, o)
		default:
			b.warn(o, "not imported: a peer sends one username, %s, as the From user and the digest user", user)
		}
	}
	if o, ok := ep.last("context"); ok {
		if o.Value == "inbound" {
			b.implied(o)
		} else {
			b.warn(o, "not imported: calls from peers enter sipswitch's context \"inbound\"")
		}
	}
	transportCheck(b, bu)
	peerCodecs(b, codecOptsOf(ep), false)
	if o, ok := ep.last("dtmf_mode"); ok {
		peerDTMF(b, o)
	}
	pjsipEncryption(b, ep.last)
	for _, f := range []struct{ opt, param string }{{"send_pai", "send_asserted_identity"}, {"send_rpid", "send_rpid"}, {"trust_id_outbound", "send_privacy"}} {
		if o, ok := ep.last(f.opt); ok {
			switch {
			case yes(o.Value):
				b.set(f.param, "1", o)
			case no(o.Value):
				b.implied(o)
			default:
				b.warn(o, "not imported: not yes or no")
			}
		}
	}
	if o, ok := ep.last("outbound_proxy"); ok {
		if _, hp, err := sipURI(o.Value); err == nil {
			b.set("proxy", hp, o)
		} else {
			b.warn(o, "not imported: %v", err)
		}
	}
	if o, ok := ep.last("callerid"); ok {
		b.warn(o, "not imported: on an endpoint it is the caller id of calls *from* it; a sipswitch peer's callerid forces the caller id of calls *to* it")
	}
	b.done(bu.views...)
}

func identifyMatches(bu *bundle) []opt {
	var out []opt
	for _, id := range bu.identify {
		out = append(out, id.own("match")...)
	}
	return out
}

// pjEndpoint maps a registering trunk to a SIP endpoint (registration=out).
func (c *pjsipConf) pjEndpoint(bu *bundle) {
	b := c.m.newBuild(ModuleSIPEndpoints, bu.name, bu.pos)
	b.obj.driver = routing.PeerPJSIP
	b.implied(bu.structural...)
	ep := bu.ep
	b.implied(ep.own("aors")...)
	reg := bu.regs[0]
	for _, extra := range bu.regs[1:] {
		for _, o := range extra.opts {
			b.warn(o, "not imported: a SIP endpoint has one registration")
		}
	}
	rt, _ := reg.last("type")
	b.set("registration", "out", rt)
	for _, k := range []string{"endpoint", "line"} {
		if o, ok := reg.last(k); ok {
			b.implied(o)
		}
	}
	// Where it registers: server_uri, else the aor's contact.
	var host, port string
	if o, ok := reg.last("server_uri"); ok {
		if _, hp, err := sipURI(o.Value); err == nil {
			host, port = splitHP(hp)
			b.set("host", host, o)
			if port != "" {
				b.set("port", port, o)
			}
		} else {
			b.warn(o, "not imported: %v", err)
		}
	}
	if o, ok := reg.last("client_uri"); ok {
		if user, hp, err := sipURI(o.Value); err == nil && user != "" {
			b.set("defaultuser", user, o)
			if h, _ := splitHP(hp); host != "" && !strings.EqualFold(h, host) {
				// The AOR's domain differs from the registrar.
				b.set("fromdomain", h, o)
			}
		} else {
			b.warn(o, "not imported: the client_uri names no user")
		}
	}
	if o, ok := reg.last("contact_user"); ok {
		if o.Value == b.obj.Params["defaultuser"] {
			b.implied(o) // what an empty extension means: the user
		} else {
			b.set("extension", o.Value, o)
		}
	}
	if o, ok := reg.last("transport"); ok {
		b.implied(o)
	}
	if o, ok := reg.last("outbound_proxy"); ok {
		b.implied(o) // the endpoint's outbound_proxy is mapped below
	}
	for _, a := range bu.aors {
		if t, ok := a.last("type"); ok {
			b.implied(t)
		}
		for _, o := range a.own("contact") {
			user, hp, err := sipURI(o.Value)
			if err != nil {
				b.warn(o, "not imported: %v", err)
				continue
			}
			h, p := splitHP(hp)
			if host == "" {
				host, port = h, p
				b.set("host", h, o)
				if p != "" {
					b.set("port", p, o)
				}
			}
			if strings.EqualFold(h, host) && (p == port || p == "") && (user == "" || user == b.obj.Params["defaultuser"]) {
				b.implied(o)
			} else {
				b.warn(o, "not imported: the SIP endpoint is reached where it registers, %s", host)
			}
		}
		if o, ok := a.last("qualify_frequency"); ok {
			n, _ := strconv.Atoi(o.Value)
			if n > 0 {
				b.set("qualify", "1", o)
				b.set("qualifyfreq", o.Value, o)
			} else {
				b.set("qualify", "0", o)
			}
		}
	}
	for _, id := range bu.identify {
		for _, k := range []string{"type", "endpoint"} {
			if o, ok := id.last(k); ok {
				b.implied(o)
			}
		}
		for _, o := range id.own("match") {
			if strings.EqualFold(hostOnly(o.Value), host) {
				b.implied(o)
			} else {
				b.warn(o, "not imported: a SIP endpoint is identified by its host, %s", host)
			}
		}
	}
	// Credentials. Inbound auth (auth=) challenges calls from the trunk:
	// its password is secret; without one the endpoint is insecure
	// (identified by address). Outbound auth answers the trunk's
	// challenges: a password other than secret is remotesecret; one with
	// a realm is auth=user:secret@realm.
	inSecret := ""
	if len(bu.inAuth) > 0 {
		b.implied(ep.own("auth")...)
		a := bu.inAuth[0]
		if t, ok := digestAuth(a); ok {
			// Imported without it, the endpoint would take calls
			// unchallenged.
			b.refuse(t.Pos, optionText(t.Option), "the SIP endpoint's secret is kept only as an MD5 digest (auth_type=%s); sipswitch needs the secret itself (give it with sip_endpoint.save)", t.Value)
		}
		authParts(b, a)
		if o, ok := a.last("password"); ok && o.Value != "" {
			inSecret = o.Value
			b.set("secret", o.Value, o)
		}
		if o, ok := a.last("username"); ok {
			if o.Value == b.obj.Params["defaultuser"] {
				b.implied(o)
			} else {
				b.warn(o, "not imported: the SIP endpoint's users authenticate as its defaultuser")
			}
		}
		b.set("insecure", "0")
	} else {
		b.set("insecure", "1")
	}
	outs := bu.outAuth
	for _, o := range reg.own("outbound_auth") {
		b.implied(o)
	}
	b.implied(ep.own("outbound_auth")...)
	if len(outs) == 0 {
		// The registration's own outbound auth.
		for _, name := range splitList(peekValue(reg, "outbound_auth")) {
			for _, v := range bu.views {
				if strings.EqualFold(vName(v), name) {
					outs = append(outs, v)
				}
			}
		}
	}
	for _, a := range outs {
		if _, ok := digestAuth(a); ok {
			for _, o := range a.opts {
				b.warn(o, "not imported: this credential is kept only as an MD5 digest; sipswitch needs the password it sends (set auth=user:secret@realm or remotesecret)")
			}
			continue
		}
		authParts(b, a)
		pw, _ := a.last("password")
		user, _ := a.last("username")
		if realm, ok := a.last("realm"); ok && realm.Value != "" {
			if _, done := b.obj.Params["auth"]; !done {
				b.set("auth", user.Value+":"+pw.Value+"@"+realm.Value, user, pw, realm)
				continue
			}
		}
		if _, done := b.obj.Params["remotesecret"]; done {
			for _, o := range a.opts {
				b.warn(o, "not imported: a SIP endpoint sends one password")
			}
			continue
		}
		if user.Value != "" && user.Value != b.obj.Params["defaultuser"] {
			if _, has := b.obj.Params["defaultuser"]; !has {
				b.set("defaultuser", user.Value, user)
			} else {
				b.warn(user, "not imported: the SIP endpoint authenticates as its defaultuser, %s", b.obj.Params["defaultuser"])
			}
		} else {
			b.implied(user)
		}
		if pw.Value == inSecret {
			b.implied(pw)
		} else {
			b.set("remotesecret", pw.Value, pw)
		}
	}
	if o, ok := ep.last("context"); ok {
		if o.Value == "inbound" {
			b.implied(o)
		} else {
			b.warn(o, "not imported: calls from SIP endpoints enter sipswitch's context \"inbound\"")
		}
	}
	if o, ok := ep.last("transport"); ok {
		switch bu.transport {
		case "tcp", "tls":
			b.set("transport", strings.ToUpper(bu.transport), o)
		default:
			b.set("transport", "UDP", o)
		}
	}
	pjNAT(b, ep)
	if o, ok := ep.last("from_user"); ok {
		b.set("fromuser", o.Value, o)
	}
	if o, ok := ep.last("from_domain"); ok {
		b.set("fromdomain", o.Value, o)
	}
	if o, ok := ep.last("dtmf_mode"); ok {
		endpointDTMF(b, o)
	} else {
		b.set("dtmfmode", "rfc2833") // res_pjsip's default, rfc4733
	}
	for _, f := range []struct {
		opt, param string
		invert     bool
	}{
		{"trust_id_inbound", "trustrpid", false},
		{"send_rpid", "sendrpid", false},
		{"allow_overlap", "allowoverlap", false},
		{"user_eq_phone", "usereqphone", false},
		{"suppress_q850_reason_headers", "use_q850_reason", true},
		{"g726_non_standard", "g726nonstandard", false},
		{"allow_transfer", "allowtransfer", false},
	} {
		if o, ok := ep.last(f.opt); ok {
			switch {
			case yes(o.Value):
				b.set(f.param, flag(!f.invert), o)
			case no(o.Value):
				b.set(f.param, flag(f.invert), o)
			default:
				b.warn(o, "not imported: not yes or no")
			}
		}
	}
	// res_pjsip's defaults where the gateway's differ.
	if _, ok := b.obj.Params["allowoverlap"]; !ok {
		b.set("allowoverlap", "1")
	}
	if _, ok := b.obj.Params["use_q850_reason"]; !ok {
		b.set("use_q850_reason", "1")
	}
	b.set("max_forwards", "70")
	if o, ok := ep.last("callerid_privacy"); ok {
		b.set("callingpres", strings.ToLower(o.Value), o)
	}
	if o, ok := ep.last("inband_progress"); ok {
		if yes(o.Value) {
			b.set("progressinband", "yes", o)
		} else {
			b.implied(o) // no: the gateway's never renders as no
		}
	}
	if o, ok := ep.last("outbound_proxy"); ok {
		if _, hp, err := sipURI(o.Value); err == nil {
			b.set("outboundproxy", hp, o)
		} else {
			b.warn(o, "not imported: %v", err)
		}
	}
	if o, ok := ep.last("timers"); ok {
		switch strings.ToLower(o.Value) {
		case "always":
			b.set("session-timers", "originate", o)
		case "yes":
			b.set("session-timers", "accept", o)
		case "no":
			b.set("session-timers", "refuse", o)
		default:
			b.warn(o, "not imported: a SIP endpoint's session timers are always, yes or no")
		}
	}
	if o, ok := ep.last("timers_min_se"); ok {
		b.set("session-minse", o.Value, o)
	}
	if o, ok := ep.last("timers_sess_expires"); ok {
		b.set("session-expires", o.Value, o)
	}
	if o, ok := ep.last("incoming_call_offer_pref"); ok {
		if strings.EqualFold(o.Value, "local_first") {
			b.set("preferred_codec_only", "1", o)
		} else {
			b.warn(o, "not imported: only local_first (preferred_codec_only) is kept")
		}
	}
	if o, ok := ep.last("t38_udptl"); ok {
		ec, hasEC := ep.last("t38_udptl_ec")
		switch {
		case no(o.Value):
			b.set("t38pt_udptl", "no", o)
			if hasEC {
				b.implied(ec)
			}
		case yes(o.Value) && (!hasEC || strings.EqualFold(ec.Value, "fec")):
			b.set("t38pt_udptl", "yes,fec", o, ec)
		case yes(o.Value) && strings.EqualFold(ec.Value, "redundancy"):
			b.set("t38pt_udptl", "yes,redundancy", o, ec)
		default:
			b.warn(o, "not imported: a SIP endpoint's T.38 error correction is fec or redundancy")
			b.set("t38pt_udptl", "no")
		}
	} else {
		b.set("t38pt_udptl", "no") // res_pjsip's default
	}
	for _, k := range []string{"rtp_timeout", "rtp_timeout_hold"} {
		if o, ok := ep.last(k); ok {
			if o.Value == "0" {
				b.implied(o)
			} else {
				b.warn(o, "not imported: the gateway's rtptimeout is an on/off flag, not seconds")
			}
		}
	}
	endpointCodecs(b, codecOptsOf(ep), false)
	b.done(bu.views...)
}

// digestAuth returns an auth section's auth_type when it holds an MD5
// digest (md5) rather than the password.
func digestAuth(a *view) (opt, bool) {
	t, ok := a.last("auth_type")
	return t, ok && strings.EqualFold(t.Value, "md5")
}

// authParts implies an auth section's type and auth_type=userpass.
func authParts(b *build, a *view) {
	if t, ok := a.last("type"); ok {
		b.implied(t)
	}
	if t, ok := a.last("auth_type"); ok {
		if strings.EqualFold(t.Value, "userpass") {
			b.implied(t)
		} else {
			b.warn(t, "not imported: only userpass credentials can be sent")
		}
	}
}

// vName is the section name of a plain section's view.
func vName(v *view) string {
	if len(v.opts) > 0 && v.opts[0].t != nil {
		return v.opts[0].t.sec.Name
	}
	return ""
}

func splitHP(hp string) (host, port string) {
	h := hostOnly(hp)
	if h != hp {
		return h, hp[strings.LastIndexByte(hp, ':')+1:]
	}
	return hp, ""
}

// pjNAT maps rtp_symmetric/force_rport/rewrite_contact to nat (absent:
// res_pjsip's defaults, force_rport only).
func pjNAT(b *build, ep *view) {
	get := func(name string, def bool) (bool, []opt) {
		if o, ok := ep.last(name); ok {
			return yes(o.Value), []opt{o}
		}
		return def, nil
	}
	sym, a := get("rtp_symmetric", false)
	rport, bb := get("force_rport", true)
	_, cc := get("rewrite_contact", false)
	from := append(append(a, bb...), cc...)
	switch {
	case sym && rport:
		b.set("nat", "yes", from...)
	case rport:
		b.set("nat", "force_rport", from...)
	case sym:
		b.set("nat", "comedia", from...)
	default:
		b.set("nat", "no", from...)
	}
}
