package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/render/dialplantest"
	"github.com/sipswitch/sipswitch/routing"
	"gopkg.in/ini.v1"
)

var update = flag.Bool("update", false, "rewrite testdata golden files and fixture")

// Golden files of the fixture for each SIP driver: res_pjsip (the
// default) and chan_sip.
var goldenDirs = map[Driver]string{DriverPJSIP: "testdata/golden", DriverChanSIP: "testdata/golden-chansip"}

// fixtureOptions render the fixture as a host with a TLS certificate, so
// that the TLS listener options are rendered and checked too.
// The fixture's cost rows make route 1's least-cost entry render.
var fixtureOptions = []Option{WithTLSCertificate("/etc/asterisk/keys/asterisk.pem", "/etc/asterisk/keys/asterisk.key"), WithCosts(fixtureCosts())}

func TestRenderGolden(t *testing.T) {
	snap := fixtureSnapshot()
	for driver, dir := range goldenDirs {
		files, err := Render(snap, append(fixtureOptions, WithSIPDriver(driver))...)
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, b := range files {
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, name := range FileNames {
			want, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatalf("%v (run go test ./render -run Golden -update)", err)
			}
			if !bytes.Equal(files[name], want) {
				t.Errorf("%s (%s driver) differs from golden file; rerun with -update and review the diff", name, driver)
			}
		}
	}
	if *update {
		js, _ := json.MarshalIndent(snap, "", "  ")
		if err := os.WriteFile("testdata/fixture.json", append(js, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFixtureJSONMatches(t *testing.T) {
	b, err := os.ReadFile("testdata/fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	var snap routing.Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	a, err := Render(&snap, fixtureOptions...)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Render(fixtureSnapshot(), fixtureOptions...)
	for _, n := range FileNames {
		if !bytes.Equal(a[n], want[n]) {
			t.Errorf("%s: fixture.json renders differently from fixtureSnapshot", n)
		}
	}
}

func TestRenderDeterministic(t *testing.T) {
	a, err := Render(fixtureSnapshot(), fixtureOptions...)
	if err != nil {
		t.Fatal(err)
	}
	s := fixtureSnapshot()
	// Same objects in another order must give the same bytes.
	reverse := func(n int, swap func(i, j int)) {
		for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
			swap(i, j)
		}
	}
	reverse(len(s.Peers), func(i, j int) { s.Peers[i], s.Peers[j] = s.Peers[j], s.Peers[i] })
	reverse(len(s.Phones), func(i, j int) { s.Phones[i], s.Phones[j] = s.Phones[j], s.Phones[i] })
	reverse(len(s.Routes), func(i, j int) { s.Routes[i], s.Routes[j] = s.Routes[j], s.Routes[i] })
	reverse(len(s.SIPEndpoints), func(i, j int) { s.SIPEndpoints[i], s.SIPEndpoints[j] = s.SIPEndpoints[j], s.SIPEndpoints[i] })
	reverse(len(s.TimeGroups), func(i, j int) { s.TimeGroups[i], s.TimeGroups[j] = s.TimeGroups[j], s.TimeGroups[i] })
	b, err := Render(s, fixtureOptions...)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range FileNames {
		if !bytes.Equal(a[n], b[n]) {
			t.Errorf("%s depends on input order", n)
		}
		if !bytes.Contains(a[n], []byte("revision 42")) {
			t.Errorf("%s header lacks the snapshot revision", n)
		}
	}
}

// confSection is one parsed section: its name and options in order, with
// "=>" values stripped of the '>'.
type confSection struct {
	Name string
	Opts [][2]string
}

func (s confSection) get(key string) []string {
	var out []string
	for _, kv := range s.Opts {
		if kv[0] == key {
			out = append(out, kv[1])
		}
	}
	return out
}

func (s confSection) typ() string {
	if v := s.get("type"); len(v) > 0 {
		return v[0]
	}
	return ""
}

// parseConf reads rendered bytes back with gopkg.in/ini.v1, configured for
// Asterisk's syntax: repeated keys and sections kept, ';' comments only at
// line start, "\;" unescaped, no quote stripping or line continuation.
func parseConf(t *testing.T, b []byte) []confSection {
	t.Helper()
	f, err := ini.LoadSources(ini.LoadOptions{
		AllowShadows:                true,
		AllowNonUniqueSections:      true,
		IgnoreInlineComment:         true,
		UnescapeValueCommentSymbols: true,
		PreserveSurroundedQuote:     true,
		IgnoreContinuation:          true,
		KeyValueDelimiters:          "=",
		SpaceBeforeInlineComment:    true,
	}, b)
	if err != nil {
		t.Fatalf("ini parse: %v", err)
	}
	var out []confSection
	for _, sec := range f.Sections() {
		if sec.Name() == ini.DefaultSection {
			if len(sec.Keys()) > 0 {
				t.Errorf("options before the first section: %v", sec.KeyStrings())
			}
			continue
		}
		cs := confSection{Name: sec.Name()}
		for _, k := range sec.Keys() {
			for _, v := range k.ValueWithShadows() {
				v = strings.TrimSpace(strings.TrimPrefix(v, ">"))
				cs.Opts = append(cs.Opts, [2]string{k.Name(), v})
			}
		}
		out = append(out, cs)
	}
	return out
}

func findSection(secs []confSection, name, typ string) *confSection {
	for i := range secs {
		if secs[i].Name == name && (typ == "" || secs[i].typ() == typ) {
			return &secs[i]
		}
	}
	return nil
}

func sectionKind(file string, s confSection) string {
	switch file {
	case FilePJSIP:
		return s.typ()
	case FileSIP, FileIAX:
		if s.Name == "general" {
			return "general"
		}
		return "peer"
	case FileMusicOnHold:
		if s.Name == "general" {
			return "general"
		}
		return "class"
	default:
		if s.Name == "general" {
			return "general"
		}
		return "context"
	}
}

func TestRenderedOptionsAreKnown(t *testing.T) {
	known := make(map[[3]string]bool)
	for _, o := range KnownOptions {
		if o.Doc == "" {
			t.Errorf("%s %s %s has no documentation reference", o.File, o.Section, o.Name)
		}
		known[[3]string{o.File, o.Section, o.Name}] = true
	}
	used := make(map[[3]string]bool)
	for _, driver := range []Driver{DriverPJSIP, DriverChanSIP} {
		// media.relay always renders what auto does not (direct_media=no).
		for _, media := range []Option{WithMedia(MediaPolicy{Relay: "auto", Timeout: 60, HoldTimeout: 3600}), WithMedia(MediaPolicy{Relay: "always", Timeout: 60})} {
			files, err := Render(fixtureSnapshot(), append(fixtureOptions, WithSIPDriver(driver), media)...)
			if err != nil {
				t.Fatal(err)
			}
			checkOptionsKnown(t, files, known, used)
		}
	}
	// The fixture exercises the whole table, so a stale entry shows up too.
	for k := range known {
		if !used[k] {
			t.Errorf("KnownOptions entry %v is never rendered by the fixture", k)
		}
	}
}

// checkOptionsKnown fails for every option of files missing from known,
// and marks in used the ones it finds.
func checkOptionsKnown(t *testing.T, files Files, known, used map[[3]string]bool) {
	t.Helper()
	for _, name := range FileNames {
		for _, s := range parseConf(t, files[name]) {
			kind := sectionKind(name, s)
			if name == FileVoicemail && kind != "general" {
				continue // mailboxes, not options
			}
			if name == FilePJSIP && kind == "" {
				t.Errorf("%s [%s] has no type=", name, s.Name)
			}
			for _, kv := range s.Opts {
				k := [3]string{name, kind, kv[0]}
				used[k] = true
				if !known[k] {
					t.Errorf("%s [%s] (%s) uses option %q that is not in KnownOptions", name, s.Name, kind, kv[0])
				}
			}
		}
	}
}

func TestRenderedApplicationsAreKnown(t *testing.T) {
	files, err := Render(fixtureSnapshot(), fixtureOptions...)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range parseConf(t, files[FileExtensions]) {
		for _, kv := range s.Opts {
			if kv[0] != "exten" && kv[0] != "same" {
				continue
			}
			n := 3
			if kv[0] == "same" {
				n = 2
			}
			parts := strings.SplitN(kv[1], ",", n)
			if len(parts) != n {
				t.Fatalf("[%s] malformed %s line %q", s.Name, kv[0], kv[1])
			}
			app := parts[n-1]
			if i := strings.IndexByte(app, '('); i > 0 {
				app = app[:i]
			}
			if _, ok := KnownApplications[app]; !ok {
				t.Errorf("[%s] uses application %q not in KnownApplications", s.Name, app)
			}
		}
	}
}

func TestRoundTripPJSIP(t *testing.T) {
	files, err := Render(fixtureSnapshot(), fixtureOptions...)
	if err != nil {
		t.Fatal(err)
	}
	secs := parseConf(t, files[FilePJSIP])
	tests := []struct {
		name, typ string
		want      [][2]string
	}{
		{"alice", "endpoint", [][2]string{
			{"type", "endpoint"}, {"context", "phone-alice"},
			{"disallow", "all"}, {"allow", "g722"}, {"allow", "all"}, {"identify_by", "username,auth_username"}, {"auth", "alice"}, {"aors", "alice"},
			{"callerid", `"Acme Ltd" <+441110000001>`}, {"set_var", "SS_CID_INTERNAL=201"}, {"set_var", "SS_CUSTOMER=2"}, {"set_var", "SS_CNAME_INTERNAL=Alice"}, {"set_var", "SS_PRES_INTERNAL=0"}, {"set_var", "SS_LINE=alice"}, {"set_var", "SS_TOTALMAX=2"},
			{"language", "en_GB"}, {"moh_suggest", "music-3"}, {"mailboxes", "201@default"},
			{"deny", "0.0.0.0/0.0.0.0"}, {"deny", "::/0"}, {"permit", "203.0.113.5/255.255.255.255"},
			{"device_state_busy_at", "2"},
			{"rtp_symmetric", "yes"}, {"force_rport", "yes"}, {"rewrite_contact", "yes"}, {"disable_direct_media_on_nat", "yes"}, {"rtp_timeout", "60"}, {"rtp_timeout_hold", "3600"},
			{"media_encryption", "sdes"},
		}},
		// echo -n 'alice:asterisk:pw;alice' | md5sum
		{"alice", "auth", [][2]string{{"type", "auth"}, {"auth_type", "md5"}, {"username", "alice"}, {"realm", "asterisk"}, {"md5_cred", "a8702d28135368ae1fb161c963928fbf"}}},
		{"global", "global", [][2]string{{"type", "global"}, {"default_realm", "asterisk"}}},
		{"alice", "aor", [][2]string{{"type", "aor"}, {"max_contacts", "1"}, {"remove_existing", "yes"}, {"qualify_frequency", "60"}}},
		{"carrier-a", "endpoint", [][2]string{
			{"type", "endpoint"}, {"transport", "transport-udp"}, {"context", "inbound"},
			{"disallow", "all"}, {"allow", "alaw"}, {"allow", "ulaw"}, {"allow", "g729"},
			{"aors", "carrier-a"}, {"outbound_auth", "carrier-a"},
			{"dtmf_mode", "rfc4733"}, {"send_pai", "yes"}, {"send_rpid", "yes"}, {"trust_id_outbound", "yes"},
			{"disable_direct_media_on_nat", "yes"}, {"rtp_timeout", "60"}, {"rtp_timeout_hold", "3600"},
			{"media_encryption", "sdes"}, {"media_encryption_optimistic", "yes"},
			{"outbound_proxy", "sip:proxy.carrier-a.example:5060;lr"},
		}},
		{"carrier-a", "aor", [][2]string{{"type", "aor"}, {"contact", "sip:sip1.carrier-a.example"}, {"contact", "sip:192.0.2.10:5070"}}},
		{"carrier-a", "identify", [][2]string{{"type", "identify"}, {"endpoint", "carrier-a"}, {"match", "sip1.carrier-a.example"}, {"match", "192.0.2.10"}}},
		{"carrier-a", "auth", [][2]string{{"type", "auth"}, {"auth_type", "userpass"}, {"username", "acct-a"}, {"password", "s3cret;x"}}},
		{"itsp-out-reg", "registration", [][2]string{
			{"type", "registration"}, {"transport", "transport-tcp"}, {"server_uri", "sip:sip.itsp.example:5080"},
			{"client_uri", "sip:8005555555@sip.itsp.example:5080"}, {"contact_user", "5000"},
			{"outbound_auth", "itsp-out-out"}, {"outbound_proxy", "sip:obp.itsp.example:5060;lr"},
			{"endpoint", "itsp-out"}, {"line", "yes"},
		}},
	}
	for _, tt := range tests {
		s := findSection(secs, tt.name, tt.typ)
		if s == nil {
			t.Errorf("no [%s] type=%s", tt.name, tt.typ)
			continue
		}
		if !equalOpts(s.Opts, tt.want) {
			t.Errorf("[%s] type=%s:\n got %q\nwant %q", tt.name, tt.typ, s.Opts, tt.want)
		}
	}
	// callerid "default" shows the line's own number, as on the SIP core,
	// whatever the phone sends.
	if s := findSection(secs, "bob", "endpoint"); s == nil || strings.Join(s.get("callerid"), "") != "<bob>" || s.get("allow")[0] != "all" {
		t.Errorf("bob: want allow=all and callerid <bob>, got %v", s)
	}
	if s := findSection(secs, "fax-1", "endpoint"); s == nil || s.get("t38_udptl")[0] != "yes" {
		t.Errorf("fax-1: want t38_udptl=yes, got %v", s)
	}
	if s := findSection(secs, "itsp-out", "endpoint"); s == nil || len(s.get("auth")) != 0 || s.get("outbound_auth")[0] != "itsp-out-out,itsp-out-realm" {
		t.Errorf("itsp-out: insecure endpoint must have no inbound auth and both outbound auths, got %v", s)
	}
	if s := findSection(secs, "pbx-in", "endpoint"); s == nil || strings.Join(s.get("allow"), ",") != "g722:20,alaw:20,ulaw:20,g726:30,g729:20,gsm:20" {
		t.Errorf("pbx-in: codec order/packetization wrong: %v", s)
	}
}

func equalOpts(a, b [][2]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRoundTripSIPAndIAX(t *testing.T) {
	// chan_sip holds the type=sip peers: carrier-a is made one, so that
	// its options are checked in sip.conf too.
	snap := fixtureSnapshot()
	snap.Peers[0].Type = routing.PeerSIP
	files, err := Render(snap, append(fixtureOptions, WithSIPDriver(DriverChanSIP))...)
	if err != nil {
		t.Fatal(err)
	}
	sip := parseConf(t, files[FileSIP])
	gen := findSection(sip, "general", "")
	if gen == nil || strings.Join(gen.get("register"), "|") != "itsp-out?tcp://8005555555:remotepass@sip.itsp.example:5080/5000" {
		t.Errorf("sip.conf register lines: %v", gen)
	}
	checks := []struct {
		sec, key, want string
	}{
		{"general", "realm", "asterisk"},
		{"alice", "type", "friend"}, {"alice", "host", "dynamic"}, {"alice", "md5secret", "a8702d28135368ae1fb161c963928fbf"},
		{"alice", "call-limit", "2"}, {"alice", "qualify", "yes"}, {"alice", "mohsuggest", "music-3"},
		{"carrier-a", "type", "peer"}, {"carrier-a", "host", "sip1.carrier-a.example"},
		{"carrier-a", "insecure", "port,invite"}, {"carrier-a", "sendrpid", "pai"},
		{"carrier-a", "call-limit", "30"}, {"carrier-a", "remotesecret", "s3cret;x"},
		{"carrier-a", "outboundproxy", "proxy.carrier-a.example:5060"},
		{"carrier-b", "sendrpid", "yes"}, {"carrier-b", "dtmfmode", "rfc2833"},
		{"itsp-out", "ignoresdpversion", "yes"}, {"itsp-out", "session-refresher", "uac"},
		{"itsp-out", "transport", "tcp"},
		// echo -n '8005555555:itsp.example:realmpass' | md5sum
		{"itsp-out", "auth", "8005555555#18d41184073db4ba31f739bccc3095bf@itsp.example"},
		{"pbx-in", "nat", "force_rport,comedia"}, {"pbx-in", "t38pt_udptl", "yes,redundancy"},
	}
	for _, c := range checks {
		s := findSection(sip, c.sec, "")
		if s == nil {
			t.Errorf("sip.conf: no [%s]", c.sec)
			continue
		}
		if got := s.get(c.key); len(got) != 1 || got[0] != c.want {
			t.Errorf("sip.conf [%s] %s = %q, want %q", c.sec, c.key, got, c.want)
		}
	}
	iax := parseConf(t, files[FileIAX])
	s := findSection(iax, "iax-c", "")
	if s == nil || !equalOpts(s.Opts, [][2]string{{"type", "peer"}, {"host", "iax.example.net"}, {"port", "4570"}, {"username", "iaxuser"}, {"secret", "iaxpass"}, {"disallow", "all"}, {"allow", "gsm"}, {"allow", "ulaw"}, {"context", "inbound"}}) {
		t.Errorf("iax.conf [iax-c] = %v", s)
	}
}

func TestRoundTripExtensions(t *testing.T) {
	files, err := Render(fixtureSnapshot(), fixtureOptions...)
	if err != nil {
		t.Fatal(err)
	}
	secs := parseConf(t, files[FileExtensions])
	plan1 := findSection(secs, "plan-1", "")
	if plan1 == nil {
		t.Fatal("no [plan-1]")
	}
	want := []string{
		"_[0-9*#+],1,Gosub(route-1,s,1(${EXTEN},voice))",
		"_[0-9*#+].,1,Gosub(route-1,s,1(${EXTEN},voice))",
		"*#06#,1,Gosub(route-6,s,1(${EXTEN},voice))",
		"_*#06#.,1,Gosub(route-6,s,1(${EXTEN},voice))",
		"118,1,Gosub(route-10,s,1(${EXTEN},voice))",
		"_118.,1,Gosub(route-10,s,1(${EXTEN},voice))",
		"44,1,Gosub(route-2,s,1(${EXTEN},voice))",
		"_44.,1,Gosub(route-2,s,1(${EXTEN},voice))",
		"44/+44,1,Gosub(route-3,s,1(${EXTEN},voice))",
		"44/_+44.,1,Gosub(route-3,s,1(${EXTEN},voice))",
		"_44./+44,1,Gosub(route-3,s,1(${EXTEN},voice))",
		"_44./_+44.,1,Gosub(route-3,s,1(${EXTEN},voice))",
		"900,1,Gosub(route-5,s,1(${EXTEN},voice))",
		"_900.,1,Gosub(route-5,s,1(${EXTEN},voice))",
	}
	if got := plan1.get("exten"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("[plan-1] exten lines:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	fax := findSection(secs, "plan-1-fax", "")
	if fax == nil || !strings.Contains(strings.Join(fax.get("exten"), "\n"), "_44.,1,Gosub(route-4,") {
		t.Errorf("[plan-1-fax] must route 44 to the fax route 4: %v", fax)
	}
	r5 := findSection(secs, "route-5", "")
	// The fixture has emergency numbers: their calls skip both gates.
	cosGate := `n,ExecIf($["${SS_TOTALMAX}" != "" & "${SS_EMERGENCY}" != "1"]?Gosub(line-limit,s,1))|n,GosubIf($["${SS_COS}" != "" & "${SS_EMERGENCY}" != "1"]?cos-${SS_COS},s,1(${ARG1}))`
	if r5 == nil || strings.Join(r5.get("same"), "|") != cosGate+"|n,Hangup(21)" {
		t.Errorf("[route-5] (allow=0) = %v", r5)
	}
	r1 := findSection(secs, "route-1", "")
	wantR1 := []string{
		cosGate,
		`n,ExecIf($["${SS_PRES_EXTERNAL}" = "0"]?Set(CALLERID(pres)=prohib))`,
		"n,Gosub(peer-try,s,1(1,${ARG1}))",
		"n,Gosub(peer-try,s,1(2,${ARG1}))",
		"n,GosubIf(${DIALPLAN_EXISTS(lcr,${ARG1},1)}?lcr,${ARG1},1(${ARG1},${ARG2}))",
		`n,ExecIf($["${SS_DIALLED}" = ""]?Hangup(34))`,
		`n,ExecIf($["${SS_NODIAL}" != ""]?Hangup(${SS_NODIAL}))`,
		"n,Hangup()",
	}
	if r1 == nil || strings.Join(r1.get("same"), "|") != strings.Join(wantR1, "|") {
		t.Errorf("[route-1] (peer1=0 -> default peer 1, peer3=-1 least cost):\n%v", r1)
	}
	p1 := findSection(secs, "peer-1", "")
	if p1 == nil || !strings.Contains(strings.Join(p1.get("same"), "\n"), "n(stripped),Dial(PJSIP/9${num}@carrier-a,,b(peer-1-predial^s^1))") {
		t.Errorf("[peer-1] dial: %v", p1)
	}
	ph := findSection(secs, "phone-alice-dial", "")
	if ph == nil || strings.Join(ph.get("include"), ",") != "phones,endpoints,plan-2" {
		t.Errorf("[phone-alice] must include phones and its customer's plan 2: %v", ph)
	}
	fx := findSection(secs, "phone-fax-1-dial", "")
	if fx == nil || strings.Join(fx.get("include"), ",") != "phones,endpoints,plan-1-fax" {
		t.Errorf("[phone-fax-1] must use the default plan's fax context: %v", fx)
	}
}

// An object Asterisk cannot take is left out of every file, naming it and
// the parameter; everything else is rendered (issue 23: one line owner's
// forwarding=_X. stopped every render for every line).
func TestRenderLeavesOutBadObjects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *routing.Snapshot)
		want   error
		param  string
		object string
	}{
		{"newline in password", func(s *routing.Snapshot) { s.Phones[0].Password = "a\nb" }, ErrInvalidValue, "password", `phone "alice"`},
		{"newline in peer username", func(s *routing.Snapshot) { s.Peers[0].Username = "x\ry" }, ErrInvalidValue, "username", "peer 1"},
		{"long name", func(s *routing.Snapshot) { s.Phones[2].Name = strings.Repeat("f", 80) }, ErrInvalidName, "phone", strconv.Quote(strings.Repeat("f", 80))},
		{"bracket in name", func(s *routing.Snapshot) { s.Peers[1].Name = "x]y" }, ErrInvalidName, "peer 2", "peer 2"},
		{"phone and peer share a name", func(s *routing.Snapshot) { s.Phones[2].Name = "Carrier-A" }, ErrNameConflict, "name", "peer 1"},
		{"bad destination", func(s *routing.Snapshot) { s.Peers[0].Destination = "bad host!" }, ErrInvalidValue, "destination", "peer 1"},
		{"bad called prefix", func(s *routing.Snapshot) { s.Routes[1].CalledPrefix = "4X" }, ErrInvalidValue, "called_prefix", "route 2"},
		{"dialplan injection in callerid", func(s *routing.Snapshot) { s.Peers[1].CallerID = "1,2)" }, ErrInvalidValue, "callerid", "peer 2"},
		{"unknown btype", func(s *routing.Snapshot) { s.Phones[0].BType = "queue" }, ErrUnsupported, "btype", `phone "alice"`},
		{"bad source", func(s *routing.Snapshot) { s.Phones[0].Source = "nowhere" }, ErrInvalidValue, "source", `phone "alice"`},
		{"bad date", func(s *routing.Snapshot) { s.TimeGroups[1].Periods[0].StartDate = "24-12-2025" }, ErrInvalidValue, "startdate", "timegroup 2"},
		{"bad allow", func(s *routing.Snapshot) { s.Routes[0].Allow = 7 }, ErrUnsupported, "allow", "route 1"},
		{"bad nat", func(s *routing.Snapshot) { s.SIPEndpoints[0].NAT = "maybe" }, ErrUnsupported, "nat", `sip_endpoint "pbx-in"`},
		{"bad auth", func(s *routing.Snapshot) { s.SIPEndpoints[1].Auth = "nocolon" }, ErrInvalidValue, "auth", `sip_endpoint "itsp-out"`},
		{"dash collision", func(s *routing.Snapshot) { s.Phones[2].Name = "al-ice" }, ErrNameConflict, "al-ice", `phone "alice"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fixtureSnapshot()
			tt.mutate(s)
			files, err := Render(s)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.param) {
				t.Errorf("error %q does not name %q", err, tt.param)
			}
			p := AsPartial(err)
			if p == nil || len(p.Skipped) != 1 || !strings.HasSuffix(p.Skipped[0].Object, tt.object) {
				t.Fatalf("left out %+v, want only %s", p, tt.object)
			}
			if len(files) != len(FileNames) {
				t.Fatalf("files %d, want all %d with the rest of the switch", len(files), len(FileNames))
			}
			// The rest of the switch is there: every other phone's context
			// and endpoint, every other peer's subroutine.
			ext, pj := string(files[FileExtensions]), string(files[FilePJSIP])
			for _, ph := range s.Phones {
				if strings.HasSuffix(tt.object, strconv.Quote(ph.Name)) {
					if strings.Contains(ext, "[phone-"+ph.Name+"]") || strings.Contains(pj, "["+ph.Name+"]") {
						t.Errorf("the left-out phone %s is still in the files", ph.Name)
					}
					continue
				}
				if !strings.Contains(ext, "[phone-"+ph.Name+"]") || !strings.Contains(pj, "["+ph.Name+"]") {
					t.Errorf("phone %s missing from the files", ph.Name)
				}
			}
			for _, pe := range s.Peers {
				if want := fmt.Sprintf("peer %d", pe.ID); want != tt.object && !strings.Contains(ext, "[peer-"+strconv.Itoa(pe.ID)+"]") {
					t.Errorf("peer %d missing from extensions.conf", pe.ID)
				}
			}
		})
	}
	if _, err := Render(nil); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("nil snapshot: %v", err)
	}
}

func TestWithOptions(t *testing.T) {
	files, err := Render(fixtureSnapshot(), WithFailoverStatuses("CHANUNAVAIL"), WithSIPDriver(DriverChanSIP), WithTransports("127.0.0.1:5070", "127.0.0.1:5071"), WithVoicemailContext("vm"))
	if err != nil {
		t.Fatal(err)
	}
	ext := string(files[FileExtensions])
	if !strings.Contains(ext, `ExecIf($["${DIALSTATUS}" != "" & "${DIALSTATUS}" != "CHANUNAVAIL"]?Set(SS_DONE=1))`) {
		t.Error("failover option not applied")
	}
	if !strings.Contains(ext, "Dial(SIP/alice,20,mb(line-callerid^") {
		t.Error("phone driver option not applied")
	}
	sip, pjsip := string(files[FileSIP]), string(files[FilePJSIP])
	if !strings.Contains(sip, "udpbindaddr=127.0.0.1:5070") || !strings.Contains(sip, "mailbox=201@vm") {
		t.Error("transport/voicemail options not applied")
	}
	// chan_sip has the switch's port; res_pjsip only the pjsip peer, aside.
	if !strings.Contains(pjsip, "bind=127.0.0.1:5062") || strings.Contains(pjsip, "[alice]") || !strings.Contains(pjsip, "[carrier-a]") {
		t.Errorf("pjsip.conf beside chan_sip:\n%s", pjsip)
	}
}

// One SIP driver takes the switch's port and holds the phones and SIP
// peers: Asterisk loading both files must not bind 5060 twice, and a
// type=sip peer is dialled with the chosen driver.
func TestOneSIPDriverHoldsTheSwitch(t *testing.T) {
	files, err := Render(fixtureSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	sip, pjsip, ext := string(files[FileSIP]), string(files[FilePJSIP]), string(files[FileExtensions])
	if !strings.Contains(sip, "udpbindaddr=127.0.0.1:5160") || strings.Contains(sip, "[alice]") || strings.Contains(sip, "[carrier-b]") || strings.Contains(sip, "register") {
		t.Errorf("sip.conf beside res_pjsip holds or binds something:\n%s", sip)
	}
	if !strings.Contains(pjsip, "[carrier-b]") || !strings.Contains(pjsip, "bind=0.0.0.0:5060") {
		t.Error("pjsip.conf lacks the type=sip peer carrier-b or the switch's port")
	}
	if strings.Contains(ext, "Dial(SIP/") || !strings.Contains(ext, "Dial(PJSIP/${num}@carrier-b") {
		t.Error("a type=sip peer is not dialled with res_pjsip")
	}
}

// Without a certificate chan_sip gets no TLS listener (it would refuse to
// load one) but says why; pjsip.conf still has its transport-tls.
func TestTLSWithoutCertificate(t *testing.T) {
	chanSIP, err := Render(fixtureSnapshot(), WithSIPDriver(DriverChanSIP))
	if err != nil {
		t.Fatal(err)
	}
	pjsipFiles, err := Render(fixtureSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	sip, pjsip := string(chanSIP[FileSIP]), string(pjsipFiles[FilePJSIP])
	if strings.Contains(sip, "tlsenable") || !strings.Contains(sip, "; sip_endpoints ask for TLS") {
		t.Errorf("sip.conf without a certificate:\n%s", sip[:min(len(sip), 600)])
	}
	if !strings.Contains(pjsip, "[transport-tls]") || strings.Contains(pjsip, "cert_file") {
		t.Error("pjsip.conf: want transport-tls without cert_file")
	}
}

// A destination or forwarding that is neither a line nor a number (a
// value stored before the API normalised numbers, a line deleted since)
// ends the call with the destination's code, as on the SIP core: the
// value never reaches the dialplan, and the line is still rendered.
func TestUndialableDestinationsEndTheCall(t *testing.T) {
	s := fixtureSnapshot()
	s.Phones[0].Forwarding, s.Phones[0].UseForwarding = "_X.", 1
	s.Phones[2].DType, s.Phones[2].DNumber = "external", "44,9)"
	files, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	ext := string(files[FileExtensions])
	for _, bad := range []string{"_X.", "44,9)"} {
		if strings.Contains(ext, bad) {
			t.Errorf("%q reached the dialplan", bad)
		}
	}
	dp, err := dialplantest.Parse(files[FileExtensions])
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		from, to string
		cause    int
	}{
		{"bob", "alice", 20},   // alice forwards to _X.: 480
		{"alice", "fax-1", 20}, // fax-1 answers nothing and its no-answer destination is 44,9): 480
	} {
		res, err := dp.Run(dialplantest.Call{Context: "phone-" + tc.from, Exten: tc.to, CallerNum: tc.from,
			Dial: func(dialplantest.Dialled) string { return "NOANSWER" }})
		if err != nil || res.Hangup != tc.cause {
			t.Errorf("%s calls %s: cause %d (%v), want %d\n%s", tc.from, tc.to, res.Hangup, err, tc.cause, strings.Join(res.Trace, "\n"))
		}
	}
}

// A peer reserved for customer 2 is dialled for its customer's lines and
// those below, and left out (not dialled, not counted) for the others, as
// routing's Decide leaves it out.
func TestReservedPeerDialledOnlyForItsCustomers(t *testing.T) {
	snap := &routing.Snapshot{
		Settings:  routing.Settings{DefaultPlan: 1},
		Customers: []routing.Customer{{ID: 1}, {ID: 2, Parent: 1}, {ID: 3, Parent: 2}},
		Plans:     []routing.Plan{{ID: 1}},
		Peers: []routing.Peer{
			{ID: 1, Name: "private", Type: routing.PeerPJSIP, Destination: "192.0.2.1", Customer: 2, OutMaximum: -1, Codecs: "ulaw"},
			{ID: 2, Name: "public", Type: routing.PeerPJSIP, Destination: "192.0.2.2", OutMaximum: -1, Codecs: "ulaw"},
		},
		Routes: []routing.Route{{ID: 1, Plan: 1, Allow: 1, Media: routing.MediaVoiceFax, Peer1: 1, Peer2: 2}},
		Phones: []routing.Phone{
			{ID: 1, Name: "top", Password: "pw-top-1", Customer: 1, Plan: 1, TotalMaximum: -1, PresentationExternal: 1, PresentationInternal: 1},
			{ID: 2, Name: "mid", Password: "pw-mid-1", Customer: 2, Plan: 1, TotalMaximum: -1, PresentationExternal: 1, PresentationInternal: 1},
			{ID: 3, Name: "low", Password: "pw-low-1", Customer: 3, Plan: 1, TotalMaximum: -1, PresentationExternal: 1, PresentationInternal: 1},
		},
	}
	files, err := Render(snap)
	if err != nil {
		t.Fatal(err)
	}
	dp, err := dialplantest.Parse(files[FileExtensions])
	if err != nil {
		t.Fatal(err)
	}
	state, err := routing.NewRoutingState(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range snap.Phones {
		line := &snap.Phones[i]
		ep, err := dialplantest.PJSIPEndpoint(files[FilePJSIP], line.Name)
		if err != nil {
			t.Fatal(err)
		}
		res, err := dp.Run(dialplantest.Call{Context: ep.Context, Exten: "4412345", CallerNum: line.Name, Vars: ep.Vars,
			Dial: func(dialplantest.Dialled) string { return "CHANUNAVAIL" }})
		if err != nil {
			t.Fatal(err)
		}
		var dialled []string
		for _, d := range res.Dials {
			dialled = append(dialled, d.Channel)
		}
		dec, err := state.Decide(routing.CallRequest{Plan: 1, Called: "4412345", Line: line})
		if err != nil {
			t.Fatal(err)
		}
		var decided []string
		for _, a := range dec.Attempts {
			decided = append(decided, "PJSIP/"+a.Called+"@"+a.Peer.Name)
		}
		if strings.Join(dialled, " ") != strings.Join(decided, " ") {
			t.Errorf("line %s (customer %d): dialplan dials %v, routing decides %v", line.Name, line.Customer, dialled, decided)
		}
		if wantPrivate := line.Customer != 1; slices.Contains(dialled, "PJSIP/4412345@private") != wantPrivate {
			t.Errorf("line %s (customer %d) dialled %v", line.Name, line.Customer, dialled)
		}
	}
}

// TestLineCodecsAndSourceList: a line restricted to alaw and g722 is
// rendered with those codecs alone, never allow=all (issue 28: an imported
// alaw,g722 phone became allow=all), and a source list becomes one permit
// per network after denying both address families.
func TestLineCodecsAndSourceList(t *testing.T) {
	for _, driver := range []Driver{DriverPJSIP, DriverChanSIP} {
		snap := &routing.Snapshot{Phones: []routing.Phone{{Name: "2001", Password: "line-2001-pw", Codec: "g722", Codecs: "alaw,g722",
			Source: "192.168.10.0/24,198.51.100.7,2001:db8::/48", TotalMaximum: -1}}}
		files, err := Render(snap, WithPlainPasswords(), WithSIPDriver(driver))
		if err != nil {
			t.Fatal(err)
		}
		file := FilePJSIP
		if driver == DriverChanSIP {
			file = FileSIP
		}
		out := string(files[file])
		want := "disallow=all\nallow=g722\nallow=alaw\n"
		if !strings.Contains(out, want) || strings.Contains(out, "\nallow=all") {
			t.Errorf("%s: codecs not rendered as %q alone:\n%s", driver, want, out)
		}
		acl := "deny=0.0.0.0/0.0.0.0\ndeny=::/0\npermit=192.168.10.0/255.255.255.0\npermit=198.51.100.7/255.255.255.255\npermit=2001:db8::/48\n"
		if !strings.Contains(out, acl) {
			t.Errorf("%s: source list not rendered as\n%s\nin\n%s", driver, acl, out)
		}
	}
}

// TestLineWithoutPlan: a line whose plan does not exist (none given and
// no default plan, as after an import without routes) gets no include of
// a plan context that does not exist (issue 28: include => plan-0), and
// its calls to numbers end with cause 34 (503), the SIP core's answer
// for a rate plan that does not exist.
func TestLineWithoutPlan(t *testing.T) {
	snap := &routing.Snapshot{Phones: []routing.Phone{
		{Name: "2001", Password: "line-2001-pw", TotalMaximum: -1},
		{Name: "2002", Password: "line-2002-pw", TotalMaximum: -1, Plan: 7},
	}}
	files, err := Render(snap, WithPlainPasswords())
	if err != nil {
		t.Fatal(err)
	}
	ext := string(files[FileExtensions])
	if strings.Contains(ext, "include => plan-") {
		t.Errorf("a plan context that does not exist is included:\n%s", ext)
	}
	if !strings.Contains(ext, "[phone-2001-dial]\ninclude => phones\nexten => i,1,Hangup(34)") {
		t.Errorf("phone-2001-dial:\n%s", ext)
	}
}
