package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

// Telephone lines (Enswitch phones/*), keyed by their SIP username.

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
var PhoneSpec = newSpec(
	required(str("name", "", checkName)),
	ownerManaged(requiredIf(str("password", "", checkSecret), "unless copy_password is given", func(v Values) bool { return v["copy_password"] == "" })),
	ownerManaged(flag("acr", "0")),
	str("allowed_ua", "", nil),
	flag("aoc", "0"),
	ownerManaged(enum("btype", String, "hangup", destTypes...)),
	ownerManaged(requiredIf(destinationParam(str("bnumber", "", nil)), "when btype is not hangup", destNumberRequired("btype"))),
	Param{Name: "call_maximum", Type: Decimal, Default: "-1", Min: -1, MinSet: true},
	numberOrWords(str("callerid_external", "default", nil), false, "default", "matched_called", "name", "original", "original_own_number"),
	numberOrWords(str("callerid_internal", "default", nil), false, "default", "name", "original", "original_own_number"),
	numberOrWords(str("callerid_location", "", nil), true, "original_own_number"),
	ownerManaged(str("callername_external", "", checkCallerIDText)),
	ownerManaged(str("callername_internal", "", checkCallerIDText)),
	str("codec", "", checkCodec),
	// codecs is a sipswitch addition (INFERRED, issue 28): the codecs the
	// line may use, in its order of preference, "" for any (the seed's
	// only behaviour). The page's codec is one preferred codec ("Empty
	// string for any"), which cannot say that a phone takes alaw and
	// g722 and nothing else, as an Asterisk allow= list does. The
	// renderer writes them as allow= (no allow=all) and the SIP core
	// offers the line, and its calls offer on, no other codec.
	str("codecs", "", checkCodecListOrEmpty),
	Param{Name: "copy_password", Type: String, Check: checkName, NotStored: true},
	id("cos", false),
	id("customer", false),
	ownerManaged(str("description", "", nil)),
	enum("delivery", String, "register", "register", "last_number"),
	str("dialplan", "", checkName),
	flag("direct", "1"),
	ownerManaged(flag("dnd", "0")),
	ownerManaged(enum("dtype", String, "hangup", destTypes...)),
	ownerManaged(requiredIf(destinationParam(str("dnumber", "", nil)), "when dtype is not hangup", destNumberRequired("dtype"))),
	// The emergency address (engine/emergency.go): sent as a PIDF-LO on
	// emergency calls to peers that take it; a country is required once
	// any other element is given (RFC 4119's civicAddress needs one).
	str("emergency_address1", "", checkAddressElement),
	str("emergency_address2", "", checkAddressElement),
	str("emergency_address3", "", checkAddressElement),
	str("emergency_address_city", "", checkAddressElement),
	str("emergency_address_state", "", checkAddressElement),
	str("emergency_address_code", "", checkAddressElement),
	str("emergency_address_other", "", checkAddressElement),
	requiredIf(countryParam(str("emergency_country", "", nil)), "when any other emergency address element is given", hasEmergencyAddress),
	str("emergency_location_code", "", checkLocationCode),
	enum("expect_registered", Integer, "1", "0", "1", "2"),
	ownerManaged(destinationParam(str("forwarding", "", nil))),
	ownerManaged(flag("use_forwarding", "1")),
	str("hardware_address", "", nil),
	ownerManaged(str("language", "", checkLanguage)),
	enum("ltype", String, "", "", "phone"),
	requiredIf(str("lnumber", "", checkName), "when ltype is phone", func(v Values) bool { return v["ltype"] == "phone" }),
	ownerManaged(str("mailbox", "", checkMailbox)),
	enum("media", String, routing.MediaVoice, routing.MediaVoice, routing.MediaFax),
	mediaEncryptionParam,
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
	// The page: "Only allow from this IP address". INFERRED (issue 28):
	// a list of addresses and networks (routing.ParseSource), so that an
	// Asterisk line's deny/permit ACL can be held as it is.
	sourceParam(str("source", "", nil)),
	Param{Name: "totalmaximum", Type: Integer, Default: "-1", Min: -1, MinSet: true},
	ownerManaged(enum("utype", String, "hangup", destTypes...)),
	ownerManaged(requiredIf(destinationParam(str("unumber", "", nil)), "when utype is not hangup", destNumberRequired("utype"))),
	// The page gives no default; INFERRED 0 (do not follow on group calls).
	ownerManaged(flag("unumber_group", "0")),
	validationParam,
)

