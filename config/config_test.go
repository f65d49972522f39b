package config

import (
	"errors"
	"os"
	"os/user"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/sip"
)

func TestDefaultsAreValid(t *testing.T) {
	if err := Default().Validate("defaults", nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(strings.NewReader(""), "empty.yaml")
	if err != nil || cfg.HTTP != "127.0.0.1:8080" || len(cfg.SIP) != 2 {
		t.Fatalf("empty file: %+v %v", cfg, err)
	}
}

func TestLoadOverridesDefaults(t *testing.T) {
	cfg, err := Load(strings.NewReader(`
database: /var/lib/sipswitch/switch.db
sip: [udp://127.0.0.1:5080]
render:
  dir: /etc/asterisk/sipswitch
  reload_cmd: asterisk -rx "core reload"
calls:
  no_answer_timeout: 5s
log: {level: debug, format: json}
`), "sipswitch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database != "/var/lib/sipswitch/switch.db" || cfg.SIP[0] != "udp://127.0.0.1:5080" || cfg.Calls.NoAnswerTimeout != 5*time.Second ||
		cfg.Calls.T1 != 500*time.Millisecond || cfg.Render.ReloadCmd != `asterisk -rx "core reload"` || cfg.Log.Format != "json" {
		t.Fatalf("%+v", cfg)
	}
}

func TestBadConfigNamesKeyAndLine(t *testing.T) {
	cases := []struct {
		file, key string
		line      int
	}{
		{"http: 8080\n", "http", 1},
		{"database: x\ncalls:\n  t1: -1s\n", "calls.t1", 3},
		{"calls:\n  no_anwser_timeout: 5s\n", "calls.no_anwser_timeout", 2},
		{"sip: [sip://127.0.0.1:5060]\n", "sip", 1},
		{"log:\n  level: loud\n", "log.level", 2},
		{"render:\n  reload_cmd: x\n", "render.reload_cmd", 2},
		{"calls:\n  min_expires: 2h\n", "calls.min_expires", 2},
		{"calls:\n  t1: 1s\n  transaction_linger: 0s\n", "calls.transaction_linger", 3},
		{"pprof: maybe\n", "pprof", 1},
		{"calls:\n  max_cps: -5\n", "calls.max_cps", 2},
		{"calls:\n  max_calls: many\n", "calls.max_calls", 2},
		{"calls:\n  min_se: 30s\n", "calls.min_se", 2},
		{"calls:\n  min_se: 90500ms\n", "calls.min_se", 2},
		{"calls:\n  min_se: 120s\n  session_expires: 100s\n", "calls.session_expires", 3},
		{"calls:\n  session_expires: 1800500ms\n", "calls.session_expires", 2},
		{"calls:\n  ping_interval: 2s\n  ping_timeout: 3s\n", "calls.ping_timeout", 3},
		{"calls:\n  ping_interval: 0s\n", "calls.ping_interval", 2},
		{"calls:\n  flood_limit: -1\n", "calls.flood_limit", 2},
		{"sip: [udp://0.0.0.0:5060]\n", "sip_advertise", 0},
		{"sip: [udp://127.0.0.1:5060]\nsip_advertise: a b\n", "sip_advertise", 2},
		{"calls:\n  flood_limit: 100\n  flood_block: 0s\n", "calls.flood_block", 3},
		{"media:\n  relay: sometimes\n", "media.relay", 2},
		{"media:\n  relay: \"\"\n", "media.relay", 2},
		{"media:\n  port_range: 40000-30000\n", "media.port_range", 2},
		{"media:\n  port_range: 30000\n", "media.port_range", 2},
		{"media:\n  port_range: 80-1000\n", "media.port_range", 2},
		{"media:\n  timeout: -1s\n", "media.timeout", 2},
		{"media:\n  hold_timeout: -1s\n", "media.hold_timeout", 2},
		{"media:\n  address: media.example.com\n", "media.address", 2},
		{"media:\n  advertised_address: 0.0.0.0\n", "media.advertised_address", 2},
		{"media:\n  address: 0.0.0.0\n", "media.advertised_address", 0},
		{"sip: [udp://0.0.0.0:5060]\nsip_advertise: sip.example.com\n", "media.advertised_address", 0},
		{"media:\n  flood: 1\n", "media.flood", 2},
		{"render:\n  dir: /x\n  group: no-such-group-sipswitch\n", "render.group", 3},
		{"render:\n  group: " + currentGroup(t) + "\n", "render.group", 2},
		{"render:\n  realm: two words\n", "render.realm", 2},
		{"render:\n  realm: \"\"\n", "render.realm", 2},
		{"realm: asterisk\nrender:\n  dir: /x\n", "render.realm", 0},
		{"realm: pbx\nrender:\n  dir: /x\n  realm: pbx\n", "render.realm", 4},
		{"sip: [tls://127.0.0.1:5061]\n", "sip", 1},
		{"sip_ws_origins: [phone.example]\n", "sip_ws_origins", 1},
		{"sip_ws_origins: [\"https://phone.example/app\"]\n", "sip_ws_origins", 1},
		{"sip: [wss://127.0.0.1:5061]\n", "sip", 1},
		{"tls:\n  verify_clients: always\n", "tls.verify_clients", 2},
		{"tls:\n  verify_clients: required\n", "tls.client_ca_file", 0},
		{"tls:\n  insecure_peers: [192.0.2.1]\n", "tls.insecure_peers", 2},
		{"capture:\n  address: sctp://192.0.2.1:9060\n", "capture.address", 2},
		{"capture:\n  address: tcp://homer\n", "capture.address", 2},
		{"capture:\n  flush: 0s\n", "capture.flush", 2},
		{"events:\n  flush: -1s\n", "events.flush", 2},
	}
	for _, c := range cases {
		_, err := Load(strings.NewReader(c.file), "f.yaml")
		var ce Error
		if !errors.As(err, &ce) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: err %v", c.file, err)
			continue
		}
		if ce.Key != c.key || ce.Line != c.line {
			t.Errorf("%q: got key %s line %d (%v), want %s line %d", c.file, ce.Key, ce.Line, err, c.key, c.line)
		}
	}
	for _, a := range []string{"192.0.2.1:9060", "udp://homer.example:9060", "tcp://[2001:db8::1]:9061"} {
		if c, err := Load(strings.NewReader("capture:\n  address: \""+a+"\"\n"), "f.yaml"); err != nil || c.Capture.Address != a {
			t.Errorf("capture.address %s: %v", a, err)
		}
	}
	if c, err := Load(strings.NewReader("calls:\n  session_expires: 0s\n"), "f.yaml"); err != nil || c.Calls.SessionExpires != 0 {
		t.Errorf("session timers off: %v", err)
	}
	// The relay's addresses follow the SIP listener unless set.
	for _, c := range []struct{ file, bind, advertised string }{
		{"", "127.0.0.1", "127.0.0.1"},
		{"sip: [udp://0.0.0.0:5060]\nsip_advertise: 203.0.113.7\n", "0.0.0.0", "203.0.113.7"},
		{"media: {address: 10.0.0.2, advertised_address: 203.0.113.9}\n", "10.0.0.2", "203.0.113.9"},
	} {
		cfg, err := Load(strings.NewReader(c.file), "f.yaml")
		if err != nil {
			t.Fatalf("%q: %v", c.file, err)
		}
		bind, adv, _, err := cfg.MediaAddresses()
		if err != nil || bind.String() != c.bind || adv.String() != c.advertised {
			t.Errorf("%q: media addresses %s %s %v, want %s %s", c.file, bind, adv, err, c.bind, c.advertised)
		}
	}
	_, err := Load(strings.NewReader("calls:\n  t1: soon\n"), "f.yaml")
	if err == nil || err.Error() != "f.yaml:2: calls.t1: must be a duration such as 500ms, 30s or 1h" {
		t.Errorf("bad duration: %v", err)
	}
}

// currentGroup names the process's group, which every host has.
func currentGroup(t *testing.T) string {
	t.Helper()
	g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
	if err != nil {
		t.Skip("the process's group has no name:", err)
	}
	return g.Name
}

// render.group and render.realm: the group must exist (by name or id),
// the realm differ from the SIP core's only where files are rendered.
func TestRenderGroupAndRealm(t *testing.T) {
	cfg, err := Load(strings.NewReader("render:\n  dir: /etc/asterisk/sipswitch\n  group: "+currentGroup(t)+"\n  realm: pbx.example.net\n"), "f.yaml")
	if err != nil || cfg.Render.Group != currentGroup(t) || cfg.Render.Realm != "pbx.example.net" {
		t.Fatalf("%+v %v", cfg.Render, err)
	}
	if _, err := Load(strings.NewReader("render:\n  dir: /x\n  group: \""+strconv.Itoa(os.Getgid())+"\"\n"), "f.yaml"); err != nil {
		t.Errorf("numeric group: %v", err)
	}
	if cfg, err := Load(strings.NewReader("realm: asterisk\n"), "f.yaml"); err != nil || cfg.Render.Realm != "asterisk" {
		t.Errorf("the SIP core's realm may be Asterisk's when nothing is rendered: %v", err)
	}
	if Default().Render.Realm != "asterisk" || Default().Render.Group != "" {
		t.Errorf("defaults: %+v", Default().Render)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add("database: x\nsip: [udp://127.0.0.1:5060]\n")
	f.Add("calls: {t1: 1ms}")
	f.Add("[]")
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := Load(strings.NewReader(s), "fuzz.yaml")
		if err == nil {
			if verr := cfg.Validate("fuzz.yaml", nil); verr != nil {
				t.Fatalf("Load accepted a config Validate rejects: %v", verr)
			}
		}
	})
}

