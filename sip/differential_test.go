package sip

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/render"
	"github.com/sipswitch/sipswitch/render/dialplantest"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
	"github.com/sipswitch/sipswitch/storage"
)

// The differential test of issue 14: random switches are created through
// the engine (a real SQLite store, the API's parameter checks), and for a
// sample of calls per switch the decision of routes/simulate (the engine's
// SimulationRequest and routing.Simulate, as the API handler runs them),
// of the SIP core (real SIP calls through it to carrier agents that
// refuse with 503, so every attempt shows) and of the rendered dialplan
// (extensions.conf run by dialplantest with every Dial failing over) must
// be the same: the same peers in the same order, each sent the same
// number and caller id, and the same refusals. Each switch also holds two
// sip_endpoints (issue 25): a trunk at the trunk agent (random
// defaultuser, fromuser, fromdomain, secret, insecure), which lines call
// by name and which calls lines, numbers and its own name, and a
// registering one, which calls as the phones do. Calls to lines compare
// the SIP core and the dialplan (the desk rung or not, what is sent on)
// and what routes/simulate says rings; virtual lines (issue 29) take
// part: a line logged into the desk or not, and one logged into the
// calling line or not, whose caller id that line's calls then show on
// every path.

// attempt is one peer a path tried: its name, the number sent and the
// caller id shown.
type attempt struct{ peer, called, callerID string }

func (a attempt) String() string { return a.peer + ":" + a.called + "<" + a.callerID + ">" }

// seen is everything one INVITE showed a carrier (or the voicemail
// server): the attempt (Request-URI user, From user), From's display name,
// the user of P-Asserted-Identity, Privacy, and the Diversion headers
// (line;reason, most recent first).
type seen struct {
	attempt
	name, pai, privacy, diversion string
}

func (s seen) String() string {
	out := s.attempt.String()
	if s.name != "" {
		out += " name=" + strconv.Quote(s.name)
	}
	if s.pai != "" {
		out += " pai=" + s.pai
	}
	if s.privacy != "" {
		out += " privacy=" + s.privacy
	}
	if s.diversion != "" {
		out += " diversion=" + s.diversion
	}
	return out
}

func plain(ss []seen) []attempt {
	var out []attempt
	for _, s := range ss {
		out = append(out, s.attempt)
	}
	return out
}

// withhold is how a test phone withholds its number (RFC 3323), if at all.
type withhold string

const (
	withholdNone    withhold = ""
	withholdPrivacy withhold = "Privacy: id"
	withholdFrom    withhold = "From anonymous"
)

// carrierLog records the INVITEs the carrier agents get, in order.
type carrierLog struct {
	mu  sync.Mutex
	got []seen
}

func (l *carrierLog) handler(name string, code int) func(d *sipgo.DialogServerSession, req *sip.Request) {
	return func(d *sipgo.DialogServerSession, req *sip.Request) {
		s := seen{attempt: attempt{peer: name, called: req.Recipient.User}}
		if f := req.From(); f != nil {
			s.callerID, s.name = f.Address.User, f.DisplayName
		}
		if h := req.GetHeader("P-Asserted-Identity"); h != nil {
			s.pai = uriUser(h.Value())
		}
		if h := req.GetHeader("Privacy"); h != nil {
			s.privacy = strings.ToLower(strings.ReplaceAll(h.Value(), " ", ""))
		}
		var divs []string
		for _, h := range req.GetHeaders("Diversion") {
			for _, v := range strings.Split(h.Value(), ",") {
				reason := ""
				for _, p := range strings.Split(v, ";")[1:] {
					if k, val, _ := strings.Cut(strings.TrimSpace(p), "="); strings.EqualFold(k, "reason") {
						reason = strings.Trim(val, `"`)
					}
				}
				divs = append(divs, uriUser(v)+";"+reason)
			}
		}
		s.diversion = strings.Join(divs, ",")
		l.mu.Lock()
		l.got = append(l.got, s)
		l.mu.Unlock()
		if code == 200 {
			siptest.AnswerWith(carrierSDP)(d, req)
			return
		}
		d.Respond(code, "Test "+strconv.Itoa(code), nil)
	}
}

// uriUser is the user part of the first SIP URI in a header value.
func uriUser(v string) string {
	i := strings.Index(v, "sip:")
	if i < 0 {
		return ""
	}
	v = v[i+4:]
	if at := strings.IndexAny(v, "@>;"); at >= 0 && v[at] == '@' {
		return v[:at]
	}
	return ""
}

func (l *carrierLog) take() []seen {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.got
	l.got = nil
	return out
}

// diffSwitch is one generated switch and the three paths over it.
type diffSwitch struct {
	// asterisk, when set, is a real Asterisk 20 running the rendered
	// files (ASTERISK_ROOTFS): each call is placed through it too.
	asterisk net.Addr
	svc      *engine.Service
	state    *routing.RoutingState
	sw       *Server
	addr     net.Addr
	dp       *dialplantest.Dialplan
	pjsip    []byte
	peers    map[int]*routing.Peer
	byChan   func(channel string) (peer, number string, ok bool)
	stats    *diffStats
	// noDeskOnAsterisk: the desk could not register with Asterisk.
	noDeskOnAsterisk bool
	// The trunk's defaultuser (its calls' Request-URI user), fromuser,
	// and the secret its calls are challenged for ("" none).
	trunkUser, trunkFrom, trunkSecret string
	// hotDevice is the line a call to diffHot rings (routing/virtual.go):
	// the desk when diffHot is logged into it, else diffHot itself.
	hotDevice string
	// hotRingsDesk: diffHot is logged into the desk and does not forward.
	hotRingsDesk bool
}

