package render

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
)

// File names of the rendered configuration.
const (
	FileSIP        = "sip.conf"
	FilePJSIP      = "pjsip.conf"
	FileIAX        = "iax.conf"
	FileExtensions = "extensions.conf"
	FileVoicemail  = "voicemail.conf"
	// FileMusicOnHold holds the hold music classes (musiconhold.go).
	FileMusicOnHold = "musiconhold.conf"
)

// FileNames lists every file Render produces, in a fixed order.
var FileNames = []string{FileExtensions, FileIAX, FileMusicOnHold, FilePJSIP, FileSIP, FileVoicemail}

// Files maps a file name (FileSIP, ...) to its rendered bytes.
type Files map[string][]byte

// Driver is the SIP channel driver phones and type=sip peers live in and
// are dialled with (type=pjsip peers are always res_pjsip's).
type Driver string

// SIP channel drivers.
const (
	DriverPJSIP   Driver = "PJSIP"
	DriverChanSIP Driver = "SIP"
)

// defaultFailoverStatuses are the DIALSTATUS values after which the next
// peer is tried: the engine's failover policy, so the dialplan and the SIP
// core move on after the same outcomes.
var defaultFailoverStatuses = routing.ContinueDialStatuses

type config struct {
	// chanSIPTLS: sip.conf's [general] enables TLS (set while rendering
	// it).
	chanSIPTLS bool
	failover   []string
	sipDriver  Driver
	udpBind    string
	tcpBind    string
	vmContext  string
	tlsCert    string // PEM certificate for TLS listeners; "" = none
	tlsKey     string
	costs      []routing.PeerCost
	media      MediaPolicy
	realm      string // the realm Asterisk challenges phones and sip_endpoints in
	// plainPasswords writes checked passwords as themselves
	// (WithPlainPasswords).
	plainPasswords bool
}

// DefaultRealm is the realm the rendered files make Asterisk challenge
// phones in unless WithRealm names another: Asterisk's own default, so
// phones that knew an Asterisk see no change.
const DefaultRealm = "asterisk"

// MediaPolicy is the SIP core's media configuration as the rendered
// files carry it (WithMedia).
type MediaPolicy struct {
	// Relay is media.relay: "auto" (the default), "always" or "never".
	Relay string
	// Timeout and HoldTimeout are media.timeout and media.hold_timeout,
	// whole seconds; 0 renders none.
	Timeout, HoldTimeout int
}

// Option adjusts rendering.
type Option func(*config)

// WithFailoverStatuses sets the DIALSTATUS values that move a call on to
// the route's next peer.
func WithFailoverStatuses(statuses ...string) Option {
	return func(c *config) { c.failover = append([]string(nil), statuses...) }
}

// WithSIPDriver selects the driver of phones, type=sip peers and
// sip_endpoints: res_pjsip (default; chan_sip is deprecated in Asterisk 20
// and gone in 21) or chan_sip. Only the chosen driver's file holds them and
// listens on the switch's SIP address: Asterisk loading both files would
// otherwise bind the same port twice. The other file is written too, so a
// stale one can never be loaded: with res_pjsip, sip.conf only binds
// chan_sip to 127.0.0.1:5160 (noload chan_sip.so to drop it); with
// chan_sip, pjsip.conf holds the type=pjsip peers, their transport on port
// 5062 of the same address, or no transport when there are none.
func WithSIPDriver(d Driver) Option {
	return func(c *config) { c.sipDriver = d }
}

// WithTransports sets the bind addresses of pjsip.conf's UDP and TCP
// transports (default 0.0.0.0:5060 for both).
func WithTransports(udpBind, tcpBind string) Option {
	return func(c *config) { c.udpBind, c.tcpBind = udpBind, tcpBind }
}

// WithTLSCertificate names the certificate and private key files (PEM, on
// the Asterisk host) that the TLS listeners present. pjsip.conf's
// transport-tls carries them; chan_sip enables TLS only with them, since it
// refuses to load a TLS listener without a certificate.
func WithTLSCertificate(certFile, keyFile string) Option {
	return func(c *config) { c.tlsCert, c.tlsKey = certFile, keyFile }
}

// WithVoicemailContext sets the voicemail.conf context phones' mailboxes
// live in (default "default").
func WithVoicemailContext(ctx string) Option {
	return func(c *config) { c.vmContext = ctx }
}

