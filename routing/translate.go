package routing

import "strings"

// TranslateNumbers returns the called number and caller id to send to
// peer: called gets the peer's called_prefix in front, after trailing '#'
// are stripped when called_strip_hash=1. The caller id is the peer's
// callerid when set (forced); otherwise callerid_unknown when the caller's
// number is unknown or empty, callerid_withheld when it is withheld, and
// the caller's own number when it may be shown. An empty caller id means
// send none.
func TranslateNumbers(peer *Peer, called, caller string, pres Presentation) (calledOut, callerID string) {
	if peer.CalledStripHash == 1 {
		called = strings.TrimRight(called, "#")
	}
	calledOut = called
	if peer.CalledPrefix != "" {
		calledOut = peer.CalledPrefix + called
	}
	switch {
	case peer.CallerID != "":
		callerID = peer.CallerID
	case pres == PresentationUnknown || caller == "":
		callerID = peer.CallerIDUnknown
	case pres == PresentationWithheld:
		callerID = peer.CallerIDWithheld
	default:
		callerID = caller
	}
	return calledOut, callerID
}

// SentFrom is the From user an INVITE to SIP peer carries for a call whose
// caller id (TranslateNumbers) is callerID and whose caller's number is
// pres: the caller id, or "anonymous" (RFC 3323 4.1.1.3) when there is
// none or when the caller's number may not be shown and the peer is
// trusted with it (send_privacy): that peer gets the identity in
// P-Asserted-Identity with Privacy: id instead. The SIP core sends it,
// the rendered files make Asterisk send it, and routes/simulate shows it.
func SentFrom(peer *Peer, callerID string, pres Presentation) string {
	if callerID == "" || pres != PresentationAllowed && peer.SendPrivacy == 1 {
		return "anonymous"
	}
	return callerID
}
