package engine

import "github.com/sipswitch/sipswitch/routing"

// One parameter spec per object kind, transcribed from the Enswitch pages in
// shared/seeds and their sibling functions. Defaults are the documented
// ones; rules the pages leave open are marked INFERRED.

func str(name, def string, check func(string) error) Param {
	if check == nil {
		check = checkText
	}
	return Param{Name: name, Type: String, Default: def, Check: check}
}

func integer(name, def string, min, max float64) Param {
	return Param{Name: name, Type: Integer, Default: def, Min: min, Max: max, MinSet: true, MaxSet: true}
}

// id is an Integer reference: 0 and up, or -1 where allowNegOne.
func id(name string, allowNegOne bool) Param {
	min := 0.0
	if allowNegOne {
		min = -1
	}
	return Param{Name: name, Type: Integer, Default: "0", Min: min, MinSet: true}
}

func flag(name, def string) Param {
	return Param{Name: name, Type: Integer, Default: def, Enum: []string{"0", "1"}}
}

func enum(name string, typ Type, def string, values ...string) Param {
	return Param{Name: name, Type: typ, Default: def, Enum: values}
}

func required(p Param) Param { p.Required = true; return p }

// ownerManaged marks a parameter the object's owner may change (see
// Param.OwnerManaged).
func ownerManaged(p Param) Param { p.OwnerManaged = true; return p }

func requiredIf(p Param, doc string, cond func(Values) bool) Param {
	p.RequiredIf, p.RequiredDoc = cond, doc
	return p
}

func typeIn(types ...string) func(Values) bool {
	return func(v Values) bool { return contains(types, v["type"]) }
}

// validationParam is the "validate then return" switch every create and
// update takes.
var validationParam = Param{Name: "validation", Type: Integer, Default: "0", Enum: []string{"0", "1"}, NotStored: true, OwnerManaged: true}

// PeerSpec is peers/create (and peers/update over the stored peer).
var PeerSpec = NewSpec(
	required(str("name", "", checkName)),
	required(enum("type", String, "", routing.PeerContext, routing.PeerDAHDI, routing.PeerIAX, routing.PeerSIP, routing.PeerPJSIP, routing.PeerZap)),
	str("called_prefix", "", checkPrefix),
	flag("called_strip_hash", "0"),
	str("callerid", "", checkOneOfOrNumber()),
	str("callerid_unknown", "Anonymous", checkCallerIDText),
	str("callerid_withheld", "Anonymous", checkCallerIDText),
	requiredIf(integer("channel_group", "1", 0, 63), "when type is dahdi or zap", typeIn(routing.PeerDAHDI, routing.PeerZap)),
	flag("charge", "1"),
	str("codecs", "alaw,g722,g726,g729,gsm,ilbc,lpc10,slin,speex,ulaw", checkCodecList),
	requiredIf(str("context", "", checkName), "when type is context", typeIn(routing.PeerContext)),
	flag("costs", "0"),
	str("currency", "", checkCurrency),
	id("customer", true),
	str("description", "", nil),
	// INFERRED: pjsip needs a destination as much as sip does (the aor's
	// static contact); the page predates the pjsip type (4.2).
	requiredIf(str("destination", "", checkHostList), "when type is iax, sip or pjsip", typeIn(routing.PeerIAX, routing.PeerSIP, routing.PeerPJSIP)),
	str("dialplan_called", "", checkName),
	str("dialplan_caller", "", checkName),
	enum("dtmfmode", String, "rfc2833", "inband", "info", "rfc2833", "rfc4733"),
	integer("fail_percent", "0", 0, 100),
	Param{Name: "outmaximum", Type: Integer, Default: "-1", Min: -1, MinSet: true},
	str("password", "", checkCredential),
	Param{Name: "plan_customer", Type: Integer, Default: "-1", Min: -1, MinSet: true},
	str("proxy", "", checkHost),
	flag("send_asserted_identity", "0"),
	flag("send_privacy", "0"),
	flag("send_rpid", "0"),
	str("url_costs", "", checkURL),
	str("username", "", checkCredential),
	validationParam,
)

// destTypes are the destination types of btype/dtype/utype. INFERRED: the
// pages name the parameters but not their values; sipswitch offers the ones
// its SIP core and dialplan can carry out: hang up, ring a local line,
// route to a number through the rate plan, or leave voicemail.
var destTypes = []string{"hangup", "phone", "external", "voicemail"}

