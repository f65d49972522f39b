package media

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// SDP (RFC 8866, offer/answer RFC 3264) read and rewritten with
// github.com/pion/sdp/v3.

var (
	// ErrBadSDP is returned for a body that is not a parseable SDP.
	ErrBadSDP = errors.New("media: malformed SDP")
	// ErrSDPMismatch is returned for an answer whose m= lines do not match
	// the offer's (RFC 3264 6: same number, same order).
	ErrSDPMismatch = errors.New("media: answer does not match the offer")
)

// direction of a media stream as signalled (RFC 3264 5.1, 6.1).
type direction uint8

const (
	dirSendRecv direction = iota
	dirSendOnly
	dirRecvOnly
	dirInactive
)

func (d direction) String() string {
	return [...]string{"sendrecv", "sendonly", "recvonly", "inactive"}[d]
}

func parseDirection(attrs []sdp.Attribute) (direction, bool) {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv":
			return dirSendRecv, true
		case "sendonly":
			return dirSendOnly, true
		case "recvonly":
			return dirRecvOnly, true
		case "inactive":
			return dirInactive, true
		}
	}
	return dirSendRecv, false
}

// streamKind says how a stream is relayed.
type streamKind uint8

const (
	kindNone  streamKind = iota // not relayed: declined in what the other side sees
	kindRTP                     // RTP + RTCP, parsed, latched, counted
	kindUDPTL                   // T.38 fax (ITU-T T.38 Annex D): datagrams latched and counted, not parsed
)

func isRTPProto(protos []string) bool {
	p := strings.ToUpper(strings.Join(protos, "/"))
	switch p {
	case "RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF":
		return true
	}
	return false
}

func kindOf(md *sdp.MediaDescription) streamKind {
	if isRTPProto(md.MediaName.Protos) || isDTLSProto(md.MediaName.Protos) {
		return kindRTP
	}
	if strings.EqualFold(strings.Join(md.MediaName.Protos, "/"), "udptl") {
		return kindUDPTL
	}
	return kindNone
}

// mediaLine is what the relay needs from one m= line of a party's SDP.
type mediaLine struct {
	media string
	kind  streamKind
	port  int        // 0: declined
	addr  netip.Addr // connection address; invalid when absent or a host name
	hold  bool       // c= 0.0.0.0 (RFC 2543 hold)
	rtcp  netip.AddrPort
	mux   bool
	dir   direction
	pts   map[uint8]payloadInfo
	ptime int // ms, 0 when not given
	// webrtc is set on a DTLS-SRTP line (UDP/TLS/RTP/SAVPF): the party is
	// a WebRTC agent; its address is the one ICE finds, not c=.
	webrtc *webrtcLine
}

// rtpAddr is where the party wants RTP (or UDPTL), invalid when unknown.
func (m *mediaLine) rtpAddr() netip.AddrPort {
	if !m.addr.IsValid() || m.hold || m.port == 0 {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(m.addr, uint16(m.port))
}

// rtcpAddr is where the party wants RTCP when it does not multiplex: a=rtcp
// (RFC 3605) or the RTP port + 1 (RFC 3550 11).
func (m *mediaLine) rtcpAddr() netip.AddrPort {
	rtp := m.rtpAddr()
	if !rtp.IsValid() {
		return rtp
	}
	if m.rtcp.Port() != 0 {
		a := m.rtcp.Addr()
		if !a.IsValid() {
			a = rtp.Addr()
		}
		return netip.AddrPortFrom(a, m.rtcp.Port())
	}
	if rtp.Port() == 65535 {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(rtp.Addr(), rtp.Port()+1)
}

// parseConnAddr reads a c= line; host names and multicast groups are not
// addresses the relay can send to (INFERRED: SIP endpoints signal literal
// unicast addresses; a name would need a resolver on the signalling path).
func parseConnAddr(c *sdp.ConnectionInformation) (netip.Addr, bool) {
	if c == nil || c.Address == nil {
		return netip.Addr{}, false
	}
	s := c.Address.Address
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.IsMulticast() {
		return netip.Addr{}, true
	}
	return a.Unmap(), true
}

// pion/sdp accepts only the media types and transport protocol tokens of
// WebRTC-era IANA registrations: "m=image 5006 udptl t38" (T.38 fax, ITU-T
// T.38 Annex D, as every SIP fax offer reads) fails to parse. unmarshalSDP
// lets such m= lines through by handing pion a placeholder media type and
// protocol and putting the originals back into the parsed description
// (Marshal writes them unchanged). Nothing else of the SDP is touched.
var (
	pionMedia  = []string{"audio", "video", "text", "application", "message"}
	pionProtos = []string{"UDP", "RTP", "AVP", "SAVP", "SAVPF", "TLS", "DTLS", "SCTP", "AVPF", "TCP", "MSRP", "BFCP", "UDT", "IX", "MRCPv2", "FEC"}
)

func unmarshalSDP(body []byte) (*sdp.SessionDescription, error) {
	if !bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("v=")) {
		return nil, fmt.Errorf("%w: does not start with v=", ErrBadSDP)
	}
	type orig struct {
		index        int
		media, proto string
	}
	var fixed []orig
	var patched []byte
	index := -1
	rest := body
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		if !bytes.HasPrefix(line, []byte("m=")) {
			if patched != nil {
				patched = append(patched, line...)
			}
			continue
		}
		index++
		f := strings.Fields(string(line[2:]))
		if len(f) >= 3 && (!slices.Contains(pionMedia, f[0]) || slices.ContainsFunc(strings.Split(f[2], "/"), func(p string) bool { return !slices.Contains(pionProtos, p) })) {
			if patched == nil {
				patched = append(patched, body[:len(body)-len(rest)-len(line)]...)
			}
			fixed = append(fixed, orig{index: index, media: f[0], proto: f[2]})
			eol := "\n"
			if bytes.HasSuffix(line, []byte("\r\n")) {
				eol = "\r\n"
			}
			patched = append(patched, "m=application "+f[1]+" UDP "+strings.Join(f[3:], " ")+eol...)
			continue
		}
		if patched != nil {
			patched = append(patched, line...)
		}
	}
	if patched != nil {
		body = patched
	}
	sd := &sdp.SessionDescription{}
	if err := sd.Unmarshal(body); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	// pion accepts a description that is only "v=0"; RFC 8866 5 requires
	// o=, s= and t=, and what Marshal makes of an empty origin does not
	// parse again.
	if sd.Origin.NetworkType == "" || sd.Origin.UnicastAddress == "" || len(sd.TimeDescriptions) == 0 {
		return nil, fmt.Errorf("%w: no o= or t= line", ErrBadSDP)
	}
	for _, o := range fixed {
		if o.index < len(sd.MediaDescriptions) {
			md := sd.MediaDescriptions[o.index]
			md.MediaName.Media = o.media
			md.MediaName.Protos = strings.Split(o.proto, "/")
		}
	}
	return sd, nil
}

