// Package console is the operator's web console (issue 27), served by
// sipswitch serve at / on the admin port (HTTPS when configured).
//
// What it is made of, and why: server-rendered pages (html/template) and
// one small vanilla JavaScript file (static/console.js, about a hundred
// lines), both embedded in the binary with embed — no CDN, no build step,
// no npm dependency to audit or update. Every page works without the
// script (links, forms that POST, full page loads); the script only adds
// live updates (an EventSource on the event stream reloading the table it
// shows), the dashboard's chart refresh and a confirmation before a
// hang-up or unregister. INFERRED: htmx or a framework would bring a
// vendored file larger than all of this for the same few behaviours.
//
// Everything a page shows or changes goes through the Enswitch API's own
// functions (api.Handler.Invoke) as the logged-in user: the same role
// checks, the same scope (a user-role login sees only its lines), the same
// validation and messages — shown beside the field they name — and the same
// audit log (via "console"). Lists page through the API (limit/offset;
// search is the list's own prefix filter), so 10,000 routes are never
// loaded at once.
//
// Login uses the API's users, bcrypt, and the service's failed-login
// limits (counted with the APIs'), into a session table with the gateway
// API's rules (api.Sessions: 256-bit token, 30 min idle, 12 h absolute,
// 10 per user). The session cookie is HttpOnly, SameSite=Strict, Secure
// when the request came over TLS. Every POST carries the session's CSRF
// token (synchronizer token, compared in constant time) and, when the
// browser sends one, an Origin naming this host; the login form carries a
// double-submit token of its own. Responses forbid framing and inline
// script (Content-Security-Policy) and are never cached.
package console
