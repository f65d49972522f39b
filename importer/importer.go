package importer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sipswitch/sipswitch/astconf"
	"github.com/sipswitch/sipswitch/engine"
)

// API modules the importer creates objects of.
const (
	ModulePeers        = "peers"
	ModulePhones       = "phones"
	ModuleSIPEndpoints = "sip_endpoints"
)

// Files the importer reads, in this order: the first definition of a name
// wins (see the package documentation).
var DefaultFiles = []string{"pjsip.conf", "pjsip_wizard.conf", "sip.conf"}

// ErrNothingToImport: the directory has none of the files.
var ErrNothingToImport = errors.New("no Asterisk SIP configuration found")

// Options say what to read.
type Options struct {
	// Dir is the Asterisk configuration directory (or a copy of it).
	Dir string
	// Files are the top-level files to read; nil reads DefaultFiles.
	// Missing files are skipped.
	Files []string
}

// Object is one sipswitch object mapped from Asterisk sections, as API
// parameters.
type Object struct {
	// Module is the API module that creates it: ModulePeers, ModulePhones
	// or ModuleSIPEndpoints.
	Module string
	Name   string
	// Pos is the header of the section the object is named by.
	Pos    astconf.Pos
	Params engine.Values
	// From lists, per parameter, the options it was mapped from.
	From map[string][]astconf.Pos
	// Implied lists options whose meaning the object has in sipswitch
	// anyway (type=friend on a line, insecure=port,invite on a peer...).
	Implied []astconf.Pos

	// Outcome is what the import did with the object.
	Outcome Outcome
	// Differs lists the parameters an existing object of the same name
	// has other values for (OutcomeDiffers).
	Differs []string
	// ID is the peer's id (in the database, or in the switch file).
	ID int64
}

// What names the object for people: "line 2001", "peer carrier-a".
func (o *Object) What() string { return what(o.Module, o.Name) }

func what(module, name string) string {
	switch module {
	case ModulePeers:
		return "peer " + name
	case ModulePhones:
		return "line " + name
	default:
		return "SIP endpoint " + name
	}
}

// Outcome is what happened to an object.
type Outcome int

// Outcomes of an import.
const (
	// OutcomeCreated: created (or, in a dry run, would be).
	OutcomeCreated Outcome = iota + 1
	// OutcomeUnchanged: an object of the name exists with the same values.
	OutcomeUnchanged
	// OutcomeDiffers: an object of the name exists with other values; it
	// is not updated.
	OutcomeDiffers
	// OutcomeNameTaken: another kind of object has the name.
	OutcomeNameTaken
	// OutcomeRefused: not imported; a Finding with Refused says why.
	OutcomeRefused
)

func (o Outcome) String() string {
	switch o {
	case OutcomeCreated:
		return "create"
	case OutcomeUnchanged:
		return "exists, unchanged"
	case OutcomeDiffers:
		return "exists, differs: not updated"
	case OutcomeNameTaken:
		return "name used by another kind of object: not imported"
	case OutcomeRefused:
		return "refused"
	}
	return "pending"
}

// Finding is an option (or a whole section, or an object) that is not
// imported as written, with where it is.
type Finding struct {
	Pos astconf.Pos
	// Object names the object the finding is about ("line 2001"), or the
	// section ("[transport-udp]"); "" for the file.
	Object string
	// Option is "name=value" of the option (secrets masked); "" for a
	// section or an object.
	Option  string
	Message string
	// Refused: the object is not imported at all.
	Refused bool
	// Covers lists further options the finding accounts for (a section
	// that is not imported).
	Covers []astconf.Pos
}

func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.Pos.String())
	b.WriteString(": ")
	if f.Object != "" {
		b.WriteString(f.Object)
		b.WriteString(": ")
	}
	if f.Option != "" {
		b.WriteString(f.Option)
		b.WriteString(": ")
	}
	if f.Refused {
		b.WriteString("NOT IMPORTED: ")
	}
	b.WriteString(f.Message)
	return b.String()
}

// Result is what Map found: the objects and every finding.
type Result struct {
	Dir      string
	Files    []string // every file read
	Objects  []*Object
	Findings []Finding
	// mapRefused counts sections that were not imported while mapping.
	mapRefused int
}

