package render

import (
	"fmt"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
)

// A sip_endpoint that registers to the switch (routing.EndpointIsLine:
// registration in or a dynamic host, a secret, not insecure) is a line on
// the SIP core (routing.EndpointLine), and the rendered files serve it the
// same way: its calls enter its own `[phone-<name>]` context (lines by
// name, then the system default plan's routes; routing.EndpointLine says
// why that plan), it shows its name as caller id both ways, and its name
// is an extension of `[phones]` that dials it, so lines and carriers reach
// it as they reach a line. Other endpoints (a fixed host, registration
// out, insecure) stay trunks whose calls enter `[inbound]`.

// addEndpointLines builds m.endpointLines and lets m.lineName find them.
// A name a phone has stays the phone's, as on the SIP core.
func (m *model) addEndpointLines() {
	m.endpointLines = map[string]*routing.Phone{}
	for _, e := range m.endpoints {
		line, ok := routing.EndpointLine(e)
		if !ok {
			continue
		}
		if _, taken := m.lineByName[strings.ToLower(line.Name)]; taken {
			continue
		}
		if _, taken := m.lineByName[line.Name]; taken {
			continue
		}
		p := &line
		m.endpointLines[p.Name] = p
		m.lineByName[p.Name] = p
		m.lineByName[strings.ToLower(p.Name)] = p
	}
}

// endpointLine returns the line e is, when it is one the files serve
// (nil otherwise).
func (m *model) endpointLine(e *routing.SIPEndpoint) *routing.Phone {
	return m.endpointLines[e.Name]
}

// writeEndpointLineIdentity writes what a line's endpoint carries for the
// dialplan: its caller id (its name) outside and inside, and its customer
// (none) for reserved peers. It reports false after a failure.
func writeEndpointLineIdentity(w *confWriter, p *routing.Phone, setVar string) bool {
	v, err := callerIDValue(p.CallerNameExternal, routing.LineCallerID(p.CallerIDExternal, p.Name))
	if err != nil {
		w.fail(fmt.Errorf("%s: name: %w", w.ctx, err))
		return false
	}
	w.set("callerid", v, "name")
	w.set(setVar, "SS_CID_INTERNAL="+routing.LineCallerID(p.CallerIDInternal, p.Name), "name")
	w.set(setVar, "SS_CUSTOMER=0", "name")
	return true
}
