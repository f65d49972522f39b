// Package cluster owns what several switch hosts on one store share
// beyond the store itself: the slots of outmaximum and totalmaximum, held
// in Redis so that a limit counts the calls of every host exactly, and
// the daily spend of lines with a call_maximum (Spend).
//
// # Call-limit slots
//
// Each limited key (a peer's outmaximum, a line's totalmaximum) is one
// Redis sorted set, {prefix}:limit:<kind>:<id>. A slot is one member,
// named after the host, the process's boot nonce and a sequence number
// (the slots one admission takes share it: they are in different sets),
// so no two calls anywhere share one; its score is the time its lease
// ends, in Redis's own clock (TIME), so the hosts' clocks do not matter.
// For each key a slot is taken in, atomically in Redis: drop the members
// whose lease has ended, count the rest, add the new member only when the
// count is below max. Two hosts can never both take the last slot.
//
// # One round trip per admission
//
// Everything an attempt of a call takes across hosts is one Lua script
// call (Limits.Admit, admitScript; routing.CallControl.Admit fills the
// request): the calling line's slot on the call's first attempt (the SIP
// core takes it then, not as the INVITE arrives), the peer's slot, and
// the growth of this host's holding of the line's spend by the attempt's
// first billing step (below). The script checks them in the order line,
// spend, peer, writes all of them only when none refuses, and answers
// which one refused, so the call answers 486 (line), tries its next peer
// (spend, peer) or goes on. A call routed out thus costs one round trip
// for its admission on its first peer, and one more for each further
// peer tried; a call to a local line takes that line's slot (and the
// caller's) in a round trip each (Acquire). Keys that are full on this
// host alone, and lines and peers without a limit, never reach Redis. A
// script call whose answer is lost (timeout) may have taken its slots:
// they are not renewed and lapse with their lease.
//
// One goroutine, the sender (sender.go), makes these round trips, and
// those of releases and renewals: what is waiting when it wakes goes in
// one pipeline, so under load calls share round trips, and a call's
// releases ride on later calls' admissions.
//
// Scripts run as EVALSHA; Run loads them first, so a NOSCRIPT answer and
// an EVAL (a second round trip) happen only after Redis restarted empty,
// once per script. The daemon's client (NewClient) skips go-redis's check
// of a pooled connection before each command, a system call, and sends a
// command that meets a connection Redis closed again instead.
//
// # Releases and leases
//
// The owning host renews the lease of every slot it holds every
// Lease/3 (a script call per 500 slots, in one round trip). A host that dies renews
// nothing: its slots stop counting when their lease ends, at most Lease
// (default 6 s) after its last renewal, and are removed by the next
// admission of the key. Freeing is ZREM of the call's own member: freeing
// twice, or freeing after the lease ended, removes nothing else, so a
// slot is never double-freed. Releases leave the call's goroutine at once
// and go to Redis with the next admission's round trip, or on their own
// after 20 ms (releaseLinger) when none comes: a slot is counted at most
// that long after its call ended. Renewals are sent by the same goroutine
// as releases, built from the slots held when sent, so a renewal never
// re-adds a slot a release removed.
//
// Renewing costs Redis one script call per 500 held slots every Lease/3,
// about 1.5 us of its CPU per slot: 10,000 calls up on a host with a
// limited peer and a limited line (20,000 slots) cost it some 15 ms a
// second. Lines and peers without a limit hold no slot.
//
// When Redis cannot be asked (timeout Timeout, default 500 ms) a limited
// key is treated as full: the call tries its next peer, and a call whose
// every peer is limited gets 503. Unlimited keys never reach Redis, so
// calls on them go on. Calls in progress are not touched: their slots are
// renewed again once Redis is back (renewal re-adds a slot whose lease
// lapsed during the outage, so the count is right again), and a release
// that failed is covered by the lease. /healthz reports the counter's
// reachability so a dispatcher stops sending new calls to a host that
// cannot reach it.
//
// # Daily spend
//
// A line's day is one Redis hash per line and day with a field per host
// (the host's name, not its nonce: a host restarting writes its field
// from its own call records): what that host holds of the line (its ended
// calls' cost, its running calls' grants, its ringing attempts'
// reservations; routing.SpendLedger). A host's holding grows only through
// the admission script: sum the other hosts' fields, and write this
// host's new holding only when the total stays within the line's limit.
// So a chargeable attempt is admitted in the round trip that takes its
// slots, and two hosts never both take the last of a line's money; a
// running call's grant is extended the same way (the script without
// slots) each second, one round trip per line with calls that need more.
// A holding that shrinks (an attempt that failed, a call that ended) is
// written without the check, one round trip as the charge ends. Redis
// away: new chargeable attempts of limited lines are refused, running
// calls go on, their grants extended on the host alone (the sum may then
// pass the limit by what they talk during the outage); a write that
// failed is made good by the line's next one.
package cluster
