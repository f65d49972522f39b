package render

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
)

// What sip.conf (chan_sip) and pjsip.conf (res_pjsip) share: which
// objects go to a SIP file and in which order, and the values both
// drivers write the same way (codecs, a line's identity, an endpoint's
// auth, transports and T.38). Each driver's own syntax is in sipconf.go
// and pjsip.go.

// writeSIPObjects writes the phones, SIP peers and sip_endpoints in the
// model's order with one driver's writers, naming each object in w's
// error context; sip.conf and pjsip.conf share it.
func (m *model) writeSIPObjects(w *confWriter, cfg *config,
	phone func(w *confWriter, p, id *routing.Phone, cos string, cfg *config),
	peer func(*confWriter, *routing.Peer, *config),
	endpoint func(*confWriter, *routing.SIPEndpoint, *routing.Phone, *config),
	peerHere func(*routing.Peer) bool) {
	for _, p := range m.phones {
		if phone == nil {
			break
		}
		w.each(phoneRef(p), func() {
			cos, err := m.lineCOS(p)
			if err != nil {
				w.fail(fmt.Errorf("%s: %w", w.ctx, err))
				return
			}
			// A line shows the virtual line logged into it, if any.
			phone(w, p, m.logins.Presenting(p), cos, cfg)
		})
	}
	for _, p := range m.peers {
		if peerHere(p) {
			w.each(peerRef(p), func() { peer(w, p, cfg) })
		}
	}
	for _, e := range m.endpoints {
		if endpoint == nil {
			break
		}
		w.each(endpointRef(e), func() { endpoint(w, e, m.endpointLine(e), cfg) })
	}
}

func (m *model) needsTLS() bool {
	for _, p := range m.peers {
		if p.IsSIP() && peerTransport(p.Destination) == "tls" {
			return true
		}
	}
	for _, e := range m.endpoints {
		for t := range strings.SplitSeq(e.Transport, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "TLS") {
				return true
			}
		}
	}
	return false
}

// peerTransport is the transport a SIP peer's calls go over: its
// destination's (routing.ParseDestinations: sips:host or
// host;transport=tls|tcp, one for every host), "udp" by default, as the
// SIP core sends them.
func peerTransport(destination string) string {
	hps, err := routing.ParseDestinations(destination)
	if err != nil || len(hps) == 0 || hps[0].Transport == "" {
		return "udp"
	}
	return hps[0].Transport
}

// uriTransport is the transport parameter of a SIP URI for transport
// ("" for udp, the default).
func uriTransport(transport string) string {
	if transport == "" || transport == "udp" {
		return ""
	}
	return ";transport=" + transport
}

func writeCodecs(w *confWriter, codecs []string, param string) {
	w.set("disallow", "all", param)
	if len(codecs) == 0 {
		w.set("allow", "all", param)
		return
	}
	for _, c := range codecs {
		w.set("allow", c, param)
	}
}

// writeLineCodecs writes a line's codecs. Without a codecs list, its
// preferred codec first, then every other (phones/create "Preferred
// codec. Empty string for any"), not the only one allowed. With one (a
// sipswitch addition), those codecs alone, the preferred one first:
// never allow=all, which would let the phone use codecs its list keeps
// out. It reports false after a failure.
func writeLineCodecs(w *confWriter, p *routing.Phone) bool {
	preferred, err := codecList(p.Codec)
	if err != nil {
		w.fail(fmt.Errorf("%s: codec: %w", w.ctx, err))
		return false
	}
	list, err := codecList(p.Codecs)
	if err != nil {
		w.fail(fmt.Errorf("%s: codecs: %w", w.ctx, err))
		return false
	}
	w.set("disallow", "all", "codec")
	if len(list) == 0 {
		for _, c := range preferred {
			w.set("allow", c, "codec")
		}
		w.set("allow", "all", "codec")
		return true
	}
	for _, c := range preferred {
		if slices.Contains(list, c) {
			w.set("allow", c, "codec")
		}
	}
	for _, c := range list {
		if !slices.Contains(preferred, c) {
			w.set("allow", c, "codecs")
		}
	}
	return true
}

func mailboxValue(box, vmContext string) string {
	if strings.Contains(box, "@") {
		return box
	}
	return box + "@" + vmContext
}