// diffStats counts the calls compared with a real Asterisk and their
// differences by kind.
type diffStats struct {
	diverted      int // attempts of sent-on calls whose Diversion was compared
	asteriskCalls int
	diverge       map[string]int
}

const (
	diffPeers  = 6
	diffAlpha  = "0149"
	diffVoice  = "v100"
	diffFax    = "f200"
	diffFwd    = "fw300"
	diffFwd2   = "fw301" // forwards back to fw300 or to itself: loops end at the hop limit
	diffVMLine = "vm400"
	diffDesk   = "desk500" // registered (the desk agent) on both the SIP core and Asterisk: what a called phone sees
	// diffTrunk is a sip_endpoint at the trunk agent's address (a trunk:
	// lines dial it by name, its calls reach lines only); diffEPLine a
	// sip_endpoint that registers (a line), which places calls as the
	// phones do.
	diffTrunk  = "tr600"
	diffEPLine = "ep700"
	// diffHot is a virtual line (issue 29), logged into the desk or not;
	// diffHotVoice one logged into diffVoice or not (then the voice
	// line's calls present it).
	diffHot      = "hot600"
	diffHotVoice = "hot601"
)

// diffSeeds are the generator's seeds (-diff.seeds=1,2,3): each makes its
// own switches and calls.
var diffSeeds = flag.String("diff.seeds", "14", "comma-separated seeds of TestDifferentialSimulateSIPCoreDialplan's generator")

func TestDifferentialSimulateSIPCoreDialplan(t *testing.T) {
	switches, callsEach := 12, 20
	if testing.Short() {
		switches, callsEach = 3, 8
	}
	log := &carrierLog{}
	var carriers []*siptest.Agent
	for i := 1; i <= 3; i++ {
		a := siptest.NewAgent(t, "c"+strconv.Itoa(i), "127.0.0."+strconv.Itoa(1+i))
		a.Handle(log.handler(a.Name, 503))
		carriers = append(carriers, a)
	}
	vm := siptest.NewAgent(t, "voicemail", "127.0.0.5")
	vm.Handle(log.handler("voicemail", 200))
	desk := siptest.NewAgent(t, "desk", "127.0.0.6")
	desk.Handle(log.handler("desk", 200))
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	trunk := siptest.NewAgent(t, "trunk", "127.0.0.8")
	trunk.Handle(log.handler("trunk", 200))
	// With ASTERISK_ROOTFS (a root file system with Asterisk 20, as for
	// TestAsteriskLoadsRenderedFiles; needs root), every call is also
	// placed through a real Asterisk running the rendered files, and what
	// the carriers saw and the final status must be the SIP core's. Only
	// SIP peers are used then: Asterisk would wait on an IAX2 peer that
	// cannot answer.
	asteriskRoot := os.Getenv("ASTERISK_ROOTFS")
	if asteriskRoot != "" {
		switches = 3
	}
	stats := &diffStats{diverge: map[string]int{}}
	compared := map[string]int{}
	attempts, calls := 0, 0
	for _, seedText := range strings.Split(*diffSeeds, ",") {
		seed, err := strconv.ParseInt(strings.TrimSpace(seedText), 10, 64)
		if err != nil {
			t.Fatalf("-diff.seeds: %q is not a number", seedText)
		}
		rng := rand.New(rand.NewSource(seed))
		for n := 0; n < switches; n++ {
			ds := newDiffSwitch(t, rng, carriers, vm, desk, trunk, asteriskRoot)
			ds.stats = stats
			for c := 0; c < callsEach; c++ {
				outcome, n := ds.compareCall(t, rng, phone, trunk, log, fmt.Sprintf("seed %d switch %d call %d", seed, n, c))
				compared[outcome]++
				attempts += n
				calls++
			}
		}
	}
	t.Logf("seeds %s: %d calls compared by outcome: %v; %d peer attempts compared, %d of them sent on by a line (Diversion)", *diffSeeds, calls, compared, attempts, stats.diverted)
	if asteriskRoot != "" {
		t.Logf("%d calls compared with Asterisk; differences by kind: %v", stats.asteriskCalls, stats.diverge)
	}
	for _, want := range []string{"route", "line", "trunk", "from trunk"} {
		if compared[want] == 0 {
			t.Errorf("no call with outcome %q was compared: the generator does not cover it", want)
		}
	}
}

