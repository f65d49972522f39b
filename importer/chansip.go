package importer

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/astconf"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/routing"
)

// chan_sip reads these [general] options as every peer's default (INFERRED
// from chan_sip's handling of [general] and the sample; options a kind of
// object does not map are not consulted for it).
var (
	lineDefaults     = names("allow", "disallow", "language", "qualify", "mohsuggest")
	peerDefaults     = names("allow", "disallow", "dtmfmode", "insecure", "sendrpid", "trust_id_outbound", "outboundproxy")
	endpointDefaults = names("allow", "disallow", "dtmfmode", "insecure", "sendrpid", "trustrpid", "outboundproxy",
		"nat", "qualify", "qualifyfreq", "fromdomain", "transport", "callingpres", "progressinband", "allowoverlap",
		"usereqphone", "use_q850_reason", "ignoresdpversion", "maxforwards", "timert1", "timerb", "session-timers",
		"session-minse", "session-expires", "session-refresher", "g726nonstandard", "preferred_codec_only",
		"t38pt_udptl", "allowtransfer", "promiscredir")
)

func names(ns ...string) map[string]bool {
	m := make(map[string]bool, len(ns))
	for _, n := range ns {
		m[n] = true
	}
	return m
}

// withDefaults is a section's view that falls back, for the named options,
// to [general].
type withDefaults struct {
	*view
	general *view
	allowed map[string]bool
}

func (w withDefaults) last(name string) (opt, bool) {
	if o, ok := w.view.last(name); ok {
		return o, true
	}
	if w.allowed[strings.ToLower(name)] {
		return w.general.last(name)
	}
	return opt{}, false
}

// codecOpts are [general]'s allow/disallow (the base every peer starts
// from) followed by the section's, in order.
func (w withDefaults) codecOpts() []opt {
	var out []opt
	if w.general != nil && w.allowed["allow"] {
		for _, o := range w.general.opts {
			if strings.EqualFold(o.Name, "allow") || strings.EqualFold(o.Name, "disallow") {
				out = append(out, o)
			}
		}
	}
	for _, o := range w.view.opts {
		if strings.EqualFold(o.Name, "allow") || strings.EqualFold(o.Name, "disallow") {
			out = append(out, o)
		}
	}
	return out
}

// sipRegister is one register => line of [general]:
// [peer?][transport://]user[@domain][:secret[:authuser]]@host[:port][/extension][~expiry]
type sipRegister struct {
	o                                           opt
	peer, transport, user, domain, secret, auth string
	host, port, ext, expiry                     string
	taken                                       bool
}

func parseRegister(o opt) (*sipRegister, error) {
	r := &sipRegister{o: o}
	v := strings.TrimSpace(o.Value)
	if i := strings.LastIndexByte(v, '~'); i >= 0 {
		r.expiry, v = v[i+1:], v[:i]
	}
	if i := strings.IndexByte(v, '?'); i >= 0 {
		r.peer, v = v[:i], v[i+1:]
	}
	if i := strings.Index(v, "://"); i >= 0 {
		r.transport, v = strings.ToLower(v[:i]), v[i+3:]
	}
	at := strings.LastIndexByte(v, '@')
	if at < 0 {
		return nil, fmt.Errorf("no @host")
	}
	userPart, hostPart := v[:at], v[at+1:]
	if i := strings.IndexByte(hostPart, '/'); i >= 0 {
		r.ext, hostPart = hostPart[i+1:], hostPart[:i]
	}
	r.host = hostPart
	if i := strings.LastIndexByte(hostPart, ':'); i >= 0 && !strings.HasSuffix(hostPart, "]") {
		r.host, r.port = hostPart[:i], hostPart[i+1:]
	}
	parts := strings.Split(userPart, ":")
	if len(parts) > 3 {
		return nil, fmt.Errorf("too many ':' before the host")
	}
	r.user = parts[0]
	if len(parts) > 1 {
		r.secret = parts[1]
	}
	if len(parts) > 2 {
		r.auth = parts[2]
	}
	if i := strings.IndexByte(r.user, '@'); i >= 0 {
		r.user, r.domain = r.user[:i], r.user[i+1:]
	}
	if r.user == "" || r.host == "" {
		return nil, fmt.Errorf("no user or no host")
	}
	return r, nil
}