// The reload:"live" tags decide what a SIGHUP applies: everything else is
// reported as needing a restart, and only the live keys are copied.
func TestReloadSplitsLiveFromRestartOnly(t *testing.T) {
	running := Default()
	next := Default()
	next.HTTP = "127.0.0.1:9090"
	next.Calls.T1 = time.Second
	next.Calls.MaxCPS = 100
	next.Log.Level = "debug"
	next.Render.Dir = "/tmp/out"
	next.Media.Relay = "always"
	got := strings.Join(RestartOnlyChanges(running, next), ",")
	if got != "http,calls.t1" {
		t.Fatalf("restart-only changes %q, want http,calls.t1", got)
	}
	ApplyLive(&running, next)
	if running.HTTP != "127.0.0.1:8080" || running.Calls.T1 != 500*time.Millisecond {
		t.Errorf("restart-only keys applied: %+v", running)
	}
	if running.Calls.MaxCPS != 100 || running.Log.Level != "debug" || running.Render.Dir != "/tmp/out" || running.Media.Relay != "always" {
		t.Errorf("live keys not applied: %+v", running)
	}
	if keys := knownKeys(); !keys["calls"] || keys["calls.t1"] || len(keys) < 30 {
		t.Errorf("known keys from the yaml tags: %v", keys)
	}
}

