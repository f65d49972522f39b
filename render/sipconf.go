package render

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
)

// chanSIPAside is where chan_sip binds when res_pjsip is the SIP driver:
// loopback and off the switch's port, holding nothing.
const chanSIPAside = "127.0.0.1:5160"

func renderSIP(m *model, cfg *config) ([]byte, error) {
	w := m.newConfWriter("sip.conf", 220*len(m.snap.Phones)+200*len(m.snap.Peers)+900*len(m.snap.SIPEndpoints))
	header(w, FileSIP, m.snap.Revision)
	if cfg.sipDriver != DriverChanSIP {
		w.comment("res_pjsip is the SIP driver (pjsip.conf): chan_sip, if it loads, binds aside and holds nothing.")
		w.comment("Add noload => chan_sip.so to modules.conf to keep it from loading at all.")
		w.section("general")
		w.set("context", inboundContext, "general")
		w.set("allowguest", "no", "general")
		w.set("udpbindaddr", chanSIPAside, "general")
		w.set("tcpenable", "no", "general")
		return w.bytes()
	}
	w.section("general")
	w.set("context", inboundContext, "general")
	w.set("allowguest", "no", "general")
	// A phone is known by its digest username as on the SIP core, so one
	// that withholds its number with From anonymous is still its line.
	w.set("match_auth_username", "yes", "general")
	// Phones are rendered nat=force_rport,comedia (sipMedia); a peer whose
	// nat differs from [general] lets a scanner tell which peer names exist
	// (chan_sip warns so at load), so [general] says the same.
	w.set("nat", "force_rport,comedia", "general")
	if realm := cfg.checkRealm(); realm != "" {
		// The realm of every challenge, and of the md5secret digests.
		w.set("realm", realm, "realm")
	}
	w.set("udpbindaddr", cfg.udpBind, "general")
	w.set("tcpenable", "yes", "general")
	w.set("tcpbindaddr", cfg.tcpBind, "general")
	if m.needsTLS() {
		if cfg.tlsCert == "" {
			// chan_sip logs an ERROR and drops TLS for the whole host when
			// its certificate is missing; without one, the endpoints that
			// ask for TLS are left to Asterisk's own warning and UDP/TCP.
			w.comment("sip_endpoints ask for TLS: set render.tls_cert (sipswitch render --tls-cert) to enable it in chan_sip")
		} else {
			w.set("tlsenable", "yes", "general")
			w.set("tlsbindaddr", tlsBind, "general")
			w.set("tlscertfile", cfg.tlsCert, "general")
			if cfg.tlsKey != "" {
				w.set("tlsprivatekey", cfg.tlsKey, "general")
			}
		}
	}
	for _, e := range m.endpoints {
		if e.Registration != "out" {
			continue
		}
		w.each(endpointRef(e), func() {
			reg, err := registerLine(e)
			if err != nil {
				w.fail(fmt.Errorf("%s: %w", w.ctx, err))
				return
			}
			w.object("register", reg, "registration")
		})
	}
	withTLS := *cfg
	withTLS.chanSIPTLS = cfg.tlsCert != "" && m.needsTLS()
	m.writeSIPObjects(w, &withTLS, sipPhone, sipPeer, sipEndpoint, func(p *routing.Peer) bool { return p.Type == routing.PeerSIP })
	return w.bytes()
}

