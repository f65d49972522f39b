package routing

import (
	"fmt"
	"net/netip"
	"strings"
)

// A sip_endpoint with a fixed host that is no line (EndpointIsLine: no
// secret, insecure=1, registration out, or a fixed host with registration
// none) is, on the SIP core, a trunk: another switch or a carrier at a
// known address, served as the rendered files serve it (render/pjsip.go,
// render/sipconf.go). EndpointTrunkOf builds what the call path reads of
// one; the rules, for the SIP core and the rendered files alike:
//
//   - Where it is: host (a name or an address; a name is resolved when
//     the routing view is built, as a peer's destination is), at port when
//     set, else the host's own port, else 5060 (5061 over TLS), over its
//     first transport (pjsip's transport-<first>; chan_sip's preferred).
//   - Calls from it: a request from its address over its transport is its
//     own. Over UDP the source port must be its port too, unless
//     insecure=1 (chan_sip's insecure=port,invite: the port is not
//     checked); over TCP and TLS, whose source address cannot be forged
//     and whose source port is the far end's choice, the address alone.
//     With a secret and insecure 0 its calls are challenged, and proved
//     with the digest of the secret under its defaultuser (else its name),
//     as the rendered inbound auth section is; with insecure=1 or no
//     secret the address is the proof. Its calls enter `[inbound]`: they
//     reach the switch's lines only, as a carrier's do, never the outside.
//   - Calls to it: its name, dialled by a line (or sent on by a line's
//     forwarding or destination), goes to it: Request-URI
//     sip:[defaultuser@]host:port as the rendered aor contact, From user
//     fromuser (else the caller id) at fromdomain (else the switch's
//     address), through outboundproxy when set; its challenges are
//     answered with defaultuser (else its name) and remotesecret (else
//     secret), the rendered outbound auth.
//   - registration=out: the switch registers at its host as defaultuser
//     (else its name) with remotesecret (else secret), Contact user
//     extension (else that user), and calls arriving on the registration
//     are calls from it (sip/outreg.go).
//
// INFERRED: a trunk is dialled by its name from lines only, not from
// carriers or other trunks (render's `[endpoints]` context is included by
// the lines' contexts, not by `[inbound]`): the switch is no relay between
// the outsides it connects.

// EndpointTrunk is a sip_endpoint the SIP core serves as a trunk.
type EndpointTrunk struct {
	ID   int
	Name string
	// Host is where its calls go and its registration is sent: host,
	// port (PortOrDefault) and transport ("udp", "tcp" or "tls").
	Host HostPort
	// AnyPort: a UDP request from its address is its own whatever the
	// source port (insecure=1).
	AnyPort bool
	// AuthUser is the digest username both ways: defaultuser, else name.
	AuthUser string
	// InSecret, when set, is what its calls are challenged for (secret,
	// unless insecure=1).
	InSecret string
	// OutSecret answers its challenges and its registrar's: remotesecret,
	// else secret.
	OutSecret string
	// RequestUser is the Request-URI user of calls to it (defaultuser).
	RequestUser string
	// FromUser and FromDomain replace From's user and host when set.
	FromUser, FromDomain string
	// Proxy is outboundproxy (nil: none).
	Proxy *HostPort
	// Qualify: OPTIONS to Host every QualifyFreq seconds.
	Qualify     bool
	QualifyFreq int
	// RegisterOut: the switch registers at Host (registration=out), with
	// ContactUser as its Contact's user.
	RegisterOut bool
	ContactUser string
	// Peer is what its calls are to the call path: a carrier's calls,
	// under the endpoint's codecs and dtmfmode (LineCodecOffer).
	Peer Peer
	// Line is its digest credential as the authenticator reads lines:
	// AuthUser and InSecret (nil without InSecret).
	Line *Phone
}

// endpointTrunkIDBase keeps the trunks' peer ids apart from peers' (which
// are positive) and from endpoint lines' ids.
const endpointTrunkIDBase = -1 << 29

// EndpointHasFixedHost reports whether e names a host (not empty, not
// dynamic).
func EndpointHasFixedHost(e *SIPEndpoint) bool {
	return e.Host != "" && !strings.EqualFold(e.Host, "dynamic")
}