// inheritedNames are the sections some section inherits from (lower
// case): a template nobody inherits has no effect in Asterisk.
func inheritedNames(cfg *astconf.Config) map[string]bool {
	inherited := map[string]bool{}
	for _, s := range cfg.Sections {
		for _, n := range s.Inherits {
			inherited[strings.ToLower(n)] = true
		}
	}
	return inherited
}

func (m *mapper) chanSIP(cfg *astconf.Config) {
	var general *view
	var regs []*sipRegister
	inherited := inheritedNames(cfg)
	for _, s := range cfg.Sections {
		lower := strings.ToLower(s.Name)
		switch {
		case s.Template:
			if !inherited[lower] {
				m.skipSection(m.track(s, "template ["+s.Name+"]"), "template is not used by any section: no effect in Asterisk, nothing to import")
			}
			// A used template's options are read through the sections
			// that inherit them.
		case lower == "general" && general == nil:
			t := m.track(s, "[general]")
			t.shared = true
			general = viewOf(t)
			for _, o := range general.own("register") {
				r, err := parseRegister(o)
				if err != nil {
					t.notes[o.idx] = "register line not understood (" + err.Error() + "): not imported"
					continue
				}
				regs = append(regs, r)
			}
		case lower == "general":
			m.skipSection(m.track(s, "[general]"), "chan_sip reads only the first [general]; this one has no effect")
		case lower == "authentication":
			m.skipSection(m.track(s, "[authentication]"), "credentials for calls Asterisk makes (auth=) have no sipswitch object; peers carry their username and password")
		}
	}
	for _, s := range cfg.Sections {
		lower := strings.ToLower(s.Name)
		if s.Template || lower == "general" || lower == "authentication" {
			continue
		}
		t := m.track(s, "["+s.Name+"]")
		v := viewOf(t)
		m.sipSection(s, v, general, regs)
	}
	// A register => line no peer section takes is a SIP endpoint of its
	// own: the line says where to register, as whom and with which
	// secret; [general] lends the rest.
	for _, r := range regs {
		if r.taken {
			continue
		}
		r.taken = true
		name := r.peer
		if name == "" {
			name = r.host
			if !validName(ModuleSIPEndpoints, name) {
				name = "reg-" + r.host
			}
		}
		sec := &astconf.Section{Name: name, Pos: r.o.Pos}
		v := viewOf(m.track(sec, "SIP endpoint "+name))
		m.sipEndpoint(sec, withDefaults{view: v, general: general, allowed: endpointDefaults}, r)
	}
}

// validName asks a module's spec whether it takes name.
func validName(module, name string) bool {
	_, errs := specOf(module).Validate(engine.Values{"name": name}, nil)
	for _, e := range errs {
		if e.Key == "name" {
			return false
		}
	}
	return true
}

func (m *mapper) sipSection(s *astconf.Section, v, general *view, regs []*sipRegister) {
	typ, hasType := v.peek("type")
	host, _ := v.peek("host")
	refuse := func(pos astconf.Pos, msg string) {
		f := Finding{Pos: pos, Object: "[" + s.Name + "]", Message: msg, Refused: true}
		for _, o := range v.opts {
			o.use()
			f.Covers = append(f.Covers, o.Pos)
		}
		m.res.Findings = append(m.res.Findings, f)
		m.res.mapRefused++
	}
	switch t := strings.ToLower(typ.Value); {
	case !hasType:
		refuse(s.Pos, "no type=: chan_sip skips a section without a type")
		return
	case t == "user":
		refuse(typ.Pos, "type=user takes calls from a device but never registers or is called; sipswitch lines register, peers are called")
		return
	case t != "peer" && t != "friend":
		refuse(typ.Pos, fmt.Sprintf("type=%s is not a chan_sip type (friend, peer, user)", typ.Value))
		return
	}
	switch {
	case strings.EqualFold(host.Value, "dynamic"):
		m.sipLine(s, withDefaults{view: v, general: general, allowed: lineDefaults})
	case host.Value == "":
		refuse(s.Pos, "no host=: chan_sip needs host=dynamic (a line) or an address (a peer)")
	case challenged(v, general) && !registered(s, v, host.Value, regs):
		// chan_sip challenges its calls: a device that authenticates is
		// a line, whatever its address; as a peer it would be trusted
		// by address, a trust Asterisk never gave it.
		m.sipLine(s, withDefaults{view: v, general: general, allowed: lineDefaults})
	default:
		var reg *sipRegister
		for _, r := range regs {
			if !r.taken && strings.EqualFold(r.peer, s.Name) {
				reg = r
				break
			}
		}
		if reg == nil {
			users := map[string]bool{}
			for _, k := range []string{"defaultuser", "username", "fromuser"} {
				if o, ok := v.peek(k); ok {
					users[o.Value] = true
				}
			}
			for _, r := range regs {
				// The register line's host is the peer's host, or the
				// peer's name (chan_sip looks a host up among its peers).
				if r.taken || r.peer != "" || !strings.EqualFold(r.host, host.Value) && !strings.EqualFold(r.host, s.Name) {
					continue
				}
				if reg == nil || (users[r.user] && !users[reg.user]) {
					reg = r
				}
			}
		}
		if reg == nil {
			reg = callbackRegister(v)
		}
		if reg != nil {
			reg.taken = true
			m.sipEndpoint(s, withDefaults{view: v, general: general, allowed: endpointDefaults}, reg)
		} else {
			m.sipPeer(s, withDefaults{view: v, general: general, allowed: peerDefaults})
		}
	}
}