// kindPhone is phones/*, keyed by name.
var kindPhone = &Kind{
	Name: "telephone line", Table: "phones", Key: "name", Spec: PhoneSpec,
	check:      checkPhone,
	CreatePriv: []Privilege{PrivAdministrator, PrivWholesale},
	UpdatePriv: []Privilege{PrivAdministrator, PrivResidential, PrivUser, PrivWholesale},
	// INFERRED: phones/delete's page is missing; deleting a line is an
	// administrator's job, as creating one is.
	DeletePriv:  []Privilege{PrivAdministrator, PrivWholesale},
	GetPriv:     []Privilege{PrivResidential, PrivUser, PrivWholesale},
	ListPriv:    []Privilege{PrivResidential, PrivUser},
	Sorts:       []string{"name", "description"},
	Filters:     map[string]string{"customer": "=", "owner": "=", "name": "prefix"},
	defaultsFor: actorCustomerDefault("customer"),
	visible:     lineVisible,
	ownerOnly:   func(a *Actor) bool { return !lineAdministrator(a) },
	listScope: func(a *Actor) []storage.Cond {
		conds := customerScope(a)
		if !lineAdministrator(a) {
			conds = append(conds, storage.Cond{Col: "owner", Op: "=", Val: a.User.ID})
		}
		return conds
	},
	redact: func(a *Actor, obj map[string]any, opts ListOptions) {
		if !opts.Password {
			delete(obj, "password")
		}
	},
}

const errPasswordIsName = "password must not be the line's name"

// LinePasswordError says why phones/create refuses password for a line
// named name (the spec's rule, then the name), "" when it takes it: for
// tools that must know before they create (an import keeps no weak
// password).
func LinePasswordError(name, password string) string {
	if err := checkSecret(password); err != nil {
		return "password " + err.Error()
	}
	if password == "" {
		return "password is required"
	}
	if strings.EqualFold(password, name) {
		return errPasswordIsName
	}
	return ""
}

// lineCodecError says why a line's preferred codec does not go with its
// codecs (it must be one of them), "" when it does.
func lineCodecError(v Values) string {
	if c, list := v["codec"], routing.ParseCodecs(v["codecs"]); c != "" && list != nil && !contains(list, c) {
		return fmt.Sprintf("codec must be one of the line's codecs (%s), or empty", strings.Join(list, ", "))
	}
	return ""
}

func checkPhone(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
	var errs FieldErrors
	cust := atoi(v["customer"])
	more, err := checkCustomerRef(ctx, tx, a, "customer", cust)
	if err != nil {
		return nil, err
	}
	errs = append(errs, more...)
	if old == nil || !strings.EqualFold(old["name"], v["name"]) {
		more, err := sectionNameCheck(ctx, tx, v["name"], "phones")
		if err != nil {
			return nil, err
		}
		errs = append(errs, more...)
	}
	more, err = copyPassword(ctx, tx, a, v)
	if err != nil {
		return nil, err
	}
	errs = append(errs, more...)
	if v["password"] != "" && strings.EqualFold(v["password"], v["name"]) {
		errs = append(errs, FieldError{Key: "password", Message: errPasswordIsName})
	}
	if msg := lineCodecError(v); msg != "" {
		errs = append(errs, FieldError{Key: "codec", Message: msg})
	}
	if plan := atoi(v["plan"]); plan > 0 {
		ok, err := planUsableBy(ctx, tx, plan, cust)
		if err != nil {
			return nil, err
		}
		if !ok {
			errs = append(errs, FieldError{Key: "plan", Message: fmt.Sprintf("rate plan %d does not exist or is not available to customer %d", plan, cust)})
		}
	}
	if c := atoi(v["cos"]); c != routing.COSDefault && (old == nil || v["cos"] != old["cos"] || v["customer"] != old["customer"]) {
		ok, err := cosUsableBy(ctx, tx, c, cust)
		if err != nil {
			return nil, err
		}
		if !ok {
			errs = append(errs, FieldError{Key: "cos", Message: fmt.Sprintf("class of service %d does not exist or is not available to customer %d", c, cust)})
		}
	}
	if o := atoi(v["owner"]); o > 0 {
		rec, err := tx.Get(ctx, "users", "id", o)
		if err != nil || !a.Owns(atoi(valuesOfRecord(rec)["customer"])) {
			errs = append(errs, FieldError{Key: "owner", Message: fmt.Sprintf("user %d does not exist or is not yours", o)})
		}
	}
	more, err = checkRecordGroupRef(ctx, tx, v, old)
	if err != nil {
		return nil, err
	}
	errs = append(errs, more...)
	more, err = checkLineReferences(ctx, tx, a, v, old)
	if err != nil {
		return nil, err
	}
	return append(errs, more...), nil
}