func destNumberRequired(typeParam string) func(Values) bool {
	return func(v Values) bool { t := v[typeParam]; return t != "" && t != "hangup" }
}

// PhoneSpec is phones/create (and phones/update). ownerManaged marks what
// Enswitch's user portal lets a line's owner change (forwarding, dnd, ring
// time, destinations, caller names, voicemail options, the line's own
// password); limits, class of service, plan, owner, customer, source and
// allowed_ua, caller-id numbers, copy_password and the line's technical
// settings stay the operator's. INFERRED: the portal's exact list is not in
// the API pages.
var PhoneSpec = NewSpec(
	required(str("name", "", checkName)),
	ownerManaged(requiredIf(str("password", "", checkSecret), "unless copy_password is given", func(v Values) bool { return v["copy_password"] == "" })),
	ownerManaged(flag("acr", "0")),
	str("allowed_ua", "", nil),
	flag("aoc", "0"),
	ownerManaged(enum("btype", String, "hangup", destTypes...)),
	ownerManaged(requiredIf(str("bnumber", "", checkNumber), "when btype is not hangup", destNumberRequired("btype"))),
	Param{Name: "call_maximum", Type: Decimal, Default: "-1", Min: -1, MinSet: true},
	str("callerid_external", "default", checkOneOfOrNumber("default", "matched_called", "name", "original", "original_own_number")),
	str("callerid_internal", "default", checkOneOfOrNumber("default", "name", "original", "original_own_number")),
	str("callerid_location", "", func(s string) error {
		if s == "" {
			return nil
		}
		return checkOneOfOrNumber("original_own_number")(s)
	}),
	ownerManaged(str("callername_external", "", checkCallerIDText)),
	ownerManaged(str("callername_internal", "", checkCallerIDText)),
	str("codec", "", checkCodec),
	Param{Name: "copy_password", Type: String, Check: checkName, NotStored: true},
	id("cos", false),
	id("customer", false),
	ownerManaged(str("description", "", nil)),
	enum("delivery", String, "register", "register", "last_number"),
	str("dialplan", "", checkName),
	flag("direct", "1"),
	ownerManaged(flag("dnd", "0")),
	ownerManaged(enum("dtype", String, "hangup", destTypes...)),
	ownerManaged(requiredIf(str("dnumber", "", checkNumber), "when dtype is not hangup", destNumberRequired("dtype"))),
	str("emergency_address1", "", nil),
	str("emergency_address2", "", nil),
	str("emergency_address3", "", nil),
	str("emergency_address_city", "", nil),
	str("emergency_address_state", "", nil),
	str("emergency_address_code", "", nil),
	str("emergency_address_other", "", nil),
	str("emergency_country", "", nil),
	str("emergency_location_code", "", nil),
	enum("expect_registered", Integer, "1", "0", "1", "2"),
	ownerManaged(str("forwarding", "", checkNumber)),
	ownerManaged(flag("use_forwarding", "1")),
	str("hardware_address", "", nil),
	ownerManaged(str("language", "", checkLanguage)),
	enum("ltype", String, "", "", "phone"),
	requiredIf(str("lnumber", "", checkName), "when ltype is phone", func(v Values) bool { return v["ltype"] == "phone" }),
	ownerManaged(str("mailbox", "", checkMailbox)),
	enum("media", String, routing.MediaVoice, routing.MediaVoice, routing.MediaFax),
	ownerManaged(flag("missedemail", "0")),
	ownerManaged(id("music", false)),
	ownerManaged(flag("music_ringing", "0")),
	id("owner", false),
	flag("panel", "0"),
	ownerManaged(str("pin", "", checkDigits)),
	flag("ping", "0"),
	id("plan", false),
	ownerManaged(flag("presentation_external", "1")),
	ownerManaged(flag("presentation_internal", "1")),
	str("provision1", "", nil),
	id("provisioning", false),
	id("recordgroup", false),
	str("registrar", "", checkHost),
	// INFERRED bounds: a line that rings for less than a second or more
	// than ten minutes is a typo, not a setting.
	ownerManaged(integer("ringtime", "15", 1, 600)),
	ownerManaged(enum("screen", Integer, "0", "0", "1", "2")),
	str("source", "", checkIPAddr),
	Param{Name: "totalmaximum", Type: Integer, Default: "-1", Min: -1, MinSet: true},
	ownerManaged(enum("utype", String, "hangup", destTypes...)),
	ownerManaged(requiredIf(str("unumber", "", checkNumber), "when utype is not hangup", destNumberRequired("utype"))),
	// The page gives no default; INFERRED 0 (do not follow on group calls).
	ownerManaged(flag("unumber_group", "0")),
	validationParam,
)