func newDiffSwitch(t *testing.T, rng *rand.Rand, carriers []*siptest.Agent, vm, desk, trunk *siptest.Agent, asteriskRoot string) *diffSwitch {
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "switch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := engine.NewService(db)
	if _, _, err := svc.Bootstrap(ctx, "differential-admin"); err != nil {
		t.Fatal(err)
	}
	kinds := svc.Kinds()
	actor := engine.SystemActor()
	create := func(kind string, v engine.Values) int {
		t.Helper()
		id, err := svc.Create(ctx, actor, kinds[kind], v, false)
		if err != nil {
			t.Fatalf("create %s %v: %v", kind, v, err)
		}
		return int(id)
	}
	pick := func(vals ...string) string { return vals[rng.Intn(len(vals))] }

	create("plans", engine.Values{"name": "main"})
	create("plans", engine.Values{"name": "alt"})
	for g := 1; g <= 2; g++ {
		create("timegroups", engine.Values{"name": "tg" + strconv.Itoa(g)})
		for range 1 + rng.Intn(2) {
			sh, sm := rng.Intn(24), pick("0", "30")
			eh, em := rng.Intn(24), pick("0", "30", "59")
			if rng.Intn(4) == 0 { // start == end: the whole day
				eh, em = sh, sm
			}
			create("timegroups/periods", engine.Values{"timegroup": strconv.Itoa(g), "days": pick("1234567", "12345", "67", "135"),
				"starthour": strconv.Itoa(sh), "startminute": sm, "endhour": strconv.Itoa(eh), "endminute": em})
		}
	}
	// Customer 2 sits below the system customer, 3 below 2: a peer
	// reserved for 2 carries the calls of lines of 2 and 3, not 1's.
	create("customers", engine.Values{"name": "reseller", "parent": strconv.Itoa(engine.RootCustomer)})
	create("customers", engine.Values{"name": "shop", "parent": "2"})
	// Peers 1-3 are SIP carriers (agents), 4-6 the types only Asterisk dials.
	for i, c := range carriers {
		create("peers", engine.Values{"name": c.Name, "type": pick("sip", "pjsip"), "destination": c.Host + ":" + strconv.Itoa(c.Port),
			"called_prefix": pick("", "", "9"), "called_strip_hash": pick("0", "1"), "callerid": pick("", "", "+441230000"+strconv.Itoa(i)),
			"callerid_unknown": pick("Anonymous", "0000"), "callerid_withheld": pick("", "Private"), "costs": pick("0", "1", "1", "1"),
			"username": pick("", "", "acct"+strconv.Itoa(i)), "customer": pick("0", "0", "0", "2", "3"), "fail_percent": pick("0", "0", "0", "100"),
			"send_asserted_identity": pick("0", "1"), "send_privacy": pick("0", "0", "1")})
	}
	create("peers", engine.Values{"name": "ix", "type": "iax", "destination": "192.0.2.10", "costs": pick("0", "1")})
	create("peers", engine.Values{"name": "td", "type": "dahdi", "channel_group": "7", "called_prefix": pick("", "#31#")})
	create("peers", engine.Values{"name": "lc", "type": "context", "context": "custom-out"})

	seen := map[string]bool{}
	peerRefs := []string{"-1", "0", "1", "2", "3", "4", "5", "6"}
	costPeers := 4
	if asteriskRoot != "" {
		peerRefs, costPeers = peerRefs[:5], 3
	}
	for plan := 1; plan <= 2; plan++ {
		for range 4 + rng.Intn(5) {
			called := randDigits(rng, diffAlpha, rng.Intn(4))
			caller := ""
			if rng.Intn(4) == 0 {
				caller = "+44" + randDigits(rng, "12", rng.Intn(2))
			}
			media := pick("voice", "fax", "voice_fax", "voice_fax")
			key := fmt.Sprint(plan, called, caller, media)
			if seen[key] {
				continue
			}
			seen[key] = true
			allow := pick("0", "1", "1", "1", "2", "3")
			v := engine.Values{"plan": strconv.Itoa(plan), "called_prefix": called, "caller_prefix": caller, "media": media, "allow": allow,
				"peer1": pick(append(peerRefs, "-1", "-1", "-1")...), "peer2": pick(peerRefs[1:]...), "peer3": pick(peerRefs[1:]...)}
			if allow == "2" || allow == "3" {
				v["timegroup"] = pick("1", "2")
			}
			create("plans/routes", v)
		}
	}
	for id := 1; id <= costPeers; id++ {
		for range 1 + rng.Intn(6) {
			create("peers/costs", engine.Values{"peer": strconv.Itoa(id), "called_prefix": randDigits(rng, diffAlpha, rng.Intn(3)),
				"cost": pick("0.01", "0.02", "0.03"), "connectfee": pick("0", "0.01"), "priority": pick("1", "2"),
				"least_cost": pick("1", "1", "1", "0"), "media": pick("voice_fax", "voice", "fax"),
				"caller_prefix": pick("", "", "+44"), "days": pick("1234567", "12345", "67"),
				"starthour": strconv.Itoa(rng.Intn(24)), "endhour": strconv.Itoa(rng.Intn(24)), "called_min": pick("1", "4")})
		}
	}
	create("phones", engine.Values{"name": diffVoice, "password": "secret-v100", "plan": "1",
		"callerid_external":   pick("default", "matched_called", "name", "original", "original_own_number", "+442071234567", "+4420"),
		"callername_external": pick("", "", "Sales Desk"), "presentation_external": pick("1", "1", "0"), "customer": pick("1", "2", "3"),
		"callerid_internal":   pick("default", "name", "original", "original_own_number", "+442071230000", "2000"),
		"callername_internal": pick("", "Reception"), "presentation_internal": pick("1", "1", "0")})
	create("phones", engine.Values{"name": diffFax, "password": "secret-f200", "plan": "1", "media": "fax", "callerid_external": pick("+4420999", "default"),
		"customer": pick("1", "3")})
	// A forwarding that names a line needs the line first: fw300's to
	// fw301 is set once fw301 exists.
	fwd := pick(pick("0", "1")+randDigits(rng, diffAlpha, 4), diffFwd2)
	fw300 := engine.Values{"name": diffFwd, "password": "secret-fw300", "plan": "2", "forwarding": fwd, "callerid_external": "+4471111"}
	if fwd == diffFwd2 {
		delete(fw300, "forwarding")
	}
	create("phones", fw300)
	utype, unumber := "phone", diffFwd
	if rng.Intn(2) == 0 {
		utype, unumber = "external", "0"+randDigits(rng, diffAlpha, 3)
	}
	create("phones", engine.Values{"name": diffFwd2, "password": "secret-fw301", "plan": "2", "forwarding": pick(diffFwd, diffFwd2),
		"utype": utype, "unumber": unumber})
	create("phones", engine.Values{"name": diffVMLine, "password": "secret-vm400", "plan": "1", "utype": "voicemail", "unumber": diffVMLine})
	create("phones", engine.Values{"name": diffDesk, "password": "secret-" + diffDesk, "plan": "1"})
	// Virtual lines (issue 29): hot600 rings the desk when logged into
	// it; hot601, logged into the voice line, is what that line's calls
	// present.
	hot := engine.Values{"name": diffHot, "password": "secret-" + diffHot, "plan": "1", "callername_internal": pick("", "Hot Desk"),
		"forwarding": pick("", "", "0"+randDigits(rng, diffAlpha, 4))}
	hotDevice := diffHot
	if rng.Intn(3) > 0 {
		hot["ltype"], hot["lnumber"], hotDevice = "phone", diffDesk, diffDesk
	}
	create("phones", hot)
	hotVoice := engine.Values{"name": diffHotVoice, "password": "secret-" + diffHotVoice, "plan": "2",
		"callerid_external": pick("default", "+441632960601"), "callername_external": pick("", "Hot Voice"),
		"presentation_external": pick("1", "1", "0"), "callerid_internal": pick("default", "601"), "presentation_internal": pick("1", "0")}
	if rng.Intn(2) == 0 {
		hotVoice["ltype"], hotVoice["lnumber"] = "phone", diffVoice
	}
	create("phones", hotVoice)
	if fwd == diffFwd2 {
		if err := svc.Update(ctx, actor, kinds["phones"], diffFwd, engine.Values{"forwarding": fwd}, false); err != nil {
			t.Fatal(err)
		}
	}

	// sip_endpoints (issue 25): a trunk at the trunk agent, with or
	// without a secret it is challenged for (insecure), a defaultuser its
	// calls are sent to, fromuser and fromdomain; and a registering one,
	// a line on the default plan.
	tv := engine.Values{"name": diffTrunk, "host": trunk.Host, "port": strconv.Itoa(trunk.Port), "registration": "none",
		"defaultuser": pick("", "tuser"), "fromuser": pick("", "", "tfrom"), "fromdomain": pick("", "example.net"),
		"secret": pick("", "tsecret"), "insecure": pick("0", "0", "1")}
	if _, err := svc.SaveSIPEndpoint(ctx, actor, tv); err != nil {
		t.Fatalf("save sip_endpoint %v: %v", tv, err)
	}
	ds0 := &diffSwitch{trunkUser: tv["defaultuser"], trunkFrom: tv["fromuser"], trunkSecret: tv["secret"]}
	if tv["insecure"] == "1" {
		ds0.trunkSecret = ""
	}
	if _, err := svc.SaveSIPEndpoint(ctx, actor, engine.Values{"name": diffEPLine, "host": "dynamic", "secret": "secret-" + diffEPLine,
		"audio_codecs": pick("ulaw,alaw,g722,g726,g729,gsm", "ulaw,alaw")}); err != nil {
		t.Fatalf("save sip_endpoint %s: %v", diffEPLine, err)
	}

	// Emergency numbers (issue 29): routed past the line's limits, with
	// the line's location number when it has one.
	// The system default plan is the endpoint line's (none: its calls
	// have no plan, 503 on both paths).
	if err := svc.SetSettings(ctx, actor, map[string]string{"emergency_numbers": pick("112,999", "112,999", ""), "default_plan": pick("1", "2", "2", "0")}); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{diffVoice, diffFax} {
		if err := svc.Update(ctx, actor, kinds["phones"], line, engine.Values{"callerid_location": pick("", "original_own_number", "+441632960001")}, false); err != nil {
			t.Fatal(err)
		}
	}

	snap, err := svc.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	costs, err := svc.PeerCosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	state, err := routing.NewRoutingState(snap, costs)
	if err != nil {
		t.Fatal(err)
	}
	calls, err := routing.NewCallControl(ctx, snap, costs)
	if err != nil {
		t.Fatal(err)
	}
	sw, addr := startSwitch(t, calls, WithVoicemail(vm.Host+":"+strconv.Itoa(vm.Port)))
	renderOpts := []render.Option{render.WithCosts(costs)}
	var asteriskAddr *net.UDPAddr
	if asteriskRoot != "" {
		// A port of its own: 5060 may be taken by whatever else the
		// machine runs (then Asterisk answers nothing at all).
		asteriskAddr = freeUDPAndTCP(t)
		renderOpts = append(renderOpts, render.WithTransports(asteriskAddr.String(), asteriskAddr.String()))
	}
	files, err := render.Render(snap, renderOpts...)
	if err != nil {
		t.Fatal(err)
	}
	dp, err := dialplantest.Parse(files[render.FileExtensions])
	if err != nil {
		t.Fatal(err)
	}
	ds := ds0
	ds.svc, ds.state, ds.sw, ds.addr, ds.dp, ds.pjsip, ds.peers = svc, state, sw, addr, dp, files[render.FilePJSIP], map[int]*routing.Peer{}
	ds.hotDevice, ds.hotRingsDesk = hotDevice, hotDevice == diffDesk && hot["forwarding"] == ""
	byGroup, byContext := map[string]string{}, map[string]string{}
	for i := range snap.Peers {
		p := &snap.Peers[i]
		ds.peers[p.ID] = p
		byGroup[strconv.Itoa(p.ChannelGroup)] = p.Name
		byContext[p.Context] = p.Name
	}
	ds.byChan = func(ch string) (string, string, bool) {
		tech, rest, _ := strings.Cut(ch, "/")
		switch tech {
		case "PJSIP":
			num, peer, ok := strings.Cut(rest, "@")
			if !ok {
				if rest == diffTrunk {
					// The aor contact's user: the defaultuser.
					return "trunk", ds.trunkUser, true
				}
				return rest, "", true // a line
			}
			return peer, num, ok
		case "IAX2":
			peer, num, ok := strings.Cut(rest, "/")
			return peer, num, ok
		case "DAHDI":
			g, num, ok := strings.Cut(strings.TrimPrefix(rest, "g"), "/")
			return byGroup[g], num, ok
		case "Local":
			num, ctx, ok := strings.Cut(rest, "@")
			return byContext[ctx], num, ok
		}
		return "", "", false
	}
	register := func(sw net.Addr) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, _, err := desk.Register(ctx, sw, diffDesk, "secret-"+diffDesk, 3600)
		if err == nil && res.StatusCode != 200 {
			err = fmt.Errorf("status %d", res.StatusCode)
		}
		return err
	}
	if err := register(addr); err != nil {
		t.Fatalf("desk REGISTER with the SIP core: %v", err)
	}
	if asteriskRoot != "" {
		ds.asterisk = startAsterisk(t, asteriskRoot, files, asteriskAddr)
		if err := register(ds.asterisk); err != nil {
			// INFERRED cause unknown (no answer to the agent at
			// 127.0.0.6, nothing in Asterisk's log): calls to the desk
			// are left out of the comparison with Asterisk.
			t.Logf("desk REGISTER with Asterisk: %v: calls to %s not compared with Asterisk", err, diffDesk)
			ds.noDeskOnAsterisk = true
		}
	}
	return ds
}