// registerLine builds chan_sip's
// register => name?[transport://]user[:secret]@host[:port][/extension]: "name?" ties
// the registration to the endpoint's own section, which another section
// of the same host (a peer for its calls) would otherwise share.
func registerLine(e *routing.SIPEndpoint) (string, error) {
	if e.Host == "" || strings.EqualFold(e.Host, "dynamic") {
		return "", fmt.Errorf("registration: %w: registration=out needs a host", ErrInvalidValue)
	}
	hp, err := parseHostPort(e.Host)
	if err != nil {
		return "", fmt.Errorf("host: %w", err)
	}
	if e.Port != 0 {
		hp.Port = e.Port
	}
	user := e.DefaultUser
	if user == "" {
		user = e.Name
	}
	secret := e.RemoteSecret
	if secret == "" {
		secret = e.Secret
	}
	if strings.ContainsAny(user+secret, ":@/") {
		return "", fmt.Errorf("secret: %w: ':', '@' and '/' cannot be used in a register => line", ErrInvalidValue)
	}
	// The registration goes over the endpoint's first transport, as its
	// calls do: chan_sip registers over UDP unless the line names one,
	// and refuses a UDP registration for a peer whose transport= has no
	// udp ("'UDP' is not a valid transport", Asterisk 20).
	transports, err := endpointTransports(e)
	if err != nil {
		return "", err
	}
	s := e.Name + "?"
	if transports[0] != "udp" {
		s += transports[0] + "://"
	}
	s += user
	if secret != "" {
		s += ":" + secret
	}
	s += "@" + hp.String()
	// Calls on the registration come to extension, else the user, as on
	// the SIP core (chan_sip's own default is s).
	if e.Extension != "" {
		s += "/" + e.Extension
	} else {
		s += "/" + user
	}
	return s, nil
}

// phoneTransports is chan_sip's transport= of a phone: udp first (its
// default for calls to a phone not yet registered), tcp (tcpenable=yes),
// and tls when [general] enables it.
func phoneTransports(cfg *config) string {
	if cfg.chanSIPTLS {
		return "udp,tcp,tls"
	}
	return "udp,tcp"
}

func sipPhone(w *confWriter, p, id *routing.Phone, cos string, cfg *config) {
	w.section(p.Name)
	w.set("type", "friend", "name")
	w.set("host", "dynamic", "name")
	// A phone may register over any transport the switch listens on, as
	// on the SIP core (chan_sip's default is udp alone); tls only where
	// chan_sip has it enabled (it refuses the word otherwise).
	w.set("transport", phoneTransports(cfg), "name")
	w.set("defaultuser", p.Name, "name")
	writeSecret(w, p.Name, p.Password, "password", cfg.checkRealm())
	w.set("context", "phone-"+p.Name, "plan")
	if !writeLineCodecs(w, p) {
		return
	}
	if !writePhoneIdentity(w, p, id, cos, cfg, chanSIPPhoneOptions) {
		return
	}
	if p.TotalMaximum >= 0 {
		w.setInt("call-limit", p.TotalMaximum, "totalmaximum")
	}
	w.setBool("qualify", p.Ping == 1, "ping")
	sipMedia(w, cfg.media, true)
	sipEncryption(w, p.MediaEncryption)
	if p.Media == routing.MediaFax {
		w.set("t38pt_udptl", "yes,redundancy", "media")
	}
}

// sipMedia is pjsipMedia for chan_sip: nat=force_rport,comedia for
// phones; directmedia=nonat (auto) or no (always); rtptimeout and
// rtpholdtimeout.
func sipMedia(w *confWriter, m MediaPolicy, phone bool) {
	if phone {
		w.set("nat", "force_rport,comedia", "media.relay")
	}
	switch m.Relay {
	case "auto":
		w.set("directmedia", "nonat", "media.relay")
	case "always":
		w.set("directmedia", "no", "media.relay")
	}
	if m.Relay != "never" {
		if m.Timeout > 0 {
			w.setInt("rtptimeout", m.Timeout, "media.timeout")
		}
		if m.HoldTimeout > 0 {
			w.setInt("rtpholdtimeout", m.HoldTimeout, "media.hold_timeout")
		}
	}
}

// sipEncryption renders media_encryption for chan_sip: required is
// encryption=yes (SRTP only, offered as RTP/SAVP). chan_sip has no
// best-effort mode: with optional it offers plain RTP and, as with none,
// takes an SRTP offer when res_srtp is loaded (README: Media encryption).
func sipEncryption(w *confWriter, mode string) {
	if mode == routing.MediaEncryptionRequired {
		w.set("encryption", "yes", "media_encryption")
	}
}

