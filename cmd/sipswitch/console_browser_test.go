package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The web console in a real browser (issue 27): headless Chromium driven
// by chromedp against a running daemon. It logs in, creates a peer, a
// plan, a route and a phone through the forms (and sees the API's error
// beside a field), simulates a call, sees a SIPp phone's registration
// appear live, sees a SIPp call put on hold and hangs it up from the
// page, and checks that a user-role login sees only its own line.
// Screenshots of each page go to testdata/console-screenshots/ (ignored
// by git). It skips without Chromium (CI installs it: .ci/run) and runs
// the SIPp parts only with sipp.

// chromium finds a Chromium or Chrome binary.
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

type consoleBrowser struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot string
	n    int
}

func (b *consoleBrowser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
		tctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		url, _ := chromedp.Run(tctx, chromedp.Location())
		body, _ := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("body")))
		b.t.Fatalf("%s: %v\nat %s:\n%s", what, err, url, body)
	}
}

func (b *consoleBrowser) screenshot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.n++
	_ = os.WriteFile(filepath.Join(b.shot, fmt.Sprintf("%02d-%s.png", b.n, name)), buf, 0o644)
}

// text is the text of the element sel.
func (b *consoleBrowser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.screenshot("failed-read")
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// submitForm fills fields (selector → value; selects are set), clicks
// submit and waits for the element then of the page that answers.
func (b *consoleBrowser) submitForm(path string, fields [][2]string, submit, then string) {
	b.t.Helper()
	actions := []chromedp.Action[chromedp.Void]{chromedp.Navigate(b.base + path), chromedp.WaitVisible(chromedp.CSS(submit))}
	for _, f := range fields {
		actions = append(actions, chromedp.SetValue(chromedp.CSS(f[0]), f[1]))
	}
	actions = append(actions, chromedp.Click(chromedp.CSS(submit)), chromedp.WaitVisible(chromedp.CSS(then)))
	b.run("form "+path, actions...)
}

// apiID finds the id of the object called name through the API.
func apiID(t *testing.T, d *daemonProc, module, name string) int {
	t.Helper()
	var env struct {
		Data []struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		} `json:"data"`
	}
	body := d.get("/api/json/" + module + "/list/?" + adminAuth + ";name=" + name)
	if err := json.Unmarshal([]byte(body), &env); err != nil || len(env.Data) != 1 {
		t.Fatalf("%s %s: %s", module, name, body)
	}
	return env.Data[0].ID
}

