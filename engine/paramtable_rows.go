package engine

// The rows of the parameter table (paramtable.go). Each claim is checked
// against the code by TestParameterTable; render/README.md has the option
// by option detail of the rendered files.

var phoneEffects = map[string]effect{
	"name": {Render: on("`[name]` section of both drivers; extension `name` in `[phones]`"),
		SIP: on("the SIP username lines register and call as; calls to it ring the line"), Simulate: on("`phone=`/`caller=` names the calling line")},
	"password": {Render: on("md5 secret of the line (pjsip auth / chan_sip md5secret)"), SIP: on("digest authentication of REGISTER and INVITE"),
		Simulate: off("simulation authenticates nobody")},
	"acr": {Render: on("calls with an empty or withheld caller id hang up (cause 21)"), SIP: on("calls with an unknown or withheld caller id are refused 433"),
		Simulate: off(notCallerSide)},
	"allowed_ua": {Render: off("Asterisk cannot filter REGISTER by User-Agent"), SIP: on("REGISTER and calls from another User-Agent are refused 403"),
		Simulate: on("user_agent given: outcome user_agent")},
	"aoc":     {Refused: "advice of charge is not sent on any path: neither the SIP core nor the rendered files carry AOC"},
	"btype":   {Render: on("after Dial: BUSY → the busy destination"), SIP: on("486 from the line → the busy destination"), Simulate: off(notCallerSide)},
	"bnumber": {Render: on("the busy destination's number or line"), SIP: on("the busy destination's number or line"), Simulate: off(notCallerSide)},
	"call_maximum": {Render: off("Asterisk keeps no spend per line"), SIP: on("a call whose first billing step would pass the day's spend is refused 403"),
		Simulate: on("`spend_exhausted` when the line's spend today leaves no room")},
	"callerid_external": {Render: on("a number: callerid= of the endpoint"), SIP: on("the caller id sent to peers"),
		Simulate: on("the caller id each peer receives")},
	"callerid_internal": {Render: on("a number: SS_CID_INTERNAL, CALLERID(num) on calls to other lines"), SIP: on("the caller id other lines see"),
		Simulate: off("simulation decides calls to peers, not to lines")},
	"callerid_location": {Render: on("CALLERID(num) on calls to the emergency numbers"), SIP: on("the caller id sent on emergency calls"),
		Simulate: on("the caller id each peer receives on an emergency call")},
	"callername_external": {Render: on("the name of callerid= when callerid_external is a number"), SIP: on("the display name sent to peers"),
		Simulate: off(notSimulated)},
	"callername_internal": {Render: on("SS_CNAME_INTERNAL: CALLERID(name) on calls to other lines"), SIP: on("the display name other lines see"),
		Simulate: off("simulation decides calls to peers, not to lines")},
	"codec": {Render: on("allow= the codec first"), SIP: on("the line's codec first in every offer"), Simulate: on("the codecs offered each peer")},
	"codecs": {Render: on("disallow=all, allow= each, no allow=all"), SIP: on("offers to and from the line carry only these"),
		Simulate: on("the codecs offered each peer")},
	"copy_password": {Render: off("steers the write: the copied password then acts as password"), SIP: off("steers the write: the copied password then acts as password"),
		Simulate: off("steers the write")},
	"cos": {Render: on("SS_COS: every route body first runs `[cos-<id>]`"), SIP: on("a barred call is refused 403 before any peer"),
		Simulate: on("`cos_barred` with the rule")},
	"customer": {Render: on("the line's plan (customer's plan) and SS_CUSTOMER for peer reservations"), SIP: on("the plan, reservations and who may see the line"),
		Simulate: on("the plan and the peers reserved for other customers")},
	"description": {Render: off(apiOnly), SIP: off(apiOnly), Simulate: off(apiOnly)},
	"delivery": {Render: on("last_number: the Request-URI user is the line's number"), SIP: on("last_number: the Request-URI user is the line's number"),
		Simulate: off(notCallerSide)},
	"dialplan":                {Refused: "there are no dial plans (number translation per line) on any path; routes decide on the dialled number as it is"},
	"direct":                  {Refused: "there are no IVR menus or auto-attendants on any path to enter the number in"},
	"dnd":                     {Render: on("Hangup(17) (486) before ringing"), SIP: on("486 before ringing"), Simulate: off(notCallerSide)},
	"dtype":                   {Render: on("after Dial: no answer → the no-answer destination"), SIP: on("no answer in ringtime → the no-answer destination"), Simulate: off(notCallerSide)},
	"dnumber":                 {Render: on("the no-answer destination's number or line"), SIP: on("the no-answer destination's number or line"), Simulate: off(notCallerSide)},
	"emergency_address1":      emergencyLocation,
	"emergency_address2":      emergencyLocation,
	"emergency_address3":      emergencyLocation,
	"emergency_address_city":  emergencyLocation,
	"emergency_address_state": emergencyLocation,
	"emergency_address_code":  emergencyLocation,
	"emergency_address_other": emergencyLocation,
	"emergency_country":       emergencyLocation,
	"emergency_location_code": emergencyLocation,
	"expect_registered": {Render: off("Asterisk sends no registration alerts"), SIP: on("the registrar logs and counts unregistered lines (2: address changes too)"),
		Simulate: off(notSimulated)},
	"forwarding":       {Render: on("Goto the number first, before dnd and acr"), SIP: on("calls to the line go to the number first"), Simulate: off(notCallerSide)},
	"use_forwarding":   {Render: on("0: forwarding is ignored"), SIP: on("0: forwarding is ignored"), Simulate: off(notCallerSide)},
	"hardware_address": {Refused: "the switch provisions no handsets, so a MAC address is used by nothing"},
	"language":         {Render: on("language= (Asterisk's prompts)"), SIP: off(noAudio), Simulate: off(notSimulated)},
	"ltype": {Render: on("phone: the line's extension dials the device of the line lnumber names, and that line's endpoint presents this line's caller id"),
		SIP:      on("phone: calls to the line ring the contacts of the line lnumber names (To: this line); that line's calls present this line's caller id"),
		Simulate: on("phone: `called` the line rings `device`, the line it is logged into; that line's calls show this line's caller id")},
	"lnumber": {Render: on("the line's extension dials the device of lnumber (its contacts, its delivery)"),
		SIP: on("the line whose registered contacts ring for this line, and whose calls present it"), Simulate: on("`device` of a call to the line")},
	"mailbox": {Render: on("mailbox= (message waiting from Asterisk's voicemail) and VoiceMail destinations"),
		SIP:      on("the voicemail destination's box; message waiting: the line may SUBSCRIBE to it (RFC 3842) and the voicemail server's NOTIFYs for the box are relayed to the line"),
		Simulate: off(notCallerSide)},
	"media":            {Render: on("fax: the plan's fax context and T.38"), SIP: on("the media the call is routed for (voice or fax routes)"), Simulate: on("the routes the call may take")},
	"media_encryption": mediaEncryptionEffect,
	"missedemail":      {Refused: "the switch sends no email on any path"},
	"music":            {Render: on("mohsuggest=/moh_suggest= class music-N; musiconhold.conf class music-N (files in moh/music-N)"), SIP: on("while the line holds, the relay plays class music-N (0: the default class) to the other party in G.711; calls of a line with a class are relayed"), Simulate: off(notSimulated)},
	"music_ringing": {Render: on("Dial option m: music instead of ringing"), SIP: off(noAudio + ": the callee's 180 is relayed"),
		Simulate: off(notSimulated)},
	"owner": {Render: off(apiOnly), SIP: off(apiOnly), Simulate: off(apiOnly)},
	"panel": {Refused: "there is no control panel"},
	"pin": {Render: on("voicemail.conf: the line's mailbox password (VoiceMailMain asks for it)"),
		SIP:      off("voicemail is the voicemail server's (calls.voicemail_server: the Asterisk these files configure), which asks for the PIN"),
		Simulate: off(notSimulated)},
	"ping": {Render: on("qualify (OPTIONS to the phone)"), SIP: on("OPTIONS to each registered contact; a dead one is dropped"), Simulate: off(notSimulated)},
	"plan": {Render: on("the line's context includes `plan-<id>`"), SIP: on("the rate plan calls are routed by"), Simulate: on("the rate plan the call is routed by")},
	"presentation_external": {Render: on("0: CALLERID(pres)=prohib on calls to peers"), SIP: on("0: the caller id is withheld to peers"),
		Simulate: on("the caller id each peer receives")},
	"presentation_internal": {Render: on("0: CALLERID(pres)=prohib on calls to lines"), SIP: on("0: the caller id is withheld to other lines"),
		Simulate: off("simulation decides calls to peers, not to lines")},
	"provision1":   {Refused: "the switch provisions no handsets"},
	"provisioning": {Refused: "the switch provisions no handsets (there are no provisioning objects to refer to)"},
	"recordgroup":  {Render: on("MixMonitor of the calls its group records, into the group's directory under Asterisk's monitor directory, named by Call-ID"), SIP: on("the relay records the calls its group records (they are relayed): a stereo G.711 WAVE per call, its path in the call record, deleted after the group's retention"), Simulate: off(notSimulated)},
	"registrar":    {Refused: "the switch provisions no handsets, so no handset is told a registrar"},
	"ringtime":     {Render: on("Dial timeout"), SIP: on("how long the line rings before the no-answer destination"), Simulate: off(notCallerSide)},
	"screen":       {Refused: "screening needs prompts played, names recorded and keys (DTMF) collected: the SIP core's relay only forwards media, so though Asterisk could (Dial option p) it is refused on both paths, to mean one thing everywhere"},
	"source":       {Render: on("deny all, permit= each network"), SIP: on("REGISTER and calls from elsewhere are refused 403"), Simulate: on("source given: outcome source")},
	"totalmaximum": {Render: on("call-limit / GROUP counts both ways: busy when full"), SIP: on("calls both ways beyond it: 486"),
		Simulate: on("`line_limit` when the line is full")},
	"utype":         {Render: on("after Dial: CHANUNAVAIL → the unregistered destination"), SIP: on("no registered contact → the unregistered destination"), Simulate: off(notCallerSide)},
	"unumber":       {Render: on("the unregistered destination's number or line"), SIP: on("the unregistered destination's number or line"), Simulate: off(notCallerSide)},
	"unumber_group": {Refused: "there are no group calls (hunt groups, queues) on any path"},
	"validation":    {Render: off("steers the write"), SIP: off("steers the write"), Simulate: off("steers the write")},
}

