package render

// KnownOption is one option name the renderer may emit, with where
// Asterisk 20 documents it. Asterisk cannot run in this project's CI, so
// the table stands in for "Asterisk accepts this option": a test fails when
// rendered output uses an option missing here.
type KnownOption struct {
	File    string // FileSIP, FilePJSIP, FileIAX, FileExtensions, FileVoicemail
	Section string // pjsip: the type= value; sip/iax: "general" or "peer"; extensions: "general" or "context"
	Name    string
	Doc     string
}

const (
	docPJSIP   = "res/res_pjsip/pjsip_config.xml configObject "
	docPJSIPID = "res/res_pjsip_endpoint_identifier_ip.c configObject identify"
	docPJSIPRg = "res/res_pjsip_outbound_registration.c configObject registration"
	docSIP     = "configs/samples/sip.conf.sample (Asterisk 20 chan_sip)"
	docIAX     = "configs/samples/iax.conf.sample"
	docExt     = "configs/samples/extensions.conf.sample"
	docVM      = "configs/samples/voicemail.conf.sample"
	docMOH     = "configs/samples/musiconhold.conf.sample"
)

// KnownOptions lists every option name the renderer emits.
var KnownOptions = []KnownOption{
	// voicemail.conf [general]; its other sections hold mailboxes
	// ("box => password,name"), not options.
	{FileVoicemail, "general", "format", docVM + " [general]"},
	// musiconhold.conf: one section per class (musiconhold.go).
	{FileMusicOnHold, "class", "mode", docMOH + " (mode=files)"},
	{FileMusicOnHold, "class", "directory", docMOH},
	// pjsip.conf global
	{FilePJSIP, "global", "type", docPJSIP + "global"},
	{FilePJSIP, "global", "default_realm", docPJSIP + "global"},
	// pjsip.conf transport
	{FilePJSIP, "transport", "type", docPJSIP + "transport"},
	{FilePJSIP, "transport", "protocol", docPJSIP + "transport"},
	{FilePJSIP, "transport", "bind", docPJSIP + "transport"},
	{FilePJSIP, "transport", "cert_file", docPJSIP + "transport"},
	{FilePJSIP, "transport", "priv_key_file", docPJSIP + "transport"},
	// pjsip.conf endpoint
	{FilePJSIP, "endpoint", "type", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "transport", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "context", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "disallow", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "allow", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "auth", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "identify_by", docPJSIP + "endpoint (auth_username since 13.x)"},
	{FilePJSIP, "endpoint", "outbound_auth", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "aors", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "callerid", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "callerid_privacy", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "set_var", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "language", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "moh_suggest", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "mailboxes", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "deny", docPJSIP + "endpoint (ACL options, since 13.10)"},
	{FilePJSIP, "endpoint", "permit", docPJSIP + "endpoint (ACL options, since 13.10)"},
	{FilePJSIP, "endpoint", "device_state_busy_at", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "t38_udptl", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "t38_udptl_ec", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "from_user", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "from_domain", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "dtmf_mode", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "media_encryption", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "media_encryption_optimistic", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "send_pai", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "send_rpid", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "trust_id_inbound", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "trust_id_outbound", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "outbound_proxy", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "rtp_symmetric", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "force_rport", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "rewrite_contact", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "inband_progress", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "allow_overlap", docPJSIP + "endpoint (since 13.x)"},
	{FilePJSIP, "endpoint", "user_eq_phone", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "suppress_q850_reason_headers", docPJSIP + "endpoint (since 16)"},
	{FilePJSIP, "endpoint", "timers", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "timers_min_se", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "timers_sess_expires", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "g726_non_standard", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "incoming_call_offer_pref", docPJSIP + "endpoint (since 18)"},
	{FilePJSIP, "endpoint", "allow_transfer", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "direct_media", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "disable_direct_media_on_nat", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "rtp_timeout", docPJSIP + "endpoint"},
	{FilePJSIP, "endpoint", "rtp_timeout_hold", docPJSIP + "endpoint"},
	// pjsip.conf auth
	{FilePJSIP, "auth", "type", docPJSIP + "auth"},
	{FilePJSIP, "auth", "auth_type", docPJSIP + "auth"},
	{FilePJSIP, "auth", "username", docPJSIP + "auth"},
	{FilePJSIP, "auth", "password", docPJSIP + "auth"},
	{FilePJSIP, "auth", "realm", docPJSIP + "auth"},
	{FilePJSIP, "auth", "md5_cred", docPJSIP + "auth (with auth_type=md5; res/res_pjsip/config_auth.c checks its 32 hex digits)"},
	// pjsip.conf aor
	{FilePJSIP, "aor", "type", docPJSIP + "aor"},
	{FilePJSIP, "aor", "max_contacts", docPJSIP + "aor"},
	{FilePJSIP, "aor", "remove_existing", docPJSIP + "aor"},
	{FilePJSIP, "aor", "qualify_frequency", docPJSIP + "aor"},
	{FilePJSIP, "aor", "contact", docPJSIP + "aor"},
	// pjsip.conf identify
	{FilePJSIP, "identify", "type", docPJSIPID},
	{FilePJSIP, "identify", "endpoint", docPJSIPID},
	{FilePJSIP, "identify", "match", docPJSIPID},
	// pjsip.conf registration
	{FilePJSIP, "registration", "type", docPJSIPRg},
	{FilePJSIP, "registration", "transport", docPJSIPRg},
	{FilePJSIP, "registration", "server_uri", docPJSIPRg},
	{FilePJSIP, "registration", "client_uri", docPJSIPRg},
	{FilePJSIP, "registration", "contact_user", docPJSIPRg},
	{FilePJSIP, "registration", "outbound_auth", docPJSIPRg},
	{FilePJSIP, "registration", "outbound_proxy", docPJSIPRg},
	{FilePJSIP, "registration", "endpoint", docPJSIPRg + " (line support)"},
	{FilePJSIP, "registration", "line", docPJSIPRg + " (line support)"},

	// sip.conf [general]
	{FileSIP, "general", "context", docSIP + " [general]"},
	{FileSIP, "general", "allowguest", docSIP + " [general]"},
	{FileSIP, "general", "match_auth_username", docSIP + " [general]"},
	{FileSIP, "general", "nat", docSIP + " [general] (each peer's nat defaults to it; a peer that differs lets scanners tell names apart)"},
	{FileSIP, "general", "realm", docSIP + " [general] (default: asterisk.conf systemname, else asterisk)"},
	{FileSIP, "general", "udpbindaddr", docSIP + " [general]"},
	{FileSIP, "general", "tcpenable", docSIP + " [general]"},
	{FileSIP, "general", "tcpbindaddr", docSIP + " [general]"},
	{FileSIP, "general", "tlsenable", docSIP + " [general]"},
	{FileSIP, "general", "tlsbindaddr", docSIP + " [general]"},
	{FileSIP, "general", "tlscertfile", docSIP + " [general]"},
	{FileSIP, "general", "tlsprivatekey", docSIP + " [general]"},
	{FileSIP, "general", "register", docSIP + " [general] register =>"},
	// sip.conf peers/friends
	{FileSIP, "peer", "type", docSIP},
	{FileSIP, "peer", "host", docSIP},
	{FileSIP, "peer", "port", docSIP},
	{FileSIP, "peer", "context", docSIP},
	{FileSIP, "peer", "transport", docSIP},
	{FileSIP, "peer", "defaultuser", docSIP},
	{FileSIP, "peer", "secret", docSIP},
	{FileSIP, "peer", "remotesecret", docSIP},
	{FileSIP, "peer", "md5secret", "channels/chan_sip.c build_peer (Asterisk 20; MD5 of name:realm:secret, checked in check_auth)"},
	{FileSIP, "peer", "auth", docSIP + " (auth=user:secret@realm, auth=user#md5secret@realm)"},
	{FileSIP, "peer", "fromuser", docSIP},
	{FileSIP, "peer", "fromdomain", docSIP},
	{FileSIP, "peer", "insecure", docSIP},
	{FileSIP, "peer", "nat", docSIP},
	{FileSIP, "peer", "qualify", docSIP},
	{FileSIP, "peer", "qualifyfreq", docSIP},
	{FileSIP, "peer", "dtmfmode", docSIP},
	{FileSIP, "peer", "encryption", docSIP},
	{FileSIP, "peer", "trustrpid", docSIP},
	{FileSIP, "peer", "sendrpid", docSIP},
	{FileSIP, "peer", "trust_id_outbound", docSIP},
	{FileSIP, "peer", "callingpres", docSIP},
	{FileSIP, "peer", "progressinband", docSIP},
	{FileSIP, "peer", "allowoverlap", docSIP},
	{FileSIP, "peer", "usereqphone", docSIP},
	{FileSIP, "peer", "use_q850_reason", docSIP},
	{FileSIP, "peer", "ignoresdpversion", docSIP},
	{FileSIP, "peer", "maxforwards", docSIP},
	{FileSIP, "peer", "outboundproxy", docSIP},
	{FileSIP, "peer", "timert1", docSIP},
	{FileSIP, "peer", "timerb", docSIP},
	{FileSIP, "peer", "session-timers", docSIP},
	{FileSIP, "peer", "session-minse", docSIP},
	{FileSIP, "peer", "session-expires", docSIP},
	{FileSIP, "peer", "session-refresher", docSIP},
	{FileSIP, "peer", "disallow", docSIP},
	{FileSIP, "peer", "allow", docSIP},
	{FileSIP, "peer", "g726nonstandard", docSIP},
	{FileSIP, "peer", "preferred_codec_only", docSIP},
	{FileSIP, "peer", "t38pt_udptl", docSIP},
	{FileSIP, "peer", "allowtransfer", docSIP},
	{FileSIP, "peer", "promiscredir", docSIP},
	{FileSIP, "peer", "directmedia", docSIP},
	{FileSIP, "peer", "rtptimeout", docSIP},
	{FileSIP, "peer", "rtpholdtimeout", docSIP},
	{FileSIP, "peer", "callerid", docSIP},
	{FileSIP, "peer", "setvar", docSIP},
	{FileSIP, "peer", "language", docSIP},
	{FileSIP, "peer", "mohsuggest", docSIP},
	{FileSIP, "peer", "mailbox", docSIP},
	{FileSIP, "peer", "deny", docSIP},
	{FileSIP, "peer", "permit", docSIP},
	{FileSIP, "peer", "call-limit", docSIP},

	// iax.conf
	{FileIAX, "general", "bindport", docIAX + " [general]"},
	{FileIAX, "peer", "type", docIAX},
	{FileIAX, "peer", "host", docIAX},
	{FileIAX, "peer", "port", docIAX},
	{FileIAX, "peer", "username", docIAX},
	{FileIAX, "peer", "secret", docIAX},
	{FileIAX, "peer", "disallow", docIAX},
	{FileIAX, "peer", "allow", docIAX},
	{FileIAX, "peer", "context", docIAX},

	// extensions.conf
	{FileExtensions, "general", "static", docExt + " [general]"},
	{FileExtensions, "general", "writeprotect", docExt + " [general]"},
	{FileExtensions, "general", "autofallthrough", docExt + " [general]"},
	{FileExtensions, "general", "clearglobalvars", docExt + " [general]"},
	{FileExtensions, "general", "extenpatternmatchnew", docExt + " [general]"},
	{FileExtensions, "context", "exten", docExt},
	{FileExtensions, "context", "same", docExt},
	{FileExtensions, "context", "include", docExt},
}

