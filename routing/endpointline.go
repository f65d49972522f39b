package routing

import (
	"strings"
)

// A sip_endpoint that registers to the switch is, on the SIP core, a line:
// a device that proves itself with a digest of its secret, registers a
// contact, is rung at that contact when its name is called, and places
// calls that are decided on as a line's are. EndpointLine builds that
// line, so the registrar, the authenticator and the B2BUA serve it with
// the code that serves phones (sip/doc.go, sip_endpoints).
//
// What the line holds, and why (INFERRED where the gateway page is silent:
// a sip_endpoint has no customer, plan, class of service or limits):
//   - Name: the endpoint's name, the number that rings it and the key of
//     its registrations and of its spend; the digest username is its
//     defaultuser, else its name, as the rendered auth section's username
//     (EndpointAuthUser; CallControl.LineByUser finds it by that).
//   - Password: its secret.
//   - Customer 0, plan 0: its calls follow the system default plan
//     (Settings.DefaultPlan), as a line of no customer and no plan does;
//     reserved peers never carry them; class of service the default.
//   - No limits: totalmaximum and call_maximum -1.
//   - Its own name as caller id, presented both ways (a line's keyword
//     caller ids), since the endpoint has no caller-id parameter.
//   - Ping: qualify (OPTIONS to the registered contact, a contact that does
//     not answer is skipped), as Asterisk qualifies a registered endpoint.
//   - Codecs: the enabled audio_codecs in codec_order, the endpoint's
//     allow= list; "" (any) when it enables none.
//   - delivery register, expect_registered 0, the maximum ring time.
//
// An endpoint that registers elsewhere (registration out), has a fixed
// host with registration none, no secret or insecure=1 (identified by
// address, not by a secret) is no line (see EndpointIsLine): with a fixed
// host it is a trunk (endpointtrunk.go, EndpointTrunkOf), which the
// switch calls at that host, takes calls from and, with registration
// out, registers at; with none (a dynamic host and no secret) nothing on
// the SIP core reaches it.

// endpointLineIDBase keeps endpoint lines' ids apart from phones' (which
// are positive): call-limit counters are keyed by id.
const endpointLineIDBase = -1 << 30

// EndpointIsLine reports whether e registers to the switch with its
// secret: registration in, or no fixed host (empty or "dynamic") and not
// registration out; a secret; not insecure.
func EndpointIsLine(e *SIPEndpoint) bool {
	if e.Secret == "" || e.Insecure == 1 || e.Registration == "out" {
		return false
	}
	dynamic := e.Host == "" || strings.EqualFold(e.Host, "dynamic")
	return e.Registration == "in" || dynamic
}

// EndpointAuthUser is the digest username e authenticates with: its
// defaultuser, else its name.
func EndpointAuthUser(e *SIPEndpoint) string {
	if e.DefaultUser != "" {
		return e.DefaultUser
	}
	return e.Name
}

// EndpointLine is the line e is on the SIP core; ok is false when e is no
// line (EndpointIsLine).
func EndpointLine(e *SIPEndpoint) (Phone, bool) {
	if !EndpointIsLine(e) {
		return Phone{}, false
	}
	return Phone{
		ID:                   endpointLineIDBase - e.ID,
		Name:                 e.Name,
		Password:             e.Secret,
		CallMaximum:          -1,
		TotalMaximum:         -1,
		CallerIDExternal:     "default",
		CallerIDInternal:     "default",
		PresentationExternal: 1,
		PresentationInternal: 1,
		Codecs:               endpointCodecs(e),
		Delivery:             "register",
		Media:                MediaVoice,
		Ping:                 e.Qualify,
		UseForwarding:        1,
		BType:                "hangup",
		DType:                "hangup",
		UType:                "hangup",
	}, true
}

// endpointCodecs is the endpoint's enabled codecs in codec_order, then
// the other enabled ones, as the renderer's allow= list (without the
// packetization, which SDP negotiation on the SIP core does not touch).
func endpointCodecs(e *SIPEndpoint) string {
	enabled := ParseCodecs(e.AudioCodecs)
	if len(enabled) == 0 {
		return ""
	}
	out := make([]string, 0, len(enabled))
	seen := map[string]bool{}
	add := func(c string) {
		if seen[c] {
			return
		}
		for _, en := range enabled {
			if en == c {
				seen[c] = true
				out = append(out, c)
				return
			}
		}
	}
	for _, c := range ParseCodecs(e.CodecOrder) {
		add(c)
	}
	for _, c := range enabled {
		add(c)
	}
	return strings.Join(out, ",")
}

// addEndpointLines adds the lines of the sip_endpoints that are lines
// (EndpointLine) to v.phones under their names, and returns the lines by
// digest username. A name or username a phone already has stays the
// phone's (the API refuses an endpoint named as a line; a switch file or
// an older store may still hold one): the endpoint is then no line.
func (v *callView) addEndpointLines(endpoints []SIPEndpoint) map[string]*Phone {
	users := make(map[string]*Phone, len(v.phones)+len(endpoints))
	for k, p := range v.phones {
		users[k] = p
	}
	for i := range endpoints {
		line, ok := EndpointLine(&endpoints[i])
		if !ok {
			continue
		}
		name := strings.ToLower(line.Name)
		user := strings.ToLower(EndpointAuthUser(&endpoints[i]))
		if _, taken := v.phones[name]; taken {
			continue
		}
		if _, taken := users[user]; taken {
			continue
		}
		p := &line
		v.phones[name] = p
		users[user] = p
	}
	return users
}