// Map reads the Asterisk SIP configuration of opts.Dir and maps it to
// sipswitch objects, without validating them against the store. A file
// Asterisk would refuse to load is an error (*astconf.Error); everything
// else Asterisk would ignore or sipswitch cannot express is a Finding.
func Map(ctx context.Context, opts Options) (*Result, error) {
	files := opts.Files
	if files == nil {
		files = DefaultFiles
	}
	m := &mapper{res: &Result{Dir: opts.Dir}, names: map[string]*Object{}}
	loaded := modulesLoaded(ctx, opts.Dir, m)
	read := 0
	for _, name := range files {
		if _, err := os.Stat(filepath.Join(opts.Dir, name)); errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		driver := "res_pjsip.so"
		if name == "sip.conf" {
			driver = "chan_sip.so"
		}
		if !loaded(driver) {
			m.res.Findings = append(m.res.Findings, Finding{Pos: astconf.Pos{File: name, Line: 1}, Message: fmt.Sprintf("not read: modules.conf does not load %s", driver)})
			continue
		}
		cfg, err := astconf.Load(ctx, opts.Dir, name)
		if err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		read++
		m.res.Files = append(m.res.Files, cfg.Files...)
		for _, w := range cfg.Warnings {
			m.res.Findings = append(m.res.Findings, Finding{Pos: w.Pos, Message: "Asterisk: " + w.Message})
		}
		switch name {
		case "sip.conf":
			m.chanSIP(cfg)
		case "pjsip_wizard.conf":
			m.pjsip(cfg, true)
		default:
			m.pjsip(cfg, false)
		}
	}
	if read == 0 {
		return nil, fmt.Errorf("import: %w in %s (looked for %s)", ErrNothingToImport, opts.Dir, strings.Join(files, ", "))
	}
	m.finish()
	return m.res, nil
}

// modulesLoaded reads modules.conf, when there is one, for the channel
// drivers it keeps Asterisk from loading.
func modulesLoaded(ctx context.Context, dir string, m *mapper) func(string) bool {
	all := func(string) bool { return true }
	if _, err := os.Stat(filepath.Join(dir, "modules.conf")); err != nil {
		return all
	}
	cfg, err := astconf.Load(ctx, dir, "modules.conf")
	if err != nil {
		m.res.Findings = append(m.res.Findings, Finding{Pos: astconf.Pos{File: "modules.conf", Line: 1}, Message: "not read (" + err.Error() + "): every driver's file is imported"})
		return all
	}
	secs := cfg.Find("modules")
	if len(secs) == 0 {
		return all
	}
	s := secs[0]
	autoload := true
	if o, ok := s.Last("autoload"); ok {
		autoload = yes(o.Value)
	}
	return func(module string) bool {
		for _, o := range s.All("noload") {
			if strings.EqualFold(o.Value, module) {
				return false
			}
		}
		if autoload {
			return true
		}
		for _, o := range s.All("load") {
			if strings.EqualFold(o.Value, module) {
				return true
			}
		}
		return false
	}
}

// mapper holds the state of one Map.
type mapper struct {
	res      *Result
	names    map[string]*Object // lower-case name -> first object of it
	trackers []*tracker
}

// tracker follows which options of one section were mapped.
type tracker struct {
	sec  *astconf.Section
	used []bool
	// object is who the section's unmapped options are reported for.
	object string
	// shared sections (chan_sip's [general]) lend options to many objects:
	// their options are reported once, at the end, when no object mapped
	// them; notes keep why an object could not.
	shared bool
	notes  map[int]string
	// done: the section is already accounted for as a whole.
	done bool
}

func (m *mapper) track(sec *astconf.Section, object string) *tracker {
	t := &tracker{sec: sec, used: make([]bool, len(sec.Options)), object: object, notes: map[int]string{}}
	m.trackers = append(m.trackers, t)
	return t
}

// opt is one option as a mapping sees it, with the tracker it belongs to.
type opt struct {
	astconf.Option
	t   *tracker
	idx int
}

func (o opt) use() {
	if o.t != nil {
		o.t.used[o.idx] = true
	}
}