// parseSDP reads a party's SDP.
func parseSDP(body []byte) (*sdp.SessionDescription, []mediaLine, error) {
	sd, err := unmarshalSDP(body)
	if err != nil {
		return nil, nil, err
	}
	sessAddr, _ := parseConnAddr(sd.ConnectionInformation)
	sessDir, _ := parseDirection(sd.Attributes)
	lines := make([]mediaLine, len(sd.MediaDescriptions))
	for i, md := range sd.MediaDescriptions {
		l := &lines[i]
		l.media = md.MediaName.Media
		l.kind = kindOf(md)
		l.port = md.MediaName.Port.Value
		l.addr = sessAddr
		if a, ok := parseConnAddr(md.ConnectionInformation); ok {
			l.addr = a
		}
		if l.addr.IsValid() && l.addr.IsUnspecified() {
			l.hold = true
		}
		l.dir = sessDir
		if d, ok := parseDirection(md.Attributes); ok {
			l.dir = d
		}
		for _, a := range md.Attributes {
			switch a.Key {
			case "rtcp-mux":
				l.mux = true
			case "rtcp":
				l.rtcp = parseRTCPAttr(a.Value)
			case "ptime":
				if v, err := strconv.Atoi(strings.TrimSpace(a.Value)); err == nil && v > 0 && v <= 1000 {
					l.ptime = v
				}
			}
		}
		if l.kind == kindRTP {
			l.pts = rtpmaps(md)
		}
		if isDTLSProto(md.MediaName.Protos) {
			// JSEP's c=IN IP4 0.0.0.0 and port 9 are placeholders (RFC
			// 8829 5.2.1), not hold: ICE finds the address.
			l.webrtc = parseWebRTC(sd, md)
			l.addr, l.hold = netip.Addr{}, false
		}
	}
	return sd, lines, nil
}

// parseRTCPAttr reads "a=rtcp:port [IN IP4 addr]" (RFC 3605); the address
// is invalid when absent.
func parseRTCPAttr(v string) netip.AddrPort {
	f := strings.Fields(v)
	if len(f) == 0 {
		return netip.AddrPort{}
	}
	port, err := strconv.ParseUint(f[0], 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}
	}
	var addr netip.Addr
	if len(f) == 4 {
		if a, err := netip.ParseAddr(f[3]); err == nil {
			addr = a.Unmap()
		}
	}
	return netip.AddrPortFrom(addr, uint16(port))
}

// localStream is the relay's side of one m= line towards a party: the
// ports that party is to send to.
type localStream struct {
	kind    streamKind
	rtpPort int // 0: declined towards this party
	mux     bool
	protos  []string // the transport protocol to write; nil: the party's
	crypto  []string // the relay's a=crypto values (sdesneg.go)
	// webrtc: the party is a WebRTC agent, the line is DTLS-SRTP with
	// these ICE-lite and DTLS attributes; plain: the line came from a
	// WebRTC agent and goes to a SIP party as RTP/AVP (RTP/SAVP with
	// the relay's SDES keys when protos says so) without them.
	webrtc   *webrtcAttrSet
	plain    bool
	toWebRTC bool // the party is a WebRTC agent (a declined line keeps its protocol)
}