// challenged says whether chan_sip challenges the calls of a section with
// an address: it has a secret (or its digest) and insecure (its own, else
// [general]'s) does not waive invites.
func challenged(v, general *view) bool {
	secret, _ := v.peek("secret")
	md5, _ := v.peek("md5secret")
	if secret.Value == "" && md5.Value == "" {
		return false
	}
	insecure, ok := v.peek("insecure")
	if !ok {
		insecure, _ = general.peek("insecure")
	}
	return !strings.Contains(strings.ToLower(insecure.Value), "invite")
}

// registered says whether a register => line names the section (by
// name, or by its host), or it has a callbackextension: a trunk
// registered to is a SIP endpoint.
func registered(s *astconf.Section, v *view, host string, regs []*sipRegister) bool {
	for _, r := range regs {
		if strings.EqualFold(r.peer, s.Name) || r.peer == "" && (strings.EqualFold(r.host, host) || strings.EqualFold(r.host, s.Name)) {
			return true
		}
	}
	return callbackRegister(v) != nil
}

// callbackRegister is the registration a peer's callbackextension makes
// (chan_sip: "register => fromuser:secret:username@host/callbackextension"
// in the sample's words; build_peer takes the peer's username, its
// remotesecret else secret, and its host).
func callbackRegister(v *view) *sipRegister {
	cb, ok := v.peek("callbackextension")
	if !ok || cb.Value == "" {
		return nil
	}
	r := &sipRegister{o: cb, ext: cb.Value}
	for _, k := range []string{"defaultuser", "username", "fromuser"} {
		if o, ok := v.peek(k); ok && o.Value != "" {
			r.user = o.Value
			break
		}
	}
	for _, k := range []string{"remotesecret", "secret"} {
		if o, ok := v.peek(k); ok && o.Value != "" {
			r.secret = o.Value
			break
		}
	}
	h, _ := v.peek("host")
	r.host = h.Value
	if r.user == "" {
		return nil
	}
	return r
}

// lineContext keeps the dialplan context a line's calls enter: the
// renderer's own (phone-<name>) is implied; another becomes the line's
// rate plan when extensions.conf gives it routes (plans.go), or is
// reported.
func lineContext(b *build, o opt, name string) {
	if name == "phone-"+b.obj.Name {
		b.implied(o)
		return
	}
	b.obj.context, b.obj.contextOpt = name, o
}

// common maps what lines and peers share: context, description.
func sipContext(b *build, v withDefaults, want string) {
	if o, ok := v.last("context"); ok {
		if o.Value == want {
			b.implied(o)
		} else if b.obj.Module == ModulePhones {
			b.warn(o, "not imported: a line's calls follow its rate plan (plan); sipswitch writes context=phone-<name>")
		} else {
			b.warn(o, "not imported: calls from peers and SIP endpoints enter sipswitch's context %q", want)
		}
	}
}

