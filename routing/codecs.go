package routing

import (
	"fmt"
	"slices"
	"strings"
)

// Codec policy: what the SDP offer sent to a party may carry. The switch
// never transcodes, so the policy only filters and orders the formats the
// caller offered; the SIP core applies it (sip/media.ApplyCodecPolicy),
// routes/simulate shows it, and the renderer writes the same lists as
// Asterisk's allow= (render/README.md says where Asterisk differs).

// CodecOffer is the codec policy of one offer.
type CodecOffer struct {
	// Codecs are the codecs the receiving party accepts, in its order of
	// preference, Preferred first when the list has it; nil means any
	// codec, in the caller's order.
	Codecs []string
	// Preferred is the line's codec (phones/create "codec": its
	// preferred codec, not the only one): put first when it is offered
	// and Codecs allow it. "" for none.
	Preferred string
	// TelephoneEvent says whether RFC 4733 events (telephone-event) stay
	// in the offer: not for a dtmfmode of info or inband, where DTMF goes
	// as SIP INFO or as tones in the audio.
	TelephoneEvent bool
}

// Restricts reports whether the policy can change an offer at all: with
// any codec allowed, no preference and events kept, the SIP core passes
// the caller's SDP through untouched (and never parses it for this).
func (o CodecOffer) Restricts() bool {
	return o.Codecs != nil || o.Preferred != "" || !o.TelephoneEvent
}

// List is the policy's codecs for a person, in offer order: "ulaw,alaw",
// "g722,any" (any codec, the line's first) or "any".
func (o CodecOffer) List() string {
	switch {
	case o.Codecs != nil:
		return strings.Join(o.Codecs, ",")
	case o.Preferred != "":
		return o.Preferred + ",any"
	}
	return "any"
}

// PeerCodecOffer is the policy of an offer sent to peer on a call whose
// calling line is line (nil for a call that did not come from a line):
// the peer's codecs in the peer's order, only those the line's codecs
// allow when it has any (phones/create codecs, as its Asterisk allow=
// would keep its offer to them), the line's codec first when the peer
// takes it, telephone-event as the peer's dtmfmode says.
func PeerCodecOffer(peer *Peer, line *Phone) CodecOffer {
	o := CodecOffer{Codecs: ParseCodecs(peer.Codecs), TelephoneEvent: KeepsTelephoneEvent(peer.DTMFMode)}
	if line != nil {
		o.Preferred = strings.ToLower(strings.TrimSpace(line.Codec))
		o.Codecs = restrictCodecs(o.Codecs, ParseCodecs(line.Codecs))
	}
	o.Codecs = preferFirst(o.Codecs, o.Preferred)
	return o
}

// LineCodecOffer is the policy of an offer sent to line: the line's codecs
// (any when it has none), its own codec first; when the call came from a
// peer (from, else nil), only that peer's codecs and telephone-event as
// its dtmfmode says (a peer's codecs are what it accepts both ways, as
// Asterisk's allow=); when it came from a line with codecs (fromLine,
// else nil), only those.
func LineCodecOffer(line *Phone, from *Peer, fromLine *Phone) CodecOffer {
	o := CodecOffer{TelephoneEvent: true}
	if line != nil {
		o.Preferred = strings.ToLower(strings.TrimSpace(line.Codec))
		o.Codecs = ParseCodecs(line.Codecs)
	}
	if from != nil {
		o.Codecs = restrictCodecs(ParseCodecs(from.Codecs), o.Codecs)
		o.TelephoneEvent = KeepsTelephoneEvent(from.DTMFMode)
	}
	if fromLine != nil {
		o.Codecs = restrictCodecs(o.Codecs, ParseCodecs(fromLine.Codecs))
	}
	o.Codecs = preferFirst(o.Codecs, o.Preferred)
	return o
}

// restrictCodecs keeps the codecs of list that allowed has, in list's
// order; nil means any codec on either side, so list nil gives allowed.
// Nothing in common is an empty list, not nil: no codec may be offered.
func restrictCodecs(list, allowed []string) []string {
	switch {
	case allowed == nil:
		return list
	case list == nil:
		return allowed
	}
	out := make([]string, 0, len(list))
	for _, c := range list {
		if slices.Contains(allowed, c) {
			out = append(out, c)
		}
	}
	return out
}

// preferFirst moves preferred to the front of codecs when they list it.
func preferFirst(codecs []string, preferred string) []string {
	i := slices.Index(codecs, preferred)
	if preferred == "" || i <= 0 {
		return codecs
	}
	out := make([]string, 0, len(codecs))
	out = append(out, preferred)
	out = append(out, codecs[:i]...)
	return append(out, codecs[i+1:]...)
}

// KnownCodecs are the codec names a peer's or line's list may carry: the
// names Asterisk's format_cap accepts that a switch uses. The API accepts
// no other (CheckCodecs), so the renderer writes nothing else to allow=.
var KnownCodecs = []string{"alaw", "g722", "g723", "g726", "g726aal2", "g729", "gsm", "ilbc", "lpc10", "opus", "slin", "slin16", "speex", "speex16", "speex32", "ulaw"}

// splitCodecs is the one syntax of a codec list, for the API's check, the
// renderer and the SIP core alike: names separated by commas or spaces
// (Asterisk's allow= uses commas; "ulaw, alaw" is the same list).
func splitCodecs(list string) []string {
	return strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' })
}

// ParseCodecs splits a peer's codecs (comma or space separated, Asterisk
// names), lower-cased, without empty names or repeats. Empty or "all"
// means any codec: nil. It reads stored values and never fails; what the
// API stores has passed CheckCodecs.
func ParseCodecs(list string) []string {
	var out []string
	for _, f := range splitCodecs(list) {
		f = strings.ToLower(f)
		if f == "all" {
			return nil
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// CheckCodecs is the strict form of ParseCodecs, for input: every name one
// of KnownCodecs (as written: lower case), none twice. An empty list is
// nil without error (any codec); whether a list may be empty is the
// caller's rule. The names come back in the list's order. Errors read
// after the parameter's name ("codecs has unknown codec ...").
func CheckCodecs(list string) ([]string, error) {
	var out []string
	for _, c := range splitCodecs(list) {
		if !slices.Contains(KnownCodecs, c) {
			if len(c) > 40 {
				c = c[:40] + "..."
			}
			return nil, fmt.Errorf("has unknown codec %q; known: %s", c, strings.Join(KnownCodecs, ", "))
		}
		if slices.Contains(out, c) {
			return nil, fmt.Errorf("lists codec %q twice", c)
		}
		out = append(out, c)
	}
	return out, nil
}

// KeepsTelephoneEvent says whether a dtmfmode carries DTMF as RFC 4733
// events: rfc2833, rfc4733, auto and the empty default do; info (SIP
// INFO, passed through by the switch) and inband (tones in the audio) do
// not, so telephone-event is taken out of offers to such a party and the
// caller falls back to what it can.
func KeepsTelephoneEvent(dtmfmode string) bool {
	switch strings.ToLower(strings.TrimSpace(dtmfmode)) {
	case "info", "inband", "shortinfo":
		return false
	}
	return true
}