// startAsterisk runs Asterisk 20 in the chroot root on files (res_pjsip)
// until the test ends; it listens on addr, where files bind it.
func startAsterisk(t *testing.T, root string, files render.Files, addr *net.UDPAddr) net.Addr {
	t.Helper()
	dir := t.TempDir()
	if _, err := render.WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join("..", "scripts", "asterisk-run.sh")
	if out, err := exec.Command(script, root, dir, "pjsip", "start").CombinedOutput(); err != nil {
		t.Fatalf("asterisk-run start: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(script, root, dir, "pjsip", "stop").Run() })
	return addr
}

// freeUDPAndTCP is a 127.0.0.1 port free for both UDP and TCP now.
func freeUDPAndTCP(t *testing.T) *net.UDPAddr {
	t.Helper()
	for range 50 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := u.LocalAddr().(*net.UDPAddr)
		l, err := net.Listen("tcp", addr.String())
		u.Close()
		if err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatal("no port free for both UDP and TCP")
	return nil
}

func pick(rng *rand.Rand, vals ...string) string { return vals[rng.Intn(len(vals))] }

func randDigits(rng *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.Intn(len(alphabet))]
	}
	return string(b)
}

// compareCall places one random call on all three paths (four with a
// real Asterisk) and fails the test when they disagree. It returns the
// outcome compared and how many peer attempts were.
func (ds *diffSwitch) compareCall(t *testing.T, rng *rand.Rand, phone, trunk *siptest.Agent, log *carrierLog, name string) (string, int) {
	t.Helper()
	if rng.Intn(6) == 0 {
		return ds.compareTrunkCall(t, rng, trunk, log, name)
	}
	line := diffVoice
	switch rng.Intn(8) {
	case 0, 1:
		line = diffFax
	case 2:
		line = diffEPLine
	}
	called := randDigits(rng, diffAlpha, 1+rng.Intn(3)) + randDigits(rng, "0123456789", 4)
	switch rng.Intn(11) {
	case 0:
		called = diffFwd
	case 1:
		called = diffVMLine
	case 2:
		called = diffFwd2
	case 3:
		called = diffDesk
	case 4:
		called = pick(rng, "112", "999")
	case 5:
		called = diffTrunk
	case 6:
		called = diffHot
	}
	// A phone that withholds its number (RFC 3323): Privacy: id, or
	// From anonymous.
	withheld := withholdNone
	if rng.Intn(5) == 0 {
		withheld = withhold(pick(rng, string(withholdPrivacy), string(withholdFrom)))
	}
	for try := 0; ; try++ {
		before := time.Now()
		coreSeen, status := ds.sipCall(t, phone, log, line, called, withheld)
		core := plain(coreSeen)
		now := time.Now()
		if now.Truncate(time.Minute) != before.Truncate(time.Minute) && try < 3 {
			continue // a minute boundary passed during the call: time windows may differ
		}
		dial, cause, vmail, divs, devices := ds.dialplanCall(t, line, called, now, withheld, name)
		where := fmt.Sprintf("%s: line %s calls %s (withheld %q) at %s (%s)", name, line, called, withheld, now.UTC().Format(time.TimeOnly), now.UTC().Weekday())
		if called == diffFwd || called == diffFwd2 || called == diffVMLine || called == diffDesk || called == diffTrunk || called == diffHot {
			// A call to a line or a trunk: routes/simulate says which line
			// and which device rings (it follows no destination of the
			// called line; a trunk is no line there); the SIP core and the
			// dialplan must agree on the rest.
			if called != diffTrunk {
				sim := ds.simulate(t, line, called, now, withheld)
				wantDevice := called
				if called == diffHot {
					wantDevice = ds.hotDevice
				}
				if sim.Outcome != "line" || sim.CalledLine != called || sim.Device != wantDevice {
					t.Fatalf("%s: routes/simulate: %s, line %q, device %q; want line %s on device %s", where, sim.Outcome, sim.CalledLine, sim.Device, called, wantDevice)
				}
			}
			if called == diffHot && ds.hotRingsDesk && !slices.ContainsFunc(coreSeen, func(a seen) bool { return a.peer == "desk" }) {
				t.Fatalf("%s: the virtual line's call did not ring the desk: %v (status %d)", where, coreSeen, status)
			}
			ds.compareLocal(t, where, coreSeen, status, dial, cause, vmail, divs, devices)
			if ds.asterisk != nil && !((called == diffDesk || called == diffHot) && ds.noDeskOnAsterisk) {
				got, astStatus := ds.asteriskCall(t, phone, log, line, called, withheld)
				ds.compareAsterisk(t, where, slices.DeleteFunc(slices.Clone(coreSeen), func(a seen) bool { return a.peer == "voicemail" }), status, got, astStatus)
			}
			if called == diffTrunk {
				if !slices.ContainsFunc(coreSeen, func(a seen) bool { return a.peer == "trunk" }) {
					t.Fatalf("%s: the trunk got no INVITE (status %d)", where, status)
				}
				return "trunk", len(dial)
			}
			return "line", len(dial)
		}
		sim := ds.simulate(t, line, called, now, withheld)
		var simAll, simCore []attempt
		for _, a := range sim.Attempts {
			at := attempt{peer: a.Name, called: a.Called, callerID: a.CallerID}
			if a.From != "" {
				at.callerID = a.From // a SIP peer: what its INVITE's From says
			}
			if a.Asterisk == routing.PathDial {
				simAll = append(simAll, at) // fail_percent 100: failed before Dial
			}
			if a.SIPCore == routing.PathDial {
				simCore = append(simCore, at)
			}
		}
		if !slices.Equal(simAll, dial) {
			t.Fatalf("%s: routes/simulate (%s, route %v) lists %v, the dialplan dials %v", where, sim.Outcome, sim.Route, simAll, dial)
		}
		if !slices.Equal(simCore, core) {
			t.Fatalf("%s: routes/simulate (%s) lists %v for the SIP core, which sent %v (status %d)", where, sim.Outcome, simCore, core, status)
		}
		if ds.asterisk != nil {
			got, astStatus := ds.asteriskCall(t, phone, log, line, called, withheld)
			ds.compareAsterisk(t, where, coreSeen, status, got, astStatus)
		}
		wantStatus, wantCause := map[string]int{"barred": 403, "cos_barred": 403, "no_route": 404, "no_peer": 503, "unknown_plan": 503}[sim.Outcome], map[string]int{"barred": 21, "cos_barred": 21, "no_peer": 34}[sim.Outcome]
		if sim.Outcome == "route" {
			wantStatus = 503 // every carrier refused
			if len(simCore) == 0 {
				wantStatus = status // only peers the SIP core skips; its answer is its own
			}
		}
		if status != wantStatus {
			t.Fatalf("%s: simulate says %s, the SIP core answered %d (want %d)", where, sim.Outcome, status, wantStatus)
		}
		if sim.Outcome == "route" && len(dial) == 0 {
			// Every peer failed without a Dial (fail_percent 100): the
			// dialplan's cause is its answer.
			if got := causeStatus(cause); got != status {
				t.Fatalf("%s: no peer dialled: the SIP core answered %d, the dialplan hung up with cause %d (%d)", where, status, cause, got)
			}
		}
		if sim.Outcome == "no_route" {
			// The entry context decides on the number, then finds no
			// extension for it: its i extension, cause 1 (404).
			if cause != 1 {
				t.Fatalf("%s: no route, but the dialplan hung up with %d (want 1, unallocated number)", where, cause)
			}
		} else if wantCause != 0 && cause != wantCause {
			t.Fatalf("%s: simulate says %s, the dialplan hung up with %d (want %d)", where, sim.Outcome, cause, wantCause)
		}
		return sim.Outcome, len(dial)
	}
}