func (m *mapper) sipLine(s *astconf.Section, v withDefaults) {
	b := m.newBuild(ModulePhones, s.Name, s.Pos)
	typ, _ := v.last("type")
	host, _ := v.last("host")
	b.implied(typ)
	if strings.EqualFold(host.Value, "dynamic") {
		b.implied(host)
	} else {
		b.warn(host, "not imported: a line is reached where it registers from; chan_sip sent its calls to this address, sipswitch sends them once the phone registers (set it to register). The section is a line because chan_sip challenges its calls (secret=, no insecure=invite)")
		if o, ok := v.last("port"); ok {
			b.warn(o, "not imported: a line is reached where it registers from")
		}
	}
	if o, ok := v.last("secret"); ok && o.Value != "" {
		linePassword(b, o)
	} else if md5, ok := v.last("md5secret"); ok {
		b.refuse(md5.Pos, optionText(md5.Option), "the line's password is kept only as an MD5 hash; sipswitch needs the password itself (create the line with phones/create)")
	} else {
		b.refuse(s.Pos, "", "no secret=: a line that registers without a password is not imported (the switch never routes unauthenticated calls)")
	}
	for _, k := range []string{"defaultuser", "username"} {
		if o, ok := v.last(k); ok {
			if strings.EqualFold(o.Value, s.Name) {
				b.implied(o)
			} else {
				b.warn(o, "not imported: a line registers and is called as its name, %s", s.Name)
			}
		}
	}
	if o, ok := v.view.last("context"); ok {
		lineContext(b, o, o.Value)
	} else if o, ok := v.general.peek("context"); ok {
		lineContext(b, o, o.Value) // chan_sip's default for every peer
	} else {
		lineContext(b, opt{}, "default")
	}
	lineCodec(b, v.codecOpts(), true)
	if o, ok := v.last("callerid"); ok {
		lineCallerID(b, o)
	}
	for _, o := range v.own("setvar") {
		lineSetVar(b, o)
	}
	if o, ok := v.last("language"); ok {
		b.set("language", o.Value, o)
	}
	if o, ok := v.last("mohsuggest"); ok {
		lineMusic(b, o)
	}
	if o, ok := v.last("mailbox"); ok {
		lineMailbox(b, o)
	}
	lineACL(b, v.view)
	if o, ok := v.last("call-limit"); ok {
		if n, err := strconv.Atoi(o.Value); err != nil {
			b.warn(o, "not imported: not a number")
		} else if n <= 0 {
			b.implied(o) // chan_sip: 0 is no limit, as totalmaximum -1
		} else {
			b.set("totalmaximum", o.Value, o)
		}
	}
	if o, ok := v.last("qualify"); ok {
		switch n, err := strconv.Atoi(o.Value); {
		case yes(o.Value):
			b.set("ping", "1", o)
		case no(o.Value) || (err == nil && n <= 0):
			b.set("ping", "0", o)
		case err == nil:
			b.set("ping", "1", o)
			b.note(o.Pos, "qualify=%s: the line is pinged; the %s ms threshold is not kept (chan_sip's default 2000 ms is rendered)", o.Value, o.Value)
		default:
			b.warn(o, "not imported: not yes, no or a number of milliseconds")
		}
	}
	if o, ok := v.last("qualifyfreq"); ok {
		if o.Value == "60" {
			b.implied(o)
		} else {
			b.warn(o, "not imported: lines are pinged every 60 s when rendered (qualify=yes)")
		}
	}
	if o, ok := v.last("t38pt_udptl"); ok {
		lineT38(b, o, "")
	}
	chanSIPEncryption(b, v.last)
	if o, ok := v.last("description"); ok {
		b.set("description", o.Value, o)
	}
	b.done(v.view)
}

