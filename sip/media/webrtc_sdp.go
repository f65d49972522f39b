package media

import (
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/pion/dtls/v3/pkg/crypto/fingerprint"
	"github.com/pion/sdp/v3"
)

// The SDP of a WebRTC leg (RFC 8829 JSEP as browsers write it; RFC 8839
// ICE, RFC 8842 DTLS in SDP, RFC 5763 fingerprints and setup roles).

// isDTLSProto says whether an m= line's protocol is DTLS-SRTP
// (UDP/TLS/RTP/SAVP or UDP/TLS/RTP/SAVPF, RFC 5764 8); TCP/DTLS/RTP/SAVPF
// (ICE-TCP) is not carried.
func isDTLSProto(protos []string) bool {
	p := strings.ToUpper(strings.Join(protos, "/"))
	return p == "UDP/TLS/RTP/SAVPF" || p == "UDP/TLS/RTP/SAVP"
}

// webrtcLine is what a DTLS-SRTP m= line signals beside the media: the
// party's ICE credentials, its certificate's fingerprint, its DTLS role
// and its mid.
type webrtcLine struct {
	ufrag, pwd string
	fpHash     crypto.Hash // fingerprint algorithm; 0: none given
	fp         []byte      // fingerprint value
	setup      string      // actpass, active, passive, holdconn; "" when absent
	mid        string
}

// parseWebRTC reads the ICE and DTLS attributes of a DTLS-SRTP m= line,
// media level first, then session level (RFC 8839 5.4, RFC 8122 5).
func parseWebRTC(sd *sdp.SessionDescription, md *sdp.MediaDescription) *webrtcLine {
	w := &webrtcLine{}
	for _, attrs := range [][]sdp.Attribute{md.Attributes, sd.Attributes} {
		for _, a := range attrs {
			v := strings.TrimSpace(a.Value)
			switch a.Key {
			case "ice-ufrag":
				if w.ufrag == "" {
					w.ufrag = v
				}
			case "ice-pwd":
				if w.pwd == "" {
					w.pwd = v
				}
			case "setup":
				if w.setup == "" {
					w.setup = strings.ToLower(v)
				}
			case "mid":
				if w.mid == "" {
					w.mid = v
				}
			case "fingerprint":
				if w.fp == nil {
					w.fpHash, w.fp = parseFingerprint(v)
				}
			}
		}
	}
	return w
}

// parseFingerprint reads "sha-256 AB:CD:..." (RFC 8122 5); nil when it is
// not a hash function of RFC 8122's registry that Go has, or the value is
// not the hash's length in hex pairs.
func parseFingerprint(v string) (crypto.Hash, []byte) {
	alg, val, ok := strings.Cut(v, " ")
	if !ok {
		return 0, nil
	}
	h, err := fingerprint.HashFromString(strings.ToLower(alg))
	if err != nil || !h.Available() {
		return 0, nil
	}
	val = strings.TrimSpace(val)
	if len(val) != 3*h.Size()-1 {
		return 0, nil
	}
	b, err := hex.DecodeString(strings.ReplaceAll(val, ":", ""))
	if err != nil || len(b) != h.Size() {
		return 0, nil
	}
	return h, b
}

// iceCredentials are the relay's ICE username fragment and password on
// one stream end (RFC 8839 5.4: ufrag at least 4 and pwd at least 22
// ice-chars; here 8 and 32 hex digits, 32 and 128 random bits).
type iceCredentials struct {
	ufrag, pwd string
}

func newICECredentials() iceCredentials {
	var b [20]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return iceCredentials{ufrag: h[:8], pwd: h[8:]}
}

// webrtcAttrs are what the relay puts on a DTLS-SRTP m= line towards a
// WebRTC party: its mid, ICE-lite credentials and its one host candidate
// (the relay's RTP port; RFC 8839 5.1, priority for a host candidate of
// component 1 per RFC 8445 5.1.2.1), its certificate's fingerprint and
// its DTLS role (RFC 8842 5: actpass in an offer, passive in an answer:
// the relay is always the DTLS server; the browser connects).
func webrtcAttrs(w *webrtcAttrSet) []sdp.Attribute {
	attrs := make([]sdp.Attribute, 0, 8)
	if w.mid != "" {
		attrs = append(attrs, sdp.NewAttribute("mid", w.mid))
	}
	attrs = append(attrs,
		sdp.NewAttribute("ice-ufrag", w.creds.ufrag),
		sdp.NewAttribute("ice-pwd", w.creds.pwd),
		sdp.NewAttribute("fingerprint", w.fingerprint),
		sdp.NewAttribute("setup", w.setup),
		sdp.NewAttribute("candidate", "1 1 udp 2130706431 "+w.addr+" "+strconv.Itoa(w.port)+" typ host"),
		sdp.NewPropertyAttribute("end-of-candidates"),
	)
	return attrs
}

// webrtcAttrSet is the input of webrtcAttrs for one m= line.
type webrtcAttrSet struct {
	mid         string
	creds       iceCredentials
	fingerprint string // "sha-256 AB:..."
	setup       string
	addr        string
	port        int
}

// webrtcOnly are the attributes of a WebRTC party's SDP that mean nothing
// to, or would mislead, a SIP party: ICE and DTLS (handled by the relay),
// BUNDLE and mids, msid and ssrc (the browser's track and source names),
// RTP header extensions (the relay does not translate their ids), RTCP
// feedback and reduced-size RTCP (the plain leg is RTP/AVP).
var webrtcOnly = map[string]bool{
	"fingerprint": true, "setup": true, "tls-id": true, "connection": true,
	"group": true, "mid": true, "msid": true, "msid-semantic": true, "ssrc": true, "ssrc-group": true,
	"extmap": true, "extmap-allow-mixed": true, "rtcp-fb": true, "rtcp-rsize": true,
	"ice-ufrag": true, "ice-pwd": true, "ice-options": true, "ice-lite": true, "candidate": true,
	"end-of-candidates": true, "remote-candidates": true, "ice-mismatch": true,
}

// dropWebRTCAttrs removes webrtcOnly attributes.
func dropWebRTCAttrs(attrs []sdp.Attribute) []sdp.Attribute {
	out := attrs[:0]
	for _, a := range attrs {
		if !webrtcOnly[a.Key] {
			out = append(out, a)
		}
	}
	return out
}