// PlanSpec is plans/create (and plans/update). cos_timegroup is the time
// group allow=2/3 routes consult.
var PlanSpec = NewSpec(
	required(str("name", "", checkCallerIDText)),
	str("description", "", nil),
	id("customer", false),
	id("cos_timegroup", false),
	validationParam,
)

// RouteSpec is plans/routes/create (and update). timegroup is a sipswitch
// addition (0 = the plan's cos_timegroup).
var RouteSpec = NewSpec(
	Param{Name: "called_prefix", Type: String, Required: true, EmptyOK: true, Check: checkPrefix},
	required(Param{Name: "plan", Type: Integer, Min: 1, MinSet: true}),
	enum("allow", Integer, "1", "0", "1", "2", "3"),
	str("caller_prefix", "", checkPrefix),
	str("description", "", nil),
	enum("media", String, routing.MediaVoiceFax, routing.MediaFax, routing.MediaVoice, routing.MediaVoiceFax),
	id("peer1", true),
	id("peer2", true),
	id("peer3", true),
	id("timegroup", false),
	validationParam,
)

// TimeGroupSpec is timegroups/create (and update).
var TimeGroupSpec = NewSpec(
	required(str("name", "", checkCallerIDText)),
	id("customer", false),
	str("description", "", nil),
	validationParam,
)

// TimePeriodSpec is timegroups/periods/create (and update).
var TimePeriodSpec = NewSpec(
	required(Param{Name: "timegroup", Type: Integer, Min: 1, MinSet: true}),
	str("days", "1234567", checkDays),
	integer("starthour", "0", 0, 23),
	integer("startminute", "0", 0, 59),
	integer("endhour", "23", 0, 23),
	integer("endminute", "59", 0, 59),
	str("startdate", "", checkDate),
	str("enddate", "", checkDate),
	str("timezone", "", checkTimezone),
	validationParam,
)

// PeerCostSpec is peers/costs/create.
var PeerCostSpec = NewSpec(
	required(Param{Name: "peer", Type: Integer, Min: 1, MinSet: true}),
	integer("called_max", "100", 1, 100),
	integer("called_min", "1", 0, 100),
	str("called_prefix", "", checkPrefix),
	enum("caller_type", String, "prefix", "prefix", "group"),
	str("caller_prefix", "", checkPrefix),
	Param{Name: "connectfee", Type: Decimal, Default: "0", Min: 0, MinSet: true},
	Param{Name: "cost", Type: Decimal, Default: "0", Min: 0, MinSet: true},
	str("days", "1234567", checkDays),
	str("description", "", nil),
	Param{Name: "end", Type: Integer, Default: "-1", Min: -1, MinSet: true},
	integer("endhour", "23", 0, 23),
	integer("endminute", "59", 0, 59),
	Param{Name: "included", Type: Integer, Default: "0", Min: 0, MinSet: true},
	Param{Name: "increment", Type: Integer, Default: "1", Min: 1, MinSet: true},
	flag("least_cost", "1"),
	enum("media", String, routing.MediaVoiceFax, routing.MediaFax, routing.MediaVoice, routing.MediaVoiceFax),
	Param{Name: "message", Type: Decimal, Default: "0", Min: 0, MinSet: true},
	Param{Name: "minimum", Type: Decimal, Default: "0", Min: 0, MinSet: true},
	integer("priority", "1", 1, 10),
	Param{Name: "start", Type: Integer, Default: "-1", Min: -1, MinSet: true},
	integer("starthour", "0", 0, 23),
	integer("startminute", "0", 0, 59),
	validationParam,
)

// CustomerSpec is customers/create (and update). INFERRED: Enswitch's
// customer functions take many billing fields; sipswitch keeps the tree
// and the default rate plan.
var CustomerSpec = NewSpec(
	required(str("name", "", checkCallerIDText)),
	id("parent", false),
	id("plan", false),
	validationParam,
)