func (m *mapper) sipPeer(s *astconf.Section, v withDefaults) {
	b := m.newBuild(ModulePeers, s.Name, s.Pos)
	typ, _ := v.last("type")
	b.set("type", routing.PeerSIP, typ)
	host, _ := v.last("host")
	dest := host.Value
	from := []opt{host}
	if strings.Count(dest, ":") > 1 && !strings.HasPrefix(dest, "[") {
		dest = "[" + dest + "]"
	}
	if o, ok := v.last("port"); ok {
		dest += ":" + o.Value
		from = append(from, o)
	}
	b.set("destination", dest, from...)
	peerCredentials(b, v)
	// A peer's calls are taken without a challenge, by its destination's
	// address: chan_sip took them so too (insecure=invite, or no secret
	// to challenge with; sipSection makes a line of any other).
	if o, ok := v.last("insecure"); ok {
		b.implied(o)
	}
	sipContext(b, v, "inbound")
	peerCodecs(b, v.codecOpts(), true)
	if o, ok := v.last("dtmfmode"); ok {
		peerDTMF(b, o)
	}
	chanSIPEncryption(b, v.last)
	if o, ok := v.last("sendrpid"); ok {
		switch strings.ToLower(o.Value) {
		case "pai":
			b.set("send_asserted_identity", "1", o)
		case "yes", "rpid":
			b.set("send_rpid", "1", o)
		case "no":
			b.implied(o)
		default:
			b.warn(o, "not imported: not yes, no, rpid or pai")
		}
	}
	if o, ok := v.last("trust_id_outbound"); ok {
		switch {
		case yes(o.Value):
			b.set("send_privacy", "1", o)
		case no(o.Value), strings.EqualFold(o.Value, "legacy"):
			b.implied(o)
		default:
			b.warn(o, "not imported: not yes, no or legacy")
		}
	}
	if o, ok := v.last("call-limit"); ok {
		if n, err := strconv.Atoi(o.Value); err != nil {
			b.warn(o, "not imported: not a number")
		} else if n <= 0 {
			b.implied(o) // chan_sip: 0 is no limit, as outmaximum -1
		} else {
			b.set("outmaximum", o.Value, o)
		}
	}
	if o, ok := v.last("outboundproxy"); ok {
		b.set("proxy", stripScheme(o.Value), o)
	}
	if o, ok := v.last("callerid"); ok {
		b.warn(o, "not imported: on a chan_sip peer it is the caller id of calls *from* the peer; a sipswitch peer's callerid forces the caller id of calls *to* it")
	}
	if o, ok := v.last("description"); ok {
		b.set("description", o.Value, o)
	}
	b.done(v.view)
}

// peerCredentials maps what a chan_sip peer sends to authenticate: one
// username (defaultuser, else username, else fromuser) and one password
// (remotesecret, else secret).
func peerCredentials(b *build, v withDefaults) {
	var user opt
	for _, k := range []string{"defaultuser", "username", "fromuser"} {
		if o, ok := v.last(k); ok && o.Value != "" {
			if user.Name == "" {
				user = o
				b.set("username", o.Value, o)
			} else if o.Value == user.Value {
				b.set("username", o.Value, o)
			} else {
				b.warn(o, "not imported: a peer sends one username, %s, as the From user and the digest user", user.Value)
			}
		}
	}
	secret, hasSecret := v.last("secret")
	remote, hasRemote := v.last("remotesecret")
	switch {
	case hasRemote && remote.Value != "":
		b.set("password", remote.Value, remote)
		if hasSecret && secret.Value != "" && secret.Value != remote.Value {
			b.warn(secret, "not imported: chan_sip challenges calls from the peer with it; sipswitch accepts them by address")
		} else if hasSecret {
			b.implied(secret)
		}
	case hasSecret && secret.Value != "":
		b.set("password", secret.Value, secret)
	}
	if o, ok := v.last("md5secret"); ok {
		b.warn(o, "not imported: a peer's password must be known to be sent")
	}
}

func peerDTMF(b *build, o opt) {
	switch strings.ToLower(o.Value) {
	case "rfc2833", "rfc4733":
		// The default: RFC 4733 events (rendered rfc2833 for chan_sip,
		// rfc4733 for pjsip).
		b.implied(o)
	case "info", "inband":
		b.set("dtmfmode", strings.ToLower(o.Value), o)
	default:
		b.warn(o, "not imported: peers take rfc2833, rfc4733, info or inband")
	}
}

