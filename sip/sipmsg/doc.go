// Package sipmsg holds the few message helpers every part of the SIP core
// uses on sipgo's messages, so that no part reaches into another for them:
//
//   - Header and HeaderValue find a header by name, case-insensitive (RFC
//     3261 7.3.1: field names are case-insensitive), without the
//     allocations of sipgo's GetHeader on the INVITE path;
//   - ListHas reads a comma-separated header value (RFC 3261 7.3.1, the
//     option tags of Supported, Require, Allow);
//   - Respond answers a server transaction (RFC 3261 8.2.6: To tag, Via,
//     Call-ID and CSeq copied by sipgo's NewResponseFromRequest);
//   - SourceAddr is the address a message came from as the transport saw
//     it (RFC 3261 18.2.1 received, RFC 3581 rport), never a header's
//     claim; HostIsNot compares a URI host with it (NAT detection);
//   - JoinHostPort formats a destination.
//
// It imports nothing of the module: every other package under sip/ may
// import it, and it imports none of them (imports_test.go).
package sipmsg
