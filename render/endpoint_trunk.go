package render

import (
	"fmt"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
)

// A sip_endpoint at a fixed host that is no line is a trunk on the SIP
// core (routing.EndpointTrunk, which has the rules), and the files serve
// it the same way: its calls enter `[inbound]` (the lines only), it is
// identified by its address and, over UDP unless insecure=1, its port
// (pjsip identify match=host:port; chan_sip's type=peer without
// insecure=port), and a line dials it by its name through `[endpoints]`,
// which only the lines' contexts reach: Dial(PJSIP/<name>) or
// Dial(SIP/<name>), whose Request-URI is the aor contact
// sip:[defaultuser@]host:port, with the calling line's internal identity
// as a call to a line has it.

// endpointsContext holds an extension per trunk: the lines' contexts
// include it, `[inbound]` does not.
const endpointsContext = "endpoints"

// addEndpointTrunks builds m.endpointTrunks. A name a line has stays the
// line's, as on the SIP core.
func (m *model) addEndpointTrunks() {
	m.endpointTrunks = map[string]*routing.EndpointTrunk{}
	for _, e := range m.endpoints {
		t, ok, err := routing.EndpointTrunkOf(e)
		if err != nil || !ok {
			continue
		}
		if _, taken := m.lineByName[strings.ToLower(t.Name)]; taken {
			continue
		}
		m.endpointTrunks[strings.ToLower(t.Name)] = &t
	}
}

// endpointTrunk returns the trunk e is, when it is one the files dial
// (nil otherwise).
func (m *model) endpointTrunk(e *routing.SIPEndpoint) *routing.EndpointTrunk {
	return m.endpointTrunks[strings.ToLower(e.Name)]
}

// localName is the stored name of the line or trunk called name: what a
// line's call, forwarding or destination is decided on as it is
// (routing.Dialled), as on the SIP core.
func (m *model) localName(name string) (string, bool) {
	if n, ok := m.lineName(name); ok {
		return n, true
	}
	if t, ok := m.endpointTrunks[strings.ToLower(name)]; ok {
		return t.Name, true
	}
	return "", false
}

// trunkExtension renders the call of a line to trunk t.
func trunkExtension(d dialplan, t *routing.EndpointTrunk, driver Driver) {
	d.exten(t.Name, "NoOp(sip_endpoint "+t.Name+")")
	d.same("Dial(" + string(driver) + "/" + t.Name + ",,b(" + lineCallerIDContext + "^s^1(${SS_CID_INTERNAL}^${SS_CNAME_INTERNAL}^${SS_PRES_INTERNAL})))")
}

// trunkMatch is the pjsip identify match of trunk e at hp: host:port over
// UDP unless insecure=1, else the host alone (any port), as the SIP core
// identifies it.
func trunkMatch(e *routing.SIPEndpoint, hp routing.HostPort, transport string) string {
	if e.Insecure == 1 || transport != "udp" {
		return hp.Host
	}
	hp.Transport = transport
	if hp.Port == 0 {
		hp.Port = hp.PortOrDefault()
	}
	return hp.String()
}

// writeTrunkExtensions renders `[endpoints]` (none without trunks); seen
// holds the lines' extensions ('-' removed), which a trunk may not repeat.
func (m *model) writeTrunkExtensions(d dialplan, seen map[string]string, cfg *config) {
	if len(m.endpointTrunks) == 0 {
		return
	}
	d.section(endpointsContext)
	for _, e := range m.endpoints {
		t := m.endpointTrunk(e)
		if t == nil {
			continue
		}
		d.each(endpointRef(e), func() {
			if strings.HasPrefix(t.Name, "_") {
				d.fail(fmt.Errorf("%s: name: %w: a leading '_' makes an extension a pattern", d.ctx, ErrInvalidName))
				return
			}
			k := strings.ReplaceAll(t.Name, "-", "")
			if prev, ok := seen[k]; ok {
				d.fail(fmt.Errorf("%s: name: %w: same dialplan extension as %q ('-' is ignored)", d.ctx, ErrNameConflict, prev))
				return
			}
			trunkExtension(d, t, cfg.sipDriver)
			seen[k] = t.Name
		})
	}
}