// mediaEncryptionEffect is the row of phones' and peers' media_encryption
// (a sipswitch addition).
var mediaEncryptionEffect = effect{
	Render:   on("optional: media_encryption=sdes + media_encryption_optimistic=yes; required: media_encryption=sdes (chan_sip encryption=yes); Asterisk also exchanges the keys over UDP/TCP"),
	SIP:      on("SRTP with SDES keys terminated by the relay, keys over TLS only: none refuses RTP/SAVP (488), optional takes and offers SRTP, required refuses plain RTP (488)"),
	Simulate: off(notSimulated),
}

// emergencyLocation is the row of each element of a line's emergency
// address.
var emergencyLocation = effect{
	Render:   off("Asterisk's dialplan cannot build a multipart body: no PIDF-LO (render/README.md)"),
	SIP:      on("PIDF-LO civic address (RFC 5491) in emergency calls to peers with emergency_location 1"),
	Simulate: on("`location` on the attempts that carry it"),
}

var peerEffects = map[string]effect{
	"name": {Render: on("`[name]` section; `[peer-<id>]` subroutine"), SIP: on("logs and call records"), Simulate: on("each peer by name")},
	"type": {Render: on("the channel dialled (SIP/PJSIP/IAX2/DAHDI/Local)"), SIP: on("sip and pjsip peers are dialled; others are skipped to the next peer"),
		Simulate: on("the peer's type, and whether the SIP core can dial it")},
	"called_prefix":     {Render: on("prepended to the number"), SIP: on("prepended to the number"), Simulate: on("the number each peer receives")},
	"called_strip_hash": {Render: on("trailing # removed"), SIP: on("trailing # removed"), Simulate: on("the number each peer receives")},
	"callerid":          {Render: on("forced caller id (CONNECTEDLINE in the pre-dial handler)"), SIP: on("forced caller id in From"), Simulate: on("the caller id the peer receives")},
	"callerid_unknown":  {Render: on("the caller id sent when the caller has none"), SIP: on("the caller id sent when the caller has none"), Simulate: on("the caller id the peer receives")},
	"callerid_withheld": {Render: on("the caller id sent when the caller withholds"), SIP: on("the caller id sent when the caller withholds"), Simulate: on("the caller id the peer receives")},
	"channel_group":     {Render: on("DAHDI/g<group>"), SIP: off("the SIP core dials SIP peers only"), Simulate: off(notSimulated)},
	"charge": {Render: off("Asterisk keeps no spend"), SIP: on("0: calls through the peer cost the line nothing"),
		Simulate: on("0: no spend is held for the peer")},
	"codecs":  {Render: on("disallow=all, allow= each"), SIP: on("offers to the peer carry only these, in this order"), Simulate: on("the codecs offered the peer")},
	"context": {Render: on("Dial(Local/<num>@<context>)"), SIP: off("the SIP core dials SIP peers only (a context peer is skipped)"), Simulate: off(notSimulated)},
	"costs": {Render: on("the peer's cost rows in `[lcr]` (least cost)"), SIP: on("the peer's own cost rows price and rank its calls"),
		Simulate: on("least-cost ranking"), Via: "engine.Service.PeerCosts"},
	"currency": {Refused: "every cost is summed into one spend in the switch's one currency, with no conversion rates; leave it empty"},
	"customer": {Render: on("`[reserved-<id>]`: only that customer's lines dial the peer"), SIP: on("reserved for that customer: others' calls skip it"),
		Simulate: on("a peer reserved for another customer is shown left out")},
	"description": {Render: off(apiOnly), SIP: off(apiOnly), Simulate: off(apiOnly)},
	"destination": {Render: on("host/contact and identify match; transport from sips: or transport="), SIP: on("where calls go, over TLS for sips: or transport=tls (certificate verified against the host), TCP for transport=tcp; calls from there are the peer's"),
		Simulate: off("simulation does not resolve hosts")},
	"dialplan_called": {Refused: "there are no dial plans (number translation tables) on any path; use called_prefix and called_strip_hash"},
	"dialplan_caller": {Refused: "there are no dial plans (number translation tables) on any path"},
	"dtmfmode":        {Render: on("dtmfmode=/dtmf_mode="), SIP: on("info/inband: telephone-event removed from offers"), Simulate: on("whether telephone-event is offered")},
	"emergency_location": {Render: off("Asterisk's dialplan cannot build a multipart body: no PIDF-LO (render/README.md)"),
		SIP: on("emergency calls to the peer carry the line's PIDF-LO and Geolocation"), Simulate: on("`location` on the peer's attempt")},
	"fail_percent": {Render: on("RAND() ≤ N: congestion (503) before dialling"), SIP: on("that share of calls fails 503 before dialling"),
		Simulate: on("the peer's failure share")},
	"media_encryption": mediaEncryptionEffect,
	"outmaximum":       {Render: on("call-limit / GROUP_COUNT: full → next peer"), SIP: on("calls beyond it skip to the next peer"), Simulate: on("`peer_limit` when full")},
	"password":         {Render: on("outbound auth secret"), SIP: on("answers the carrier's digest challenge"), Simulate: off("simulation authenticates nobody")},
	"plan_customer": {Render: off("who may route to the peer: checked when a route names it"), SIP: off("who may route to the peer: checked when a route names it"),
		Simulate: off("who may route to the peer: checked when a route names it")},
	"proxy":                  {Render: on("outbound proxy"), SIP: on("calls go through the proxy"), Simulate: off("simulation does not resolve hosts")},
	"send_asserted_identity": {Render: on("sendrpid=pai / send_pai"), SIP: on("P-Asserted-Identity sent"), Simulate: off(notSimulated)},
	"send_privacy":           {Render: on("trust_id_outbound"), SIP: on("Privacy: id beside P-Asserted-Identity (send_asserted_identity) for callers who may not be shown, never alone (RFC 3325 9.3, as res_pjsip)"), Simulate: on("from: what the peer is sent")},
	"send_rpid":              {Render: on("sendrpid / send_rpid"), SIP: on("Remote-Party-ID sent"), Simulate: off(notSimulated)},
	"url_costs":              {Refused: "the switch fetches no costs from URLs; import a deck with peers/costs/import"},
	"username":               {Render: on("pjsip auth username with a password (res_pjsip refuses an auth without one); chan_sip defaultuser="), SIP: on("the digest username answering the carrier's challenge, with a password (sipgo answers none without one)"), Simulate: off(notSimulated)},
	"validation":             {Render: off("steers the write"), SIP: off("steers the write"), Simulate: off("steers the write")},
}

