// Package routing is the switch's call path: the plain objects a call is
// decided on (peers, lines, plans, routes, time groups, cost rows, fed by
// engine's snapshot of the store), the route table (longest prefix), peer
// order, least cost, time groups, the failover policy, call limits, number
// translation and CallControl, the view the SIP core asks while calls run.
// It imports no storage (nor anything that does): the compiler keeps the
// call path off SQL. Lookups take no lock and do not allocate; a new store
// revision is compiled into a new immutable state and swapped in whole.
//
// # Routing rules
//
// These are the rules the route table, the SIP core, route simulation and
// the rendered Asterisk dialplan all follow.
//
// Numbers. Every number from outside (a Request-URI user, a carrier's
// caller, a line's forwarding, an API parameter) is decided on as its dial
// string (NormalizeNumber, Dialled: number.go): escapes decoded,
// separators removed, '+' only first; a called number that is neither a
// line's name nor a dial string is refused (ErrInvalidNumber, 484).
//
// Prefixes. Called and caller prefixes hold up to MaxPrefixLen characters
// of 0-9 * # + (ValidPrefix). A prefix matches a number that starts with
// it; "" matches every number, including an empty caller.
//
// Class of service. A call that is a line's (the caller's, or a forwarding
// line's) is first checked against the line's class of service: its cos,
// or for 0 the default_cos setting; 0 there too, or the built-in class 1,
// allows every number. A class's rules are tried in ascending position,
// then id; a rule matches when the called number starts with its prefix
// ("" matches all) and, if it has a time group, while the group is active;
// the first matching rule allows (allow=1) or bars (allow=0) the call, and
// when none matches the class's otherwise ("allow" or "deny") decides. A
// barred call is ErrCOSBarred (an ErrCallBarred) before any route is
// looked at; a class id that names no class bars every call. Calls from
// peers to a line, and simulations by plan alone, have no class.
//
// Route match. Route R matches a call (called, caller, media) when called
// starts with R.called_prefix, caller starts with R.caller_prefix, and the
// media fit: route voice_fax takes voice and fax calls, voice only voice,
// fax only fax; a call's media "" is voice.
//
// Route choice. Among matching routes of the plan the longest called
// prefix wins; then the longest caller prefix; then an exact media (voice
// or fax) beats voice_fax; then, for duplicates the API should have
// refused, the lowest route id.
//
// No fallback. The winning route decides. allow=0 refuses the call
// (ErrCallBarred) even when a shorter route would allow it, so a barred
// premium range stays barred. allow=2 allows the call only while its time
// group is active and allow=3 only while it is not; otherwise the call is
// refused, not passed to a shorter route (Kamailio's "stopper"): a range
// an operator barred out of hours must not leak to the broad route. A
// route's time group is its timegroup, or when that is 0 its plan's
// cos_timegroup. With neither, allow=2 refuses and allow=3 allows. An
// unknown time group is inactive.
//
// Time groups. A group is active when any of its periods is; a group
// without periods never is. A period is active when all the criteria it
// sets hold in its time zone (IANA name, "" = UTC): days, a string of
// weekday digits Monday=1..Sunday=7 ("" = every day), checked against the
// local day of the moment, also after midnight in a wrapping window; the
// time of day from starthour:startminute to endhour:endminute, both minutes
// included, wrapping midnight when the start is after the end; a window
// that ends where it starts (00:00..00:00, 09:30..09:30) is the whole day,
// as is 0:00..23:59 (INFERRED: one rule for every start==end window, the
// dialplan's any-time, rather than one minute); startdate and enddate
// "YYYY-MM-DD", both days included, "" unbounded. Cost rows' hour windows
// follow the same rule.
//
// Peer order. A route's peers are tried as peer1, peer2, peer3. peer1 0 is
// the default peer of Settings (none when that is 0); peer2 or peer3 0 is
// none; -1 expands, in its place, into least-cost order. A peer appears
// once, at its first place; unknown peer ids are skipped. A route that
// allows the call but leaves no peer gives ErrNoPeer.
//
// Least cost. Only peers with costs=1 take part. A peer's price for a
// number is its matching cost row with the longest called prefix; a row
// matches when the caller prefix (caller_type prefix; a group row matches
// only with an empty caller_prefix, sipswitch having no caller groups),
// media, the called number's length (called_min..called_max), days, the
// hour window and the unix start (included) .. end (excluded) all fit.
// Between rows of one prefix the longer caller prefix, then exact media,
// then the higher priority, then the lower id wins. When the winning row
// has least_cost=0 the peer is left out: it is never offered at the price
// of a shorter row that is not its price for the number. Peers are ranked
// by cost, then connectfee, then higher priority, then lower peer id.
// Cost rows' days and hours are read in UTC unless WithCostLocation says
// otherwise.
//
// Number translation (TranslateNumbers). The called number sent to a peer
// is its called_prefix followed by the number, with trailing '#' removed
// first when called_strip_hash=1. The caller id is the peer's callerid when
// set; otherwise callerid_unknown when the caller's number is unknown or
// empty, callerid_withheld when withheld, else the caller's number; "" sends
// none.
//
// Failover (DefaultFailoverPolicy). The next peer is tried after no answer
// within the peer's timeout, 408, 5xx but 501, 6xx but 600 and 603, the
// peer's outmaximum being reached, and no response at all. 2xx, 404, 484,
// 486, 487 and every other 4xx end the call. In the dialplan: CHANUNAVAIL
// and CONGESTION continue; BUSY, NOANSWER, ANSWER, CANCEL stop. fail_percent
// makes that share of attempts to a peer fail as a 503 (FailureInjector).
//
// Reserved peers. A peer whose customer is above 0 carries only the calls
// of lines of that customer and the customers below it (INFERRED: the
// tree, as plan_customer's "and children"); for any other call Decide
// leaves it out (Decision.Reserved), as if the route did not name it. 0
// and -1 reserve it for nobody.
//
// Call limits (CallLimits). outmaximum and totalmaximum admit a call only
// while fewer calls hold a slot; -1 is unlimited. Admission is one atomic
// step and a slot is released exactly once. An attempt toward a peer is
// admitted by CallControl.Admit, one typed request (Admission) for its
// parts: the calling line's slot (on the call's first admitted attempt),
// the spend's first step and the peer's slot, checked in that order, all
// or none; across hosts (SharedLimits) the limited parts are one atomic
// step, one round trip.
//
// Spend limits (SpendLedger). call_maximum admits a chargeable attempt
// (Tariff.Chargeable) only when the line's committed spend today, what
// its other attempts and calls in progress hold, and the attempt's first
// billing step (Tariff.Charge of a started call) stay within the limit;
// the step is held from then (Reserve, one atomic step, across hosts with
// SharedSpend) until the attempt fails or the call, once answered, ends.
// An answered call holds a grant extended every second to its cost a
// second ahead; when a line's grants cannot be extended all its calls are
// ended, and a call is billed at most the talk its grant covers
// (Tariff.Covered), so a line never spends past its limit. -1 is
// unlimited.
package routing