// WithMedia renders the SIP core's media policy for phones and peers, so
// that Asterisk treats media as the SIP core does: phones are handled as
// possibly behind NAT (media to where their RTP comes from, requests to
// where they sent from), media is anchored when the policy relays it
// (always; auto: when the phone is behind NAT), and calls whose media
// stopped end after the same timeouts (README "Media").
func WithMedia(m MediaPolicy) Option {
	return func(c *config) { c.media = m }
}

// WithCosts gives the renderer the peers' cost rows, for least-cost
// routes (peerN=-1): the dialplan dials the peers in the order the SIP
// core's cost index ranks them (lcr.go). Without them, a least-cost entry
// dials nobody.
func WithCosts(costs []routing.PeerCost) Option {
	return func(c *config) { c.costs = costs }
}

// WithRealm sets the digest realm Asterisk challenges phones and
// sip_endpoints in (default DefaultRealm): pjsip.conf's default_realm
// and the realm of every auth section that checks a password, chan_sip's
// [general] realm. Passwords Asterisk only checks are rendered as the MD5
// digest of user:realm:password (RFC 2617 H(A1): pjsip auth_type=md5 with
// md5_cred, chan_sip md5secret), which is bound to this realm: the files
// then hold no such password, and what they hold is worth nothing against
// another realm. Keep it apart from the SIP core's realm (config realm):
// a digest for that realm would log in to the SIP core too.
func WithRealm(realm string) Option {
	return func(c *config) { c.realm = realm }
}

// WithPlainPasswords renders every password as itself (pjsip
// auth_type=userpass, chan_sip secret=), as sipswitch did before digests,
// for reading the files back with `sipswitch import asterisk`: a digest
// cannot give back the password the SIP core needs. The daemon and
// `sipswitch render` never use it.
func WithPlainPasswords() Option {
	return func(c *config) { c.plainPasswords = true }
}

// CheckRealm reports whether realm can be rendered: not empty, no white
// space, control characters, quotes, backslashes, ';', '#', ':' or '@'
// (the separators of chan_sip's auth=user#digest@realm and of the digest
// input user:realm:password).
func CheckRealm(realm string) error {
	if realm == "" {
		return fmt.Errorf("%w: empty realm", ErrInvalidValue)
	}
	for _, r := range realm {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("\"\\;#:@", r) {
			return fmt.Errorf("%w: realm %q (no spaces, quotes, backslashes, ';', '#', ':' or '@')", ErrInvalidValue, realm)
		}
	}
	return nil
}

