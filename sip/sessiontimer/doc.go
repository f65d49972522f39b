// Package sessiontimer is the pure part of SIP session timers (RFC 4028):
// reading the headers that bear on them, negotiating a leg's timer, and
// when the timer next needs attention. It keeps no call state and sends
// nothing: the B2BUA (package sip) holds a Timer per leg, sends the
// refreshes and ends the call when a leg is gone.
//
// Session timers are how a B2BUA learns that a leg vanished without a BYE:
// a phone that lost its network or a carrier that restarted. Without them
// the call, and the peer's outmaximum slot, would last until the maximum
// call duration. Each leg negotiates its own timer: the caller's with the
// switch as UAS (Policy.Caller, RFC 4028 9), the callee's with the switch
// as UAC (Policy.AddOffer on the INVITE, Policy.Callee on the 2xx, RFC
// 4028 7.1, 7.2). Read parses Session-Expires (4, compact x), Min-SE (5),
// Supported (k) and Require (RFC 3261 20.37, 20.32) in one pass;
// Policy.Unsupported lists the Require tags answered 420 (RFC 3261
// 8.2.2.3). Timer.Due is half the interval for the refresher and interval
// minus min(32 s, interval/3) for the other side (RFC 4028 10).
//
// It imports sip/sipmsg only of the module (imports_test.go).
package sessiontimer