func sipDTMF(mode string) string {
	switch strings.ToLower(mode) {
	case "", "rfc2833", "rfc4733":
		return "rfc2833"
	default:
		return strings.ToLower(mode)
	}
}

func sipPeer(w *confWriter, p *routing.Peer, cfg *config) {
	dests, err := splitDestinations(p.Destination)
	if err != nil {
		w.fail(fmt.Errorf("%s: destination: %w", w.ctx, err))
		return
	}
	codecs, err := codecList(p.Codecs)
	if err != nil {
		w.fail(fmt.Errorf("%s: codecs: %w", w.ctx, err))
		return
	}
	w.section(p.Name)
	w.set("type", "peer", "type")
	if len(dests) > 0 {
		// chan_sip peers have one host; further destinations exist only in
		// pjsip.conf (see README).
		w.set("host", dests[0].Host, "destination")
		if dests[0].Port != 0 {
			w.setInt("port", dests[0].Port, "destination")
		}
		if t := dests[0].Transport; t != "" {
			// The SIP core's transport (sips:, transport=); chan_sip's
			// default port for tls is 5061 as the SIP core's.
			w.set("transport", t, "destination")
		}
	}
	w.set("context", inboundContext, "type")
	w.set("insecure", "port,invite", "type")
	if p.Username != "" {
		// The digest username; From carries the caller id (pjsip.go).
		w.set("defaultuser", p.Username, "username")
	}
	if p.Password != "" {
		w.set("remotesecret", p.Password, "password")
	}
	writeCodecs(w, codecs, "codecs")
	w.set("dtmfmode", sipDTMF(p.DTMFMode), "dtmfmode")
	switch {
	case p.SendAssertedIdentity == 1:
		// chan_sip sends one identity header; PAI wins (README).
		w.set("sendrpid", "pai", "send_asserted_identity")
	case p.SendRPID == 1:
		w.set("sendrpid", "yes", "send_rpid")
	default:
		w.set("sendrpid", "no", "send_rpid")
	}
	w.setBool("trust_id_outbound", p.SendPrivacy == 1, "send_privacy")
	sipMedia(w, cfg.media, false)
	sipEncryption(w, p.MediaEncryption)
	if p.OutMaximum >= 0 {
		w.setInt("call-limit", p.OutMaximum, "outmaximum")
	}
	if p.Proxy != "" {
		hp, err := parseHostPort(p.Proxy)
		if err != nil {
			w.fail(fmt.Errorf("%s: proxy: %w", w.ctx, err))
			return
		}
		w.set("outboundproxy", hp.String(), "proxy")
	}
}

// writeSecret writes the password a chan_sip peer is challenged for:
// with a digestRealm, md5secret (digest.go; chan_sip checks the digest
// username against the section name, so user is that name), else
// secret.
func writeSecret(w *confWriter, user, password, param, digestRealm string) {
	if digestRealm == "" {
		w.set("secret", password, param)
		return
	}
	w.set("md5secret", w.digest(user, digestRealm, password, param), param)
}

func yesNo(v int) string {
	if v == 1 {
		return "yes"
	}
	return "no"
}