// Render turns a snapshot into the Asterisk configuration files (FileNames). It
// never writes anything; an error names the object and parameter that
// cannot be expressed.
func Render(snap *routing.Snapshot, opts ...Option) (Files, error) {
	cfg := config{
		failover:  defaultFailoverStatuses,
		sipDriver: DriverPJSIP,
		udpBind:   "0.0.0.0:5060",
		tcpBind:   "0.0.0.0:5060",
		vmContext: "default",
		media:     MediaPolicy{Relay: "auto", Timeout: 60, HoldTimeout: 3600},
		realm:     DefaultRealm,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if err := CheckRealm(cfg.realm); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	switch cfg.media.Relay {
	case "auto", "always", "never":
	default:
		return nil, fmt.Errorf("render: media relay: %w: %q (auto, always or never)", ErrInvalidValue, cfg.media.Relay)
	}
	if cfg.media.Timeout < 0 || cfg.media.HoldTimeout < 0 {
		return nil, fmt.Errorf("render: media timeouts: %w: %d, %d", ErrInvalidValue, cfg.media.Timeout, cfg.media.HoldTimeout)
	}
	if snap == nil {
		return nil, fmt.Errorf("render: %w: nil snapshot", ErrInvalidValue)
	}
	// Objects a file cannot express are left out of every file (an
	// endpoint without its dialplan, or the reverse, would be a half
	// object), and the files are rendered again without them; leaving
	// one out can make another inexpressible (a line whose class of
	// service was left out), hence the passes.
	skipped := map[objectRef]error{}
	for pass := 0; ; pass++ {
		files, more, err := renderFiles(withoutObjects(snap, skipped), &cfg)
		if err != nil {
			return nil, err
		}
		if len(more) == 0 {
			if len(skipped) == 0 {
				return files, nil
			}
			return files, newPartialError(skipped)
		}
		if pass == maxRenderPasses {
			return nil, fmt.Errorf("render: objects still left out after %d passes: %w", pass+1, newPartialError(more))
		}
		for ref, err := range more {
			skipped[ref] = err
		}
	}
}

// maxRenderPasses bounds the re-renders a chain of left-out objects
// causes (a class of service, then its lines, then lines forwarding to
// them by name).
const maxRenderPasses = 4

// renderFiles renders the files of snap once, returning the objects
// they had to leave out.
func renderFiles(snap *routing.Snapshot, cfg *config) (Files, map[objectRef]error, error) {
	m := newModel(snap)
	var err error
	if m.costs, err = newCostTable(m, cfg.costs); err != nil {
		return nil, nil, fmt.Errorf("render %s: %w", FileExtensions, err)
	}
	files := make(Files, len(FileNames))
	for _, f := range []struct {
		name string
		fn   func(*model, *config) ([]byte, error)
	}{
		{FilePJSIP, renderPJSIP},
		{FileSIP, renderSIP},
		{FileIAX, renderIAX},
		{FileExtensions, renderExtensions},
		{FileVoicemail, renderVoicemail},
		{FileMusicOnHold, renderMusicOnHold},
	} {
		b, err := f.fn(m, cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("render %s: %w", f.name, err)
		}
		files[f.name] = b
	}
	return files, m.skipped, nil
}

// Skipped is one object the renderer left out of the files.
type Skipped struct {
	Object string // phone "2001", peer 3, route 7, sip_endpoint "gw", timegroup 2, class of service 4
	Err    error  // why, naming the parameter
}

// PartialError is Render's error when it left objects out: the Files it
// returns beside it hold every other object and may be written. Callers
// that need every object (render --check) treat it as any error.
type PartialError struct {
	Skipped []Skipped // in object order
}

func newPartialError(skipped map[objectRef]error) *PartialError {
	e := &PartialError{Skipped: make([]Skipped, 0, len(skipped))}
	for ref, err := range skipped {
		e.Skipped = append(e.Skipped, Skipped{Object: ref.String(), Err: err})
	}
	sort.Slice(e.Skipped, func(i, j int) bool { return e.Skipped[i].Object < e.Skipped[j].Object })
	return e
}

func (e *PartialError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d objects left out of the rendered files:", len(e.Skipped))
	for _, s := range e.Skipped {
		b.WriteString(" ")
		b.WriteString(s.Err.Error())
		b.WriteString(";")
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap lets errors.Is find the sentinels (ErrInvalidValue...) of the
// objects left out.
func (e *PartialError) Unwrap() []error {
	errs := make([]error, len(e.Skipped))
	for i, s := range e.Skipped {
		errs[i] = s.Err
	}
	return errs
}

// AsPartial returns the PartialError err is or wraps, or nil.
func AsPartial(err error) *PartialError {
	var p *PartialError
	if errors.As(err, &p) {
		return p
	}
	return nil
}

// withoutObjects is snap without the objects of skipped (snap itself when
// there are none); the slices are copies, snap is not modified.
func withoutObjects(snap *routing.Snapshot, skipped map[objectRef]error) *routing.Snapshot {
	if len(skipped) == 0 {
		return snap
	}
	out := *snap
	keep := func(ref objectRef) bool { _, gone := skipped[ref]; return !gone }
	out.Phones = filterObjects(snap.Phones, func(p *routing.Phone) bool { return keep(phoneRef(p)) })
	out.Peers = filterObjects(snap.Peers, func(p *routing.Peer) bool { return keep(peerRef(p)) })
	out.Routes = filterObjects(snap.Routes, func(r *routing.Route) bool { return keep(routeRef(r)) })
	out.SIPEndpoints = filterObjects(snap.SIPEndpoints, func(e *routing.SIPEndpoint) bool { return keep(endpointRef(e)) })
	out.TimeGroups = filterObjects(snap.TimeGroups, func(tg *routing.TimeGroup) bool { return keep(timeGroupRef(tg)) })
	out.Classes = filterObjects(snap.Classes, func(c *routing.ClassOfService) bool { return keep(classRef(c)) })
	return &out
}

func filterObjects[T any](in []T, keep func(*T) bool) []T {
	out := make([]T, 0, len(in))
	for i := range in {
		if keep(&in[i]) {
			out = append(out, in[i])
		}
	}
	return out
}

// model is the snapshot sorted and indexed once for all the files.
type model struct {
	snap      *routing.Snapshot
	peers     []*routing.Peer // by id
	peerByID  map[int]*routing.Peer
	phones    []*routing.Phone // by name
	endpoints []*routing.SIPEndpoint
	// endpointLines are the lines the sip_endpoints that register to the
	// switch are (routing.EndpointLine), by name: endpoint_line.go.
	endpointLines map[string]*routing.Phone
	// endpointTrunks are the sip_endpoints served as trunks
	// (routing.EndpointTrunk) by lower-case name: endpoint_trunk.go.
	endpointTrunks map[string]*routing.EndpointTrunk
	plans          []*routing.Plan
	planByID       map[int]*routing.Plan
	custByID       map[int]*routing.Customer
	routes         map[int][]*routing.Route // plan id -> routes
	timeGroups     []*routing.TimeGroup
	tgByID         map[int]*routing.TimeGroup
	classes        []*routing.ClassOfService // by id, the built-in class left out
	cosByID        map[int]*routing.ClassOfService
	lineLimits     bool // some line has a totalmaximum
	costs          *costTable
	lineByName     map[string]*routing.Phone // by name and lower-case name
	// logins are the virtual lines logged into physical lines
	// (routing/virtual.go).
	logins routing.Logins
	// skipped are the objects a file could not express (confWriter.each).
	skipped map[objectRef]error
}

func newModel(s *routing.Snapshot) *model {
	m := &model{
		snap:       s,
		peerByID:   make(map[int]*routing.Peer, len(s.Peers)),
		planByID:   make(map[int]*routing.Plan, len(s.Plans)),
		custByID:   make(map[int]*routing.Customer, len(s.Customers)),
		routes:     make(map[int][]*routing.Route),
		tgByID:     make(map[int]*routing.TimeGroup, len(s.TimeGroups)),
		cosByID:    make(map[int]*routing.ClassOfService, len(s.Classes)),
		lineByName: make(map[string]*routing.Phone, 2*len(s.Phones)),
		skipped:    make(map[objectRef]error),
	}
	for i := range s.Peers {
		p := &s.Peers[i]
		m.peers = append(m.peers, p)
		m.peerByID[p.ID] = p
	}
	sort.Slice(m.peers, func(i, j int) bool { return m.peers[i].ID < m.peers[j].ID })
	for i := range s.Phones {
		p := &s.Phones[i]
		m.phones = append(m.phones, p)
		m.lineLimits = m.lineLimits || p.TotalMaximum >= 0
		m.lineByName[p.Name] = p
		if _, taken := m.lineByName[strings.ToLower(p.Name)]; !taken {
			m.lineByName[strings.ToLower(p.Name)] = p
		}
	}
	sort.Slice(m.phones, func(i, j int) bool { return m.phones[i].Name < m.phones[j].Name })
	m.logins = routing.NewLogins(s.Phones)
	for i := range s.SIPEndpoints {
		m.endpoints = append(m.endpoints, &s.SIPEndpoints[i])
	}
	sort.Slice(m.endpoints, func(i, j int) bool { return m.endpoints[i].Name < m.endpoints[j].Name })
	m.addEndpointLines()
	m.addEndpointTrunks()
	for i := range s.Plans {
		p := &s.Plans[i]
		m.plans = append(m.plans, p)
		m.planByID[p.ID] = p
	}
	sort.Slice(m.plans, func(i, j int) bool { return m.plans[i].ID < m.plans[j].ID })
	for i := range s.Customers {
		m.custByID[s.Customers[i].ID] = &s.Customers[i]
	}
	for i := range s.Routes {
		r := &s.Routes[i]
		m.routes[r.Plan] = append(m.routes[r.Plan], r)
	}
	for _, rs := range m.routes {
		sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
	}
	for i := range s.TimeGroups {
		tg := &s.TimeGroups[i]
		m.timeGroups = append(m.timeGroups, tg)
		m.tgByID[tg.ID] = tg
	}
	sort.Slice(m.timeGroups, func(i, j int) bool { return m.timeGroups[i].ID < m.timeGroups[j].ID })
	for i := range s.Classes {
		c := &s.Classes[i]
		if c.ID == routing.COSAllowAll {
			continue
		}
		m.classes = append(m.classes, c)
		m.cosByID[c.ID] = c
	}
	sort.Slice(m.classes, func(i, j int) bool { return m.classes[i].ID < m.classes[j].ID })
	m.checkNames()
	return m
}

// lineName is the stored name of the line called name, compared without
// case as the SIP core's Directory.Phone does.
func (m *model) lineName(name string) (string, bool) {
	if p, ok := m.lineByName[name]; ok {
		return p.Name, true
	}
	p, ok := m.lineByName[strings.ToLower(name)]
	if !ok {
		return "", false
	}
	return p.Name, true
}

// newConfWriter starts one file whose objects each may leave out: they
// are noted in m.skipped.
func (m *model) newConfWriter(file string, sizeHint int) *confWriter {
	w := newConfWriter(file, sizeHint)
	w.skip = m.skip
	return w
}

func (m *model) skip(ref objectRef, err error) {
	if _, ok := m.skipped[ref]; !ok {
		m.skipped[ref] = err
	}
}

// checkNames leaves out the later of a phone, a SIP peer and a
// sip_endpoint that share a name: they are all sections of the same
// sip.conf/pjsip.conf namespace, and Asterisk compares section names
// case-insensitively (the API refuses such names; a store written before
// it did may hold them).
func (m *model) checkNames() {
	seen := make(map[string]string, len(m.phones)+len(m.peers)+len(m.endpoints))
	reserved := []string{"general", "global", "system", "transport-udp", "transport-tcp", "transport-tls", "authentication"}
	for _, r := range reserved {
		seen[r] = "a generated section"
	}
	claim := func(ref objectRef, name, owner string) bool {
		k := strings.ToLower(name)
		if prev, ok := seen[k]; ok {
			m.skip(ref, fmt.Errorf("%s: name: %w: %q is also %s", owner, ErrNameConflict, name, prev))
			return false
		}
		seen[k] = owner
		return true
	}
	for _, p := range m.phones {
		claim(phoneRef(p), p.Name, fmt.Sprintf("phone %q", p.Name))
	}
	for _, p := range m.peers {
		if p.IsSIP() || p.Type == routing.PeerIAX {
			claim(peerRef(p), p.Name, fmt.Sprintf("peer %d", p.ID))
		}
	}
	for _, e := range m.endpoints {
		if !claim(endpointRef(e), e.Name, fmt.Sprintf("sip_endpoint %q", e.Name)) {
			continue
		}
		for _, suffix := range []string{"-out", "-realm", "-reg"} {
			if !claim(endpointRef(e), e.Name+suffix, fmt.Sprintf("sip_endpoint %q (generated %s section)", e.Name, suffix)) {
				break
			}
		}
	}
}

// splitDestinations parses a peer's destination with routing's parser (the
// API's and the SIP core's), naming the value in the error.
func splitDestinations(dest string) ([]routing.HostPort, error) {
	hps, err := routing.ParseDestinations(dest)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidValue, err)
	}
	return hps, nil
}

func parseHostPort(s string) (routing.HostPort, error) {
	hp, err := routing.ParseHostPort(s)
	if err != nil {
		return routing.HostPort{}, fmt.Errorf("%w: %w", ErrInvalidValue, err)
	}
	return hp, nil
}

// codecList reads a codec list with routing.CheckCodecs, the API's rule:
// known names only, so nothing but a codec name reaches allow= (Asterisk's
// allow= would also parse '|', '!' and ':').
func codecList(s string) ([]string, error) {
	list, err := routing.CheckCodecs(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidValue, err)
	}
	return list, nil
}

