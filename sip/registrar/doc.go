// Package registrar is the SIP core's registrar (RFC 3261 10): the
// bindings of every line and what a REGISTER that has authenticated does
// to them.
//
// A Registrar (New, with functional options) owns:
//
//   - the binding table (Binding; read through Reachable): the unexpired contacts of each
//     line with their parsed URI, the address and transport each REGISTER
//     came from (calls go there, RFC 3581, whatever the Contact says:
//     Binding.RouteTo, Binding.BehindNAT) and whether a ping found the
//     contact unreachable;
//   - REGISTER processing after authentication (Register; RFC 3261 10.3
//     steps 3 to 8): the address of record must be the line, wildcard
//     removal (10.2.2), per-contact and header Expires (20.19), 423 with
//     Min-Expires for too short an interval (10.3 step 7, 20.23), the
//     Call-ID/CSeq order of refreshes (10.3 step 7), the line's contact
//     limit, and the 200 listing every binding with its expiry and a Date
//     (10.3 step 8);
//   - persistence (Store: restored by Load, lapsed ones removed, a shared
//     store's DeleteLapsedRegistration honoured) and cluster sync (Sync);
//   - the expect_registered alerts (unregistered, address changed);
//   - OPTIONS pings (PingLoop; RFC 3261 11): qualify for ping=1 lines and
//     NAT keep-alives for contacts behind NAT, sent through the server's
//     client (Sender).
//
// The first steps of 10.3 (the blocked-address check, To, the digest
// challenge) are the server's: it owns authentication (sip/auth) and
// calls Register once the request has proved a line. The operator-facing
// behaviour is specified in the sip package doc. registrar imports
// routing, records and sip/sipmsg, never the B2BUA, auth or the store
// (imports_test.go).
package registrar
