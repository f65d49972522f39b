package sip

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
)

// Emergency calls (routing/emergency.go decides which calls they are).
//
// On a call to an emergency number the SIP core:
//   - admits it past the switch's own overload limits once the line has
//     authenticated (isEmergency before the 407 round, admitEmergency
//     after), and past the line's totalmaximum (handleInvite);
//   - routes it with routing.Decide, which skips the class of service and
//     gives the attempts the line's callerid_location, presented; and
//     reserves nothing of the line's spend limit (routeOut);
//   - to a peer with emergency_location 1 sends the line's civic address
//     by value (RFC 6442 3): the INVITE's body becomes multipart/mixed
//     (RFC 5621) of the SDP offer and an application/pidf+xml PIDF-LO
//     (RFC 4119, profiled by RFC 5491: one dm:device, the civicAddress of
//     RFC 5139, method Manual, a deviceID: lineDeviceID), a Content-ID the Geolocation header points
//     to with a cid: URL (RFC 2392), and Geolocation-Routing: yes.
//     INFERRED "yes": RFC 6442 4.2 lets intermediaries route on the
//     location only with "yes" (absent means "no"), and an emergency call
//     is routed to its answering point by its location (RFC 6881 6);
//   - marks the call record (emergency 1) and counts the call
//     (Stats.EmergencyCalls, sipswitch_emergency_calls_total).
//
// The flood guard (flood.go) is not bypassed: it acts on datagrams before
// they are parsed, and exempts sources a line has authenticated from, so
// a registered phone's emergency call is not limited by it; an unknown
// source flooding is dropped before anyone could know what it dials.
//
// Enswitch's address lines map to civic address elements (INFERRED: the
// page gives free text lines): emergency_country to country,
// emergency_address_state to A1 (national subdivision),
// emergency_address_city to A3 (city), emergency_address1 to HNO and RD
// (a leading house number is split off: "1 High Street" is HNO 1, RD High
// Street), emergency_address2, emergency_address3 and
// emergency_address_other to LOC (additional location information, joined
// by "; "), emergency_address_code to PC, emergency_location_code to
// ADDCODE.

// isEmergency reports whether user (a Request-URI user) dials an
// emergency number. It is cheap enough for the overload check before
// authentication: a number is decided on as the router decides it.
func (s *Server) isEmergency(user string) bool {
	n, ok := s.dialled(user)
	return ok && s.dir.Emergency(n)
}

// admitEmergency takes a slot for an authenticated line's emergency call
// whatever the call-rate and concurrent-call limits say: it is counted,
// never refused. The caller gives it back with activeCalls.Add(-1).
func (s *Server) admitEmergency() { s.stats.activeCalls.Add(1) }

// pidfNS and the prefixes of the PIDF-LO document.
const (
	nsPIDF      = "urn:ietf:params:xml:ns:pidf"
	nsGeopriv   = "urn:ietf:params:xml:ns:pidf:geopriv10"
	nsCivicAddr = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
	nsDataModel = "urn:ietf:params:xml:ns:pidf:data-model"
)

// civicElement is one element of a civicAddress, in the schema's order.
type civicElement struct{ name, value string }

// civicAddress is line's emergency address as civic address elements in
// RFC 5139's order; empty elements are left out.
func civicAddress(line *routing.Phone) []civicElement {
	hno, rd := splitHouseNumber(line.EmergencyAddress1)
	var loc []string
	for _, v := range []string{line.EmergencyAddress2, line.EmergencyAddress3, line.EmergencyAddressOther} {
		if v = strings.TrimSpace(v); v != "" {
			loc = append(loc, v)
		}
	}
	all := []civicElement{
		{"country", line.EmergencyCountry},
		{"A1", line.EmergencyAddressState},
		{"A3", line.EmergencyAddressCity},
		{"RD", rd},
		{"HNO", hno},
		{"LOC", strings.Join(loc, "; ")},
		{"PC", line.EmergencyAddressCode},
		{"ADDCODE", line.EmergencyLocationCode},
	}
	out := all[:0]
	for _, e := range all {
		if e.value = strings.TrimSpace(e.value); e.value != "" {
			out = append(out, e)
		}
	}
	return out
}

// splitHouseNumber splits a leading house number ("1", "12a", "221B")
// from a street line: "1 High Street" is ("1", "High Street"). A line
// that does not start so is all street.
func splitHouseNumber(line string) (hno, street string) {
	line = strings.TrimSpace(line)
	i := 0
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	if i == 0 {
		return "", line
	}
	j := i
	for j < len(line) && j-i < 2 && (line[j] >= 'a' && line[j] <= 'z' || line[j] >= 'A' && line[j] <= 'Z') {
		j++
	}
	if j >= len(line) || line[j] != ' ' && line[j] != ',' {
		return "", line
	}
	return line[:j], strings.TrimLeft(line[j:], " ,")
}