// compareLocal compares a call to a line or a trunk (or a trunk's call
// in) on the SIP core and the dialplan: the same peers in the same order
// with the same numbers and caller ids (the trunk among them when it was
// called), the same Diversion, voicemail or not, and the same final
// status when nothing was dialled.
func (ds *diffSwitch) compareLocal(t *testing.T, where string, coreSeen []seen, status int, dial []attempt, cause int, vmail, divs, devices []string) {
	t.Helper()
	var coreOut []attempt
	var coreOutSeen []seen
	for _, a := range coreSeen {
		if a.peer != "voicemail" && a.peer != "desk" {
			coreOut = append(coreOut, a.attempt)
		}
		if a.peer != "voicemail" {
			coreOutSeen = append(coreOutSeen, a)
		}
	}
	var dialSIP []attempt
	var dialDivs []string
	for i, a := range dial {
		if p := ds.peerNamed(a.peer); a.peer == "trunk" || p != nil && p.IsSIP() {
			dialSIP = append(dialSIP, a)
			dialDivs = append(dialDivs, divs[i])
		}
	}
	if !slices.Equal(coreOut, dialSIP) {
		t.Fatalf("%s: SIP core sent %v, dialplan dialled %v (SIP peers and the trunk of %v)", where, coreOut, dialSIP, dial)
	}
	for i, c := range slices.DeleteFunc(slices.Clone(coreOutSeen), func(a seen) bool { return a.peer == "desk" }) {
		// The line that sent the call on last, and why: one
		// Diversion on both paths.
		if c.diversion != "" {
			ds.stats.diverted++
		}
		if c.diversion != dialDivs[i] {
			t.Fatalf("%s: attempt %d to %s: the SIP core's Diversion is %q, the dialplan's %q", where, i+1, c.peer, c.diversion, dialDivs[i])
		}
	}
	coreVM := slices.ContainsFunc(coreSeen, func(a seen) bool { return a.peer == "voicemail" })
	if coreVM != (len(vmail) > 0) {
		t.Fatalf("%s: voicemail: SIP core %v, dialplan %v", where, coreVM, vmail)
	}
	coreDesk := slices.ContainsFunc(coreSeen, func(a seen) bool { return a.peer == "desk" })
	if coreDesk != slices.Contains(devices, diffDesk) {
		t.Fatalf("%s: the desk rang on the SIP core: %v; the dialplan dialled the devices %v", where, coreDesk, devices)
	}
	if !coreVM && !coreDesk && len(dial) == 0 {
		// The dialplan's final answer (a sent-on call's carriers
		// answer for themselves).
		if want := causeStatus(cause); want != status {
			t.Fatalf("%s: the SIP core answered %d, the dialplan hung up with cause %d (%d)", where, status, cause, want)
		}
	}
}