// writePhoneIdentity writes the caller id, class of service (SS_COS, see
// cos.go), language, music on hold, mailbox and source ACL of a phone,
// which res_pjsip and chan_sip share but for the option names. It reports
// false after a failure. The caller id is id's: p's own, or that of the
// virtual line logged into p (routing/virtual.go).
func writePhoneIdentity(w *confWriter, p, id *routing.Phone, cos string, cfg *config, names phoneOptionNames) bool {
	// The line shows itself as the SIP core shows it, whatever the phone
	// sends (routing.LineCallerID: a number as set, a keyword the line's
	// own number): outside by the endpoint's caller id, inside by
	// SS_CID_INTERNAL, which the called line's extension applies.
	v, err := callerIDValue(id.CallerNameExternal, routing.LineCallerID(id.CallerIDExternal, id.Name))
	if err != nil {
		w.fail(fmt.Errorf("%s: callername_external: %w", w.ctx, err))
		return false
	}
	w.set("callerid", v, "callerid_external")
	w.set(names.setVar, "SS_CID_INTERNAL="+routing.LineCallerID(id.CallerIDInternal, id.Name), "callerid_internal")
	if cos != "" {
		w.set(names.setVar, "SS_COS="+cos, "cos")
	}
	// Whose calls these are, for peers reserved for a customer
	// (peer-try).
	w.set(names.setVar, "SS_CUSTOMER="+strconv.Itoa(p.Customer), "customer")
	// How the line shows itself to other lines and outside, as the SIP
	// core shows it: the dialplan applies these (extensions.go).
	if id.CallerNameInternal != "" {
		if !dialplanSafe(id.CallerNameInternal) {
			w.fail(fmt.Errorf("%s: callername_internal: %w: %q (letters, digits, spaces, + * # . _ @ : - /)", w.ctx, ErrInvalidValue, id.CallerNameInternal))
			return false
		}
		w.set(names.setVar, "SS_CNAME_INTERNAL="+id.CallerNameInternal, "callername_internal")
	}
	if id.PresentationInternal == 0 {
		w.set(names.setVar, "SS_PRES_INTERNAL=0", "presentation_internal")
	}
	if id.PresentationExternal == 0 {
		w.set(names.setVar, "SS_PRES_EXTERNAL=0", "presentation_external")
	}
	if p.TotalMaximum >= 0 {
		// Its calls hold a slot of its totalmaximum (line-limit).
		w.set(names.setVar, "SS_LINE="+p.Name, "totalmaximum")
		w.set(names.setVar, "SS_TOTALMAX="+strconv.Itoa(p.TotalMaximum), "totalmaximum")
	}
	if p.Language != "" {
		w.set("language", p.Language, "language")
	}
	if c := mohClass(p.Music); c != "" {
		w.set(names.moh, c, "music")
	}
	if p.Mailbox != "" {
		w.set(names.mailbox, mailboxValue(p.Mailbox, cfg.vmContext), "mailbox")
	}
	if p.Source != "" {
		// Every address of either family is denied but the source's
		// networks, as the SIP core applies the list (Asterisk's ACL
		// lets in what no rule of its family names).
		nets, err := routing.ParseSource(p.Source)
		if err != nil || len(nets) == 0 {
			w.fail(fmt.Errorf("%s: source: %w: %q is not a list of IP addresses and networks", w.ctx, ErrInvalidValue, p.Source))
			return false
		}
		w.set("deny", "0.0.0.0/0.0.0.0", "source")
		w.set("deny", "::/0", "source")
		for _, n := range nets {
			w.set("permit", aclPermit(n), "source")
		}
	}
	return true
}

// phoneOptionNames are the option names the two channel drivers use for
// the same phone settings.
type phoneOptionNames struct{ setVar, moh, mailbox string }

// parseAuth splits chan_sip's auth=user:secret@realm.
func parseAuth(s string) (user, secret, realm string, err error) {
	at := strings.LastIndexByte(s, '@')
	colon := strings.IndexByte(s, ':')
	if at < 0 || colon < 0 || colon > at {
		return "", "", "", fmt.Errorf("%w: want user:secret@realm", ErrInvalidValue)
	}
	return s[:colon], s[colon+1 : at], s[at+1:], nil
}

func t38Mode(v string) (on bool, ec string, err error) {
	switch strings.ToLower(strings.ReplaceAll(v, " ", "")) {
	case "", "no":
		return false, "", nil
	case "yes", "yes,fec":
		return true, "fec", nil
	case "yes,redundancy":
		return true, "redundancy", nil
	case "yes,none":
		return true, "none", nil
	}
	return false, "", fmt.Errorf("%w: t38pt_udptl %q", ErrUnsupported, v)
}

// endpointTransports returns the lower-case transports of a sip_endpoint,
// first one preferred; default udp.
func endpointTransports(e *routing.SIPEndpoint) ([]string, error) {
	var out []string
	for t := range strings.SplitSeq(e.Transport, ",") {
		t = strings.ToLower(strings.TrimSpace(t))
		switch t {
		case "":
		case "udp", "tcp", "tls":
			out = append(out, t)
		default:
			return nil, fmt.Errorf("%w: transport %q", ErrUnsupported, t)
		}
	}
	if len(out) == 0 {
		out = []string{"udp"}
	}
	return out, nil
}

// endpointCodecs merges audio_codecs (enabled set), codec_order
// (preference) and the *_pr packetization into allow= items.
func endpointCodecs(e *routing.SIPEndpoint) ([]string, error) {
	enabled, err := codecList(e.AudioCodecs)
	if err != nil {
		return nil, fmt.Errorf("audio_codecs: %w", err)
	}
	order, err := codecList(e.CodecOrder)
	if err != nil {
		return nil, fmt.Errorf("codec_order: %w", err)
	}
	on := make(map[string]bool, len(enabled))
	for _, c := range enabled {
		on[c] = true
	}
	ptime := map[string]int{"alaw": e.AlawPr, "ulaw": e.UlawPr, "gsm": e.GSMPr, "g722": e.G722Pr, "g726": e.G726Pr, "g729": e.G729Pr}
	var out []string
	done := make(map[string]bool)
	add := func(c string) {
		if done[c] || !on[c] {
			return
		}
		done[c] = true
		if ms := ptime[c]; ms > 0 {
			c += ":" + strconv.Itoa(ms)
		}
		out = append(out, c)
	}
	for _, c := range order {
		add(c)
	}
	for _, c := range enabled {
		add(c)
	}
	return out, nil
}