func TestConsoleInBrowser(t *testing.T) {
	chrome := chromium()
	if chrome == "" {
		t.Skip("no chromium (Debian: apt-get install chromium): the console's browser test needs one")
	}
	start := time.Now()
	dir := t.TempDir()
	shots, _ := filepath.Abs("testdata/console-screenshots")
	os.RemoveAll(shots)
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	sipPort := freePort(t, "udp")
	carrierPort := freePortOn(t, "127.0.0.2", "udp")
	cfg := filepath.Join(dir, "sipswitch.yaml")
	db := filepath.Join(dir, "s.db")
	os.WriteFile(cfg, fmt.Appendf(nil, "database: %s\nhttp: %s\nsip: [udp://127.0.0.1:%d]\ndigest_algorithms: [MD5, SHA-256]\ncall_records: true\n", db, httpAddr, sipPort), 0o644)
	d := startDaemonWith(t, httpAddr, "--config", cfg)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-gpu", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	// The first run starts the browser, for as long as ctx lives.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	// Accept the confirmations (hang up, unregister, delete).
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	b := &consoleBrowser{t: t, ctx: ctx, base: d.http, shot: shots}

	login := func(user, pw string) {
		b.run("login "+user, chromedp.Navigate(b.base+"/"), chromedp.WaitVisible(chromedp.CSS("#username")),
			chromedp.SendKeys(chromedp.CSS("#username"), user), chromedp.SendKeys(chromedp.CSS("#password"), pw),
			chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("header .who")))
	}
	login("admin", adminPassword)
	b.screenshot("dashboard")

	// A peer, a plan, a route and a phone through the forms.
	b.submitForm("/peers/new", [][2]string{{"#f-name", "carrier-b"}, {"#f-type", "sip"}, {"#f-destination", fmt.Sprintf("127.0.0.2:%d", carrierPort)}}, "#save", "#rows")
	if txt := b.text("#rows"); !strings.Contains(txt, "carrier-b") {
		t.Fatalf("peer not listed after the form: %q", txt)
	}
	b.screenshot("peers")
	peer := apiID(t, d, "peers", "carrier-b")
	b.submitForm("/plans/new", [][2]string{{"#f-name", "Retail-UI"}}, "#save", "#rows")
	plan := apiID(t, d, "plans", "Retail-UI")
	b.submitForm("/routes/new?plan="+strconv.Itoa(plan), [][2]string{{"#f-called_prefix", "44"}, {"#f-peer1", strconv.Itoa(peer)}}, "#save", "#rows")
	if txt := b.text("#rows"); !strings.Contains(txt, "44") {
		t.Fatalf("route not listed after the form: %q", txt)
	}
	b.screenshot("routes")
	// The API's refusal is shown beside the field it names.
	b.submitForm("/phones/new", [][2]string{{"#f-name", "3001"}, {"#f-password", "3001"}, {"#f-plan", strconv.Itoa(plan)}}, "#save", "#e-password")
	if msg := b.text("#e-password"); msg == "" {
		t.Fatal("no error beside the password field")
	}
	b.screenshot("phone-form-error")
	b.submitForm("/phones/new", [][2]string{{"#f-name", "3001"}, {"#f-password", "pw-3001-secret"}, {"#f-plan", strconv.Itoa(plan)}}, "#save", "#rows")
	if txt := b.text("#rows"); !strings.Contains(txt, "3001") {
		t.Fatalf("phone not listed after the form: %q", txt)
	}
	b.screenshot("phones")

	// A time group, a class of service and a cost row, through the same
	// generic forms.
	b.submitForm("/timegroups/new", [][2]string{{"#f-name", "Office hours"}}, "#save", "#rows")
	b.submitForm("/cos/new", [][2]string{{"#f-name", "No premium"}}, "#save", "#rows")
	b.submitForm("/costs/new?peer="+strconv.Itoa(peer), [][2]string{{"#f-called_prefix", "44"}, {"#f-cost", "0.012"}}, "#save", "#rows")
	if txt := b.text("#rows"); !strings.Contains(txt, "0.012") {
		t.Fatalf("cost row not listed after the form: %q", txt)
	}
	b.screenshot("costs")

	// The route simulator.
	b.submitForm("/simulate", [][2]string{{"#s-called", "441234"}, {"#s-caller", "3001"}}, "#simulate", "#t-peers")
	if txt := b.text("#t-peers"); !strings.Contains(txt, "carrier-b") {
		t.Fatalf("simulation attempts: %q", txt)
	}
	b.screenshot("simulate")

	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Log("sipp not installed: the registration and call parts are skipped")
	} else {
		// A SIPp phone registers while the registrations page is open: it
		// appears without a reload, from the event stream.
		b.run("registrations page", chromedp.Navigate(b.base+"/registrations"),
			chromedp.WaitVisible(chromedp.CSS("#live-status")),
			poll(`document.getElementById("live-status").textContent === "live"`, chromedp.WithPollingTimeout(10*time.Second)))
		inf := filepath.Join(dir, "phone.csv")
		os.WriteFile(inf, []byte("SEQUENTIAL\n3001;pw-3001-secret;441234;[authentication username=3001 password=pw-3001-secret]\n"), 0o644)
		scen, _ := filepath.Abs("../../testdata/sipp")
		reg := exec.Command(sipp, fmt.Sprintf("127.0.0.1:%d", sipPort), "-sf", filepath.Join(scen, "uac_register.xml"), "-inf", inf,
			"-i", "127.0.0.1", "-p", "0", "-m", "1", "-recv_timeout", "5000", "-timeout", "15s", "-timeout_error", "-nostdin")
		reg.Dir = dir
		if out, err := reg.CombinedOutput(); err != nil {
			t.Fatalf("sipp register: %v\n%s", err, out)
		}
		b.run("registration appears live", chromedp.WaitVisible(chromedp.CSS(`tr[data-line="3001"]`)))
		b.screenshot("registrations")

		// A call put on hold: listed as held, hung up from the page.
		carrier := exec.Command(sipp, "-sf", filepath.Join(scen, "uas_hold.xml"), "-i", "127.0.0.2", "-p", strconv.Itoa(carrierPort),
			"-m", "1", "-nostdin", "-timeout", "60s", "-timeout_error")
		carrier.Dir = dir
		if err := carrier.Start(); err != nil {
			t.Fatal(err)
		}
		defer carrier.Process.Kill()
		phone := exec.Command(sipp, fmt.Sprintf("127.0.0.1:%d", sipPort), "-sf", filepath.Join(scen, "uac_hold.xml"), "-inf", inf,
			"-auth_uri", fmt.Sprintf("441234@127.0.0.1:%d", sipPort), "-i", "127.0.0.1", "-p", "0", "-m", "1",
			"-recv_timeout", "60000", "-timeout", "60s", "-timeout_error", "-nostdin", "-trace_err")
		phone.Dir = dir
		phoneOut := &strings.Builder{}
		phone.Stdout, phone.Stderr = phoneOut, phoneOut
		if err := phone.Start(); err != nil {
			t.Fatal(err)
		}
		defer phone.Process.Kill()
		b.run("held call listed", chromedp.Navigate(b.base+"/calls"),
			poll(`Array.from(document.querySelectorAll("td.state")).some(td => td.textContent === "held")`,
				chromedp.WithPollingTimeout(20*time.Second)))
		b.screenshot("calls-held")
		b.run("hang up", chromedp.Click(chromedp.CSS(`tr[data-call] button.danger`)), chromedp.WaitVisible(chromedp.CSS("p.notice")))
		b.run("call gone", poll(`document.body.textContent.includes("No calls in progress.")`, chromedp.WithPollingTimeout(15*time.Second)))
		b.screenshot("calls-hung-up")
		done := make(chan error, 1)
		go func() { done <- phone.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("sipp phone: %v\n%s", err, phoneOut.String())
			}
		case <-time.After(20 * time.Second):
			t.Error("the phone never got the switch's BYE")
		}
		if recs := d.get("/api/json/calls/list/?" + adminAuth + ";line=3001"); !strings.Contains(recs, `"hangup":"operator"`) {
			t.Errorf("call record after the hang-up: %s", recs)
		}
	}

	// The dashboard charts the peer's use of its outmaximum and the line's
	// spend against its call_maximum.
	d.create("peers/update/?"+adminAuth+";id="+strconv.Itoa(peer)+";outmaximum=10", "phones/update/?"+adminAuth+";name=3001;call_maximum=5")
	b.run("dashboard gauges", chromedp.Navigate(b.base+"/"), chromedp.WaitVisible(chromedp.CSS("#peer-usage")), chromedp.WaitVisible(chromedp.CSS("#line-spend")))
	if txt := b.text("#peer-usage"); !strings.Contains(txt, "carrier-b") || !strings.Contains(txt, "of 10 calls") {
		t.Errorf("peer usage: %q", txt)
	}
	b.screenshot("dashboard-gauges")

	// A user-role login sees only its own line.
	t.Setenv("SIPSWITCH_USER_PASSWORD", "alice-console-pw")
	if code, _, stderr := runCLI(t, "user", "add", "--db", db, "--username", "alice", "--role", "user"); code != 0 {
		t.Fatalf("user add: %s", stderr)
	}
	d.create("phones/update/?"+adminAuth+";name=3001;owner=2", "phones/create/?"+adminAuth+";name=3002;password=pw-3002-secret")
	b.run("log out", chromedp.Navigate(b.base+"/"), chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS("#username")))
	// Keyboard only: the password field's Enter submits the form.
	b.run("login alice by keyboard", chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"), chromedp.SendKeys(chromedp.CSS("#password"), "alice-console-pw\r"),
		chromedp.WaitVisible(chromedp.CSS("header .who")))
	b.run("alice's phones", chromedp.Navigate(b.base+"/phones"), chromedp.WaitVisible(chromedp.CSS("#rows")))
	if txt := b.text("#rows"); !strings.Contains(txt, "3001") || strings.Contains(txt, "3002") {
		t.Errorf("alice's phones: %q", txt)
	}
	nav := b.text("header nav")
	if strings.Contains(nav, "Call records") || strings.Contains(nav, "Simulate") {
		t.Errorf("alice is offered %q", nav)
	}
	b.screenshot("user-phones")
	// Readable at phone width: nothing wider than the screen but the
	// tables, which scroll in their own box.
	b.run("phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(b.base+"/phones"), chromedp.WaitVisible(chromedp.CSS("#rows")),
		poll(`document.documentElement.scrollWidth <= window.innerWidth`, chromedp.WithPollingTimeout(5*time.Second)))
	b.screenshot("phone-width")
	t.Logf("browser test: %v; screenshots in %s", time.Since(start).Round(time.Millisecond), shots)
}

// poll waits until the JavaScript expression is true.
func poll(expr string, opts ...chromedp.PollOption) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr, opts...)(ctx, t)
		return err
	})
}