// compareTrunkCall places a call from the trunk (its address and port,
// answering the switch's challenge when it has a secret) to a line, a
// number, or the trunk's own name, and compares the SIP core with the
// dialplan's [inbound]: lines only, never the outside.
func (ds *diffSwitch) compareTrunkCall(t *testing.T, rng *rand.Rand, trunk *siptest.Agent, log *carrierLog, name string) (string, int) {
	t.Helper()
	called := pick(rng, diffFwd, diffFwd2, diffVMLine, diffDesk, diffTrunk, "0"+randDigits(rng, diffAlpha, 5), "441632960"+randDigits(rng, "0123456789", 3))
	user := ds.trunkUser
	if user == "" {
		user = diffTrunk
	}
	// A trunk's caller who withholds the number (Privacy: id).
	withheld := withholdNone
	if rng.Intn(4) == 0 {
		withheld = withholdPrivacy
	}
	for try := 0; ; try++ {
		before, failures := time.Now(), ds.sw.Stats().AuthFailures
		coreSeen, status := ds.sipCallAs(t, trunk, log, user, ds.trunkSecret, called, withheld)
		now := time.Now()
		if now.Truncate(time.Minute) != before.Truncate(time.Minute) && try < 3 {
			continue
		}
		dial, cause, vmail, divs, devices := ds.dialplanRun(t, dialplantest.Endpoint{Context: "inbound"}, user, called, now, withheld, name)
		where := fmt.Sprintf("%s: the trunk calls %s (withheld %q) at %s (%s)", name, called, withheld, now.UTC().Format(time.TimeOnly), now.UTC().Weekday())
		if got := ds.sw.Stats().AuthFailures; got != failures || status == 407 {
			t.Fatalf("%s: the trunk's call was refused %d, %d authentication failures: the switch did not know it", where, status, got-failures)
		}
		if slices.ContainsFunc(coreSeen, func(a seen) bool { return a.peer == "trunk" }) {
			t.Fatalf("%s: the trunk's call was sent back to a trunk: %v", where, coreSeen)
		}
		ds.compareLocal(t, where, coreSeen, status, dial, cause, vmail, divs, devices)
		if ds.asterisk != nil && !(called == diffDesk && ds.noDeskOnAsterisk) {
			saved := ds.addr
			ds.addr = ds.asterisk
			got, astStatus := ds.sipCallAs(t, trunk, log, user, ds.trunkSecret, called, withheld)
			ds.addr = saved
			ds.compareAsterisk(t, where, slices.DeleteFunc(slices.Clone(coreSeen), func(a seen) bool { return a.peer == "voicemail" }), status, got, astStatus)
		}
		return "from trunk", len(dial)
	}
}

