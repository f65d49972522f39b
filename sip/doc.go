// Package sip is the live SIP core of the switch: a registrar with digest
// authentication and a back-to-back user agent (B2BUA) on
// github.com/emiago/sipgo that authenticates every call from a phone,
// routes it through the Directory (the engine's routing decision), fails
// over between peers, holds peers and phones under their concurrent-call
// limits and releases every slot on every way a call can end.
//
// The package owns the SIP wire side only: registrations (in memory,
// persisted through a RegistrationStore), nonces, the table of calls in
// progress and their dialogs. It never reads the database and never decides
// a route itself.
//
// Each A-leg INVITE handler goroutine owns its call from the first INVITE to
// the last BYE: every admission slot it acquires is released by a deferred
// function in that goroutine, so answer+BYE, CANCEL, failure, no-answer
// timeouts, a failed ACK and the maximum call duration all end in the same
// cleanup.
package sip