// callerIDValue formats "Name" <number> for callerid=; the name may not
// contain a double quote.
func callerIDValue(name, number string) (string, error) {
	if strings.ContainsAny(name, "\"<>") {
		return "", fmt.Errorf("%w: caller name %q contains '\"', '<' or '>'", ErrInvalidValue, name)
	}
	if name == "" {
		return "<" + number + ">", nil
	}
	return `"` + name + `" <` + number + ">", nil
}

// mohClass is the musiconhold.conf class a phone's music id maps to; 0
// (system default) has none.
func mohClass(id int) string {
	if id <= 0 {
		return ""
	}
	return "music-" + strconv.Itoa(id)
}

// phonePlan is the rate plan a phone's calls follow: its own, else its
// customer's, else the system default.
func (m *model) phonePlan(p *routing.Phone) int {
	if p.Plan != 0 {
		return p.Plan
	}
	if c := m.custByID[p.Customer]; c != nil && c.Plan != 0 {
		return c.Plan
	}
	return m.snap.Settings.DefaultPlan
}

// The gateway's rtptimeout and rtpholdtimeout are on/off flags (0/1), not
// seconds: rendered as seconds, 1 hung calls up after one second without
// RTP. INFERRED: on means Asterisk's sample values, a minute without RTP
// (long enough for phones that suppress silence but send comfort noise or
// keepalives) and five minutes while on hold.
const (
	RTPTimeoutSeconds     = 60
	RTPHoldTimeoutSeconds = 300
)
