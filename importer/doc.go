// Package importer moves an Asterisk SIP configuration (sip.conf,
// pjsip.conf, pjsip_wizard.conf and what they include) into sipswitch
// objects: peers (peers/create), lines (phones/create) and SIP endpoints
// (sip_endpoint.save), as API parameter maps. `sipswitch import asterisk`
// is its command.
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
// is a line; with an address it is a peer, unless a register => line of
// [general] names it ("peer?..." or its host, preferring the one whose user
// is the section's user), when it is a SIP endpoint with
// registration=out: peers/create has no registration parameters, and the
// endpoint is the seed object that registers. type=user, a section
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
// makes a SIP endpoint; an aor with a static contact a peer; an aor taking
// registrations (max_contacts ≥ 1) a line; an identify alone a peer whose
// destination is its matches. Transports, global, system, acl sections and
// aors/auths/identifies/registrations no endpoint uses are reported, not
// imported.
//
// Lines:
//
//	source option                               line parameter
//	[name] / endpoint name                      name
//	secret / auth password (userpass)           password (md5secret, md5_cred: line not imported)
//	callerid "Name" <number>                    callerid_external, callername_external (no number: not imported)
//	setvar/set_var SS_CID_INTERNAL=n            callerid_internal (the renderer's own variable; others not imported)
//	allow/disallow                              codec: the first allowed (a line has one preferred codec)
//	language                                    language
//	mohsuggest/moh_suggest music-N              music N (other classes not imported)
//	mailbox/mailboxes box[@default]             mailbox box (box@other kept as written)
//	deny 0.0.0.0/0 + permit one address         source (anything else, or acl=: line not imported)
//	call-limit n / device_state_busy_at n       totalmaximum (0: no limit)
//	qualify / aor qualify_frequency             ping
//	t38pt_udptl yes,... / t38_udptl(+_ec)       media fax
//	description (chan_sip)                      description
//	type, host=dynamic, defaultuser=name,       implied (what a line is)
//	context=phone-<name>, qualifyfreq=60,
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
//     keeps the first allowed codec, a peer the list of codecs sipswitch
//     knows, a SIP endpoint the gateway's six.
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
// store only). Across drivers (TestCrossDriver) a file cannot say what
// its driver has no per-object option for: a pjsip.conf loses a peer's
// outmaximum (a dialplan GROUP_COUNT), a SIP endpoint's max_forwards
// ([global] only), progressinband no against never, and with insecure=1
// its secret (no inbound auth is written; the outbound password comes back
// as remotesecret); a sip.conf keeps one destination per peer; and the
// peer's type follows the file.
package importer
