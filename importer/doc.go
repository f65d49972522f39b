// Package importer moves an Asterisk configuration (sip.conf, pjsip.conf,
// pjsip_wizard.conf, extensions.conf, acl.conf and what they include)
// into sipswitch objects: peers (peers/create), lines (phones/create), SIP
// endpoints (sip_endpoint.save), rate plans (plans/create) and their
// routes (plans/routes/create), as API parameter maps. `sipswitch import
// asterisk` is its command; it exits 1 when any object is NOT IMPORTED.
//
// Reading is astconf's: the files as Asterisk reads them, templates,
// additions, appends and includes resolved, every option with its file and
// line. Map turns sections into objects; Apply validates them with the
// destination's own checks and writes them in one go: a database through
// engine.Service.CreateBatch (one transaction, the API's create checks), or
// a switch file that must load through engine.LoadSwitchFile (one atomic
// rename). Import does both.
//
// # What becomes what
//
// chan_sip (sip.conf). A section of type friend or peer with host=dynamic
// is a line. One with an address is a SIP endpoint with registration=out
// when a register => line of [general] names it ("peer?...", its host or
// its name as the line's host, preferring the one whose user is the
// section's user) or it has a callbackextension (chan_sip registers it):
// peers/create has no registration parameters, and the endpoint is the
// seed object that registers. Otherwise it is a line when chan_sip
// challenges its calls (a secret or md5secret, and no insecure=invite, its
// own or [general]'s): a device that authenticates is a line, whatever its
// address, since a peer's calls are taken by address without a challenge,
// a trust Asterisk never gave it; its host is reported (a line is reached
// where it registers from). Else it is a peer. A register => line that no
// section takes is a SIP endpoint of its own, named after its host ("reg-"
// in front when the host is no valid name): host, port, user, secret,
// extension and transport from the line, [general]'s defaults for the
// rest, and insecure as [general]'s allowguest says (chan_sip took the
// registrar's calls as a guest's: unchallenged unless allowguest=no). type=user, a section
// without type or host, [authentication] and a second [general] are not
// imported. chan_sip's [general] lends some options to every peer as
// defaults (codecs, dtmfmode, insecure, sendrpid, nat, qualify...; the
// lists are in chansip.go, INFERRED from chan_sip's handling): they are
// consulted for the objects that map them and reported once, at [general],
// when nothing maps them.
//
// res_pjsip (pjsip.conf, pjsip_wizard.conf). An endpoint is stitched with
// the aors and auths it names (aors=, auth=, outbound_auth=), the
// identifies that name it (endpoint=) and a registration (its endpoint=,
// else the same name or name-reg, else a shared outbound_auth, else its
// server_uri host being a contact's host). A type=wizard section is
// expanded as the wizard does it (remote_hosts into contacts, identify
// matches and the registration's server). Then by shape: a registration
// makes a SIP endpoint; inbound authentication (auth=, a wizard's
// accepts_auth) a line, whatever its contacts (a device that
// authenticates is a line: 6001 of the sample, endpoint + auth + aor with
// contact=, is a line whose static contact is reported); an aor with a
// static contact a peer; an aor taking registrations (max_contacts ≥ 1)
// a line (refused without auth); an identify alone a peer whose
// destination is its matches. Transports, global, system, acl sections and
// aors/auths/identifies/registrations no endpoint uses are reported, not
// imported.
//
// Lines:
//
//	source option                               line parameter
//	[name] / endpoint name                      name
//	secret / auth password (userpass)           password (md5secret, md5_cred: line not imported;
//	                                              one the API refuses: a new random password)
//	callerid "Name" <number>                    callerid_external, callername_external (no number: not imported)
//	setvar/set_var SS_CID_INTERNAL=n            callerid_internal (the renderer's own variable; others not imported)
//	allow/disallow                              codecs: the allowed list in order, codec: its first;
//	                                              allow=x then allow=all: codec x alone
//	language                                    language
//	mohsuggest/moh_suggest music-N              music N (other classes not imported)
//	mailbox/mailboxes box[@default]             mailbox box (box@other kept as written)
//	deny/permit, acl= (acl.conf)                source: the networks the ACL allows (see Decisions)
//	context (its own; chan_sip: else [general]'s)  plan: the rate plan of the context (extensions.conf)
//	call-limit n / device_state_busy_at n       totalmaximum (0: no limit)
//	qualify / aor qualify_frequency             ping
//	t38pt_udptl yes,... / t38_udptl(+_ec)       media fax
//	description (chan_sip)                      description
//	media_encryption sdes (+ _optimistic yes)    media_encryption required (optional);
//	  / encryption yes (chan_sip)                 dtls is reported, not imported
//	type, host=dynamic, defaultuser=name,       implied (what a line is)
//	context=phone-<name> (the renderer's own), qualifyfreq=60,
//	aor max_contacts=1, remove_existing=yes,
//	transport on UDP, dtmf_mode rfc4733
//
// Peers:
//
//	source option                               peer parameter
//	[name] / endpoint name                      name; type sip (sip.conf) or pjsip
//	host + port / aor contacts                  destination (host[:port], comma separated)
//	defaultuser | username | fromuser,          username
//	  outbound auth username, from_user
//	remotesecret | secret, outbound password    password
//	allow/disallow                              codecs (in allow order; all: the default list)
//	dtmfmode/dtmf_mode info, inband             dtmfmode (rfc2833/rfc4733: the default, implied)
//	sendrpid pai / send_pai                     send_asserted_identity
//	sendrpid yes|rpid / send_rpid               send_rpid
//	trust_id_outbound                           send_privacy
//	call-limit n                                outmaximum (0: no limit)
//	outboundproxy / outbound_proxy              proxy
//	description (chan_sip)                      description
//	media_encryption / encryption               media_encryption (as for lines)
//	insecure=port,invite, context=inbound,      implied (sipswitch accepts a peer's calls by its
//	identify match of the destinations            destinations' addresses)
//
// SIP endpoints (carriers that register): register => user:secret@host:port/ext
// or the registration's server_uri, client_uri and contact_user give host,
// port, defaultuser, secret/remotesecret and extension; the section's
// options keep their chan_sip names (transport, nat, fromuser, fromdomain,
// qualify, qualifyfreq, dtmfmode, trustrpid, sendrpid, callingpres,
// progressinband, allowoverlap, usereqphone, use_q850_reason,
// ignoresdpversion → honorsdpversion, maxforwards → max_forwards,
// outboundproxy, timert1, timerb, session-*, allow/disallow → audio_codecs,
// codec_order and *_pr, g726nonstandard, preferred_codec_only,
// t38pt_udptl, allowtransfer, promiscredir, insecure, auth) or their
// res_pjsip equivalents (rtp_symmetric/force_rport/rewrite_contact → nat,
// trust_id_inbound, send_rpid, callerid_privacy, inband_progress,
// allow_overlap, user_eq_phone, suppress_q850_reason_headers inverted,
// timers, timers_min_se, timers_sess_expires, incoming_call_offer_pref
// local_first, t38_udptl/_ec, allow_transfer). An inbound auth's password is
// secret (none: insecure=1); an outbound password other than secret is
// remotesecret; one with a realm is auth=user:secret@realm. A SIP
// endpoint whose inbound secret is an MD5 digest (md5secret,
// auth_type=md5) is not imported: without its secret it would take calls
// unchallenged; an outbound credential kept as a digest is reported and
// left out, never imported half. Where a source
// says nothing the driver's own default is set rather than the gateway's:
// dtmfmode rfc2833, nat force_rport, max_forwards 70, t38pt_udptl no,
// allowoverlap yes (chan_sip also progressinband no; res_pjsip
// use_q850_reason 1) — INFERRED, so an imported trunk behaves as it did.
//
// Rate plans (extensions.conf, pbx_config's dialect read by astconf):
// each context an imported line's calls enter (its context=) becomes a
// rate plan of the context's name when the dialplan gives it routes, and
// the line gets that plan. A plan routes a number by the longest called
// prefix among its routes; Asterisk by the first context, searched in
// order (the line's, its switches, then its includes depth first), with
// an extension that matches, and in it the literal number, else the most
// specific pattern (pbx.c's ordering: '-' ignored; fewer characters per
// position first; '.' then '!' last). Each extension is read as:
//
//	_P. or _P! (classes expand, ≤ 16 prefixes)   a route of each prefix P, when its steps,
//	  Dial() in turn (NoOp/Verbose/Log aside)     at most three, send ${EXTEN} (or L${EXTEN}:
//	                                              the peer's called_prefix L) to trunks:
//	                                              PJSIP/${EXTEN}@t, SIP/t/${EXTEN}, SIP/${EXTEN}@t;
//	                                              peer1..3 in Dial order; allow=1
//	Hangup/Congestion/Busy (nothing dialled)     a route with allow=0, where a route would
//	                                              otherwise take its numbers
//	a literal number that dials trunks           its number routed so, when the routes for the
//	                                              longer numbers send them there too
//	anything else (other applications, strip     not routed: where a route of the plan would
//	  ${EXTEN:n}, variables, fixed lengths,         take its numbers, a route with allow=0 for
//	  caller-id matches, timed includes)            its prefix (narrower, never wider)
//	s, h, i, t, named extensions; lines' numbers  implied (sipswitch rings lines by name first)
//
// For every prefix an extension names, the importer asks what Asterisk
// does with numbers starting with it and writes the fewest routes (and
// allow=0 routes) that make the plan do the same (TestPlanNeverRoutes-
// WhatAsteriskDoesNot checks it against Asterisk's matching on random
// dialplans). Dialling a SIP endpoint (a trunk that registers: SIP
// endpoints are never dialled) gives it a peer of its own for the
// routes, <name>-calls (destination its host and port, its username,
// password, codecs, dtmfmode and outbound proxy), only when its calls were
// taken unchallenged (insecure): a peer is trusted by address. Routes
// that dial a trunk and cannot be held are NOT IMPORTED (the import exits
// 1); every other extension is reported with its file and line. The
// extensions.conf sipswitch renders (its plan-N contexts are numbered, not
// named) is recognised by its first line and not read back.
//
// Everything else is reported, with its file and line: options sipswitch
// has no parameter for (nat and media paths, pickup groups, account codes,
// qualify of peers, contexts other than the ones sipswitch writes, listen
// addresses...), values the API refuses (dropped, and the object imported
// without them), and objects that are not imported at all. Every option of
// every file read is either mapped, implied or named in a finding
// (TestEveryOptionAccounted). Secrets are masked in findings.
//
// # Decisions
//
//   - Idempotent by name: an object whose name exists (Asterisk compares
//     section names without case, so does the store) is never updated. It
//     is reported "exists, unchanged" when every imported parameter has the
//     stored value, else "exists, differs: not updated" with the
//     parameters that differ; a name another kind holds is reported too. A
//     second run on the same input creates nothing.
//   - A value the destination refuses is dropped and reported at its
//     option, and the object imported without it — unless the parameter is
//     essential (a name, a line's password or source, a peer's destination,
//     a SIP endpoint's host, credentials or insecure): then the object is
//     not imported, since it would otherwise be another or a less protected
//     one. The rest is written in one transaction; a failure writes
//     nothing.
//   - Several definitions of one name (pjsip.conf and sip.conf both, as
//     sipswitch renders them): the first read wins, pjsip.conf before
//     pjsip_wizard.conf before sip.conf (chan_sip is gone from Asterisk
//     21), the others are reported. modules.conf's noload (or autoload=no
//     without load) of chan_sip.so or res_pjsip.so skips that driver's
//     files.
//   - A chan_sip peer's callerid= is the caller id of calls *from* it and a
//     pjsip endpoint's callerid likewise; a sipswitch peer's callerid forces
//     the caller id of calls *to* it, so neither is imported for peers.
//   - chan_sip's call-limit=0 is no limit (-1).
//   - Codecs: chan_sip starts from every codec, res_pjsip from none; a line
//     keeps the codecs it allows in order (codecs, a sipswitch addition:
//     the seed's codec is one "Preferred codec. Empty string for any" and
//     cannot say "alaw and g722 only"; INFERRED) with the first as its
//     codec, so that an alaw,g722 phone is rendered allow=alaw,allow=g722
//     and offered nothing else by the SIP core; a peer keeps the list of
//     codecs sipswitch knows, a SIP endpoint the gateway's six. Codecs
//     sipswitch does not know are left out (narrower) and reported.
//   - A line's ACL (deny/permit in the order written, and each named ACL
//     of acl.conf it names, all of which must allow an address) becomes
//     its source (a list of at most 16 addresses and CIDR networks,
//     INFERRED from the seed's "Only allow from this IP address": one
//     reading, routing.ParseSource, for the API, the renderer and the
//     SIP core). The importer computes, as Asterisk's ast_apply_ha does
//     (the last rule holding the address decides; none: allowed; a rule
//     of one family never holds the other's), the exact set the ACL
//     allows as the fewest networks. An ACL that allows everything is no
//     source; a family the rules never name while the other is
//     restricted is left out (INFERRED: narrower than Asterisk, which lets
//     it all in; reported); an ACL that allows nothing or needs more than
//     16 networks, a netmask that is no prefix, an item Asterisk cannot
//     read, or a named ACL acl.conf does not define (Asterisk then
//     rejects every request) keeps the line out: importing it without
//     would open it to every address.
//   - A line password the API refuses (shorter than 6, the line's name,
//     blanks, quotes: Asterisk takes them) is not kept: a weak password
//     imported is a weak password kept, and a line without one is none.
//     The line is imported with a random password (crypto/rand, 130 bits;
//     the API's rule stays for every password), never printed; the
//     finding says to read it with phones/get (or in the switch file) and
//     set it on the phone. A second run does not compare that password.
//   - Where the store cannot hold what Asterisk did, the object is
//     imported with the nearest setting that grants no more (a source
//     list, not an open line; a plan that does not route a number, not
//     one that routes more) and a finding; else it is NOT IMPORTED. The
//     command exits 1 when anything is NOT IMPORTED (after writing the
//     rest, unless --dry-run), so that a script never takes a partial
//     migration for a whole one.
//   - Objects refer to one another by reference (a line's and a route's
//     plan, a route's peers): in a database through engine.CreateBatch
//     (Refs: the ids of earlier items, in the same transaction), in a
//     switch file by the ids given there. A line whose plan is not
//     imported keeps the default plan, reported; a route whose plan or
//     peer is not imported is NOT IMPORTED.
//
// # Round trip
//
// Importing the test inputs, rendering the result with the renderer and
// importing the rendered file gives the same objects with the same
// parameters (TestRoundTrip, for chan_sip with the sip driver and for
// res_pjsip with the pjsip driver), and the second import renders to the
// same file. The round trip renders with render.WithPlainPasswords: the
// daemon and `sipswitch render` write the passwords Asterisk only checks
// as MD5 digests, and a digest cannot give back the password the SIP core
// needs; their files import with those lines and SIP endpoints refused,
// saying so (TestImportOfDigests). The rendered files are therefore no
// backup of the store: back up the database. Not stable: description (no Asterisk option; it stays in the
// store only), and rate plans, routes and a line's plan: the rendered
// extensions.conf is sipswitch's own dialplan (numbered plan-N contexts,
// no names), which the importer recognises and does not read back
// (TestRoundTripOffice). A random password replacing a refused one
// differs by design. Across drivers (TestCrossDriver) a file cannot say what
// its driver has no per-object option for: a pjsip.conf loses a peer's
// outmaximum (a dialplan GROUP_COUNT), a SIP endpoint's max_forwards
// ([global] only), progressinband no against never, and with insecure=1
// its secret (no inbound auth is written; the outbound password comes back
// as remotesecret); a sip.conf keeps one destination per peer; and the
// peer's type follows the file.
package importer
