package media

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Codec policy (SDP only: the relay never transcodes). The policy itself
// (which codecs, in which order, telephone-event or not) is routing's
// (routing.PeerCodecOffer, routing.LineCodecOffer); this file applies it to
// an SDP body. Codec names are Asterisk's (allow=/disallow=, the names the switch's peers and lines
// carry): ulaw, alaw, g722, g726, g729, gsm, ilbc, lpc10, slin, speex, ...

// ErrNoCommonCodec is returned when an offer keeps no audio codec after
// the codec policy: the SIP core answers 488 Not Acceptable Here to the
// caller, or tries the next peer.
var ErrNoCommonCodec = errors.New("media: no common codec")

// DefaultCodecs is the seed's codec list of a peer or line.
const DefaultCodecs = "alaw,g722,g726,g729,gsm,ilbc,lpc10,slin,speex,ulaw"

// Non-codec formats of an audio m= line.
const (
	codecTelephoneEvent = "telephone-event" // RFC 4733 DTMF
	codecCN             = "cn"              // RFC 3389 comfort noise
)

// staticPayloadTypes are the audio payload types of RFC 3551 table 4
// that the switch's codec names cover, with their RTP clock rate. (G.722
// has an 8000 Hz RTP clock although it samples at 16 kHz, RFC 3551 4.5.2.)
var staticPayloadTypes = map[uint8]struct {
	name  string
	clock uint32
}{
	0: {"ulaw", 8000}, 3: {"gsm", 8000}, 4: {"g723", 8000}, 7: {"lpc10", 8000},
	8: {"alaw", 8000}, 9: {"g722", 8000}, 13: {codecCN, 8000}, 18: {"g729", 8000},
	// 2 was G721/G726-32 in RFC 1890; RFC 3551 withdrew it, phones still send it.
	2: {"g726", 8000},
}

// codecName maps an rtpmap encoding name and clock rate to the switch's
// codec name; unknown encodings come back lower-cased.
func codecName(encoding string, clock uint32) string {
	switch e := strings.ToLower(encoding); e {
	case "pcmu":
		return "ulaw"
	case "pcma":
		return "alaw"
	case "g726-32", "g721":
		return "g726"
	case "aal2-g726-32":
		return "g726aal2" // other bit packing (RFC 3551 4.5.4): not g726
	case "g729", "g729a", "g729b":
		return "g729"
	case "l16":
		if clock == 16000 {
			return "slin16"
		}
		if clock == 8000 {
			return "slin"
		}
		return "l16-" + strconv.Itoa(int(clock))
	case "lpc":
		return "lpc10"
	case "speex":
		switch clock {
		case 16000:
			return "speex16"
		case 32000:
			return "speex32"
		}
		return "speex"
	case "ilbc":
		return "ilbc"
	default:
		return e
	}
}

// CodecPolicy is what an offer sent to one party may carry.
type CodecPolicy struct {
	// Codecs are the party's codecs in its order of preference (a peer's
	// or line's allow list); nil keeps every codec in the offer's order.
	Codecs []string
	// Preferred is put first when the offer has it and Codecs allow it (a
	// line's codec: the first choice, not the only one).
	Preferred string
	// DropTelephoneEvent removes RFC 4733 telephone-event from the offer:
	// the party takes DTMF otherwise (routing.KeepsTelephoneEvent decides
	// from its dtmfmode). The zero value keeps it.
	DropTelephoneEvent bool
}

