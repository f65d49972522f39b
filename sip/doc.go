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
// a route itself. Several switch hosts on one store share bindings: the
// daemon hands this host the bindings other hosts' registrars took
// (Server.SyncRegistrations), and calls to those lines go from this host
// straight to the address each REGISTER came from; a binding that lapses
// here leaves the store only if it lapsed there too.
//
// # Packages
//
// The SIP core is cut along the RFCs and along what each part needs; the
// compiler holds the cut (an import-guard test in each package, and
// imports_test.go here: nothing under sip/ reaches engine, storage or a
// database driver):
//
//   - sip/sipmsg: the message helpers every part uses (header lookup,
//     comma lists, responses, the transport's source address; RFC 3261
//     7.3, 8.2.6, 18.2.1, RFC 3581). Imports nothing of the module.
//   - sip/auth: digest authentication (RFC 3261 22, RFC 2617, RFC 7616,
//     RFC 8760): challenge, nonce book, check, brute-force guard, failure
//     watch. Imports routing and sipmsg.
//   - sip/registrar: the registrar (RFC 3261 10.3 after authentication,
//     10.2.2 wildcard, 20.19/20.23 expiry), the binding table, persistence
//     and cluster sync, expect_registered alerts, OPTIONS pings (RFC 3261
//     11). Imports records, routing and sipmsg.
//   - sip/sessiontimer: the pure part of session timers (RFC 4028 4, 5,
//     7, 9, 10): header reading, negotiation as UAS and UAC, due times.
//     Imports sipmsg.
//   - sip/media: the RTP relay and SDP rewriting (RFC 3264, 3550, 4566,
//     4961), unchanged by this cut.
//   - sip/msgsummary: the message-summary body (RFC 3842 5), read
//     strictly from the voicemail server and written again for phones.
//     Imports nothing of the module.
//   - sip (this package): the server that wires them (listeners, sipgo's
//     user agent, client and transaction layer, the flood limit, the
//     stateless answers to unauthenticated requests, Stats) and the B2BUA
//     (RFC 3261 12-17 as a UAS to the caller and a UAC to each callee;
//     RFC 3264 offer/answer through the relay; RFC 5806 Diversion; RFC
//     3323/3325 privacy and asserted identity). The B2BUA is split into
//     files by concern, grouped by prefix: call.go (the call's state),
//     callinvite.go (the INVITE gate: draining, overload shedding,
//     admission, peer match, authentication, 484, 420, 422),
//     calladmission.go, overload.go and readconn.go (the wait of new
//     INVITEs for a core, and shedding on it), readinvite.go and
//     readdialog.go (the UDP read loop's own INVITE transactions and the
//     in-dialog ACKs and BYEs it hands to the call without sipgo's
//     transaction layer: RFC 3261 17.2.1, RFC 6026), clienttx.go,
//     legdialog.go and legudp.go (the B-legs' side of the same: client
//     transactions the read loop hands their answers to, and the leg's
//     dialog on them over UDP; RFC 3261 12-13, 17.1), calldivert.go
//     (forwarding, busy/no-answer/unregistered destinations, voicemail),
//     callring.go (ringing a line's contacts, collecting legs),
//     callroute.go (route-out and failover), callbridge.go (the answered
//     call: ACK, bridge, session-timer duty), callteardown.go, calllog.go,
//     callmedia.go, callerid.go, leg.go (a B-leg), indialog.go,
//     sessiontimer.go (refreshes), record.go, stray.go; message waiting
//     is mwi.go (subscriptions) and mwirelay.go (the voicemail server's
//     NOTIFYs).
//
// Why the B2BUA stays in sip (INFERRED as the cut for now, not as the
// final one): the call reads the server's configuration, counters,
// dialog user agents, client, directory and the call table (some 130
// lines reach into the Server), and most of this package's tests drive it end to end
// through Server internals. Moving it out needs an interface for each of
// those first; until then sip is the server's core, and the parts that
// have no need of the call (auth, registrar, session-timer logic, message
// helpers) are packages the B2BUA imports and that never import it.
// handleRegister and the INVITE gate stay with the server because they
// need both authentication and the flood limit's trust; the registrar is
// handed a request that has proved a line.
//
// # Authentication
//
// REGISTER is challenged with 401 and INVITE with 407, one challenge header
// per offered algorithm (RFC 8760; default MD5 alone, see
// WithDigestAlgorithms), qop=auth. Nonces are self-validating (time,
// random, HMAC) and expire after the nonce TTL: a correct answer to an
// expired nonce gets a fresh challenge with stale=true. The highest nonce
// count seen per nonce is remembered, so a replayed Authorization is
// refused. The credentials' uri must be the Request-URI (RFC 3261 22.4,
// RFC 7616 3.4.6), so an answer computed for one called number places no
// call to another. Wrong passwords, unknown users, replays and uri
// mismatches count as failures; limit failures from one IP address within
// the window block the address (403 without challenge) for the block time
// (10 failures in 60 s block for 5 min). An answer with an algorithm the switch did not offer,
// another realm or a qop other than auth is refused but not counted
// towards the block: it is a phone's configuration, not a guess. An answer
// without qop is computed as RFC 2617 3.2.2.1 says (RFC 2069 phones).
//
// No failure is silent (INFERRED from what deployed phones do): every
// refusal is counted by reason (Stats.AuthFailuresBy: password,
// unknown_user, algorithm, realm, uri, qop, malformed, nonce) and logged
// WARN "sip auth failed" with the likely cause, once per source address
// and reason an interval (default 1 min) with the count of
// the same left out. A phone that cannot use any challenge offered gives
// up without a word; baresip 1.0, for one, refuses the whole 401 when one
// challenge names an algorithm it does not know. So a challenge that gets
// no answer from the same source address, port and From user within the
// watch window (default 30 s) counts as reason unanswered and logs "sip
// challenge never answered", naming the offered algorithms when SHA-256
// is among them. That is also why MD5 alone is the default: Asterisk and
// Kamailio offer MD5 alone, and interoperability, not strength, decides
// what a switch must offer every phone (RFC 8760 allows several
// challenges; SHA-256 is an opt-in for a switch whose phones all follow
// it). A per-line opt-in would need a seed parameter to carry it, and
// there is none: the switch-wide list is the only one.
//
// A phone's source (routing.ParseSource: up to 16 IP addresses or CIDR
// networks, the list the API validates and the renderer writes as
// deny/permit) restricts where it may register and call from; its allowed_ua
// (comma separated, case-insensitive substrings of the User-Agent header)
// restricts which devices may register and call. Both answer 403.
//
// A line's expect_registered is watched: with 1 or 2, its last binding
// lapsing, being removed (Expires: 0) or having lapsed while the switch was
// down logs a WARN "sip phone unregistered" with the reason and counts
// UnregisteredAlerts; with 2, a REGISTER from an IP address none of its
// current bindings came from logs "sip phone address changed" and counts
// AddressChangeAlerts. Lapsed registrations found at start are removed
// from the store.
//
// Lines with ping=1 have their contacts sent OPTIONS every ping interval
// (WithPing, default 60 s, timeout 3 s): a contact that does not answer is
// skipped by calls until it answers a later ping or registers again, and a
// line with no reachable contact counts as unregistered.
//
// WithFloodLimit (on by default: DefaultFloodLimit messages a second,
// DefaultFloodBlock) drops, before parsing, what an untrusted source
// address sends beyond a rate, and blocks it for a while, letting one
// message a second per port through: a scanner or a looping phone costs a
// map lookup per datagram. Trusted, never limited: a peer's or a trunk's
// source, and a source address and port a line has authenticated from
// (for an hour, or max_expires if longer, after its last proof;
// registrations loaded at start count), like Kamailio's pike behind
// allow_source_address.
//
// What a stranger makes the switch hold is bounded per source, not per
// message: REGISTER and OPTIONS answered without authentication are
// answered statelessly (statelessUntilAuthenticated); a line's first
// INVITE on UDP is challenged by the read loop from its raw bytes, with
// no transaction, the same bytes for a retransmission (challengeRaw,
// which says what it leaves to sipgo); a refused INVITE that reaches
// the full path (over TCP or TLS through sipgo, over UDP in the read
// loop's own transaction: readinvite.go) keeps its transaction for its
// ACK, at most maxHeldChallenges per
// untrusted address (challengeHold); nonces are self-validating (sip/auth's
// nonce book); the challenge watch is capped.
//
// An INVITE without Proxy-Authorization that arrives over UDP from exactly
// the address and port (5060 when none is named) of one of a peer's
// destinations or its proxy is inbound from that peer (WithPeerMatch
// relaxes this to the address alone, with the risk documented there) and
// may only reach local lines (404 otherwise): the switch is never an open
// relay. Every other INVITE is challenged and routed only once
// authenticated.
//
// # Calls
//
// The called number is the Request-URI user as routing.Dialled decides
// it: a line's name as it is, else its dial string (RFC 3261 escapes
// decoded, RFC 3966 separators - . ( ) and spaces removed, '+' kept only
// first), which is what every decision is made on and what peers are sent;
// anything else, an empty user included, is answered 484 Address
// Incomplete before any decision. A carrier's caller number is decided on
// the same way; one that is no dial string (anonymous, letters) is no
// number. Stored forwarding numbers and destinations go through the same
// rule.
//
// A virtual line (ltype phone, lnumber the physical line it is logged
// into; routing/virtual.go) has no device: a call to it is its call (its
// forwarding, dnd, acr, totalmaximum, ring time and destinations) and
// rings the physical line's registered contacts, under that line's
// delivery and codecs, with To naming the virtual line (its
// callername_internal as display name; INFERRED: the desk's phone shows
// whose call it is). The physical line's calls present the virtual line
// (its callerid_*, callername_*, presentation_*; INFERRED, hot-desking);
// everything else of them stays the physical line's.
//
// A called number equal to a phone's name rings all the line's registered
// contacts at once (sent to the address the registration came from; the
// Request-URI is the contact, or with delivery=last_number the contact
// with the line's number as user) for its ringtime. Per line: use_forwarding+forwarding sends the call on;
// dnd answers 486; acr refuses unknown/withheld callers with 433;
// totalmaximum is held on the calling and the called line (486 when full),
// except on a line's call to an emergency number (emergency.go), which no
// limit of the line or the switch refuses once the line has authenticated.
// The calling line's slot is taken as the call is delivered: before a
// local line or trunk rings, and for a call routed outside with its first
// admitted attempt (Directory.Admit), so that on a host of a cluster the
// line's slot, the peer's and the spend's first step cost one round trip
// to Redis together; a call none of whose attempts was admitted (no
// route, barred, every peer full) takes the line's slot after its
// routing failed, so that a line at its totalmaximum is busy (486)
// whatever it dialled, as the rendered dialplan answers.
// The line's destinations apply on busy (btype/bnumber, default code 486),
// no answer (dtype/dnumber, 480) and unregistered (utype/unumber, 480):
// type "hangup", an empty type or an empty number ends the call with that
// code; "voicemail" sends the call to the mailbox (the number, else the
// line's mailbox) on the voicemail server (WithVoicemail) with a Diversion
// naming the line, or without a server ends it with that code; any other
// type with a number routes the call on to the number (a local line, or
// outside on the line's own rate plan), never to the line itself. A call is sent on
// at most 5 times. A call a line sends on to the outside (forwarding or a
// destination) is the line's forwarded call, however it reached the line:
// it takes a slot of the line's totalmaximum, follows the line's plan,
// class of service and spend limit, carries one Diversion header naming
// the line that sent it on last, with counter the number of times it was
// sent on (RFC 5806; one header as Asterisk sends: addDiversions) and is counted
// (ForwardedCalls) and logged ("sip call forwarded").
//
// A call from a phone shows, outside, the line's callerid_external (a
// number; any keyword means the line's own number) and callername_external,
// withheld when presentation_external is 0; inside (to other lines) its
// callerid_internal, callername_internal and presentation_internal. A
// caller who withholds (From anonymous, Privacy: id) is withheld both
// ways. Calls from peers show their From as received.
//
// Any other number goes outside: Decide on the caller's plan and class of
// service (routing.ErrCOSBarred: 403 before any peer), then each attempt
// in order. A line may make a chargeable attempt (the peer's tariff costs
// something) only while what is left of its daily call_maximum, after
// what its other attempts and calls in progress hold, covers the
// attempt's first billing step. Each attempt is admitted in one step
// before its INVITE (Directory.Admit): the calling line's slot on the
// call's first admitted attempt (refused: 486, whatever peer), the spend's
// first step (refused: the next peer, which may charge nothing; 403 when
// no other peer carries the call), the peer's outmaximum slot; all or
// none.
// The step stays held while the attempt rings and is given back when it
// fails, is cancelled or times out, before the next peer reserves its
// own; on answer it becomes the call's charge, ended on whatever ends the
// call (BYE, session or media timeout, maximum duration, shutdown, an
// answer the caller never confirmed, which is billed as a call of no
// talk). The line's spend limit ends a call (BYE both legs, hangup
// spend_limit) when its grant cannot be extended (routing.SpendLedger);
// such a call is billed up to where its grant ended, not for the BYE
// round trips after. A peer at outmaximum is skipped (LimitReached), a
// fail_percent hit counts as 503, peers whose type is not sip/pjsip are
// skipped. The B-leg is a new INVITE (own Call-ID and tags) to the first
// host of the peer's destination (port 5060 by default) or via its proxy,
// with the caller's SDP (under the codec policy, and the relay's, below),
// Request-URI user Attempt.Called, From user
// Attempt.CallerID ("anonymous" when empty, or when withheld and the peer
// has send_privacy) with the line's callername_external as display name,
// P-Asserted-Identity (send_asserted_identity), Remote-Party-ID
// (send_rpid) and Privacy: id (send_privacy, withheld callers). A withheld
// caller's real number goes in those identity headers only to a peer with
// send_privacy (it is marked private there); other peers see
// callerid_withheld. 401/407 from the peer are answered with its username and
// password. 180/183 (with SDP) are relayed; the first 2xx wins. A peer that
// sends no 180/183 within the peer timeout (WithPeerTimeout) counts as
// TimedOut; after any failure ShouldTryNext decides whether the next
// attempt follows.
//
// Calls to a line go to the address each registration came from (RFC
// 3581: the REGISTER's source, whatever its Contact says), and the
// requests within a dialog with a phone (ACK, BYE, re-INVITE, refreshes)
// go where the phone's INVITE or answer came from, not to its Contact: a
// phone behind NAT names a private address there. A contact behind NAT
// (its Contact names another address than its source, or over UDP
// another port) is sent OPTIONS every ping interval as a keep-alive of
// the NAT's mapping, whatever the line's ping (INFERRED, as Kamailio's
// nathelper pings NATed contacts); only ping=1 lines are marked
// unreachable by a missing answer.
//
// A pending B-leg is cancelled with CANCEL when it has sent any response
// and with a forced local cancel when it has sent nothing (no CANCEL may
// precede a response, and the call must not wait for Timer B); a late 2xx
// from such a leg is ACKed and BYEd. Re-INVITE, UPDATE and INFO within a
// dialog are passed to the other leg; BYE from either side ends the other;
// OPTIONS is answered 200.
//
// # Message waiting
//
// Lines SUBSCRIBE to their own mailbox (RFC 3842 message-summary on RFC
// 6665; challenged, another's box 403) and the voicemail server's NOTIFYs,
// taken only from its exact address (WithVoicemail), are relayed to the
// lines whose mailbox is the box: in their subscriptions, and unsolicited
// to registered contacts no subscription came from. The rules, bounds and
// what is INFERRED are in mwi.go.
//
// # sip_endpoints
//
// A sip_endpoint (the gateway API's object) that registers to the switch
// (registration in, or an empty or dynamic host; a secret; not insecure:
// routing.EndpointIsLine) is a line here (routing.EndpointLine): it
// registers its name as address of record with a digest of its secret
// under its defaultuser (its name when it has none, as the rendered auth
// section's username: Directory implementations that have such lines
// offer LineByUser, which the authenticator looks credentials up with),
// its calls are decided as a line's with no customer and no plan (the
// system default plan, its name as caller id, no limits), and a called
// number equal to its name rings its registered contact, from lines and
// carriers alike. qualify pings it as a line's ping does; its enabled
// audio_codecs, in codec_order, are its codecs. The rendered files serve
// it the same way (render/endpoint_line.go).
//
// One at a fixed host that is no line (no secret, insecure=1,
// registration out, or registration none) is a trunk
// (routing.EndpointTrunk has the rules; trunkcall.go, outreg.go,
// trunkkeeper.go; Directory implementations that have trunks offer
// Trunk, TrunkBySource and Trunks, as routing.CallControl does):
//   - Calls from it: an INVITE from its host's address over its first
//     transport, over UDP from its port too unless insecure=1 (or
//     WithPeerMatch(PeerMatchAddress)), or whose Request-URI carries the
//     line token of the switch's registration with it, is its call. With
//     a secret and insecure 0 it is challenged (407) and proved with the
//     digest of the secret under its defaultuser (else its name); a line's
//     credentials from the same address still prove that line. Its calls
//     are a carrier's: they reach the switch's lines only (404 otherwise,
//     484 for a trunk's name), never the outside, under its audio_codecs
//     and dtmfmode as a peer's. A request that only names it (From,
//     Request-URI user, its credentials from another address or port) is
//     no trunk's: it is challenged as any other.
//   - Calls to it: its name, dialled by a line or sent on by a line's
//     forwarding or destination (never by a carrier or a trunk), is one
//     INVITE to sip:[defaultuser@]host:port over its transport (through
//     outboundproxy when set), From the caller's internal identity with
//     fromuser as user and fromdomain as host when set (a withheld caller
//     stays anonymous@anonymous.invalid), its challenge answered with
//     defaultuser (else its name) and remotesecret (else secret), ringing
//     for the maximum ring time. A qualified trunk that did not answer its
//     last OPTIONS (every qualifyfreq seconds, 60 by default, timeout 3 s)
//     is not tried: 480.
//   - registration=out: the switch registers at its host (outreg.go:
//     digest, refresh within the registrar's grant, backoff, removal when
//     the endpoint is deleted or changed and when the switch stops), its
//     Contact's user extension (else defaultuser) and a line token.
//     Server.Trunks shows each registration and qualify (the daemon's
//     sipswitch_sip_endpoint_registered, _registration_failures and
//     _reachable per endpoint), with a log line on every change.
//
// The rendered files serve trunks the same way (render/endpoint_trunk.go).
// What of an endpoint the SIP core does not read, and why, is
// docs/parameters.md.
//
// # Media
//
// The SIP core handles SDP (RFC 4566, now RFC 8866) under the offer/answer
// model (RFC 3264) and, for the calls media.relay picks, anchors the media
// on the switch's RTP relay (sip/media, WithMediaRelay): RTP and RTCP (RFC
// 3550) flow through a port pair per leg and stream, and neither party
// learns the other's address.
//
// Which calls are relayed: media.relay "always" every call, "never" none
// (SDP end to end, as before the relay), and "auto" (the default) a call
// in which a line is behind NAT: a calling phone whose SDP connection
// address is not the address its INVITE came from (or, offering no SDP,
// whose Contact is not), or a called line with a registration behind NAT
// (above). Calls from and to peers are not behind NAT. The decision is
// taken when the call's first offer goes out (a call sent on to a line
// behind NAT after a peer failed starts relaying then) and holds for the
// rest of the call; SetMediaRelay changes the mode for new calls. A call
// that is not relayed has no session and costs nothing of the relay.
// A line's recordgroup (when its group records the call) and its music
// (a class other than the default) relay its calls whatever the mode
// says, given a relay (callrecord.go): the relay records the call from
// the answer and plays the holding line's class to the other party.
// that is not relayed has no session and costs nothing of the relay. A
// call with SRTP on either leg, or keys in its offer, is relayed whatever
// the mode (SRTP, below).
//
// INFERRED: no per-line or per-peer override of media.relay. phones/create
// and peers/create have no setting for it (no nat, directmedia or
// canreinvite); the sip_endpoint parameters that would fit (nat,
// rtptimeout, rtpholdtimeout, whose 0/1 the renderer writes as 60 and 300
// seconds) reach Asterisk through the rendered files only: the SIP core
// serves a registering sip_endpoint as a line (below) under the
// switch-wide media settings.
// Whether a line is behind NAT is found per call instead, which is what a
// phone's nat=auto does in Asterisk.
//
// On a relayed call every SDP the switch passes on is the relay's rewrite
// (sip/media: its address in c= and o=, the leg's ports in m=, a=rtcp;
// ICE attributes removed): the B-leg INVITE's offer, 18x and 2xx answers
// to the caller, re-INVITE and UPDATE offers and their answers in both
// directions (hold with sendonly, inactive or c=0.0.0.0, and resume:
// the relay switches between media.timeout and media.hold_timeout by
// itself). Each party is latched (symmetric RTP, RFC 4961) to the source
// of its first valid RTP packet from an address the signalling vouches
// for (sip/media, Latching; rtpengine's strict-source): any port of the
// address its SIP came from (the caller: its INVITE's source; the callee:
// the source of the 18x or 2xx whose SDP the relay took, so forks that
// did not answer cannot), and the address and port of its SDP unless it
// is behind NAT and that address is not globally routable (a phone's
// 10.9.8.7 means nothing on the switch's side). The same holds under
// auto and always: a calling phone is screened for NAT under both.
// Packets from any other address are dropped, before and after latching;
// another port of an allowed address takes the latch over only after 4
// consecutive in-sequence packets (Asterisk's strictrtp=seqno). Relay
// ports are drawn at random from media.port_range. Before each attempt
// after a failed one (the next peer, the next host of a peer, the next
// line a call is sent on to) the callee's leg is reset: the ports stay,
// the failed party's early media goes nowhere and the next party latches
// afresh. A re-INVITE without SDP on a relayed call is answered by the
// switch with the SDP it last sent that leg. Session-timer refreshes sent
// as re-INVITEs repeat the SDP the switch last sent to that leg (relayed
// or not, so that a refresh never takes a held call off hold). A late
// offer (an INVITE without SDP) is completed: the callee's 2xx offer goes
// to the caller and the caller's ACK answer goes to the callee in its
// ACK.
//
// Once answered, a relayed call whose party sends no RTP for media.timeout
// (default 60 s; while held media.hold_timeout, default 1 h; 0 off) ends:
// both legs get BYE, the peer's outmaximum, the lines' totalmaximum and
// the running charge are released as on any other end, and the record's
// hangup is media_timeout with reason "media timeout"
// (Stats.MediaTimeouts). With no port pair left in media.port_range the
// call is refused 503; an SDP the switch cannot read (from the caller, or
// in a callee's answer, which then fails like a 488) gets 488.
//
// Codec policy, relayed or not (SDP only: the switch never transcodes,
// routing.PeerCodecOffer and LineCodecOffer, which routes/simulate shows
// per peer): the offer sent to a peer keeps only the peer's codecs, in the
// peer's order, with the calling line's codec first when the peer takes it
// (phones/create "codec" is a preference, not the only codec); an offer to
// a line keeps every codec with the line's own codec first, and, on a
// call from a peer, only that peer's codecs. A line's codecs (a sipswitch
// addition; "" for any) restrict both ways: the offers sent to it, and
// those its calls send on, keep only those codecs. telephone-event (RFC 4733)
// stays unless the receiving peer's (or, towards a line, the calling
// peer's) dtmfmode is info or inband: then it is removed, so that the
// caller sends DTMF as SIP INFO (passed through) or as tones in the audio
// (which survive G.711 only). A peer with no codec in common is skipped
// without a slot taken: the attempt is logged as "488 no common codec" and
// the next peer follows whatever the failover policy says of a peer's own
// 488 (the peer never saw the call); when no peer is left the caller gets
// 488 and the record's reason is "no common codec". A caller that sent no
// SDP (late offer) gets no filtering.
//
// # SRTP
//
// A line's or peer's media_encryption (a sipswitch addition, INFERRED:
// the seed pages have no encryption setting; the name and values follow
// pjsip's media_encryption) makes its leg SRTP (RFC 3711) with SDES keys
// (RFC 4568), terminated by the relay (sip/media, SRTP and sdesneg.go):
//   - none (default): plain RTP. An RTP/SAVP offer from the party is
//     refused 488; a=crypto it offers on RTP/AVP is ignored, and never
//     passed on.
//   - optional: SRTP when the party offers it, or accepts it: the switch
//     offers the party RTP/AVP with its own a=crypto lines (best-effort
//     SRTP, as pjsip's media_encryption_optimistic).
//   - required: SRTP only: the switch offers RTP/SAVP; an offer or answer
//     from the party without a usable key is refused 488 (an attempt to a
//     peer then fails as the peer's own 488 would, and the failover
//     policy decides).
//
// Each leg has its own keys: the relay answers a party's key with a key
// of its own (crypto/rand, per leg and stream) and offers the other party
// its own, so an SRTP phone calls a plain-RTP carrier and back, and two
// SRTP phones never learn each other's key. A call that has SRTP on
// either leg, or whose offer carries a=crypto, is always relayed (under
// media.relay never too: only the relay can keep one leg's keys from the
// other), and without a relay engine it is refused 488. The caller's
// policy is its line's, or for a call from a carrier its peer's; the
// callee's, each peer's or the called line's.
//
// SDES keys travel over TLS only (RFC 4568 8.3: the key is in the clear
// in the SDP, and whoever reads the signalling has the media). An offer
// whose keys arrive over UDP or TCP is treated as from a party without
// SRTP (its keys are not taken: an RTP/SAVP offer gets 488, keys on
// RTP/AVP are dropped; counted, Stats.SDESRefused) and a party whose
// policy is required calling over UDP or TCP is refused 488. Towards a
// callee the switch offers keys only over TLS: a peer host not reached
// over TLS (sips: or transport=tls) is offered plain RTP under optional
// and fails 488 under required; a line's contacts get keys only when
// every contact rung registered over TLS (under required, only its TLS
// contacts are rung, and 488 when it has none). WithSDESWithoutTLS
// (media.sdes_without_tls) lifts the rule, which is unsafe: anyone on the
// signalling path then decrypts the media.
//
// SRTP cannot start on a call the relay does not carry: a re-INVITE or
// UPDATE with keys on such a call gets 488, and a late offer (INVITE
// without SDP) whose callee offers keys in its 2xx fails as a 488.
// Keys never appear in logs, call records, the console or the API: they
// are in no structure those read, the relay's key types print as
// [redacted], and HEP capture (package capture) copies each SIP message
// with its a=crypto keys masked ('*', same length), as is the sample of
// an unparseable message in the log. Without the masking a capture
// server, and anyone who reads its database, would hold every SRTP key.
// SRTP that fails authentication or the replay check is dropped before
// it can latch anything (sip/media: cause srtp_auth).
//
// A relayed call's statistics (per leg and stream: packets, loss from
// sequence gaps, RFC 3550 A.8 jitter, SSRC changes, an R-factor and MOS of
// the simplified ITU-T G.107 E-model; sip/media) go into its record (the
// first audio stream of each leg: caller_/callee_ packets, loss, jitter,
// MOS), into its "sip call ended" log line (media.a0..., media.b0...) and
// to WithMediaObserver (the daemon's loss and jitter histograms by peer).
//
// # Cleanup
//
// Each A-leg INVITE handler goroutine owns its call from the first INVITE to
// the last BYE: every admission slot is released by a deferred function in
// that goroutine, so answer+BYE, CANCEL, failure, no-answer timeouts, a
// failed ACK and the maximum call duration all end in the same cleanup.
// The maximum ring time (180 s) bounds ringing and WithMaxCallDuration bounds an answered
// call: the last guard that frees the slots of a call whose far end
// vanished without a BYE (both legs are sent BYE). Legs still pending when
// their call moves on clean up after themselves in their own goroutine.
//
// # Transactions
//
// sipgo's transactions keep the request and its answers until their timers
// end them; at thousands of calls a second what they hold after the call is
// most of the heap, and the collector's marking of it was most of the
// post-dial delay (README, Load test). So transactions end as soon as the
// switch has no use for them, and what RFC 3261 and RFC 6026 still ask of
// them is done by the switch in a few bytes a call, for the full 64*T1:
//   - Timer J (non-INVITE server: absorbs retransmitted requests) is
//     calls.transaction_linger, 5 s as Kamailio's wt_timer; a BYE's
//     transaction ends with its answer, a retransmitted BYE getting 481,
//     which ends the dialog for its sender as a 200 does (RFC 3261 15.1.1).
//   - Timer I (after the ACK of a refusal, a 407 on every call) is zero: it
//     only absorbs retransmitted ACKs, which the switch ignores anyway.
//   - Timer L and M (RFC 6026 Accepted states) and D (a refused client
//     INVITE) last 2*T1 at most. The 2xx is retransmitted until the ACK by
//     the switch after its transaction ended (RFC 3261 13.3.1.4), a
//     retransmitted INVITE of an answered call is absorbed by branch and
//     Call-ID (counted), and a callee's late 2xx or refusal is ACKed again
//     (strayResponse). sipgo v1.7.2 does not stop Timer L and M when a
//     dialog ends the transaction, so their length is what bounds memory.
//
// Used nonces are remembered in a table without pointers for the same
// reason: five minutes of them are hundreds of thousands at a high rate.
//
// # Overload
//
// Past its capacity the switch sheds new calls rather than queueing them
// into a retransmission storm (overload.go, WithOverloadDelay; the
// daemon's calls.overload_delay, 100 ms by default). Its measure is its
// own: each new INVITE's wait from arrival (the kernel's receive
// timestamp, SO_TIMESTAMPNS, on UDP; the read, on streams) to its
// handler starting, which is the time it sat behind other work for a
// core, in the socket's buffer or as a runnable goroutine (DelayQueue).
// A controller on that wait (PIE, RFC 8033) sets the share of new
// INVITEs refused 503 with Retry-After before the digest round that keeps
// the wait at the target; on UDP the read loop refuses them statelessly
// before sipgo parses them (overloadraw.go): a refusal costs a small part
// of a call, so the calls taken keep the cores. Never refused for it: retransmissions (absorbed by the transaction layer), in-dialog
// requests, ACK, CANCEL, INVITEs answering the switch's challenge (the
// second round of a call taken) and an authenticated line's emergency
// call. calls.max_cps and calls.max_calls (calladmission.go) remain as
// fixed limits beside it.
//
// # Call records
//
// Every call routed (after authentication or a peer match) ends in one
// record, handed to WithCallRecords: direction, the line and customer it
// is charged to, caller, called, route, peers tried, the answering peer,
// the final cause, hangup, reason, talk, billed seconds and cost (the
// answering peer's tariff), and for a relayed call the media quality of
// each leg. The record is handed over before either party hears that an
// answered call ended (callbridge.go): the caller's BYE is answered once
// the bridge has handed it over (handleBye waits for it), and the BYEs
// the switch sends go after it, so a record function that makes the
// record durable (engine.CallRecorder with its journal) keeps every call
// a party saw end, whenever the process dies. A failed call's record goes
// before its final response.
//
// # Logs
//
// Each routing attempt logs "sip call attempt" (call_id, caller, called,
// route, peer or phone, outcome, duration) and each answered call "sip
// call ended" with hangup = caller, callee, max_duration, shutdown,
// caller_lost or callee_lost (a session timer found the leg gone),
// spend_limit or media_timeout and the talk time (and the relay's
// statistics when relayed). No password or digest ever appears in a log line.
//
// # Session timers
//
// Session timers (RFC 4028, WithSessionTimers; default 1800 s, Min-SE 90
// s) find a vanished leg within one interval. The caller's leg is
// negotiated with the switch as UAS: Session-Expires under Min-SE gets 422
// with Min-SE; the interval granted is the caller's, at most the switch's;
// a caller that supports the "timer" extension refreshes (refresher=uac,
// Require: timer in the 2xx), one that does not is refreshed by the switch
// (refresher=uas). Every B-leg INVITE offers Supported: timer,
// Session-Expires and Min-SE; a 422 from the callee is retried once with
// its Min-SE; a 2xx without Session-Expires means no timer on that leg
// (RFC 4028 7.2). A refresh of the switch's is an UPDATE without a body
// when the leg allows UPDATE, else a re-INVITE repeating the SDP the leg
// already has, sent at half the interval. A leg that neither refreshes
// (by interval - min(32 s, interval/3)) nor answers a refresh (timeout,
// 408, 481) is gone: both legs get BYE, the live one first, and the call's
// slots are released without waiting for the dead leg. Re-INVITE/UPDATE
// from a leg count as its refresh; a bodiless UPDATE is answered by the
// switch, not passed on. A Require header naming an extension the switch
// lacks (100rel, or timer with timers off) is answered 420 Unsupported.
//
// # Transports
//
// UDP, TCP, TLS, WS and WSS (RFC 3261 18 and 26.2, RFC 7118; WithListen,
// WithTLS, WithWebSocketOrigins). Phones are called over the transport,
// and on TCP/TLS/WS/WSS the connection, they registered on; peers over the transport their destination names
// (sips:host, host;transport=tls|tcp; routing.ParseDestinations), a TLS
// peer's certificate verified against the host as written. What happens
// when a phone's connection is gone, why stream transports have clients
// of their own, and the TLS handshake bound: transports.go. Browsers
// (WebSocket, Origin checks, .invalid contacts): transports_ws.go; their
// calls are relayed whatever media.relay says (a WebRTC offer, or a call
// to contacts registered over ws/wss, callmedia.go), the relay speaking
// DTLS-SRTP and ICE-lite to the browser and RTP/AVP to the other party
// (sip/media, WebRTC); without a relay such a call gets 488.
package sip