// view is the options of one Asterisk object (a chan_sip peer, a pjsip
// endpoint or aor...), possibly lent by a fallback (chan_sip's [general]).
type view struct {
	opts     []opt
	fallback *view
}

func viewOf(t *tracker) *view {
	v := &view{}
	for i, o := range t.sec.Options {
		v.opts = append(v.opts, opt{Option: o, t: t, idx: i})
	}
	return v
}

// last returns the option called name that takes effect (the last one;
// the fallback's when the view has none), marking every one of that name
// as read: earlier ones are overridden, which is how Asterisk reads them.
func (v *view) last(name string) (opt, bool) {
	if v == nil {
		return opt{}, false
	}
	var found opt
	ok := false
	for _, o := range v.opts {
		if strings.EqualFold(o.Name, name) {
			found, ok = o, true
			o.use()
		}
	}
	if ok {
		return found, true
	}
	return v.fallback.last(name)
}

// value is last's value, "" when absent.
func (v *view) value(name string) string {
	o, _ := v.last(name)
	return o.Value
}

// peek is last without marking anything.
func (v *view) peek(name string) (opt, bool) {
	if v == nil {
		return opt{}, false
	}
	for i := len(v.opts) - 1; i >= 0; i-- {
		if strings.EqualFold(v.opts[i].Name, name) {
			return v.opts[i], true
		}
	}
	return v.fallback.peek(name)
}

// own returns every option called name of the view itself, in order.
func (v *view) own(name string) []opt {
	var out []opt
	for _, o := range v.opts {
		if strings.EqualFold(o.Name, name) {
			out = append(out, o)
		}
	}
	return out
}

// build collects one object's parameters and findings.
type build struct {
	m   *mapper
	obj *Object
	// refused, when set, is why the object is not imported.
	refused *Finding
	// findings wait for done: a refused object's option findings are
	// noise beside its refusal.
	findings []Finding
}

func (m *mapper) newBuild(module, name string, pos astconf.Pos) *build {
	return &build{m: m, obj: &Object{Module: module, Name: name, Pos: pos,
		Params: engine.Values{"name": name}, From: map[string][]astconf.Pos{"name": {pos}}}}
}

// set maps param from the options.
func (b *build) set(param, value string, from ...opt) {
	b.obj.Params[param] = value
	for _, o := range from {
		o.use()
		b.obj.From[param] = append(b.obj.From[param], o.Pos)
		b.obj.From[param] = append(b.obj.From[param], o.Appends...)
	}
}

// implied marks options whose meaning the object has anyway.
func (b *build) implied(os ...opt) {
	for _, o := range os {
		o.use()
		b.obj.Implied = append(b.obj.Implied, o.Pos)
		b.obj.Implied = append(b.obj.Implied, o.Appends...)
	}
}

// warn reports an option as not imported (or imported with a caveat).
// Options lent by a shared section are reported there, once.
func (b *build) warn(o opt, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if o.t != nil && o.t.shared {
		if _, seen := o.t.notes[o.idx]; !seen {
			o.t.notes[o.idx] = msg
		}
		return
	}
	o.use()
	b.findings = append(b.findings, Finding{Pos: o.Pos, Object: b.obj.What(), Option: optionText(o.Option), Message: msg})
}

// note reports something about the object as a whole.
func (b *build) note(pos astconf.Pos, format string, a ...any) {
	b.findings = append(b.findings, Finding{Pos: pos, Object: b.obj.What(), Message: fmt.Sprintf(format, a...)})
}

// refuse keeps the object out of the import; the first reason counts.
func (b *build) refuse(pos astconf.Pos, option string, format string, a ...any) {
	if b.refused == nil {
		b.refused = &Finding{Pos: pos, Object: b.obj.What(), Option: option, Message: fmt.Sprintf(format, a...), Refused: true}
	}
}

