package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The gateway-style SIP endpoint (Digium Gateway sip_endpoint.save,
// shared/seeds/gateway-sip-endpoint-save.txt). The page lists dtmfmode and
// defaultuser twice with the same meaning; they are one parameter each.

// AudioCodecIDs are the codecs of audio_codecs and codec_order, in the
// page's order, which is also the canonical order of audio_codecs.
var AudioCodecIDs = []string{"ulaw", "alaw", "g722", "g726", "g729", "gsm"}

// faxCodecs carry T.38's fallback (G.711 passthrough), so t38pt_udptl
// defaults to on only when one of them is enabled (INFERRED: the page says
// "if suitable fax codecs are enabled" without naming them).
var faxCodecs = []string{"ulaw", "alaw"}

var callingPresValues = []string{
	"allowed_not_screened", "allowed_passed_screen", "allowed_failed_screen", "allowed",
	"prohib_not_screened", "prohib_passed_screen", "prohib_failed_screen", "prohib", "unavailable",
}

func multipleOf(n int64) func(string) error {
	return func(s string) error {
		v, _ := strconv.ParseInt(s, 10, 64)
		if v%n != 0 {
			return fmt.Errorf("must be a multiple of %d", n)
		}
		return nil
	}
}

func packetization(name string, max float64) Param {
	p := integer(name, "20", 10, max)
	p.Check = multipleOf(10)
	return p
}

func checkEndpointHost(s string) error {
	if strings.EqualFold(s, "dynamic") {
		return nil
	}
	return checkHost(s)
}

// checkAuth is chan_sip's auth=user:secret@realm, the only form the
// renderer can turn into a pjsip auth section.
func checkAuth(s string) error {
	if s == "" {
		return nil
	}
	at := strings.LastIndexByte(s, '@')
	colon := strings.IndexByte(s, ':')
	if at < 0 || colon <= 0 || colon > at || at == len(s)-1 {
		return errors.New("must be user:secret@realm")
	}
	return checkCredential(s)
}

// jsonList decodes raw as a JSON array when it looks like one; ok is false
// for plain text.
func jsonList(raw string) (items []json.RawMessage, ok bool, err error) {
	t := strings.TrimSpace(raw)
	if !strings.HasPrefix(t, "[") {
		return nil, false, nil
	}
	if err := json.Unmarshal([]byte(t), &items); err != nil {
		return nil, true, errors.New("must be a list")
	}
	return items, true, nil
}

// jsonScalar reads a JSON string, number or boolean as text.
func jsonScalar(m json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(m, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(m, &n) == nil {
		return n.String(), true
	}
	var b bool
	if json.Unmarshal(m, &b) == nil {
		if b {
			return "1", true
		}
		return "0", true
	}
	return "", false
}

// canonTransport accepts "UDP", "udp,tcp" or a JSON list ["UDP","TCP"]
// (the page's example) and stores "UDP,TCP": upper case, first preferred,
// no repeats.
func canonTransport(raw, _ string) (string, error) {
	var names []string
	items, isList, err := jsonList(raw)
	if err != nil {
		return "", err
	}
	if isList {
		for _, it := range items {
			s, ok := jsonScalar(it)
			if !ok {
				return "", errors.New("must be a list of UDP, TCP or TLS")
			}
			names = append(names, s)
		}
	} else {
		names = strings.Split(raw, ",")
	}
	var out []string
	for _, n := range names {
		n = strings.ToUpper(strings.TrimSpace(n))
		if n != "UDP" && n != "TCP" && n != "TLS" {
			return "", fmt.Errorf("must be UDP, TCP or TLS (or a list of them), got %q", clip(n))
		}
		if !contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return "", errors.New("must name at least one of UDP, TCP or TLS")
	}
	return strings.Join(out, ","), nil
}

func codecIndex(id string) int {
	for i, c := range AudioCodecIDs {
		if c == id {
			return i
		}
	}
	return -1
}

// canonAudioCodecs accepts the page's list of {"id","value"} objects, which
// switch the named codecs on (1) or off (0) and leave the others as they
// are (INFERRED: a partial list changes only what it names), or a plain
// list of enabled ids ("ulaw,g729" or ["ulaw","g729"]), which is the whole
// enabled set. It stores the enabled ids in AudioCodecIDs order.
func canonAudioCodecs(raw, current string) (string, error) {
	on := map[string]bool{}
	items, isList, err := jsonList(raw)
	if err != nil {
		return "", err
	}
	var names []string
	objects := false
	if isList {
		seen := map[string]bool{}
		for i, it := range items {
			if s, ok := jsonScalar(it); ok {
				names = append(names, s)
				continue
			}
			var obj map[string]json.RawMessage
			if json.Unmarshal(it, &obj) != nil {
				return "", fmt.Errorf("item %d must be an object {\"id\":..., \"value\":0|1} or a codec id", i+1)
			}
			if !objects {
				objects = true
				for c := range strings.SplitSeq(current, ",") {
					on[c] = true
				}
			}
			id, _ := jsonScalar(obj["id"])
			id = strings.ToLower(strings.TrimSpace(id))
			if codecIndex(id) < 0 {
				return "", fmt.Errorf("item %d: id must be one of %s, got %q", i+1, quoteList(AudioCodecIDs), clip(id))
			}
			if seen[id] {
				return "", fmt.Errorf("names %s twice", id)
			}
			seen[id] = true
			v, ok := jsonScalar(obj["value"])
			if !ok {
				v = "1" // an object without value lists the codec as enabled
			}
			switch strings.TrimSpace(v) {
			case "1":
				on[id] = true
			case "0":
				on[id] = false
			default:
				return "", fmt.Errorf("%s: value must be 0 or 1, got %q", id, clip(v))
			}
		}
		if objects && len(names) > 0 {
			return "", errors.New("must be a list of objects or a list of codec ids, not both")
		}
	} else {
		names = strings.Split(raw, ",")
	}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		if codecIndex(n) < 0 {
			return "", fmt.Errorf("must name codecs among %s, got %q", quoteList(AudioCodecIDs), clip(n))
		}
		on[n] = true
	}
	var out []string
	for _, c := range AudioCodecIDs {
		if on[c] {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		// The renderer would fall back to allow=all: refuse rather than
		// configure the opposite of what was asked.
		return "", errors.New("must enable at least one codec")
	}
	return strings.Join(out, ","), nil
}

// canonCodecOrder accepts a list of codec ids or of objects {"id": ...}
// (optionally with a numeric "order", lowest first) in preference order,
// or "g729,ulaw". It stores every codec id: the named ones first, the
// rest in AudioCodecIDs order, so the stored value is the effective order.
func canonCodecOrder(raw, _ string) (string, error) {
	type entry struct {
		id    string
		order float64
		pos   int
	}
	var entries []entry
	items, isList, err := jsonList(raw)
	if err != nil {
		return "", err
	}
	if isList {
		for i, it := range items {
			e := entry{pos: i, order: float64(i)}
			if s, ok := jsonScalar(it); ok {
				e.id = s
			} else {
				var obj map[string]json.RawMessage
				if json.Unmarshal(it, &obj) != nil {
					return "", fmt.Errorf("item %d must be a codec id or an object {\"id\": ...}", i+1)
				}
				e.id, _ = jsonScalar(obj["id"])
				if o, ok := jsonScalar(obj["order"]); ok {
					f, err := strconv.ParseFloat(strings.TrimSpace(o), 64)
					if err != nil {
						return "", fmt.Errorf("item %d: order must be a number, got %q", i+1, clip(o))
					}
					e.order = f
				}
			}
			entries = append(entries, e)
		}
	} else {
		for i, s := range strings.Split(raw, ",") {
			if strings.TrimSpace(s) != "" {
				entries = append(entries, entry{id: s, order: float64(i), pos: i})
			}
		}
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].order < entries[j].order })
	var out []string
	for _, e := range entries {
		id := strings.ToLower(strings.TrimSpace(e.id))
		if codecIndex(id) < 0 {
			return "", fmt.Errorf("must name codecs among %s, got %q", quoteList(AudioCodecIDs), clip(id))
		}
		if contains(out, id) {
			return "", fmt.Errorf("names %s twice", id)
		}
		out = append(out, id)
	}
	for _, c := range AudioCodecIDs {
		if !contains(out, c) {
			out = append(out, c)
		}
	}
	return strings.Join(out, ","), nil
}