// ApplyCodecPolicy rewrites the audio m= lines of an SDP offer to the
// codecs the policy allows, in the policy's order (the preferred codec
// first), and removes the rtpmap/fmtp/rtcp-fb attributes of what it drops.
// telephone-event is kept (after the codecs) unless DropTelephoneEvent; comfort noise (CN) is kept. An audio line left without a codec
// is declined (port 0) when another audio line keeps one; when none does,
// ErrNoCommonCodec. Other m= lines (image/T.38, video) are untouched.
func ApplyCodecPolicy(body []byte, p CodecPolicy) ([]byte, error) {
	sd, err := unmarshalSDP(body)
	if err != nil {
		return nil, err
	}
	audio, kept := 0, 0
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 || !isRTPProto(md.MediaName.Protos) {
			continue
		}
		audio++
		if filterMedia(md, p) {
			kept++
		}
	}
	if audio > 0 && kept == 0 {
		return nil, ErrNoCommonCodec
	}
	out, err := sd.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	return out, nil
}

// filterMedia applies the policy to one audio line and reports whether a
// codec is left; a line without one is declined.
func filterMedia(md *sdp.MediaDescription, p CodecPolicy) bool {
	maps := rtpmaps(md)
	type format struct {
		fmt  string
		pt   uint8
		name string
		rank int
	}
	var codecs, extra []format
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			continue
		}
		name := maps[uint8(pt)].name
		switch name {
		case "":
			continue // neither static nor mapped: not usable
		case codecTelephoneEvent:
			if !p.DropTelephoneEvent {
				extra = append(extra, format{fmt: f, pt: uint8(pt), name: name})
			}
			continue
		case codecCN:
			extra = append(extra, format{fmt: f, pt: uint8(pt), name: name})
			continue
		}
		rank := len(codecs) // offer order when there is no list
		if p.Codecs != nil {
			rank = slices.Index(p.Codecs, name)
			if rank < 0 {
				continue
			}
		}
		if p.Preferred != "" && strings.EqualFold(p.Preferred, name) {
			rank = -1
		}
		codecs = append(codecs, format{fmt: f, pt: uint8(pt), name: name, rank: rank})
	}
	if len(codecs) == 0 {
		md.MediaName.Port.Value = 0
		return false
	}
	slices.SortStableFunc(codecs, func(a, b format) int { return a.rank - b.rank })
	var keep ptSet
	formats := make([]string, 0, len(codecs)+len(extra))
	for _, c := range append(codecs, extra...) {
		formats = append(formats, c.fmt)
		keep.add(c.pt)
	}
	md.MediaName.Formats = formats
	attrs := md.Attributes[:0]
	for _, a := range md.Attributes {
		switch a.Key {
		case "rtpmap", "fmtp", "rtcp-fb":
			ptStr, _, _ := strings.Cut(a.Value, " ")
			if ptStr == "*" {
				break
			}
			if pt, err := strconv.ParseUint(ptStr, 10, 7); err != nil || !keep.has(uint8(pt)) {
				continue
			}
		}
		attrs = append(attrs, a)
	}
	md.Attributes = attrs
	return true
}

// payloadInfo is what one payload type of an m= line carries.
type payloadInfo struct {
	name  string
	clock uint32
}

// rtpmaps reads the payload types of an RTP m= line: static ones from RFC
// 3551, dynamic ones from a=rtpmap (which may also rename a static one).
func rtpmaps(md *sdp.MediaDescription) map[uint8]payloadInfo {
	m := make(map[uint8]payloadInfo, len(md.MediaName.Formats))
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			continue
		}
		if s, ok := staticPayloadTypes[uint8(pt)]; ok {
			m[uint8(pt)] = payloadInfo{name: s.name, clock: s.clock}
		}
	}
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		ptStr, rest, ok := strings.Cut(a.Value, " ")
		if !ok {
			continue
		}
		pt, err := strconv.ParseUint(ptStr, 10, 7)
		if err != nil {
			continue
		}
		enc, clockStr, _ := strings.Cut(strings.TrimSpace(rest), "/")
		clockStr, _, _ = strings.Cut(clockStr, "/") // channels
		clock, err := strconv.ParseUint(clockStr, 10, 32)
		if err != nil || enc == "" {
			continue
		}
		m[uint8(pt)] = payloadInfo{name: codecName(enc, uint32(clock)), clock: uint32(clock)}
	}
	return m
}
