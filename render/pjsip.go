package render

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
)

// inboundContext is the dialplan context calls from carriers and
// sip_endpoints land in: it reaches the local phones only (INFERRED: the
// snapshot has no DIDs; see README).
const inboundContext = "inbound"

// pjsipAsidePort is the port res_pjsip's transports take when chan_sip is
// the SIP driver (and has the switch's port): type=pjsip peers only.
const pjsipAsidePort = "5062"

func renderPJSIP(m *model, cfg *config) ([]byte, error) {
	w := m.newConfWriter("pjsip.conf", 350*len(m.snap.Phones)+550*len(m.snap.Peers)+900*len(m.snap.SIPEndpoints))
	header(w, FilePJSIP, m.snap.Revision)
	if cfg.sipDriver == DriverChanSIP {
		return renderPJSIPAside(w, m, cfg)
	}
	if realm := cfg.checkRealm(); realm != "" {
		// Requests from names that are no endpoint are challenged in
		// default_realm: the same realm as the auth sections', so the
		// challenge does not tell an attacker which names exist.
		w.section("global")
		w.set("type", "global", "realm")
		w.set("default_realm", realm, "realm")
	}
	w.section("transport-tcp")
	w.set("type", "transport", "transport")
	w.set("protocol", "tcp", "transport")
	w.set("bind", cfg.tcpBind, "transport")
	w.section("transport-udp")
	w.set("type", "transport", "transport")
	w.set("protocol", "udp", "transport")
	w.set("bind", cfg.udpBind, "transport")
	if m.needsTLS() {
		w.section("transport-tls")
		w.set("type", "transport", "transport")
		w.set("protocol", "tls", "transport")
		w.set("bind", tlsBind, "transport")
		if cfg.tlsCert != "" {
			w.set("cert_file", cfg.tlsCert, "transport")
		}
		if cfg.tlsKey != "" {
			w.set("priv_key_file", cfg.tlsKey, "transport")
		}
	}
	m.writeSIPObjects(w, cfg, pjsipPhone, pjsipPeer, pjsipEndpoint, (*routing.Peer).IsSIP)
	return w.bytes()
}

// renderPJSIPAside is pjsip.conf beside chan_sip: the type=pjsip peers
// alone, on transports at pjsipAsidePort of the switch's addresses (none
// when there is no such peer, so res_pjsip binds nothing).
func renderPJSIPAside(w *confWriter, m *model, cfg *config) ([]byte, error) {
	w.comment("chan_sip is the SIP driver (sip.conf): res_pjsip carries the type=pjsip peers only, on port " + pjsipAsidePort + ".")
	pjsipPeers := func(p *routing.Peer) bool { return p.Type == routing.PeerPJSIP }
	has := false
	for _, p := range m.peers {
		has = has || pjsipPeers(p)
	}
	if !has {
		return w.bytes()
	}
	for _, t := range []struct{ name, proto, bind string }{{"transport-tcp", "tcp", cfg.tcpBind}, {"transport-udp", "udp", cfg.udpBind}} {
		host, _, err := net.SplitHostPort(t.bind)
		if err != nil {
			return nil, fmt.Errorf("transport %s: %w: %q", t.proto, ErrInvalidValue, t.bind)
		}
		w.section(t.name)
		w.set("type", "transport", "transport")
		w.set("protocol", t.proto, "transport")
		w.set("bind", net.JoinHostPort(host, pjsipAsidePort), "transport")
	}
	m.writeSIPObjects(w, cfg, nil, pjsipPeer, nil, pjsipPeers)
	return w.bytes()
}

// tlsBind is where the TLS listeners bind (RFC 3261's sips port).
const tlsBind = "0.0.0.0:5061"

// aclPermit is one network of a source list as a deny/permit value:
// Asterisk's dotted mask for IPv4, the prefix length for IPv6.
func aclPermit(n netip.Prefix) string {
	if n.Addr().Is4() {
		mask := net.CIDRMask(n.Bits(), 32)
		return n.Addr().String() + "/" + net.IP(mask).String()
	}
	return n.Addr().String() + "/" + strconv.Itoa(n.Bits())
}