func sipEndpoint(w *confWriter, e *routing.SIPEndpoint, line *routing.Phone, cfg *config) {
	transports, err := endpointTransports(e)
	if err != nil {
		w.fail(fmt.Errorf("%s: transport: %w", w.ctx, err))
		return
	}
	codecs, err := endpointCodecs(e)
	if err != nil {
		w.fail(fmt.Errorf("%s: %w", w.ctx, err))
		return
	}
	if _, _, err := t38Mode(e.T38PtUDPTL); err != nil {
		w.fail(fmt.Errorf("%s: t38pt_udptl: %w", w.ctx, err))
		return
	}
	dynamic := e.Host == "" || strings.EqualFold(e.Host, "dynamic")
	w.section(e.Name)
	if dynamic || e.Registration == "in" {
		w.set("type", "friend", "registration")
	} else {
		w.set("type", "peer", "registration")
	}
	if dynamic {
		w.set("host", "dynamic", "host")
	} else {
		hp, err := parseHostPort(e.Host)
		if err != nil {
			w.fail(fmt.Errorf("%s: host: %w", w.ctx, err))
			return
		}
		w.set("host", hp.Host, "host")
		if hp.Port != 0 && e.Port == 0 {
			w.setInt("port", hp.Port, "host")
		}
	}
	if e.Port != 0 {
		w.setInt("port", e.Port, "port")
	}
	if line != nil {
		// A line on the SIP core: its calls are a line's (endpoint_line.go).
		w.set("context", phoneContext(e.Name), "name")
		if !writeEndpointLineIdentity(w, line, "setvar") {
			return
		}
	} else {
		w.set("context", inboundContext, "name")
	}
	w.set("transport", strings.Join(transports, ","), "transport")
	if e.DefaultUser != "" {
		w.set("defaultuser", e.DefaultUser, "defaultuser")
	}
	if e.Secret != "" {
		realm := cfg.checkRealm()
		if secretSent(e) {
			realm = "" // Asterisk sends it: it must stay as it is
		}
		writeSecret(w, e.Name, e.Secret, "secret", realm)
	}
	if e.RemoteSecret != "" {
		w.set("remotesecret", e.RemoteSecret, "remotesecret")
	}
	if e.Auth != "" {
		user, secret, realm, err := parseAuth(e.Auth)
		if err != nil {
			w.fail(fmt.Errorf("%s: auth: %w", w.ctx, err))
			return
		}
		// auth=user#digest@realm: chan_sip reads the digest after the
		// first '#', so a user holding one keeps the plain form.
		if realm := cfg.peerRealm(realm); realm != "" && !strings.Contains(user, "#") {
			w.set("auth", user+"#"+w.digest(user, realm, secret, "auth")+"@"+realm, "auth")
		} else {
			w.set("auth", e.Auth, "auth")
		}
	}
	switch strings.ToLower(e.NAT) {
	case "", "yes":
		w.set("nat", "force_rport,comedia", "nat")
	case "no", "force_rport", "comedia":
		w.set("nat", strings.ToLower(e.NAT), "nat")
	default:
		w.fail(fmt.Errorf("%s: nat: %w: %q", w.ctx, ErrUnsupported, e.NAT))
		return
	}
	if e.FromUser != "" {
		w.set("fromuser", e.FromUser, "fromuser")
	}
	if e.FromDomain != "" {
		w.set("fromdomain", e.FromDomain, "fromdomain")
	}
	w.set("qualify", yesNo(e.Qualify), "qualify")
	if e.QualifyFreq > 0 {
		w.setInt("qualifyfreq", e.QualifyFreq, "qualifyfreq")
	}
	dtmf := strings.ToLower(e.DTMFMode)
	if dtmf == "" {
		dtmf = "auto"
	}
	w.set("dtmfmode", dtmf, "dtmfmode")
	w.set("trustrpid", yesNo(e.TrustRPID), "trustrpid")
	w.set("sendrpid", yesNo(e.SendRPID), "sendrpid")
	if e.CallingPres != "" {
		w.set("callingpres", e.CallingPres, "callingpres")
	}
	if e.ProgressInband != "" {
		w.set("progressinband", strings.ToLower(e.ProgressInband), "progressinband")
	}
	w.set("allowoverlap", yesNo(e.AllowOverlap), "allowoverlap")
	w.set("usereqphone", yesNo(e.UserEqPhone), "usereqphone")
	w.set("use_q850_reason", yesNo(e.UseQ850Reason), "use_q850_reason")
	w.set("ignoresdpversion", yesNo(1-e.HonorSDPVersion), "honorsdpversion")
	if e.MaxForwards > 0 {
		w.setInt("maxforwards", e.MaxForwards, "max_forwards")
	}
	if e.OutboundProxy != "" {
		hp, err := parseHostPort(e.OutboundProxy)
		if err != nil {
			w.fail(fmt.Errorf("%s: outboundproxy: %w", w.ctx, err))
			return
		}
		w.set("outboundproxy", hp.String(), "outboundproxy")
	}
	if e.TimerT1 > 0 {
		w.setInt("timert1", e.TimerT1, "timert1")
	}
	if e.TimerB > 0 {
		w.setInt("timerb", e.TimerB, "timerb")
	}
	if e.SessionTimers != "" {
		w.set("session-timers", strings.ToLower(e.SessionTimers), "session-timers")
	}
	if e.SessionMinSE > 0 {
		w.setInt("session-minse", e.SessionMinSE, "session-minse")
	}
	if e.SessionExpires > 0 {
		w.setInt("session-expires", e.SessionExpires, "session-expires")
	}
	if e.SessionRefresher != "" {
		w.set("session-refresher", strings.ToLower(e.SessionRefresher), "session-refresher")
	}
	writeCodecs(w, codecs, "audio_codecs")
	w.set("g726nonstandard", yesNo(e.G726NonStandard), "g726nonstandard")
	w.set("preferred_codec_only", yesNo(e.PreferredCodecOnly), "preferred_codec_only")
	t38 := strings.ToLower(strings.ReplaceAll(e.T38PtUDPTL, " ", ""))
	if t38 == "" {
		t38 = "no"
	}
	w.set("t38pt_udptl", t38, "t38pt_udptl")
	w.set("allowtransfer", yesNo(e.AllowTransfer), "allowtransfer")
	w.set("promiscredir", yesNo(e.PromiscRedir), "promiscredir")
	if e.RTPTimeout > 0 {
		w.setInt("rtptimeout", RTPTimeoutSeconds, "rtptimeout")
	}
	if e.RTPHoldTimeout > 0 {
		w.setInt("rtpholdtimeout", RTPHoldTimeoutSeconds, "rtpholdtimeout")
	}
	if e.Insecure == 1 {
		w.set("insecure", "port,invite", "insecure")
	}
}

