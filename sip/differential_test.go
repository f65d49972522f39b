package sip

import (
	"context"
	"errors"
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
// number and caller id, and the same refusals.

// attempt is one peer a path tried: its name, the number sent and the
// caller id shown.
type attempt struct{ peer, called, callerID string }

func (a attempt) String() string { return a.peer + ":" + a.called + "<" + a.callerID + ">" }

// carrierLog records the INVITEs the carrier agents get, in order.
type carrierLog struct {
	mu  sync.Mutex
	got []attempt
}

func (l *carrierLog) handler(name string, code int) func(d *sipgo.DialogServerSession, req *sip.Request) {
	return func(d *sipgo.DialogServerSession, req *sip.Request) {
		from := ""
		if f := req.From(); f != nil {
			from = f.Address.User
		}
		l.mu.Lock()
		l.got = append(l.got, attempt{peer: name, called: req.Recipient.User, callerID: from})
		l.mu.Unlock()
		if code == 200 {
			siptest.AnswerWith(carrierSDP)(d, req)
			return
		}
		d.Respond(code, "Test "+strconv.Itoa(code), nil)
	}
}

func (l *carrierLog) take() []attempt {
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
}

const (
	diffPeers  = 6
	diffAlpha  = "0149"
	diffVoice  = "v100"
	diffFax    = "f200"
	diffFwd    = "fw300"
	diffFwd2   = "fw301" // forwards back to fw300 or to itself: loops end at the hop limit
	diffVMLine = "vm400"
)

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
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	// With ASTERISK_ROOTFS (a root file system with Asterisk 20, as for
	// TestAsteriskLoadsRenderedFiles; needs root), every call is also
	// placed through a real Asterisk running the rendered files. Only SIP
	// peers are used then: Asterisk would wait on an IAX2 peer that
	// cannot answer.
	asteriskRoot := os.Getenv("ASTERISK_ROOTFS")
	if asteriskRoot != "" {
		switches = 3
	}
	rng := rand.New(rand.NewSource(14))
	compared := map[string]int{}
	attempts := 0
	for n := 0; n < switches; n++ {
		ds := newDiffSwitch(t, rng, carriers, vm, asteriskRoot)
		for c := 0; c < callsEach; c++ {
			outcome, n := ds.compareCall(t, rng, phone, log, fmt.Sprintf("switch %d call %d", n, c))
			compared[outcome]++
			attempts += n
		}
	}
	t.Logf("calls compared by outcome: %v; %d peer attempts compared", compared, attempts)
	for _, want := range []string{"route", "line"} {
		if compared[want] == 0 {
			t.Errorf("no call with outcome %q was compared: the generator does not cover it", want)
		}
	}
}

func newDiffSwitch(t *testing.T, rng *rand.Rand, carriers []*siptest.Agent, vm *siptest.Agent, asteriskRoot string) *diffSwitch {
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
	// Peers 1-3 are SIP carriers (agents), 4-6 the types only Asterisk dials.
	for i, c := range carriers {
		create("peers", engine.Values{"name": c.Name, "type": pick("sip", "pjsip"), "destination": c.Host + ":" + strconv.Itoa(c.Port),
			"called_prefix": pick("", "", "9"), "called_strip_hash": pick("0", "1"), "callerid": pick("", "", "+441230000"+strconv.Itoa(i)),
			"callerid_unknown": pick("Anonymous", "0000"), "callerid_withheld": pick("", "Private"), "costs": pick("0", "1", "1", "1")})
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
	create("phones", engine.Values{"name": diffVoice, "password": "secret-v100", "plan": "1", "callerid_external": pick("default", "+442071234567", "+4420"),
		"presentation_external": pick("1", "1", "0")})
	create("phones", engine.Values{"name": diffFax, "password": "secret-f200", "plan": "1", "media": "fax", "callerid_external": "+4420999"})
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
	if fwd == diffFwd2 {
		if err := svc.Update(ctx, actor, kinds["phones"], diffFwd, engine.Values{"forwarding": fwd}, false); err != nil {
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
	files, err := render.Render(snap, render.WithCosts(costs))
	if err != nil {
		t.Fatal(err)
	}
	dp, err := dialplantest.Parse(files[render.FileExtensions])
	if err != nil {
		t.Fatal(err)
	}
	ds := &diffSwitch{svc: svc, state: state, sw: sw, addr: addr, dp: dp, pjsip: files[render.FilePJSIP], peers: map[int]*routing.Peer{}}
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
	if asteriskRoot != "" {
		ds.asterisk = startAsterisk(t, asteriskRoot, files)
	}
	return ds
}

// startAsterisk runs Asterisk 20 in the chroot root on files (res_pjsip)
// until the test ends; it listens on 127.0.0.1:5060.
func startAsterisk(t *testing.T, root string, files render.Files) net.Addr {
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
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060}
}

func randDigits(rng *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.Intn(len(alphabet))]
	}
	return string(b)
}

