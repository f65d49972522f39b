// Package auth is the SIP core's digest authentication (RFC 3261 22,
// RFC 2617, RFC 7616, RFC 8760), done by hand: sipgo has no server-side
// helper, and the Authorization parser reads outside input (fuzzed).
//
// An Authenticator (New, with functional options) owns, for one switch:
//
//   - the challenge: 401 WWW-Authenticate for REGISTER, 407
//     Proxy-Authenticate for INVITE (RFC 3261 22.2, 22.3), one header per
//     offered algorithm (RFC 8760 2.4; default MD5 alone), qop="auth";
//   - the nonce book: self-validating nonces (issue time, random, HMAC;
//     issuing costs no memory), stale=true for a right answer to an
//     expired nonce (RFC 7616 3.3), the highest nonce count per nonce so
//     a replay is refused (RFC 7616 3.4.5), kept in a table without
//     pointers;
//   - the check (Check): realm, offered algorithm, qop, the credentials'
//     uri against the Request-URI (RFC 3261 22.4, RFC 7616 3.4.6), the
//     response (RFC 2617 3.2.2.1 without qop, 3.2.2 with it), then the
//     line's source and allowed_ua (routing.SourceAllows,
//     routing.UserAgentAllows);
//   - the brute-force guard (Blocked): failures that say something about
//     the password block the source address for a while; a phone set to
//     another realm, algorithm or qop is not guessing and is not counted
//     towards it;
//   - the watch: failures counted by Reason and logged once per source and
//     reason an interval, and challenges never answered reported (a phone
//     that cannot use any offered challenge gives up silently).
//
// The operator-facing behaviour is specified in the sip package doc
// (# Authentication). auth imports routing (the line) and sip/sipmsg,
// never the B2BUA, the registrar or the store (imports_test.go).
package auth