// EndpointTrunkOf returns the trunk e is on the SIP core; ok is false when
// e is a line (EndpointIsLine) or has no fixed host, and err says why a
// fixed host cannot be served (a host or transport the API would refuse).
func EndpointTrunkOf(e *SIPEndpoint) (t EndpointTrunk, ok bool, err error) {
	if EndpointIsLine(e) || !EndpointHasFixedHost(e) {
		return EndpointTrunk{}, false, nil
	}
	hp, err := ParseHostPort(e.Host)
	if err != nil {
		return EndpointTrunk{}, false, fmt.Errorf("host: %w", err)
	}
	if e.Port != 0 {
		hp.Port = e.Port
	}
	hp.Transport, err = endpointTransport(e.Transport)
	if err != nil {
		return EndpointTrunk{}, false, err
	}
	t = EndpointTrunk{
		ID:          e.ID,
		Name:        e.Name,
		Host:        hp,
		AnyPort:     e.Insecure == 1,
		AuthUser:    EndpointAuthUser(e),
		OutSecret:   e.RemoteSecret,
		RequestUser: e.DefaultUser,
		FromUser:    e.FromUser,
		FromDomain:  e.FromDomain,
		Qualify:     e.Qualify == 1,
		QualifyFreq: e.QualifyFreq,
		RegisterOut: e.Registration == "out",
		ContactUser: e.Extension,
	}
	if t.OutSecret == "" {
		t.OutSecret = e.Secret
	}
	if e.Secret != "" && e.Insecure != 1 {
		t.InSecret = e.Secret
		t.Line = &Phone{ID: endpointTrunkIDBase - e.ID, Name: t.AuthUser, Password: e.Secret, CallMaximum: -1, TotalMaximum: -1}
	}
	if t.QualifyFreq <= 0 {
		t.QualifyFreq = 60
	}
	if t.ContactUser == "" {
		t.ContactUser = t.AuthUser
	}
	if e.OutboundProxy != "" {
		p, err := ParseHostPort(e.OutboundProxy)
		if err != nil {
			return EndpointTrunk{}, false, fmt.Errorf("outboundproxy: %w", err)
		}
		p.Transport = hp.Transport
		t.Proxy = &p
	}
	t.Peer = Peer{
		ID:         endpointTrunkIDBase - e.ID,
		Name:       e.Name,
		Type:       PeerSIP,
		Codecs:     endpointCodecs(e),
		DTMFMode:   endpointDTMFMode(e.DTMFMode),
		OutMaximum: -1,
	}
	return t, true, nil
}

// endpointTransport is the first of an endpoint's transports ("udp" when
// it names none), as the rendered files prefer it.
func endpointTransport(list string) (string, error) {
	for t := range strings.SplitSeq(list, ",") {
		switch t = strings.ToLower(strings.TrimSpace(t)); t {
		case "":
		case "udp", "tcp", "tls":
			return t, nil
		default:
			return "", fmt.Errorf("transport: %q is not udp, tcp or tls", t)
		}
	}
	return "udp", nil
}

// endpointDTMFMode is the endpoint's dtmfmode as a peer's: auto keeps
// telephone-event in offers, as rfc2833 does.
func endpointDTMFMode(mode string) string {
	if strings.EqualFold(mode, "auto") {
		return ""
	}
	return strings.ToLower(mode)
}

// addEndpointTrunks adds the trunks of endpoints to v: by lower-case name
// (a name a line has stays the line's, as for endpoint lines) and by the
// addresses their hosts resolve to.
func (v *callView) addEndpointTrunks(endpoints []SIPEndpoint, resolve func(host string) []netip.Addr) {
	v.trunks = map[string]*EndpointTrunk{}
	v.trunkAddrs = map[netip.Addr][]*EndpointTrunk{}
	for i := range endpoints {
		t, ok, err := EndpointTrunkOf(&endpoints[i])
		if err != nil || !ok {
			continue
		}
		name := strings.ToLower(t.Name)
		if _, taken := v.phones[name]; taken {
			continue
		}
		if _, taken := v.trunks[name]; taken {
			continue
		}
		p := &t
		v.trunks[name] = p
		v.trunkList = append(v.trunkList, p)
		for _, a := range resolve(t.Host.Host) {
			v.trunkAddrs[a] = append(v.trunkAddrs[a], p)
		}
	}
}

// Trunk returns the trunk named name (compared without case, as lines).
func (c *CallControl) Trunk(name string) (*EndpointTrunk, bool) {
	v := c.view.Load()
	t, ok := v.trunks[name]
	if !ok {
		t, ok = v.trunks[strings.ToLower(name)]
	}
	return t, ok
}

// TrunkBySource returns the trunk a request from src over transport
// ("UDP", "TCP", "TLS") comes from (the rules above): over UDP from its
// address and port, or its address alone when the trunk is insecure or
// anyPort relaxes the check for every trunk (WithPeerMatch's
// PeerMatchAddress); over TCP and TLS from its address. A trunk whose
// port matches exactly wins over one matched by address alone.
func (c *CallControl) TrunkBySource(src netip.AddrPort, transport string, anyPort bool) (*EndpointTrunk, bool) {
	var loose *EndpointTrunk
	for _, t := range c.view.Load().trunkAddrs[src.Addr().Unmap()] {
		if !strings.EqualFold(transport, t.Host.Transport) {
			continue
		}
		if t.Host.Transport != "udp" || int(src.Port()) == t.Host.PortOrDefault() {
			return t, true
		}
		if loose == nil && (t.AnyPort || anyPort) {
			loose = t
		}
	}
	return loose, loose != nil
}

// Trunks are the trunks of the current view, in the store's order: the
// SIP core registers those with RegisterOut and qualifies those with
// Qualify. The slice is the view's: do not change it.
func (c *CallControl) Trunks() []*EndpointTrunk { return c.view.Load().trunkList }