func canonT38(raw, _ string) (string, error) {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(raw), " ", "")), nil
}

// canonT1Min takes "500" or "500ms" and stores "500ms", the page's form.
func canonT1Min(raw, _ string) (string, error) {
	t := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(raw)), "ms")
	n, err := strconv.Atoi(t)
	if err != nil || n < 1 || n > 10000 {
		return "", fmt.Errorf("must be a time of 1 to 10000 ms such as 500ms, got %q", clip(raw))
	}
	return strconv.Itoa(n) + "ms", nil
}

func emptyIsZero(raw, _ string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "0", nil
	}
	return raw, nil
}

func lower(raw, _ string) (string, error) { return strings.ToLower(strings.TrimSpace(raw)), nil }

func withCanon(p Param, canon func(raw, current string) (string, error)) Param {
	p.Canon = canon
	return p
}

// t38Default is the page's "'yes,redundancy' if suitable fax codecs are
// enabled, otherwise 'no'", decided when the endpoint is created (a later
// codec change does not rewrite a stored t38pt_udptl).
func t38Default(v Values) string {
	for c := range strings.SplitSeq(v["audio_codecs"], ",") {
		if contains(faxCodecs, c) {
			return "yes,redundancy"
		}
	}
	return "no"
}

// SIPEndpointSpec is sip_endpoint.save, and the sip_endpoints section of a
// switch file. Bounds the page leaves open are INFERRED from what Asterisk
// accepts: qualifyfreq 1-86400 s, max_forwards 1-255, timert1 100-10000
// ms (chan_sip's t1min floor), timerb 1000-600000 ms, session-minse 90
// (RFC 4028's floor)-86400 s, session-expires 90-86400 s, port 0 (none:
// the host's or 5060)-65535.
var SIPEndpointSpec = newSpec(
	required(str("name", "", checkName)),
	str("defaultuser", "", checkCredential),
	str("secret", "", checkSecret),
	withCanon(enum("registration", String, "none", "in", "out", "none"), lower),
	requiredIf(str("host", "", checkEndpointHost), "when registration is out", func(v Values) bool { return v["registration"] == "out" }),
	withCanon(Param{Name: "transport", Type: String, Default: "UDP"}, canonTransport),
	withCanon(enum("nat", String, "yes", "no", "yes", "force_rport", "comedia"), lower),
	str("auth", "", checkAuth),
	str("fromuser", "", checkCredential),
	str("fromdomain", "", checkHost),
	str("remotesecret", "", checkCredential),
	withCanon(integer("port", "0", 0, 65535), emptyIsZero),
	flag("qualify", "0"),
	integer("qualifyfreq", "60", 1, 86400),
	withCanon(enum("dtmfmode", String, "auto", "auto", "info", "rfc2833", "inband"), lower),
	flag("trustrpid", "0"),
	flag("sendrpid", "0"),
	withCanon(enum("rpid_format", String, "pass", "pass", "rpid"), lower),
	withCanon(enum("callingpres", String, "allowed_not_screened", callingPresValues...), lower),
	withCanon(enum("progressinband", String, "never", "yes", "no", "never"), lower),
	flag("allowoverlap", "0"),
	flag("usereqphone", "0"),
	flag("use_q850_reason", "0"),
	flag("honorsdpversion", "1"),
	integer("max_forwards", "3", 1, 255),
	flag("registertrying", "0"),
	str("outboundproxy", "", checkHost),
	integer("timert1", "500", 100, 10000),
	integer("timerb", "32000", 1000, 600000),
	withCanon(enum("session-timers", String, "accept", "originate", "accept", "refuse"), lower),
	integer("session-minse", "90", 90, 86400),
	integer("session-expires", "1800", 90, 86400),
	withCanon(enum("session-refresher", String, "uas", "uac", "uas"), lower),
	withCanon(Param{Name: "audio_codecs", Type: String, Default: strings.Join(AudioCodecIDs, ",")}, canonAudioCodecs),
	withCanon(Param{Name: "codec_order", Type: String, Default: strings.Join(AudioCodecIDs, ",")}, canonCodecOrder),
	packetization("alaw_pr", 50),
	packetization("ulaw_pr", 50),
	enum("gsm_pr", Integer, "20", "20"),
	packetization("g722_pr", 40),
	packetization("g726_pr", 200),
	flag("g726nonstandard", "0"),
	packetization("g729_pr", 40),
	flag("preferred_codec_only", "0"),
	func() Param {
		p := withCanon(enum("t38pt_udptl", String, "no", "yes,fec", "yes,redundancy", "no"), canonT38)
		p.DefaultFrom = t38Default
		return p
	}(),
	withCanon(str("t1min", "500ms", nil), canonT1Min),
	flag("allowtransfer", "1"),
	flag("promiscredir", "0"),
	flag("rtptimeout", "0"),
	flag("rtpholdtimeout", "0"),
	withCanon(enum("t38transport", String, "", "", "udptl"), lower),
	flag("insecure", "0"),
	flag("enable_advanced", "0"),
	str("extension", "", checkExtension),
	withCanon(enum("rtpjittermode", String, "adaptive", "static", "adaptive"), lower),
	integer("rtpjitterdelay", "50", 10, 100),
)