// peerCodecs maps allow/disallow to the peer's codecs list.
func peerCodecs(b *build, opts []opt, base bool) {
	if len(opts) == 0 {
		return
	}
	steps := codecSteps(opts)
	res := effectiveCodecs(steps, base)
	for _, s := range steps {
		if !s.allow && s.name != "all" && res.all {
			b.warn(s.o, "not imported: removing %s from every codec cannot be expressed; the peer takes the default codec list", s.name)
		}
		if s.ms > 0 {
			b.warn(s.o, "packetization %s:%d not imported: peers have no packetization setting", s.name, s.ms)
		}
	}
	if res.all {
		b.implied(opts...)
		return
	}
	known := knownCodecs(b, steps, res.names)
	if len(known) == 0 {
		b.warn(opts[len(opts)-1], "not imported: no codec left that sipswitch knows; the peer takes the default codec list")
		return
	}
	b.set("codecs", strings.Join(known, ","), opts...)
}

// knownCodecs keeps the codecs of names sipswitch knows (the API's rule,
// routing.CheckCodecs), in order, and warns at the option that allowed
// each one left out.
func knownCodecs(b *build, steps []codecStep, names []string) []string {
	var known []string
	for _, c := range names {
		if _, err := routing.CheckCodecs(c); err == nil {
			known = append(known, c)
			continue
		}
		for _, s := range steps {
			if s.name == c && s.allow {
				b.warn(s.o, "codec %s not imported: not a codec sipswitch knows", c)
			}
		}
	}
	return known
}

// lineCodec maps allow/disallow to a line's codecs: the list it allows,
// in order (codecs), its first the preferred codec (codec). "Every codec"
// with some named first (allow=g722 then allow=all, as sipswitch renders
// a preferred codec) is the preferred codec alone. Codecs sipswitch does
// not know are left out of the list, narrower than the original.
func lineCodec(b *build, opts []opt, base bool) {
	if len(opts) == 0 {
		return
	}
	steps := codecSteps(opts)
	res := effectiveCodecs(steps, base)
	for _, s := range steps {
		if !s.allow && s.name != "all" && res.all {
			b.warn(s.o, "not imported: removing %s from every codec cannot be expressed; the line takes any codec", s.name)
		}
	}
	known := knownCodecs(b, steps, res.names)
	last := opts[len(opts)-1]
	switch {
	case res.all && len(known) == 0:
		b.implied(opts...)
		return
	case res.all:
		b.set("codec", known[0], opts...)
		if len(known) > 1 {
			b.note(last.Pos, "codecs %s before every other: the line prefers %s; the order of the others is not kept", strings.Join(known, ","), known[0])
		}
	case len(res.names) == 0:
		b.warn(last, "not imported: no codec is allowed; the line takes any codec")
		return
	case len(known) == 0:
		b.warn(last, "not imported: none of the codecs is one sipswitch knows; the line takes any codec")
		return
	default:
		b.set("codec", known[0], opts...)
		b.set("codecs", strings.Join(known, ","), opts...)
	}
	for _, c := range known {
		if res.ms[c] > 0 {
			b.note(last.Pos, "packetization %s:%d not imported: lines have no packetization setting", c, res.ms[c])
		}
	}
}

// linePassword maps a line's password. One the API refuses (shorter than
// 6, the line's name, with blanks or quotes: Asterisk takes them) would be
// a weak password kept, and a line without one is none: the line gets a
// new random password (crypto/rand, 130 bits), never printed, and the
// finding says how to read it.
func linePassword(b *build, o opt) {
	msg := engine.LinePasswordError(b.obj.Name, o.Value)
	if msg == "" {
		b.set("password", o.Value, o)
		return
	}
	b.obj.Params["password"], b.obj.NewPassword = rand.Text(), true
	b.warn(o, "not imported: %s; the line gets a new random password instead: read it with phones/get (or in the switch file) and set it on the phone", msg)
}

func lineCallerID(b *build, o opt) {
	name, num := callerID(o.Value)
	if !isNumber(num) {
		b.warn(o, "not imported: a line presents a number (callerid_external), and this names none")
		return
	}
	b.set("callerid_external", ownNumberIsDefault(b, num), o)
	if name != "" {
		b.set("callername_external", name, o)
	}
}

// ownNumberIsDefault is how a line shows its own number: "default" (the
// renderer writes a keyword as the line's own number, so what it wrote
// imports back to what it was).
func ownNumberIsDefault(b *build, num string) string {
	if num == b.obj.Name {
		return "default"
	}
	return num
}