// origin is the o= line the relay shows one party (RFC 8866 5.2): its own
// session id, a version raised whenever what it sends changes (RFC 3264
// 8), the advertised address instead of the other party's.
type origin struct {
	id      uint64
	version uint64
	last    string
}

// rewriteSDP turns the SDP of one party (sd, already parsed) into the SDP
// for the other party: connection addresses become addr, each m= line's
// port its relay port (local[i]), a=rtcp names the relay's RTCP port,
// a=rtcp-mux is set as decided, ICE attributes (whose candidates name the
// party's addresses and cannot work through the relay) are removed.
// Direction attributes, formats and every other attribute pass unchanged.
// offer says whether the SDP is an offer.
func rewriteSDP(sd *sdp.SessionDescription, local []localStream, addr netip.Addr, o *origin, offer bool) ([]byte, error) {
	conn := &sdp.ConnectionInformation{NetworkType: "IN", AddressType: "IP4", Address: &sdp.Address{Address: addr.String()}}
	if addr.Is6() {
		conn.AddressType = "IP6"
	}
	sd.ConnectionInformation = conn
	sd.Attributes = dropAttrs(sd.Attributes, false)
	if slices.ContainsFunc(local, func(ls localStream) bool { return ls.webrtc != nil || ls.plain }) {
		sd.Attributes = dropWebRTCAttrs(sd.Attributes)
		if slices.ContainsFunc(local, func(ls localStream) bool { return ls.webrtc != nil }) {
			sd.Attributes = append(sd.Attributes, sdp.NewPropertyAttribute("ice-lite"))
		}
	}
	for i, md := range sd.MediaDescriptions {
		ls := local[i]
		md.ConnectionInformation = nil
		if ls.protos != nil {
			md.MediaName.Protos = ls.protos
		}
		if ls.rtpPort == 0 || md.MediaName.Port.Value == 0 {
			// Declined (RFC 3264 6): the port is 0 and the attributes
			// mean nothing; they go, with any address they name.
			md.MediaName.Port.Value = 0
			md.MediaName.Port.Range = nil
			md.Attributes = nil
			md.Bandwidth = nil
			// The line keeps the protocol its party offered or
			// was offered: an answer's m= line mirrors the offer's
			// (RFC 3264 6).
			switch {
			case ls.toWebRTC:
				md.MediaName.Protos = []string{"UDP", "TLS", "RTP", "SAVPF"}
			case ls.plain && ls.protos == nil:
				md.MediaName.Protos = []string{"RTP", "AVP"}
			}
			continue
		}
		md.MediaName.Port.Value = ls.rtpPort
		md.MediaName.Port.Range = nil
		md.Attributes = dropAttrs(md.Attributes, true)
		switch {
		case ls.webrtc != nil:
			md.MediaName.Protos = []string{"UDP", "TLS", "RTP", "SAVPF"}
			md.Attributes = append(dropWebRTCAttrs(md.Attributes), webrtcAttrs(ls.webrtc)...)
		case ls.plain:
			if ls.protos == nil {
				md.MediaName.Protos = []string{"RTP", "AVP"}
			}
			md.Attributes = dropWebRTCAttrs(md.Attributes)
		}
		if ls.kind == kindRTP {
			// An offer of rtcp-mux still names the RTCP port, in case
			// the answer declines it (RFC 5761 5.1.1).
			if !ls.mux || offer {
				md.Attributes = append(md.Attributes, sdp.NewAttribute("rtcp", strconv.Itoa(ls.rtpPort+1)))
			}
			if ls.mux {
				md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute("rtcp-mux"))
			}
			for _, c := range ls.crypto {
				md.Attributes = append(md.Attributes, sdp.NewAttribute("crypto", c))
			}
		}
	}
	sd.Origin.NetworkType = "IN"
	sd.Origin.AddressType = conn.AddressType
	sd.Origin.UnicastAddress = addr.String()
	sd.Origin.SessionID = o.id
	// A changed SDP gets a higher version, an unchanged one keeps it (RFC
	// 3264 8): compare the content with the version left out.
	sd.Origin.SessionVersion = 0
	canon, err := sd.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	if s := string(canon); s != o.last {
		if o.last != "" {
			o.version++
		}
		o.last = s
	}
	sd.Origin.SessionVersion = o.version
	out, err := sd.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	return out, nil
}

// dropAttrs removes what the relay replaces or what must not cross it:
// rtcp and rtcp-mux (set again per leg) and ICE (RFC 8839) attributes.
func dropAttrs(attrs []sdp.Attribute, media bool) []sdp.Attribute {
	out := attrs[:0]
	for _, a := range attrs {
		switch a.Key {
		case "candidate", "remote-candidates", "ice-ufrag", "ice-pwd", "ice-options", "ice-lite", "ice-mismatch", "end-of-candidates":
			continue
		case "crypto":
			continue // a party's SDES key is for the relay only (sdesneg.go)
		case "rtcp", "rtcp-mux":
			if media {
				continue
			}
		}
		out = append(out, a)
	}
	return out
}