func pjsipPhone(w *confWriter, p, id *routing.Phone, cos string, cfg *config) {
	w.section(p.Name)
	w.set("type", "endpoint", "name")
	// No transport=: res_pjsip then reaches the phone over the transport
	// its registered contact names, as the SIP core does (a phone that
	// registered over TCP or TLS is called over it); forcing
	// transport-udp sent a TCP or TLS phone's calls over UDP.
	w.set("context", "phone-"+p.Name, "plan")
	if !writeLineCodecs(w, p) {
		return
	}
	// A phone is known by its digest username as on the SIP core, not
	// only by its From user: one that withholds its number with From
	// anonymous (RFC 3323) is identified by the username of its
	// Authorization header once challenged.
	w.set("identify_by", "username,auth_username", "name")
	w.set("auth", p.Name, "password")
	w.set("aors", p.Name, "name")
	if !writePhoneIdentity(w, p, id, cos, cfg, pjsipPhoneOptions) {
		return
	}
	if p.TotalMaximum > 0 {
		w.setInt("device_state_busy_at", p.TotalMaximum, "totalmaximum")
	}
	pjsipMedia(w, cfg.media, true)
	pjsipEncryption(w, p.MediaEncryption)
	if p.Media == routing.MediaFax {
		w.set("t38_udptl", "yes", "media")
		w.set("t38_udptl_ec", "redundancy", "media")
	}

	w.authSection(p.Name, p.Name, "name", p.Password, "password", cfg.checkRealm())

	w.section(p.Name)
	w.set("type", "aor", "name")
	w.setInt("max_contacts", 1, "name")
	w.set("remove_existing", "yes", "name")
	if p.Ping == 1 {
		w.setInt("qualify_frequency", 60, "ping")
	}
}

// pjsipMedia renders the media policy (WithMedia) on a phone's or peer's
// endpoint. A phone may be behind NAT: symmetric RTP, responses and
// requests to where it sent from, as the SIP core latches it and follows
// its source. Direct media follows media.relay: never (Asterisk's
// default, media between the parties where it can), auto (not for an
// endpoint behind NAT), always (anchored).
func pjsipMedia(w *confWriter, m MediaPolicy, phone bool) {
	if phone {
		w.set("rtp_symmetric", "yes", "media.relay")
		w.set("force_rport", "yes", "media.relay")
		w.set("rewrite_contact", "yes", "media.relay")
	}
	switch m.Relay {
	case "auto":
		w.set("disable_direct_media_on_nat", "yes", "media.relay")
	case "always":
		w.set("direct_media", "no", "media.relay")
	}
	if m.Relay != "never" {
		if m.Timeout > 0 {
			w.setInt("rtp_timeout", m.Timeout, "media.timeout")
		}
		if m.HoldTimeout > 0 {
			w.setInt("rtp_timeout_hold", m.HoldTimeout, "media.hold_timeout")
		}
	}
}

func pjsipPeer(w *confWriter, p *routing.Peer, cfg *config) {
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
	// Challenges are answered only with a password, as on the SIP core
	// (sipgo answers none without one); res_pjsip refuses an auth without
	// one at load, with an ERROR.
	hasAuth := p.Password != ""
	transport := peerTransport(p.Destination)
	if transport == "tls" && cfg.sipDriver == DriverChanSIP {
		// Beside chan_sip, res_pjsip has UDP and TCP transports on
		// pjsipAsidePort only; chan_sip owns 5061.
		w.fail(fmt.Errorf("%s: destination: %w: a type=pjsip peer over TLS needs res_pjsip as the SIP driver (chan_sip holds the TLS port)", w.ctx, ErrUnsupported))
		return
	}
	w.section(p.Name)
	w.set("type", "endpoint", "name")
	w.set("transport", "transport-"+transport, "type")
	w.set("context", inboundContext, "type")
	writeCodecs(w, codecs, "codecs")
	w.set("aors", p.Name, "destination")
	if hasAuth {
		w.set("outbound_auth", p.Name, "username")
	}
	// username is what the switch authenticates with (the auth's
	// username), not its From: the carrier gets the caller id in From (and
	// in P-Asserted-Identity with send_asserted_identity), as from the SIP
	// core. INFERRED: carriers that bill an account from its digest
	// credentials need the caller's number in From to present it.
	w.set("dtmf_mode", pjsipDTMF(p.DTMFMode), "dtmfmode")
	w.setBool("send_pai", p.SendAssertedIdentity == 1, "send_asserted_identity")
	w.setBool("send_rpid", p.SendRPID == 1, "send_rpid")
	w.setBool("trust_id_outbound", p.SendPrivacy == 1, "send_privacy")
	pjsipMedia(w, cfg.media, false)
	pjsipEncryption(w, p.MediaEncryption)
	if p.Proxy != "" {
		hp, err := parseHostPort(p.Proxy)
		if err != nil {
			w.fail(fmt.Errorf("%s: proxy: %w", w.ctx, err))
			return
		}
		w.set("outbound_proxy", "sip:"+hp.String()+";lr", "proxy")
	}
	if hasAuth {
		w.authSection(p.Name, p.Username, "username", p.Password, "password", "")
	}
	w.section(p.Name)
	w.set("type", "aor", "destination")
	for _, d := range dests {
		w.set("contact", "sip:"+d.String()+uriTransport(d.Transport), "destination")
	}
	if len(dests) > 0 {
		w.section(p.Name)
		w.set("type", "identify", "destination")
		w.set("endpoint", p.Name, "destination")
		for _, d := range dests {
			w.set("match", d.Host, "destination")
		}
	}
}