// pidfLO is line's civic address as a PIDF-LO document (RFC 4119, RFC
// 5491 3.2: a dm:device for the line, located at now). entity is the
// presentity, the line's address of record (pres: URI).
func pidfLO(line *routing.Phone, entity string, now time.Time) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<presence xmlns="` + nsPIDF + `" xmlns:gp="` + nsGeopriv + `" xmlns:ca="` + nsCivicAddr + `" xmlns:dm="` + nsDataModel + `" entity="`)
	xmlEscape(&b, entity)
	b.WriteString("\">\n <dm:device id=\"")
	xmlEscape(&b, "line-"+line.Name)
	b.WriteString("\">\n  <gp:geopriv>\n   <gp:location-info>\n    <ca:civicAddress>\n")
	for _, e := range civicAddress(line) {
		b.WriteString("     <ca:" + e.name + ">")
		xmlEscape(&b, e.value)
		b.WriteString("</ca:" + e.name + ">\n")
	}
	b.WriteString("    </ca:civicAddress>\n   </gp:location-info>\n   <gp:usage-rules/>\n   <gp:method>Manual</gp:method>\n  </gp:geopriv>\n")
	b.WriteString("  <dm:deviceID>" + lineDeviceID(line.Name) + "</dm:deviceID>\n")
	b.WriteString("  <dm:timestamp>" + now.UTC().Format(time.RFC3339) + "</dm:timestamp>\n </dm:device>\n</presence>\n")
	return b.Bytes()
}

// lineDeviceID is the dm:deviceID of line name (RFC 4479 4.4.1: a URN;
// the schema requires one): a name-based UUID (RFC 9562 5.5, version 5)
// of the line's name, stable across calls and hosts. INFERRED: the
// switch knows no handset's MAC (hardware_address is refused).
func lineDeviceID(name string) string {
	h := sha1.Sum([]byte("sipswitch line " + name))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return "urn:uuid:" + x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

func xmlEscape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // a bytes.Buffer does not fail
}

// addLocation turns req, an INVITE to a peer on an emergency call from
// line, into one carrying line's location by value: its body (the SDP
// offer, Content-Type ct) and a PIDF-LO as multipart/mixed, the
// Geolocation header naming the PIDF-LO part by its Content-ID, and
// Geolocation-Routing. host is the switch's own host, for the Content-ID.
func (c *call) addLocation(req *sip.Request, line *routing.Phone, host string) {
	id := c.callID
	if len(id) > 32 {
		id = id[:32]
	}
	cid := "loc-" + sanitizeToken(id) + "@" + host
	boundary := "sipswitch-" + sip.GenerateTagN(16)
	sdpType := "application/sdp"
	if ct := req.ContentType(); ct != nil {
		sdpType = ct.Value()
	}
	var body bytes.Buffer
	if sdp := req.Body(); len(sdp) > 0 {
		body.WriteString("--" + boundary + "\r\nContent-Type: " + sdpType + "\r\n\r\n")
		body.Write(sdp)
		// The CRLF before a delimiter is the delimiter's (RFC 2046
		// 5.1.1): the SDP keeps its own last CRLF.
		body.WriteString("\r\n")
	}
	body.WriteString("--" + boundary + "\r\nContent-Type: application/pidf+xml\r\nContent-ID: <" + cid + ">\r\n\r\n")
	body.Write(pidfLO(line, "pres:"+line.Name+"@"+host, c.s.cfg.now()))
	body.WriteString("\r\n--" + boundary + "--\r\n")
	req.RemoveHeader("Content-Type")
	req.AppendHeader(sip.NewHeader("Content-Type", "multipart/mixed;boundary="+boundary))
	req.AppendHeader(sip.NewHeader("Geolocation", "<cid:"+cid+">"))
	req.AppendHeader(sip.NewHeader("Geolocation-Routing", "yes"))
	req.SetBody(body.Bytes())
	if strings.EqualFold(req.Transport(), "UDP") && len(req.String()) > udpMaxRequest {
		// RFC 3261 18.1.1: a request larger than 1300 bytes on a path of
		// unknown MTU MUST go over a congestion-controlled transport.
		// A PIDF-LO and an SDP seldom fit: TCP to the same address and
		// port (the peer must take TCP there; when it does not, the leg
		// sends the INVITE again without the location: startPeerLeg).
		req.SetTransport("TCP")
	}
}

// locatedOptions are the client options of an INVITE that addLocation
// moved to TCP: sipgo's usual build, then no fixed local address. The
// switch's client sends from its UDP listener's address, and sipgo looks
// a TCP connection up by that local address first, which would hand the
// INVITE to whatever TCP connection was opened from it, to another peer.
func locatedOptions(req *sip.Request) []sipgo.ClientRequestOption {
	if !strings.EqualFold(req.Transport(), "TCP") || req.GetHeader("Geolocation") == nil {
		return nil
	}
	return []sipgo.ClientRequestOption{sipgo.ClientRequestBuild, func(_ *sipgo.Client, r *sip.Request) error {
		r.Laddr = sip.Addr{}
		return nil
	}}
}

// udpMaxRequest is RFC 3261 18.1.1's limit for UDP on a path of unknown
// MTU.
const udpMaxRequest = 1300

// sanitizeToken keeps the characters of s a Content-ID's local part may
// hold (RFC 5322 dot-atom text, less what could confuse a parser).
func sanitizeToken(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			return r
		}
		return '-'
	}, s)
}
