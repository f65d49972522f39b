package capture

import "github.com/emiago/sipgo/sip"

// Install makes s receive every SIP message the process's sipgo
// transports read and write. sipgo's tracer belongs to the process: call
// it once, before the SIP core starts, and never with two Senders.
func Install(s *Sender) {
	sip.SIPDebugTracer(s)
	sip.SIPDebug = true
}