// lineSetVar maps the renderer's own SS_CID_INTERNAL variable back.
func lineSetVar(b *build, o opt) {
	k, val, _ := strings.Cut(o.Value, "=")
	switch strings.TrimSpace(k) {
	case "SS_CID_INTERNAL":
		if isNumber(strings.TrimSpace(val)) {
			b.set("callerid_internal", ownNumberIsDefault(b, strings.TrimSpace(val)), o)
			return
		}
	case "SS_CUSTOMER":
		// The renderer's own: which customer the line is, which the
		// import gives from its --customer, not from the files.
		return
	}
	b.warn(o, "not imported: channel variables have no sipswitch parameter")
}

func lineMusic(b *build, o opt) {
	if n, ok := strings.CutPrefix(o.Value, "music-"); ok {
		if id, err := strconv.Atoi(n); err == nil && id > 0 {
			b.set("music", n, o)
			return
		}
	}
	b.warn(o, "not imported: music on hold classes are numbered in sipswitch (music=N is rendered as class music-N)")
}

// lineMailbox maps mailbox=box[@context][,more]: a box in voicemail.conf's
// context "default" is the line's mailbox by its number.
func lineMailbox(b *build, o opt) {
	boxes := strings.Split(o.Value, ",")
	box := strings.TrimSpace(boxes[0])
	if len(boxes) > 1 {
		b.note(o.Pos, "mailbox: a line has one mailbox, %s; the others are not imported", box)
	}
	box = strings.TrimSuffix(box, "@default")
	if box == "" {
		b.implied(o)
		return
	}
	b.set("mailbox", box, o)
}

// lineACL maps a line's deny/permit options (in the order written) and
// named ACLs (acl=, sections of acl.conf) to its source (acl.go). An ACL
// source cannot hold keeps the line out: importing it without would open
// it to every address.
func lineACL(b *build, v *view) {
	var rules []opt
	var ruleOpts []astconf.Option
	for _, o := range v.opts {
		if strings.EqualFold(o.Name, "deny") || strings.EqualFold(o.Name, "permit") {
			rules = append(rules, o)
			ruleOpts = append(ruleOpts, o.Option)
		}
	}
	acls := v.own("acl")
	if len(rules)+len(acls) == 0 {
		return
	}
	from := append(append([]opt(nil), rules...), acls...)
	var named [][]aclRule
	for _, a := range acls {
		for _, name := range splitList(a.Value) {
			r, err := b.m.acls.rules(name)
			if err != nil {
				b.refuse(a.Pos, optionText(a.Option), "named ACL %v: Asterisk rejects every request of a line whose ACL it cannot read, and importing the line without it would open it to every address", err)
				return
			}
			named = append(named, r)
		}
	}
	res := lineSource(ruleOpts, named)
	switch {
	case res.refused != "":
		b.refuse(from[0].Pos, optionText(from[0].Option), "%s", res.refused)
	case res.source == "":
		b.implied(from...)
		b.note(from[0].Pos, "the ACL allows every address: the line has no source restriction, as in Asterisk")
	default:
		b.set("source", res.source, from...)
		if res.narrowed != "" {
			b.note(from[0].Pos, "the ACL names no %s network, so Asterisk lets every %s address in; the line's source, %s, does not", res.narrowed, res.narrowed, res.source)
		}
	}
}

// lineT38 maps T.38 to media=fax; ec is pjsip's t38_udptl_ec ("" for
// chan_sip, where it is part of the value).
func lineT38(b *build, o opt, ec string) {
	v := strings.ToLower(strings.ReplaceAll(o.Value, " ", ""))
	if ec != "" {
		if yes(v) {
			v = "yes," + strings.ToLower(ec)
		}
	}
	switch {
	case no(v) || v == "no":
		b.implied(o)
	case v == "yes,redundancy":
		b.set("media", routing.MediaFax, o)
	case yes(v) || strings.HasPrefix(v, "yes,"):
		b.set("media", routing.MediaFax, o)
		b.note(o.Pos, "%s: the line is a fax line (media=fax); its T.38 is rendered with redundancy error correction", o.Value)
	default:
		b.warn(o, "not imported: not yes or no")
	}
}