var routeEffects = map[string]effect{
	"called_prefix": {Render: on("extensions `P` and `_P.` of the plan's context"), SIP: on("longest called prefix wins"), Simulate: on("longest called prefix wins")},
	"plan":          {Render: on("the route's `[plan-<id>]` context"), SIP: on("the plan the route belongs to"), Simulate: on("the plan the route belongs to")},
	"allow":         {Render: on("0: Hangup(21); 2/3: time group checked"), SIP: on("0: 403; 2/3: time group checked"), Simulate: on("`forbidden` / `timegroup_closed`")},
	"caller_prefix": {Render: on("`/C` caller match"), SIP: on("longest caller prefix wins within the called prefix"), Simulate: on("longest caller prefix wins")},
	"description": {Render: kept("carried in the routing table for simulation to show; written to no file"),
		SIP: kept("carried in the routing table for simulation to show; acts on no call"), Simulate: on("shown with the route")},
	"media":      {Render: on("voice and/or fax contexts"), SIP: on("routes of the call's media"), Simulate: on("routes of the call's media")},
	"peer1":      {Render: on("dialled first (0: the default peer, -1: least cost)"), SIP: on("tried first (0: the default peer, -1: least cost)"), Simulate: on("listed first")},
	"peer2":      {Render: on("dialled next on failover"), SIP: on("tried next on failover"), Simulate: on("listed next")},
	"peer3":      {Render: on("dialled last on failover"), SIP: on("tried last on failover"), Simulate: on("listed last")},
	"timegroup":  {Render: on("`Gosub(timegroup-<g>)` for allow 2/3"), SIP: on("the time group allow 2/3 consult"), Simulate: on("the time group allow 2/3 consult")},
	"validation": {Render: off("steers the write"), SIP: off("steers the write"), Simulate: off("steers the write")},
}