// pjsipEncryption renders media_encryption (SRTP with SDES keys):
// optional is res_pjsip's best-effort SRTP (media_encryption=sdes with
// media_encryption_optimistic: offers RTP/AVP with keys, takes SRTP
// when offered), required media_encryption=sdes alone (RTP/SAVP only).
// Unlike the SIP core, Asterisk exchanges the keys over whatever
// transport the party uses (README: Media encryption).
func pjsipEncryption(w *confWriter, mode string) {
	switch mode {
	case routing.MediaEncryptionOptional:
		w.set("media_encryption", "sdes", "media_encryption")
		w.set("media_encryption_optimistic", "yes", "media_encryption")
	case routing.MediaEncryptionRequired:
		w.set("media_encryption", "sdes", "media_encryption")
	}
}

func pjsipDTMF(mode string) string {
	switch strings.ToLower(mode) {
	case "", "rfc2833", "rfc4733":
		return "rfc4733"
	default:
		return strings.ToLower(mode)
	}
}

func pjsipEndpoint(w *confWriter, e *routing.SIPEndpoint, line *routing.Phone, cfg *config) {
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
	t38, t38ec, err := t38Mode(e.T38PtUDPTL)
	if err != nil {
		w.fail(fmt.Errorf("%s: t38pt_udptl: %w", w.ctx, err))
		return
	}
	dynamic := e.Host == "" || strings.EqualFold(e.Host, "dynamic")
	var hp routing.HostPort
	if !dynamic {
		hp, err = parseHostPort(e.Host)
		if err != nil {
			w.fail(fmt.Errorf("%s: host: %w", w.ctx, err))
			return
		}
		if e.Port != 0 {
			hp.Port = e.Port
		}
	}
	user := e.DefaultUser
	if user == "" {
		user = e.Name
	}
	inAuth := e.Secret != "" && e.Insecure != 1
	outSecret := e.RemoteSecret
	if outSecret == "" {
		outSecret = e.Secret
	}
	// The secret answers a challenge from the endpoint when the switch
	// registers to it or calls a fixed host; remotesecret is given for
	// exactly that, so it is kept for a dynamic host too (the switch
	// calls the contact it registered from, and chan_sip keeps
	// remotesecret= whatever the host).
	outAuth := outSecret != "" && (e.Registration == "out" || !dynamic || e.RemoteSecret != "")
	var outAuths []string
	if outAuth {
		outAuths = append(outAuths, e.Name+"-out")
	}
	var realmUser, realmSecret, realm string
	if e.Auth != "" {
		realmUser, realmSecret, realm, err = parseAuth(e.Auth)
		if err != nil {
			w.fail(fmt.Errorf("%s: auth: %w", w.ctx, err))
			return
		}
		outAuths = append(outAuths, e.Name+"-realm")
	}
	var outboundProxy string
	if e.OutboundProxy != "" {
		php, err := parseHostPort(e.OutboundProxy)
		if err != nil {
			w.fail(fmt.Errorf("%s: outboundproxy: %w", w.ctx, err))
			return
		}
		outboundProxy = "sip:" + php.String() + ";lr"
	}

	w.section(e.Name)
	w.set("type", "endpoint", "name")
	w.set("transport", "transport-"+transports[0], "transport")
	if line != nil {
		// A line on the SIP core: its calls are a line's (endpoint_line.go).
		w.set("context", phoneContext(e.Name), "name")
		// Known by its digest username too, as a phone (pjsipPhone).
		w.set("identify_by", "username,auth_username", "name")
		if !writeEndpointLineIdentity(w, line, "set_var") {
			return
		}
	} else {
		w.set("context", inboundContext, "name")
	}
	writeCodecs(w, codecs, "audio_codecs")
	w.set("aors", e.Name, "name")
	if inAuth {
		w.set("auth", e.Name, "secret")
	}
	if len(outAuths) > 0 {
		w.set("outbound_auth", strings.Join(outAuths, ","), "remotesecret")
	}
	switch strings.ToLower(e.NAT) {
	case "", "yes":
		w.set("rtp_symmetric", "yes", "nat")
		w.set("force_rport", "yes", "nat")
		w.set("rewrite_contact", "yes", "nat")
	case "force_rport":
		w.set("force_rport", "yes", "nat")
		w.set("rewrite_contact", "yes", "nat")
	case "comedia":
		w.set("rtp_symmetric", "yes", "nat")
	case "no":
		w.set("rtp_symmetric", "no", "nat")
		w.set("force_rport", "no", "nat")
		w.set("rewrite_contact", "no", "nat")
	default:
		w.fail(fmt.Errorf("%s: nat: %w: %q", w.ctx, ErrUnsupported, e.NAT))
		return
	}
	if e.FromUser != "" {
		w.set("from_user", e.FromUser, "fromuser")
	}
	if e.FromDomain != "" {
		w.set("from_domain", e.FromDomain, "fromdomain")
	}
	w.set("dtmf_mode", endpointDTMF(e.DTMFMode), "dtmfmode")
	w.setBool("trust_id_inbound", e.TrustRPID == 1, "trustrpid")
	w.setBool("send_rpid", e.SendRPID == 1, "sendrpid")
	if e.CallingPres != "" {
		w.set("callerid_privacy", e.CallingPres, "callingpres")
	}
	w.setBool("inband_progress", strings.EqualFold(e.ProgressInband, "yes"), "progressinband")
	w.setBool("allow_overlap", e.AllowOverlap == 1, "allowoverlap")
	w.setBool("user_eq_phone", e.UserEqPhone == 1, "usereqphone")
	w.setBool("suppress_q850_reason_headers", e.UseQ850Reason != 1, "use_q850_reason")
	if outboundProxy != "" {
		w.set("outbound_proxy", outboundProxy, "outboundproxy")
	}
	switch strings.ToLower(e.SessionTimers) {
	case "originate":
		w.set("timers", "always", "session-timers")
	case "", "accept":
		w.set("timers", "yes", "session-timers")
	case "refuse":
		w.set("timers", "no", "session-timers")
	default:
		w.fail(fmt.Errorf("%s: session-timers: %w: %q", w.ctx, ErrUnsupported, e.SessionTimers))
		return
	}
	if e.SessionMinSE > 0 {
		w.setInt("timers_min_se", e.SessionMinSE, "session-minse")
	}
	if e.SessionExpires > 0 {
		w.setInt("timers_sess_expires", e.SessionExpires, "session-expires")
	}
	w.setBool("g726_non_standard", e.G726NonStandard == 1, "g726nonstandard")
	if e.PreferredCodecOnly == 1 {
		w.set("incoming_call_offer_pref", "local_first", "preferred_codec_only")
	}
	w.setBool("t38_udptl", t38, "t38pt_udptl")
	if t38 {
		w.set("t38_udptl_ec", t38ec, "t38pt_udptl")
	}
	w.setBool("allow_transfer", e.AllowTransfer == 1, "allowtransfer")
	if e.RTPTimeout > 0 {
		w.setInt("rtp_timeout", RTPTimeoutSeconds, "rtptimeout")
	}
	if e.RTPHoldTimeout > 0 {
		w.setInt("rtp_timeout_hold", RTPHoldTimeoutSeconds, "rtpholdtimeout")
	}

	if inAuth {
		inRealm := cfg.checkRealm()
		if secretSent(e) {
			inRealm = "" // name-out holds it as it is anyway
		}
		w.authSection(e.Name, user, "defaultuser", e.Secret, "secret", inRealm)
	}
	if outAuth {
		w.authSection(e.Name+"-out", user, "defaultuser", outSecret, "remotesecret", "")
	}
	if e.Auth != "" {
		w.authSection(e.Name+"-realm", realmUser, "auth", realmSecret, "auth", cfg.peerRealm(realm))
		if cfg.plainPasswords {
			w.set("realm", realm, "auth")
		}
	}

	w.section(e.Name)
	w.set("type", "aor", "name")
	if dynamic || e.Registration == "in" {
		w.setInt("max_contacts", 1, "registration")
		w.set("remove_existing", "yes", "registration")
	}
	if !dynamic {
		contact := "sip:" + hp.String()
		if e.DefaultUser != "" {
			contact = "sip:" + e.DefaultUser + "@" + hp.String()
		}
		w.set("contact", contact, "host")
	}
	if e.Qualify == 1 {
		freq := e.QualifyFreq
		if freq <= 0 {
			freq = 60
		}
		w.setInt("qualify_frequency", freq, "qualifyfreq")
	}

	if !dynamic {
		// Its address, and over UDP unless insecure its port too, as the
		// SIP core identifies a trunk (endpoint_trunk.go); Asterisk 17+
		// reads a port in match.
		w.section(e.Name)
		w.set("type", "identify", "host")
		w.set("endpoint", e.Name, "host")
		w.set("match", trunkMatch(e, hp, transports[0]), "host")
	}
	if e.Registration == "out" {
		if dynamic {
			w.fail(fmt.Errorf("%s: registration: %w: registration=out needs a host", w.ctx, ErrInvalidValue))
			return
		}
		w.section(e.Name + "-reg")
		w.set("type", "registration", "registration")
		w.set("transport", "transport-"+transports[0], "transport")
		w.set("server_uri", "sip:"+hp.String(), "host")
		w.set("client_uri", "sip:"+user+"@"+hp.String(), "defaultuser")
		// Calls on the registration come to extension, else the user (the
		// SIP core's Contact user: routing.EndpointTrunk.ContactUser).
		contactUser := e.Extension
		if contactUser == "" {
			contactUser = user
		}
		w.set("contact_user", contactUser, "extension")
		if outAuth {
			w.set("outbound_auth", e.Name+"-out", "remotesecret")
		}
		if outboundProxy != "" {
			w.set("outbound_proxy", outboundProxy, "outboundproxy")
		}
		w.set("endpoint", e.Name, "registration")
		w.set("line", "yes", "registration")
	}
}