// done files the object, or its refusal, and settles name clashes: the
// first object of a name (compared as Asterisk compares section names)
// wins.
func (b *build) done(views ...*view) {
	if b.obj.Name == "" {
		b.refuse(b.obj.Pos, "", "the section has no name")
	}
	for _, v := range views {
		for _, o := range v.opts {
			if o.t != nil && !o.t.shared {
				o.t.object = b.obj.What()
			}
		}
	}
	if b.refused != nil {
		// Every option of a refused object is accounted for by the
		// refusal.
		for _, f := range b.findings {
			b.refused.Covers = append(b.refused.Covers, f.Pos)
		}
		for _, v := range views {
			for _, o := range v.opts {
				if o.t != nil && !o.t.shared {
					o.use()
					b.refused.Covers = append(b.refused.Covers, o.Pos)
				}
			}
		}
		b.m.res.Findings = append(b.m.res.Findings, *b.refused)
		b.m.res.mapRefused++
		return
	}
	key := strings.ToLower(b.obj.Name)
	if prev, dup := b.m.names[key]; dup {
		f := Finding{Pos: b.obj.Pos, Object: b.obj.What(), Refused: true,
			Message: fmt.Sprintf("the name is already imported from %s (%s); sipswitch objects share one name space, as Asterisk's sections do", prev.Pos, prev.What())}
		for _, v := range views {
			for _, o := range v.opts {
				if o.t != nil && !o.t.shared {
					o.use()
					f.Covers = append(f.Covers, o.Pos)
				}
			}
		}
		b.m.res.Findings = append(b.m.res.Findings, f)
		b.m.res.mapRefused++
		return
	}
	b.m.names[key] = b.obj
	b.m.res.Objects = append(b.m.res.Objects, b.obj)
	b.m.res.Findings = append(b.m.res.Findings, b.findings...)
}

// skipSection accounts for a whole section that is not imported.
func (m *mapper) skipSection(t *tracker, format string, a ...any) {
	f := Finding{Pos: t.sec.Pos, Object: "[" + t.sec.Name + "]", Message: fmt.Sprintf(format, a...)}
	for i, o := range t.sec.Options {
		t.used[i] = true
		f.Covers = append(f.Covers, o.Pos)
	}
	t.done = true
	m.res.Findings = append(m.res.Findings, f)
}

// finish reports every option no mapping read.
func (m *mapper) finish() {
	for _, t := range m.trackers {
		if t.done {
			continue
		}
		for i, o := range t.sec.Options {
			if t.used[i] {
				continue
			}
			msg, ok := t.notes[i]
			if !ok {
				msg = notImported(o.Name)
			}
			m.res.Findings = append(m.res.Findings, Finding{Pos: o.Pos, Object: t.object, Option: optionText(o), Message: msg})
		}
	}
	m.res.sortFindings()
}

// sortFindings orders findings by file (in the order read) and line.
func (r *Result) sortFindings() {
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i].Pos, r.Findings[j].Pos
		if a.File != b.File {
			return fileOrder(r.Files, a.File) < fileOrder(r.Files, b.File)
		}
		return a.Line < b.Line
	})
}

func fileOrder(files []string, f string) int {
	for i, x := range files {
		if x == f {
			return i
		}
	}
	return len(files)
}

// secretOptions are masked in findings.
var secretOptions = map[string]bool{
	"secret": true, "remotesecret": true, "md5secret": true, "password": true, "md5_cred": true,
	"auth": true, "register": true, "inbound_auth/password": true, "outbound_auth/password": true,
}

func optionText(o astconf.Option) string {
	v := o.Value
	if secretOptions[strings.ToLower(o.Name)] {
		v = "***"
	}
	return o.Name + "=" + v
}

