package importer

import (
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/astconf"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/routing"
)

// A carrier that registers becomes a SIP endpoint (the gateway's
// sip_endpoint.save, registration=out): peers/create has no registration
// parameters, and the endpoint carries chan_sip's trunk options by their
// own names.

// sipEndpoint maps a chan_sip peer section with its register => line.
func (m *mapper) sipEndpoint(s *astconf.Section, v withDefaults, r *sipRegister) {
	b := m.newBuild(ModuleSIPEndpoints, s.Name, s.Pos)
	b.obj.driver = routing.PeerSIP
	b.set("registration", "out", r.o)
	if typ, ok := v.last("type"); ok {
		b.implied(typ)
	}
	if host, ok := v.last("host"); ok {
		b.set("host", host.Value, host)
		if !strings.EqualFold(r.host, host.Value) {
			b.note(r.o.Pos, "register => names host %s, the section %s; the endpoint registers to %s", r.host, host.Value, host.Value)
		}
	} else {
		b.set("host", r.host, r.o)
	}
	if o, ok := v.last("port"); ok {
		b.set("port", o.Value, o)
		if r.port != "" && r.port != o.Value {
			b.note(r.o.Pos, "register => names port %s, the section %s; the endpoint uses %s", r.port, o.Value, o.Value)
		}
	} else if r.port != "" {
		b.set("port", r.port, r.o)
	}
	b.set("defaultuser", r.user, r.o)
	for _, k := range []string{"defaultuser", "username"} {
		if o, ok := v.last(k); ok {
			if o.Value == r.user {
				b.set("defaultuser", r.user, o)
			} else {
				b.warn(o, "not imported: the endpoint registers and authenticates as %s (register =>)", r.user)
			}
		}
	}
	if r.auth != "" && r.auth != r.user {
		b.note(r.o.Pos, "register => authuser %s not imported: a SIP endpoint authenticates as its defaultuser, %s", r.auth, r.user)
	}
	secret, hasSecret := v.last("secret")
	remote, hasRemote := v.last("remotesecret")
	if hasSecret && secret.Value != "" {
		b.set("secret", secret.Value, secret)
	} else if hasSecret {
		b.implied(secret)
	}
	if md5, ok := v.last("md5secret"); ok && md5.Value != "" && secret.Value == "" {
		// Imported without it, the endpoint would take calls
		// unchallenged.
		b.refuse(md5.Pos, optionText(md5.Option), "the SIP endpoint's secret is kept only as an MD5 digest (md5secret); sipswitch needs the secret itself (give it with sip_endpoint.save)")
	}
	effective := ""
	if hasRemote && remote.Value != "" {
		effective = remote.Value
		b.set("remotesecret", remote.Value, remote)
	} else if hasRemote {
		b.implied(remote)
	}
	if effective == "" {
		effective = secret.Value
	}
	switch {
	case r.secret == "":
	case len(v.opts) == 0:
		// No peer section: the line's secret is the endpoint's, both
		// ways.
		b.set("secret", r.secret, r.o)
	case r.secret == effective:
		b.set(secretParam(b), r.secret, r.o)
	default:
		if hasRemote && remote.Value != "" {
			b.warn(remote, "not imported: the register => line's secret is the one the endpoint registers and calls with")
		}
		b.set("remotesecret", r.secret, r.o)
	}
	if r.domain != "" {
		if o, ok := v.last("fromdomain"); ok {
			b.set("fromdomain", o.Value, o)
			if o.Value != r.domain {
				b.note(r.o.Pos, "register => domain %s not imported: fromdomain is %s", r.domain, o.Value)
			}
		} else {
			b.set("fromdomain", r.domain, r.o)
		}
	}
	if r.ext != "" && r.ext != r.user {
		// The registration's contact user; the user itself is what an
		// empty extension means (routing.EndpointTrunk.ContactUser).
		b.set("extension", r.ext, r.o)
	}
	if r.expiry != "" {
		b.note(r.o.Pos, "register => expiry ~%s not imported: Asterisk's default registration interval is rendered", r.expiry)
	}
	if o, ok := v.last("transport"); ok {
		b.set("transport", strings.ToUpper(o.Value), o)
	} else if r.transport != "" {
		b.set("transport", strings.ToUpper(r.transport), r.o)
	}
	sipContext(b, v, "inbound")
	endpointNAT(b, v)
	if o, ok := v.last("fromuser"); ok {
		b.set("fromuser", o.Value, o)
	}
	if _, done := b.obj.Params["fromdomain"]; !done {
		if o, ok := v.last("fromdomain"); ok {
			b.set("fromdomain", o.Value, o)
		}
	}
	if o, ok := v.last("qualify"); ok {
		switch n, err := strconv.Atoi(o.Value); {
		case yes(o.Value), err == nil && n > 0:
			b.set("qualify", "1", o)
		case no(o.Value), err == nil:
			b.set("qualify", "0", o)
		default:
			b.warn(o, "not imported: not yes, no or a number of milliseconds")
		}
	}
	if o, ok := v.last("qualifyfreq"); ok {
		b.set("qualifyfreq", o.Value, o)
	}
	if o, ok := v.last("dtmfmode"); ok {
		endpointDTMF(b, o)
	} else {
		b.set("dtmfmode", "rfc2833") // chan_sip's default; the gateway's is auto
	}
	if o, ok := v.last("sendrpid"); ok {
		switch strings.ToLower(o.Value) {
		case "yes", "rpid":
			b.set("sendrpid", "1", o)
		case "no":
			b.set("sendrpid", "0", o)
		default:
			b.warn(o, "not imported: a SIP endpoint sends Remote-Party-ID or nothing (sendrpid 1 or 0)")
		}
	}
	for _, f := range []struct {
		opt, param string
		invert     bool
	}{
		{"trustrpid", "trustrpid", false},
		{"usereqphone", "usereqphone", false},
		{"use_q850_reason", "use_q850_reason", false},
		{"ignoresdpversion", "honorsdpversion", true},
		{"g726nonstandard", "g726nonstandard", false},
		{"preferred_codec_only", "preferred_codec_only", false},
		{"allowtransfer", "allowtransfer", false},
		{"promiscredir", "promiscredir", false},
	} {
		if o, ok := v.last(f.opt); ok {
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
	for _, k := range []string{"callingpres", "progressinband", "session-timers", "session-refresher"} {
		if o, ok := v.last(k); ok {
			b.set(k, strings.ToLower(o.Value), o)
		}
	}
	if _, ok := b.obj.Params["progressinband"]; !ok {
		b.set("progressinband", "no") // chan_sip's default; the gateway's is never
	}
	for _, k := range []string{"timert1", "timerb", "session-minse", "session-expires"} {
		if o, ok := v.last(k); ok {
			b.set(k, o.Value, o)
		}
	}
	if o, ok := v.last("allowoverlap"); ok {
		switch {
		case yes(o.Value):
			b.set("allowoverlap", "1", o)
		case no(o.Value):
			b.set("allowoverlap", "0", o)
		default:
			b.warn(o, "not imported: a SIP endpoint's allowoverlap is yes or no")
			b.set("allowoverlap", "1")
		}
	} else {
		b.set("allowoverlap", "1") // chan_sip's default
	}
	if o, ok := v.last("maxforwards"); ok {
		b.set("max_forwards", o.Value, o)
	} else {
		b.set("max_forwards", "70") // Asterisk's default; the gateway's is 3
	}
	if o, ok := v.last("outboundproxy"); ok {
		b.set("outboundproxy", stripScheme(o.Value), o)
	}
	endpointCodecs(b, v.codecOpts(), true)
	if o, ok := v.last("t38pt_udptl"); ok {
		val := strings.ToLower(strings.ReplaceAll(o.Value, " ", ""))
		if i := strings.Index(val, ",maxdatagram="); i >= 0 {
			b.note(o.Pos, "t38pt_udptl: maxdatagram not imported")
			val = val[:i]
		}
		switch {
		case val == "yes" || val == "yes,fec":
			b.set("t38pt_udptl", "yes,fec", o)
		case val == "yes,redundancy":
			b.set("t38pt_udptl", val, o)
		case no(val):
			b.set("t38pt_udptl", "no", o)
		default:
			b.warn(o, "not imported: a SIP endpoint's t38pt_udptl is yes,fec, yes,redundancy or no")
			b.set("t38pt_udptl", "no")
		}
	} else {
		b.set("t38pt_udptl", "no") // chan_sip's default
	}
	if o, ok := v.last("insecure"); ok {
		b.set("insecure", flag(strings.Contains(strings.ToLower(o.Value), "invite")), o)
	} else if len(v.opts) == 0 {
		// A register => line without a peer section: chan_sip takes the
		// registrar's calls as a guest's, unchallenged, unless
		// allowguest=no refuses them. sipswitch takes them from the
		// registrar's address alone, or challenges them.
		guest, ok := v.general.peek("allowguest")
		b.set("insecure", flag(!ok || !no(guest.Value)))
	}
	for _, o := range v.own("auth") {
		if _, done := b.obj.Params["auth"]; !done && !strings.Contains(o.Value, "#") {
			b.set("auth", o.Value, o)
		} else {
			b.warn(o, "not imported: a SIP endpoint keeps one auth=user:secret@realm (MD5 forms are not kept)")
		}
	}
	for _, k := range []string{"rtptimeout", "rtpholdtimeout"} {
		if o, ok := v.last(k); ok {
			if o.Value == "0" {
				b.implied(o)
			} else {
				b.warn(o, "not imported: the gateway's %s is an on/off flag, not seconds", k)
			}
		}
	}
	b.done(v.view)
}

// secretParam is the parameter a register => line's secret matched:
// remotesecret when set, else secret.
func secretParam(b *build) string {
	if b.obj.Params["remotesecret"] != "" {
		return "remotesecret"
	}
	return "secret"
}

// endpointNAT maps chan_sip's nat= (absent: Asterisk's auto_force_rport,
// taken as force_rport; the gateway's default would add comedia).
func endpointNAT(b *build, v withDefaults) {
	o, ok := v.last("nat")
	if !ok {
		b.set("nat", "force_rport")
		return
	}
	parts := map[string]bool{}
	for _, p := range strings.Split(strings.ToLower(o.Value), ",") {
		parts[strings.TrimSpace(p)] = true
	}
	switch {
	case parts["yes"] || (parts["force_rport"] && parts["comedia"]):
		b.set("nat", "yes", o)
	case parts["no"] || parts["never"]:
		b.set("nat", "no", o)
	case parts["force_rport"] || parts["auto_force_rport"]:
		b.set("nat", "force_rport", o)
	case parts["comedia"] || parts["auto_comedia"]:
		b.set("nat", "comedia", o)
	default:
		b.warn(o, "not imported: a SIP endpoint's nat is yes, no, force_rport or comedia")
		b.set("nat", "force_rport")
	}
	if parts["auto_force_rport"] || parts["auto_comedia"] {
		b.note(o.Pos, "nat=%s: the automatic (NAT-detected) variant is not kept; the endpoint always applies it", o.Value)
	}
}

func endpointDTMF(b *build, o opt) {
	switch v := strings.ToLower(o.Value); v {
	case "rfc2833", "rfc4733":
		b.set("dtmfmode", "rfc2833", o)
	case "auto", "info", "inband":
		b.set("dtmfmode", v, o)
	default:
		b.warn(o, "not imported: a SIP endpoint's dtmfmode is auto, info, rfc2833 or inband")
		b.set("dtmfmode", "rfc2833")
	}
}

// endpointCodecs maps allow/disallow to audio_codecs (the enabled set of
// the gateway's six codecs), codec_order (their preference) and the *_pr
// packetization.
func endpointCodecs(b *build, opts []opt, base bool) {
	if len(opts) == 0 {
		return
	}
	steps := codecSteps(opts)
	res := effectiveCodecs(steps, base)
	if res.all {
		b.implied(opts...)
		return
	}
	var enabled []string
	for _, c := range res.names {
		if contains(engine.AudioCodecIDs, c) {
			enabled = append(enabled, c)
			continue
		}
		for _, s := range steps {
			if s.name == c && s.allow {
				b.warn(s.o, "codec %s not imported: a SIP endpoint takes %s", c, strings.Join(engine.AudioCodecIDs, ", "))
			}
		}
	}
	if len(enabled) == 0 {
		b.warn(opts[len(opts)-1], "not imported: none of the codecs is one a SIP endpoint takes; it takes all of %s", strings.Join(engine.AudioCodecIDs, ", "))
		return
	}
	b.set("audio_codecs", strings.Join(enabled, ","), opts...)
	b.set("codec_order", strings.Join(enabled, ","), opts...)
	for _, c := range enabled {
		if ms := res.ms[c]; ms > 0 {
			b.set(c+"_pr", strconv.Itoa(ms), opts...)
		}
	}
}