func endpointDTMF(mode string) string {
	switch strings.ToLower(mode) {
	case "", "auto":
		return "auto"
	case "rfc2833", "rfc4733":
		return "rfc4733"
	default:
		return strings.ToLower(mode)
	}
}

var (
	pjsipPhoneOptions   = phoneOptionNames{setVar: "set_var", moh: "moh_suggest", mailbox: "mailboxes"}
	chanSIPPhoneOptions = phoneOptionNames{setVar: "setvar", moh: "mohsuggest", mailbox: "mailbox"}
)

// authSection writes a pjsip type=auth section of user and password;
// userParam and passParam name the API parameters they come from, for
// errors. With a digestRealm, the password is used in that realm alone
// and Asterisk is given its digest (digest.go): auth_type=md5, the realm,
// md5_cred. Otherwise the password itself (auth_type=userpass).
//
// auth_type=md5 and md5_cred are what Asterisk 20.6 reads; later 20.x
// releases read them too (both deprecated there in favour of
// auth_type=digest and password_digest, as userpass is).
func (w *confWriter) authSection(name, user, userParam, password, passParam, digestRealm string) {
	w.section(name)
	w.set("type", "auth", passParam)
	if digestRealm == "" {
		w.set("auth_type", "userpass", passParam)
		w.set("username", user, userParam)
		w.set("password", password, passParam)
		return
	}
	w.set("auth_type", "md5", passParam)
	w.set("username", user, userParam)
	w.set("realm", digestRealm, passParam)
	w.set("md5_cred", w.digest(user, digestRealm, password, passParam), passParam)
}