// KnownApplications lists the dialplan applications and functions the
// renderer uses; all ship with Asterisk 20 (module in the comment).
var KnownApplications = map[string]string{
	"NoOp":       "main/pbx_builtins.c",
	"Hangup":     "main/pbx_builtins.c",
	"Goto":       "main/pbx_builtins.c",
	"GotoIf":     "main/pbx_builtins.c",
	"GotoIfTime": "main/pbx_builtins.c",
	"ExecIf":     "apps/app_exec.c",
	"Set":        "main/pbx_variables.c",
	"Dial":       "apps/app_dial.c",
	"Gosub":      "apps/app_stack.c",
	"GosubIf":    "apps/app_stack.c",
	"Return":     "apps/app_stack.c",
	"VoiceMail":  "apps/app_voicemail.c",
	// functions
	"GROUP":               "funcs/func_groupcount.c",
	"GROUP_COUNT":         "funcs/func_groupcount.c",
	"CALLERID":            "funcs/func_callerid.c",
	"CONNECTEDLINE":       "funcs/func_callerid.c",
	"FILTER":              "funcs/func_strings.c",
	"LEN":                 "funcs/func_strings.c",
	"IF":                  "funcs/func_logic.c",
	"DIALPLAN_EXISTS":     "funcs/func_dialplan.c",
	"LOCAL":               "apps/app_stack.c",
	"STRFTIME":            "funcs/func_strings.c",
	"PJSIP_DIAL_CONTACTS": "channels/pjsip/dialplan_functions.c",
	"DEVICE_STATE":        "funcs/func_devstate.c",
	"REDIRECTING":         "funcs/func_callerid.c",
	"PJSIP_HEADER":        "res/res_pjsip_header_funcs.c",
	"SIP_HEADER":          "channels/chan_sip.c",
	"TOLOWER":             "funcs/func_strings.c",
	"STRREPLACE":          "funcs/func_strings.c",
}