// causeStatus is the SIP status Asterisk answers for a hangup cause
// (pjsip's ast_cause_to_sip / hangup_cause2sip), for the causes the
// rendered dialplan uses.
func causeStatus(cause int) int {
	switch cause {
	case 1:
		return 404
	case 17:
		return 486
	case 20:
		return 480
	case 21:
		return 403
	case 28:
		return 484
	case 34:
		return 503
	}
	return 0
}

// compareAsterisk compares what the carriers (and the phone) saw of one
// call through the SIP core and through the real Asterisk: the same peers
// in the same order, each INVITE's Request-URI user, From user and
// display name, P-Asserted-Identity, Privacy and Diversion, and the same
// final status. Each difference is counted by kind.
func (ds *diffSwitch) compareAsterisk(t *testing.T, where string, core []seen, status int, got []seen, astStatus int) {
	t.Helper()
	ds.stats.asteriskCalls++
	if !slices.Equal(plain(core), plain(got)) {
		ds.stats.diverge["peers, numbers or caller ids"]++
		t.Errorf("%s: the SIP core sent %v, Asterisk %v", where, core, got)
	} else if !slices.Equal(core, got) {
		for i := range core {
			c, a := core[i], got[i]
			for _, f := range []struct{ what, c, a string }{{"display name", c.name, a.name}, {"P-Asserted-Identity", c.pai, a.pai}, {"Privacy", c.privacy, a.privacy}, {"Diversion", c.diversion, a.diversion}} {
				if f.c != f.a {
					ds.stats.diverge[f.what]++
					t.Errorf("%s: attempt %d to %s: %s: SIP core %q, Asterisk %q", where, i+1, c.peer, f.what, f.c, f.a)
				}
			}
		}
	}
	if status != astStatus {
		ds.stats.diverge["final status"]++
		t.Errorf("%s: the SIP core answered %d, Asterisk %d (SIP core sent %v)", where, status, astStatus, core)
	}
}