// reasons explain, per option name, why sipswitch has no parameter for it.
var reasons = map[string]string{
	"nat":                      "NAT traversal is the SIP core's (rport, symmetric RTP); lines and peers have no NAT setting",
	"directmedia":              "the media path is the SIP core's, not a per-object setting",
	"canreinvite":              "the media path is the SIP core's, not a per-object setting",
	"direct_media":             "the media path is the SIP core's, not a per-object setting",
	"rtp_symmetric":            "NAT traversal is the SIP core's; lines and peers have no NAT setting",
	"force_rport":              "NAT traversal is the SIP core's; lines and peers have no NAT setting",
	"rewrite_contact":          "NAT traversal is the SIP core's; lines and peers have no NAT setting",
	"callgroup":                "call pickup groups have no sipswitch parameter",
	"pickupgroup":              "call pickup groups have no sipswitch parameter",
	"call_group":               "call pickup groups have no sipswitch parameter",
	"pickup_group":             "call pickup groups have no sipswitch parameter",
	"namedcallgroup":           "call pickup groups have no sipswitch parameter",
	"namedpickupgroup":         "call pickup groups have no sipswitch parameter",
	"accountcode":              "billing follows customers and rate plans, not account codes",
	"amaflags":                 "billing follows customers and rate plans, not AMA flags",
	"transport":                "lines and peers use the switch's UDP/TCP listeners",
	"subscribecontext":         "presence subscriptions have no sipswitch parameter",
	"allowsubscribe":           "presence subscriptions have no sipswitch parameter",
	"subscribemwi":             "message-waiting subscriptions have no sipswitch parameter",
	"encryption":               "media encryption has no sipswitch parameter",
	"media_encryption":         "media encryption has no sipswitch parameter",
	"videosupport":             "video has no sipswitch parameter",
	"qualifyfreq":              "the ping interval is the switch's (lines: every 60 s when rendered); peers are not pinged",
	"fromdomain":               "peers have no From domain parameter",
	"from_domain":              "peers have no From domain parameter",
	"dtmfmode":                 "lines have no DTMF mode parameter (the SIP core relays RFC 4733 events)",
	"dtmf_mode":                "lines have no DTMF mode parameter (the SIP core relays RFC 4733 events)",
	"busylevel":                "device state has no sipswitch parameter; totalmaximum (call-limit) limits calls",
	"rtptimeout":               "RTP timeouts are the switch's (calls.session_expires), not per object",
	"rtpholdtimeout":           "RTP timeouts are the switch's (calls.session_expires), not per object",
	"cid_number":               "lines present callerid_external (callerid=)",
	"fullname":                 "lines present callername_external (callerid=)",
	"trustrpid":                "peers have no trust setting for Remote-Party-ID",
	"trust_id_inbound":         "peers have no trust setting for identity headers",
	"progressinband":           "peers and lines have no in-band progress setting",
	"usereqphone":              "peers and lines have no user=phone setting",
	"session-timers":           "session timers are the switch's (calls.session_expires, calls.min_se)",
	"session-expires":          "session timers are the switch's (calls.session_expires, calls.min_se)",
	"session-minse":            "session timers are the switch's (calls.session_expires, calls.min_se)",
	"session-refresher":        "session timers are the switch's (calls.session_expires, calls.min_se)",
	"timers":                   "session timers are the switch's (calls.session_expires, calls.min_se)",
	"timers_min_se":            "session timers are the switch's (calls.session_expires, calls.min_se)",
	"timers_sess_expires":      "session timers are the switch's (calls.session_expires, calls.min_se)",
	"t38pt_usertpsource":       "T.38 details have no sipswitch parameter",
	"allowtransfer":            "transfers have no sipswitch parameter",
	"allow_transfer":           "transfers have no sipswitch parameter",
	"remove_existing":          "lines keep one registration and replace it (remove_existing=yes)",
	"default_expiration":       "registration expiry is the switch's",
	"maximum_expiration":       "registration expiry is the switch's",
	"minimum_expiration":       "registration expiry is the switch's",
	"defaultexpiry":            "registration expiry is the switch's",
	"maxexpiry":                "registration expiry is the switch's",
	"minexpiry":                "registration expiry is the switch's",
	"bindaddr":                 "listen addresses are sipswitch's configuration (sip: in the daemon's config file), not objects",
	"bindport":                 "listen addresses are sipswitch's configuration (sip: in the daemon's config file), not objects",
	"udpbindaddr":              "listen addresses are sipswitch's configuration (sip: in the daemon's config file), not objects",
	"tcpenable":                "listen addresses are sipswitch's configuration (sip: in the daemon's config file), not objects",
	"tcpbindaddr":              "listen addresses are sipswitch's configuration (sip: in the daemon's config file), not objects",
	"tlsenable":                "TLS listeners are sipswitch's configuration (render --tls-cert), not objects",
	"tlsbindaddr":              "TLS listeners are sipswitch's configuration (render --tls-cert), not objects",
	"tlscertfile":              "TLS listeners are sipswitch's configuration (render --tls-cert), not objects",
	"tlsprivatekey":            "TLS listeners are sipswitch's configuration (render --tls-cert), not objects",
	"externip":                 "the advertised address is sipswitch's configuration (sip_advertise), not objects",
	"externaddr":               "the advertised address is sipswitch's configuration (sip_advertise), not objects",
	"externhost":               "the advertised address is sipswitch's configuration (sip_advertise), not objects",
	"localnet":                 "the advertised address is sipswitch's configuration (sip_advertise), not objects",
	"allowguest":               "sipswitch never accepts unauthenticated calls (guests) except from peers' addresses",
	"alwaysauthreject":         "sipswitch answers unknown and wrong credentials alike",
	"srvlookup":                "host names are resolved by the switch",
	"useragent":                "the User-Agent is the switch's",
	"realm":                    "the digest realm is the switch's",
	"language":                 "peers have no language parameter",
	"mohsuggest":               "peers have no music-on-hold parameter",
	"mohinterpret":             "music on hold is chosen per line (music)",
	"moh_suggest":              "peers have no music-on-hold parameter",
	"sendrpid":                 "lines have no identity-header setting",
	"send_rpid":                "lines have no identity-header setting",
	"send_pai":                 "lines have no identity-header setting",
	"trust_id_outbound":        "lines have no identity-header setting",
	"t38pt_udptl":              "peers have no T.38 setting (lines: media=fax)",
	"rtp_timeout":              "RTP timeouts are the switch's, not per object",
	"rtp_timeout_hold":         "RTP timeouts are the switch's, not per object",
	"ice_support":              "ICE has no sipswitch parameter",
	"webrtc":                   "WebRTC has no sipswitch parameter",
	"rtcp_mux":                 "RTCP multiplexing has no sipswitch parameter",
	"identify_by":              "lines are identified by their name, peers by their destinations' addresses",
	"outbound_proxy":           "lines have no outbound proxy parameter",
	"outboundproxy":            "lines have no outbound proxy parameter",
	"device_state_busy_at":     "peers have no device-state setting; outmaximum limits calls",
	"call-limit":               "call-limit has no meaning here",
	"defaultip":                "a line's address is where it registers from",
	"port":                     "a line's port is where it registers from",
	"username":                 "lines authenticate with their name",
	"max_contacts":             "lines keep one registration (max_contacts=1)",
	"authenticate_qualify":     "qualify requests are not challenged",
	"qualify_timeout":          "the ping timeout is the switch's",
	"insecure":                 "lines always authenticate",
	"cos_sip":                  "QoS marking is the host's",
	"cos_audio":                "QoS marking is the host's",
	"tos_sip":                  "QoS marking is the host's",
	"tos_audio":                "QoS marking is the host's",
	"tos":                      "QoS marking is the host's",
	"cos":                      "QoS marking is the host's",
	"tos_video":                "QoS marking is the host's",
	"has_hint":                 "dialplan hints are rendered from the lines",
	"hint_exten":               "dialplan hints are rendered from the lines",
	"hint_context":             "dialplan hints are rendered from the lines",
	"hint_application":         "dialplan hints are rendered from the lines",
	"has_phoneprov":            "phone provisioning has no sipswitch object",
	"expiration":               "the registration interval is Asterisk's default",
	"retry_interval":           "registration retries are Asterisk's defaults",
	"max_retries":              "registration retries are Asterisk's defaults",
	"forbidden_retry_interval": "registration retries are Asterisk's defaults",
	"fatal_retry_interval":     "registration retries are Asterisk's defaults",
	"auth_rejection_permanent": "registration retries are Asterisk's defaults",
	"t1min":                    "not rendered for SIP endpoints",
	"registertrying":           "not rendered for SIP endpoints",
	"description":              "SIP endpoints have no description",
	"qualify":                  "peers are not pinged: a peer that fails a call is failed over from by the call's outcome",
	"qualify_frequency":        "peers are not pinged: a peer that fails a call is failed over from by the call's outcome",
	"context":                  "calls from unknown sources are refused; lines follow their rate plan, peers enter context \"inbound\"",
}

func notImported(name string) string {
	// Wizard options name their object: endpoint/direct_media.
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if r, ok := reasons[strings.ToLower(name)]; ok {
		return "not imported: " + r
	}
	return "not imported: no sipswitch parameter takes it"
}