// sipEndpointEffects: the SIP core serves a sip_endpoint that registers to
// the switch as a line (routing.EndpointLine: its registration, its calls
// on the default plan, calls to its name) and one at a fixed host as a
// trunk (routing.EndpointTrunk: its calls in reach lines, lines dial its
// name, registration=out is registered by the switch: sip/outreg.go);
// what it reads of one is in sip, the rest says why not. routes/simulate's
// phone may name a line (simulate_endpoint.go).
var sipEndpointEffects = func() map[string]effect {
	const (
		noPtime    = "the SIP core keeps the SDP's packetization (it never transcodes or repacketizes)"
		switchWide = "the SIP core's switch-wide setting applies (calls.*)"
	)
	sip := map[string]pathClaim{
		"name":          on("a line's name (the address of record it registers, the number that rings it); a trunk's name, which lines dial"),
		"defaultuser":   on("the digest username both ways (its name when empty); a trunk's Request-URI user and the user it is registered as"),
		"secret":        on("a line's password; a trunk's calls are challenged for it unless insecure, and it answers the trunk's challenges without a remotesecret; without one an endpoint is no line"),
		"registration":  on("in (or a dynamic host): a line; out: the switch registers at its host, refreshes, retries and unregisters (sip/outreg.go); none with a host: a trunk"),
		"host":          on("empty or dynamic: a line; a fixed host: a trunk there (calls to it, calls from it known by it, its registration and qualify sent to it)"),
		"insecure":      on("1: no line; a trunk's calls are known by its address alone (any UDP port) and not challenged"),
		"qualify":       on("a line's contacts, or a trunk's host, are sent OPTIONS; one that does not answer is skipped (a trunk: calls to it answered 480)"),
		"qualifyfreq":   on("a trunk's OPTIONS interval (a line's ping interval is switch-wide: calls.ping_interval)"),
		"transport":     on("a trunk's calls, registration and qualify go over its first transport, and its calls in are known over it (a line registers over any)"),
		"fromuser":      on("From user of calls to a trunk (a withheld caller stays anonymous)"),
		"fromdomain":    on("From host of calls to a trunk"),
		"remotesecret":  on("answers a trunk's challenges and its registrar's (else secret)"),
		"port":          on("a trunk's port: its calls, registration and qualify go there, and over UDP its calls must come from it unless insecure"),
		"outboundproxy": on("calls to a trunk and its registration are sent through it"),
		"extension":     on("the Contact user of its registration (else defaultuser): calls on it reach that line"),
		"dtmfmode":      on("a trunk's, as a peer's: info or inband removes telephone-event from offers to it and from its calls' offers to lines; a line's DTMF passes as sent"),
		"audio_codecs":  on("the only codecs offered to it and offered on from its calls (line or trunk)"),
		"codec_order":   on("the order of those codecs"),

		"nat":             off("the SIP core finds NAT per call for every line and sends to the registration's source (RFC 3581), as nat=yes; a trunk is called at its host"),
		"auth":            off("a trunk's challenges are answered with defaultuser and remotesecret (else secret) in whatever realm they name: no per-realm credential"),
		"session-timers":  off(switchWide),
		"session-minse":   off(switchWide),
		"session-expires": off(switchWide),
		"rtptimeout":      off("the relay's media.timeout applies"),
		"rtpholdtimeout":  off("the relay's media.hold_timeout applies"),
		"alaw_pr":         off(noPtime),
		"ulaw_pr":         off(noPtime),
		"gsm_pr":          off(noPtime),
		"g722_pr":         off(noPtime),
		"g726_pr":         off(noPtime),
		"g729_pr":         off(noPtime),
	}
	isLine := on("whether phone=<name> names a line to simulate (as on the SIP core)")
	sim := map[string]pathClaim{
		"name":         on("phone=<name> simulates its calls: the default plan, its name as caller"),
		"secret":       isLine,
		"registration": isLine,
		"host":         isLine,
		"insecure":     isLine,
		"qualify":      kept("read into its line; simulation sends no OPTIONS"),
		"audio_codecs": on("the codecs shown per attempt"),
		"codec_order":  on("the order of the codecs shown per attempt"),
	}
	render := map[string]string{
		"name":                 "`[name]` sections of the chosen driver; a registering endpoint's `[phone-<name>]` context and `[phones]` extension; a trunk's `[endpoints]` extension",
		"defaultuser":          "defaultuser= / auth username and contact user",
		"secret":               "inbound md5 secret (and outbound when sent)",
		"registration":         "in: takes a registration and is a line (context `[phone-<name>]`); out: register => / type=registration",
		"host":                 "host= / aor contact and identify match (with the port unless insecure or not UDP)",
		"transport":            "transport= / transport-<first> (pjsip takes the first only: a save warns)",
		"nat":                  "nat= / rtp_symmetric, force_rport, rewrite_contact",
		"auth":                 "auth= / a realm auth section",
		"fromuser":             "fromuser= / from_user=",
		"fromdomain":           "fromdomain= / from_domain=",
		"remotesecret":         "remotesecret= / outbound auth `name-out` (also for a dynamic host)",
		"port":                 "port= / the contact's port",
		"qualify":              "qualify= / qualify_frequency",
		"qualifyfreq":          "qualifyfreq= / qualify_frequency",
		"dtmfmode":             "dtmfmode= / dtmf_mode=",
		"trustrpid":            "trustrpid= / trust_id_inbound",
		"sendrpid":             "sendrpid= / send_rpid",
		"callingpres":          "callingpres= / callerid_privacy=",
		"progressinband":       "progressinband= / inband_progress",
		"allowoverlap":         "allowoverlap= / allow_overlap",
		"usereqphone":          "usereqphone= / user_eq_phone",
		"use_q850_reason":      "use_q850_reason= / suppress_q850_reason_headers",
		"honorsdpversion":      "chan_sip ignoresdpversion= (pjsip has none: a save warns)",
		"max_forwards":         "chan_sip maxforwards= (pjsip has none per endpoint: a save warns)",
		"outboundproxy":        "outboundproxy= / outbound_proxy=",
		"timert1":              "chan_sip timert1= (pjsip has none per endpoint: a save warns)",
		"timerb":               "chan_sip timerb= (pjsip has none per endpoint: a save warns)",
		"session-timers":       "session-timers= / timers=",
		"session-minse":        "session-minse= / timers_min_se",
		"session-expires":      "session-expires= / timers_sess_expires",
		"session-refresher":    "chan_sip session-refresher= (pjsip has none: a save warns)",
		"audio_codecs":         "disallow=all, allow= each enabled codec",
		"codec_order":          "the order of allow=",
		"alaw_pr":              "allow=alaw:<ms>",
		"ulaw_pr":              "allow=ulaw:<ms>",
		"gsm_pr":               "allow=gsm:<ms>",
		"g722_pr":              "allow=g722:<ms>",
		"g726_pr":              "allow=g726:<ms>",
		"g726nonstandard":      "g726nonstandard= / g726_non_standard",
		"g729_pr":              "allow=g729:<ms>",
		"preferred_codec_only": "preferred_codec_only= / incoming_call_offer_pref",
		"t38pt_udptl":          "t38pt_udptl= / t38_udptl, t38_udptl_ec",
		"allowtransfer":        "allowtransfer= / allow_transfer",
		"promiscredir":         "chan_sip promiscredir= (pjsip has none: a save warns)",
		"rtptimeout":           "rtptimeout=60 / rtp_timeout=60 when 1",
		"rtpholdtimeout":       "rtpholdtimeout=300 / rtp_timeout_hold=300 when 1",
		"insecure":             "insecure=port,invite / no inbound auth",
		"extension":            "the registration's contact user (else defaultuser)",
	}
	none := map[string]string{
		"rpid_format":     "neither driver has a per-endpoint option (a save warns)",
		"registertrying":  "chan_sip has it in [general] only, pjsip not at all (a save warns)",
		"t1min":           "chan_sip has it in [general] only, pjsip not at all (a save warns)",
		"t38transport":    "udptl is the only T.38 transport either driver has (a save warns)",
		"enable_advanced": "a gateway user-interface switch: no Asterisk option",
		"rtpjittermode":   "jitter buffers are [general] (chan_sip) or dialplan (pjsip) settings (a save warns)",
		"rtpjitterdelay":  "jitter buffers are [general] (chan_sip) or dialplan (pjsip) settings (a save warns)",
		"validation":      "steers the write",
	}
	out := map[string]effect{}
	for _, p := range SIPEndpointSpec.Params {
		e := effect{SIP: off(noEndpointSIP), Simulate: off(noEndpointSim)}
		if c, ok := sip[p.Name]; ok {
			e.SIP = c
		}
		if c, ok := sim[p.Name]; ok {
			e.Simulate = c
		}
		if r, ok := render[p.Name]; ok {
			e.Render = on(r)
		} else if why, ok := none[p.Name]; ok {
			e.Render = off(why)
		}
		out[p.Name] = e
	}
	return out
}()