// runtime.memory_limit takes GOMEMLIMIT's sizes; anything else names the
// key. gc_percent -1 needs a limit.
func TestRuntimeSection(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "900MiB": 900 << 20, "2GiB": 2 << 30, "512KiB": 512 << 10, "1048576B": 1 << 20} {
		got, err := RuntimeConfig{MemoryLimit: in}.MemoryLimitBytes()
		if err != nil || got != want {
			t.Errorf("memory_limit %q = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"900", "900MB", "-1GiB", "0MiB", "lots", "99999999999TiB"} {
		if _, err := (RuntimeConfig{MemoryLimit: bad}).MemoryLimitBytes(); err == nil {
			t.Errorf("memory_limit %q accepted", bad)
		}
	}
	c := Default()
	c.Runtime = RuntimeConfig{GCPercent: -1}
	if err := c.Validate("test", nil); err == nil || !strings.Contains(err.Error(), "runtime.gc_percent") {
		t.Errorf("gc_percent -1 without a limit: %v", err)
	}
	c.Runtime = RuntimeConfig{GCPercent: 200, MemoryLimit: "900MB"}
	if err := c.Validate("test", nil); err == nil || !strings.Contains(err.Error(), "runtime.memory_limit") {
		t.Errorf("memory_limit 900MB: %v", err)
	}
}

// Issue 23 item 6: the flood limit is on unless the operator turns it off.
func TestFloodLimitOnByDefault(t *testing.T) {
	cfg, err := Load(strings.NewReader("database: x.db\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Calls.FloodLimit != sip.DefaultFloodLimit || cfg.Calls.FloodLimit == 0 || cfg.Calls.FloodBlock != sip.DefaultFloodBlock {
		t.Errorf("default flood limit %d block %s, want %d %s", cfg.Calls.FloodLimit, cfg.Calls.FloodBlock, sip.DefaultFloodLimit, sip.DefaultFloodBlock)
	}
	cfg, err = Load(strings.NewReader("database: x.db\ncalls:\n  flood_limit: 0\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Calls.FloodLimit != 0 {
		t.Errorf("flood_limit: 0 gave %d, want off", cfg.Calls.FloodLimit)
	}
}