func (ds *diffSwitch) peerNamed(name string) *routing.Peer {
	for _, p := range ds.peers {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// sipCall makes the call through the SIP core and returns what the
// carriers (and the voicemail server) got, and the final status.
func (ds *diffSwitch) sipCall(t *testing.T, phone *siptest.Agent, log *carrierLog, line, called string, withheld withhold) ([]seen, int) {
	t.Helper()
	return ds.sipCallAs(t, phone, log, line, "secret-"+line, called, withheld)
}

// sipCallAs makes the call from agent as user (answering a challenge with
// password) through the SIP core.
func (ds *diffSwitch) sipCallAs(t *testing.T, phone *siptest.Agent, log *carrierLog, line, password, called string, withheld withhold) ([]seen, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	log.take()
	var hdrs []sip.Header
	from := line
	switch withheld {
	case withholdPrivacy:
		hdrs = append(hdrs, sip.NewHeader("Privacy", "id"))
	case withholdFrom:
		from = "anonymous" // authenticated as the line all the same
	}
	d, err := phone.CallFrom(ctx, ds.addr, called, from, line, password, callerSDP, hdrs...)
	status := 200
	if err != nil {
		status = siptest.StatusOf(err)
		if status == 0 && ds.asterisk != nil && ds.addr == ds.asterisk {
			// No final answer from Asterisk: a difference (status 0), not
			// the end of the run.
			t.Logf("call %s from %s through Asterisk: %v", called, line, err)
		} else if status == 0 {
			t.Fatalf("call %s from %s: %v", called, line, err)
		}
	} else {
		d.Bye(ctx)
	}
	return log.take(), status
}

// dialplanCall runs the call through the rendered dialplan from the
// line's endpoint; cause is -1 when no extension matched.
func (ds *diffSwitch) dialplanCall(t *testing.T, line, called string, now time.Time, withheld withhold, name string) ([]attempt, int, []string, []string, []string) {
	t.Helper()
	ep, err := dialplantest.PJSIPEndpoint(ds.pjsip, line)
	if err != nil {
		t.Fatal(err)
	}
	return ds.dialplanRun(t, ep, line, called, now, withheld, name)
}

// dialplanRun runs the call through the rendered dialplan from endpoint
// ep, whose INVITE's From user is fromUser. Beside the peers dialled it
// answers the devices of the lines dialled (PJSIP/<device> or
// PJSIP/<number>@<device>).
func (ds *diffSwitch) dialplanRun(t *testing.T, ep dialplantest.Endpoint, fromUser, called string, now time.Time, withheld withhold, name string) ([]attempt, int, []string, []string, []string) {
	t.Helper()
	caller := ep.CallerNum
	if caller == "" {
		caller = fromUser
	}
	var hdrs map[string]string
	switch withheld { // as sipCall sends it
	case withholdPrivacy:
		hdrs = map[string]string{"Privacy": "id"}
	case withholdFrom:
		hdrs = map[string]string{"From": "<sip:anonymous@127.0.0.1>;tag=x"}
	}
	// No line is registered: the SIP core finds no contact for any.
	res, err := ds.dp.Run(dialplantest.Call{Context: ep.Context, Exten: called, CallerNum: caller, Headers: hdrs, Vars: ep.Vars, Now: now,
		Dial: func(d dialplantest.Dialled) string {
			if strings.HasSuffix(d.Channel, "/"+diffDesk) || strings.HasSuffix(d.Channel, "/"+diffTrunk) {
				return "ANSWER" // the desk and the trunk agents answer
			}
			return "CHANUNAVAIL"
		}, Unregistered: func(line string) bool { return line != diffDesk },
		Rand: func(lo, hi int) int { return hi }})
	if errors.Is(err, dialplantest.ErrNoExtension) {
		return nil, -1, nil, nil, nil
	}
	if err != nil {
		t.Fatalf("%s: dialplan: %v\n%s", name, err, strings.Join(res.Trace, "\n"))
	}
	var out []attempt
	var divs []string // the most recent Diversion of each of out
	var devices []string
	for _, d := range res.Dials {
		peer, num, ok := ds.byChan(d.Channel)
		if !ok {
			t.Fatalf("%s: unknown dial %q", name, d.Channel)
		}
		if peer != "trunk" && ds.peerNamed(peer) == nil {
			devices = append(devices, peer) // a line (PJSIP/<line>), not a peer
			continue
		}
		cid := d.CallerNum
		switch {
		case peer == "trunk" && ds.trunkFrom != "":
			// The endpoint's from_user, withheld caller or not (res_pjsip
			// puts it in From whatever the presentation: Asterisk 20.20.1).
			cid = ds.trunkFrom
		case (peer == "trunk" || ds.peerNamed(peer).IsSIP()) && (cid == "" || d.Withheld):
			// res_pjsip's From for no number or a restricted one.
			cid = "anonymous"
		}
		out = append(out, attempt{peer: peer, called: num, callerID: cid})
		div := ""
		if d.DivertedFrom != "" {
			div = d.DivertedFrom + ";" + map[string]string{"cfu": "unconditional", "cfb": "user-busy", "cfnr": "no-answer"}[d.DivertReason]
			if d.DivertReason == "unavailable" {
				div += "unavailable"
			}
		}
		divs = append(divs, div)
	}
	return out, res.Hangup, res.VoiceMail, divs, devices
}

// simulate is routes/simulate for the line's call.
func (ds *diffSwitch) simulate(t *testing.T, line, called string, now time.Time, withheld withhold) routing.Simulation {
	t.Helper()
	v := engine.Values{"called": called, "caller": line, "time": strconv.FormatInt(now.Unix(), 10)}
	if line == diffEPLine {
		// A registering sip_endpoint is simulated as phone=<name>.
		v = engine.Values{"called": called, "phone": line, "time": v["time"]}
	}
	req, err := ds.svc.SimulationRequest(context.Background(), engine.SystemActor(), v)
	if err != nil {
		t.Fatalf("simulate: %v", err)
	}
	if withheld != withholdNone {
		// The phone withholds this call (Privacy: id, From anonymous): what the SIP core
		// makes of it (callerIdentity). routes/simulate has no parameter
		// for it.
		req.Presentation = routing.PresentationOf(req.Caller, true)
	}
	return routing.Simulate(ds.state, req, nil)
}

// asteriskCall places the call through the real Asterisk and returns what
// the carriers got and the final status.
func (ds *diffSwitch) asteriskCall(t *testing.T, phone *siptest.Agent, log *carrierLog, line, called string, withheld withhold) ([]seen, int) {
	t.Helper()
	saved := ds.addr
	ds.addr = ds.asterisk
	defer func() { ds.addr = saved }()
	return ds.sipCall(t, phone, log, line, called, withheld)
}