// compareCall places one random call on all three paths and fails the test
// when they disagree. It returns the outcome compared and how many peer
// attempts were.
func (ds *diffSwitch) compareCall(t *testing.T, rng *rand.Rand, phone *siptest.Agent, log *carrierLog, name string) (string, int) {
	t.Helper()
	line := diffVoice
	if rng.Intn(4) == 0 {
		line = diffFax
	}
	called := randDigits(rng, diffAlpha, 1+rng.Intn(3)) + randDigits(rng, "0123456789", 4)
	switch rng.Intn(9) {
	case 0:
		called = diffFwd
	case 1:
		called = diffVMLine
	case 2:
		called = diffFwd2
	}
	for try := 0; ; try++ {
		before := time.Now()
		core, status := ds.sipCall(t, phone, log, line, called)
		now := time.Now()
		if now.Truncate(time.Minute) != before.Truncate(time.Minute) && try < 3 {
			continue // a minute boundary passed during the call: time windows may differ
		}
		dial, cause, vmail := ds.dialplanCall(t, line, called, now, name)
		where := fmt.Sprintf("%s: line %s calls %s at %s (%s)", name, line, called, now.UTC().Format(time.TimeOnly), now.UTC().Weekday())
		if called == diffFwd || called == diffFwd2 || called == diffVMLine {
			// A call to a line: routes/simulate takes numbers, not lines;
			// the SIP core and the dialplan must agree.
			var coreOut []attempt
			for _, a := range core {
				if a.peer != "voicemail" {
					coreOut = append(coreOut, a)
				}
			}
			var dialSIP []attempt
			for _, a := range dial {
				if p := ds.peerNamed(a.peer); p != nil && p.IsSIP() {
					if a.callerID == "" {
						a.callerID = "anonymous" // what the SIP core's From says for no number
					}
					dialSIP = append(dialSIP, a)
				}
			}
			if !slices.Equal(coreOut, dialSIP) {
				t.Fatalf("%s: SIP core sent %v, dialplan dialled %v (SIP peers of %v)", where, coreOut, dialSIP, dial)
			}
			coreVM := slices.ContainsFunc(core, func(a attempt) bool { return a.peer == "voicemail" })
			if coreVM != (len(vmail) > 0) {
				t.Fatalf("%s: voicemail: SIP core %v, dialplan %v", where, coreVM, vmail)
			}
			if ds.asterisk != nil {
				got, status := ds.asteriskCall(t, phone, log, line, called)
				if !samePeersAndNumbers(got, coreOut) || coreVM != (status == 200) {
					t.Errorf("%s: Asterisk sent %v (status %d), the SIP core %v (voicemail %v)", where, got, status, coreOut, coreVM)
				}
			}
			return "line", len(dial)
		}
		sim := ds.simulate(t, line, called, now)
		var simAll, simCore []attempt
		for _, a := range sim.Attempts {
			at := attempt{peer: a.Name, called: a.Called, callerID: a.CallerID}
			simAll = append(simAll, at)
			if a.SIPCore == routing.PathDial {
				if at.callerID == "" {
					at.callerID = "anonymous"
				}
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
			got, status := ds.asteriskCall(t, phone, log, line, called)
			if !samePeersAndNumbers(got, simCore) {
				t.Errorf("%s: routes/simulate (%s) lists %v, Asterisk sent %v (status %d)", where, sim.Outcome, simCore, got, status)
			}
		}
		wantStatus, wantCause := map[string]int{"barred": 403, "cos_barred": 403, "no_route": 404, "no_peer": 503}[sim.Outcome], map[string]int{"barred": 21, "cos_barred": 21, "no_peer": 34}[sim.Outcome]
		if sim.Outcome == "route" {
			wantStatus = 503 // every carrier refused
			if len(simCore) == 0 {
				wantStatus = status // only peers the SIP core skips; its answer is its own
			}
		}
		if status != wantStatus {
			t.Fatalf("%s: simulate says %s, the SIP core answered %d (want %d)", where, sim.Outcome, status, wantStatus)
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
func (ds *diffSwitch) sipCall(t *testing.T, phone *siptest.Agent, log *carrierLog, line, called string) ([]attempt, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	log.take()
	d, err := phone.Call(ctx, ds.addr, called, line, "secret-"+line, callerSDP)
	status := 200
	if err != nil {
		status = siptest.StatusOf(err)
		if status == 0 {
			t.Fatalf("call %s from %s: %v", called, line, err)
		}
	} else {
		d.Bye(ctx)
	}
	return log.take(), status
}

// dialplanCall runs the call through the rendered dialplan from the
// line's endpoint; cause is -1 when no extension matched.
func (ds *diffSwitch) dialplanCall(t *testing.T, line, called string, now time.Time, name string) ([]attempt, int, []string) {
	t.Helper()
	ep, err := dialplantest.PJSIPEndpoint(ds.pjsip, line)
	if err != nil {
		t.Fatal(err)
	}
	caller := ep.CallerNum
	if caller == "" {
		caller = line
	}
	res, err := ds.dp.Run(dialplantest.Call{Context: ep.Context, Exten: called, CallerNum: caller, Vars: ep.Vars, Now: now,
		Dial: func(dialplantest.Dialled) string { return "CHANUNAVAIL" }})
	if errors.Is(err, dialplantest.ErrNoExtension) {
		return nil, -1, nil
	}
	if err != nil {
		t.Fatalf("%s: dialplan: %v\n%s", name, err, strings.Join(res.Trace, "\n"))
	}
	var out []attempt
	for _, d := range res.Dials {
		peer, num, ok := ds.byChan(d.Channel)
		if !ok {
			t.Fatalf("%s: unknown dial %q", name, d.Channel)
		}
		if ds.peerNamed(peer) == nil {
			continue // a line (PJSIP/<line>), not a peer
		}
		out = append(out, attempt{peer: peer, called: num, callerID: d.CallerNum})
	}
	return out, res.Hangup, res.VoiceMail
}

// simulate is routes/simulate for the line's call.
func (ds *diffSwitch) simulate(t *testing.T, line, called string, now time.Time) routing.Simulation {
	t.Helper()
	req, err := ds.svc.SimulationRequest(context.Background(), engine.SystemActor(),
		engine.Values{"called": called, "caller": line, "time": strconv.FormatInt(now.Unix(), 10)})
	if err != nil {
		t.Fatalf("simulate: %v", err)
	}
	return routing.Simulate(ds.state, req, nil)
}

// asteriskCall places the call through the real Asterisk and returns what
// the carriers got and the final status.
func (ds *diffSwitch) asteriskCall(t *testing.T, phone *siptest.Agent, log *carrierLog, line, called string) ([]attempt, int) {
	t.Helper()
	saved := ds.addr
	ds.addr = ds.asterisk
	defer func() { ds.addr = saved }()
	return ds.sipCall(t, phone, log, line, called)
}

// samePeersAndNumbers compares attempts by peer and number: Asterisk's
// From for a withheld or unknown caller is its own (anonymous@anonymous.invalid).
func samePeersAndNumbers(a, b []attempt) bool {
	return slices.EqualFunc(a, b, func(x, y attempt) bool { return x.peer == y.peer && x.called == y.called && x.callerID == y.callerID })
}