func renderIAX(m *model, cfg *config) ([]byte, error) {
	w := m.newConfWriter("iax.conf", 40*len(m.snap.Peers))
	header(w, FileIAX, m.snap.Revision)
	w.section("general")
	w.set("bindport", "4569", "general")
	for _, p := range m.peers {
		if p.Type != routing.PeerIAX {
			continue
		}
		w.each(peerRef(p), func() { iaxPeer(w, p) })
	}
	return w.bytes()
}

// iaxPeer writes one type=iax peer.
func iaxPeer(w *confWriter, p *routing.Peer) {
	dests, err := splitDestinations(p.Destination)
	if err != nil {
		w.fail(fmt.Errorf("%s: destination: %w", w.ctx, err))
		return
	}
	if len(dests) > 0 && dests[0].Transport != "" {
		// The API refuses it (engine.checkPeerTransport); a store written
		// otherwise is not rendered as if it said nothing.
		w.fail(fmt.Errorf("%s: destination: %w: an iax peer has no SIP transport (%s)", w.ctx, ErrInvalidValue, dests[0].Destination()))
		return
	}
	codecs, err := codecList(p.Codecs)
	if err != nil {
		w.fail(fmt.Errorf("%s: codecs: %w", w.ctx, err))
		return
	}
	w.section(p.Name)
	w.set("type", "peer", "type")
	if len(dests) > 0 {
		w.set("host", dests[0].Host, "destination")
		if dests[0].Port != 0 {
			w.set("port", strconv.Itoa(dests[0].Port), "destination")
		}
	}
	if p.Username != "" {
		w.set("username", p.Username, "username")
	}
	if p.Password != "" {
		w.set("secret", p.Password, "password")
	}
	writeCodecs(w, codecs, "codecs")
	w.set("context", inboundContext, "type")
}
