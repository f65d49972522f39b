// Package config owns the daemon's configuration file: its keys, their
// defaults and their rules, parsed once into typed values. Every error
// names the key and the line it is on.
package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sipswitch/sipswitch/capture"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/render"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip"
	"github.com/sipswitch/sipswitch/sip/media"
	"gopkg.in/yaml.v3"
)

// ErrInvalid marks a configuration that must not start a daemon.
var ErrInvalid = errors.New("invalid configuration")

// Config is the daemon's configuration. Zero values are never used: Load
// and Default fill every field. A key's yaml tag is its name in the file
// (the only list of keys there is); reload:"live" marks the keys a SIGHUP
// applies to the running daemon, every other key changes only on restart.
type Config struct {
	// Database is a SQLite file, or a postgres:// URL for several hosts
	// on one store.
	Database string   `yaml:"database"`
	HTTP     string   `yaml:"http"`
	SIP      []string `yaml:"sip"`
	// SIPAdvertise is the host the SIP core puts in its Contact and Via
	// headers; needed when a listen URI binds all addresses (0.0.0.0, ::).
	SIPAdvertise string `yaml:"sip_advertise"`
	// SIPWebSocketOrigins are the origins (scheme://host[:port]) whose web
	// pages may use the ws:// and wss:// listeners (SIP over WebSocket,
	// RFC 7118); "*" allows any. Empty: a listener's own origin only.
	// Clients that send no Origin (not browsers) are not affected.
	SIPWebSocketOrigins []string `yaml:"sip_ws_origins"`
	Realm               string   `yaml:"realm"`
	// DigestAlgorithms are offered to phones in this order (RFC 8760).
	DigestAlgorithms []string `yaml:"digest_algorithms"`
	Metrics          string   `yaml:"metrics"` // separate listener for /metrics; "" = on the HTTP listener
	// Pprof serves net/http/pprof under /debug/pprof/ beside /metrics, for
	// profiling a live switch; off by default because profiles expose
	// internals and cost CPU while taken.
	Pprof bool `yaml:"pprof"`
	// TimeZone is the switch's time zone (IANA name; "" = the host's): a
	// line's daily spend (call_maximum) is counted from its midnight.
	TimeZone string `yaml:"time_zone"`
	// CallRecords: one record per call in the store (calls/list), written
	// in batches. On by default.
	CallRecords bool `yaml:"call_records"`
	// CallRecordsJournal is the directory of the call journal (0700): each
	// record is written there as its call ends, before either party hears
	// the end, and committed to the store from it in batches, so a crash
	// loses none (engine.CallJournal). "" (default): beside a SQLite
	// database (DATABASE.calls); with PostgreSQL, $STATE_DIRECTORY/calls
	// (systemd's StateDirectory) or else ./sipswitch.calls. One switch
	// per directory (it is locked). Read at start.
	CallRecordsJournal string `yaml:"call_records_journal"`

	Render  RenderConfig  `yaml:"render"`
	Calls   CallsConfig   `yaml:"calls"`
	Media   MediaConfig   `yaml:"media"`
	Log     LogConfig     `yaml:"log"`
	Cluster ClusterConfig `yaml:"cluster"`
	Runtime RuntimeConfig `yaml:"runtime"`
	Audit   AuditConfig   `yaml:"audit"`
	TLS     TLSConfig     `yaml:"tls"`
	Capture CaptureConfig `yaml:"capture"`
	Events  EventsConfig  `yaml:"events"`
}

// EventsConfig is the live event stream (/api/events, the console's live
// pages). Read at start.
type EventsConfig struct {
	// Flush is how long events gather before they are encoded, once, and
	// written to each client in one write (engine.WithLiveFlush): a live
	// view that late is still live, and each client costs a write per
	// interval rather than per event.
	Flush time.Duration `yaml:"flush"`
}

// CaptureConfig sends a copy of every SIP message to a HEPv3 capture
// server (package capture), as Asterisk's res_hep and Kamailio's siptrace
// do. Read at start.
type CaptureConfig struct {
	Address  string `yaml:"address"`  // host:port or udp://host:port (UDP), tcp://host:port (TCP) of the capture server; "" off
	ID       uint32 `yaml:"id"`       // capture agent id: this host, on a server several send to
	Password string `yaml:"password"` // sent in every packet when set
	Queue    int    `yaml:"queue"`    // messages waiting to be sent before copies are dropped
	// Flush bounds how late a copy is sent: what gathered goes out in
	// batches (sendmmsg) at least this often (capture.WithFlush).
	Flush time.Duration `yaml:"flush"`
}

// TLSConfig names the switch's certificate (package certs): one pair for
// every TLS listener unless a listener names its own. The files are read
// again on SIGHUP (a renewal is served without a restart); their names
// are read at start.
type TLSConfig struct {
	CertFile string `yaml:"cert_file"` // PEM, leaf first then the chain
	KeyFile  string `yaml:"key_file"`  // PEM; must not be readable by other users
	// HTTP is how the http listener (admin API, gateway API, and /metrics
	// when it has no listener of its own) is served: "auto" (default)
	// HTTPS when a certificate is named, plain HTTP otherwise; "https";
	// "plain" (e.g. behind a TLS-terminating proxy on the same host).
	HTTP string `yaml:"http"`
	// HTTPCertFile and HTTPKeyFile give the http listener a pair of its
	// own; default cert_file and key_file.
	HTTPCertFile string `yaml:"http_cert_file"`
	HTTPKeyFile  string `yaml:"http_key_file"`
	// HSTS is the max-age of Strict-Transport-Security on HTTPS answers
	// (RFC 6797); 0 sends none. Default a year.
	HSTS time.Duration `yaml:"hsts"`
	// VerifyClients is what the SIP tls:// listeners ask of phones and
	// peers (mutual TLS, as carriers and Teams Direct Routing do):
	// "none" (default), "optional" (a certificate given must chain to
	// ClientCAFile) or "required". INFERRED names. The wss:// listeners
	// never ask: browsers have no certificate and authenticate by digest.
	VerifyClients string `yaml:"verify_clients"`
	// ClientCAFile holds the CAs (PEM) client certificates must chain to.
	ClientCAFile string `yaml:"client_ca_file"`
	// PeerCAFile holds the CAs (PEM) the certificates of TLS peers must
	// chain to; empty: the system's roots. INFERRED name.
	PeerCAFile string `yaml:"peer_ca_file"`
	// InsecurePeers are host names of TLS destinations whose certificate
	// is not verified at all. UNSAFE: for a lab carrier only (see
	// certs.ClientConfig). The seed's peers have no such parameter, so it
	// is this config-level list. INFERRED.
	InsecurePeers []string `yaml:"insecure_peers"`
}

// HTTPS says whether the http listener serves TLS, and with which files.
func (t TLSConfig) HTTPS() (on bool, certFile, keyFile string) {
	certFile, keyFile = t.CertFile, t.KeyFile
	if t.HTTPCertFile != "" {
		certFile, keyFile = t.HTTPCertFile, t.HTTPKeyFile
	}
	switch t.HTTP {
	case "https":
		return true, certFile, keyFile
	case "plain":
		return false, "", ""
	}
	return certFile != "", certFile, keyFile
}

// AuditConfig bounds the audit log (engine/audit.go, audit/list).
type AuditConfig struct {
	// RetentionDays: rows older than this many days are deleted, at
	// start and every hour; 0 keeps them all. INFERRED default 365.
	RetentionDays int `yaml:"retention_days" reload:"live"`
}

// ClusterConfig is for several switch hosts on one PostgreSQL store
// (README, "Several hosts"). Every key changes only on restart.
type ClusterConfig struct {
	// Host names this switch host in call records, call-limit slots and
	// metrics ("" = the operating system's host name).
	Host string `yaml:"host"`
	// Redis is the redis:// URL of the server that holds call-limit
	// slots for all hosts; "" counts outmaximum and totalmaximum on this
	// host alone.
	Redis string `yaml:"redis"`
	// Lease is how long a slot outlives its host's last renewal: a host
	// that dies frees its slots within it.
	Lease time.Duration `yaml:"lease"`
	// RedisTimeout bounds each round trip to Redis; past it a limited
	// call is refused (see cluster's package documentation).
	RedisTimeout time.Duration `yaml:"redis_timeout"`
	// KeyPrefix starts the Redis keys; the hosts of one cluster share
	// it, two clusters on one Redis must not.
	KeyPrefix string `yaml:"key_prefix"`
}

// HostName is cluster.host, or the operating system's host name.
func (c ClusterConfig) HostName() string {
	if c.Host != "" {
		return c.Host
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "sipswitch"
}

// MediaConfig is the RTP relay (sip/media) of the SIP core.
type MediaConfig struct {
	// Relay says which calls' media go through the switch: auto (calls of
	// lines behind NAT), always, never (SDP end to end). A reload applies
	// it to new calls.
	Relay string `yaml:"relay" reload:"live"`
	// Address is the local address relay ports bind to; "" = the host of
	// the first sip listen URI. AdvertisedAddress is the one written into
	// SDP when that is not reachable as is (1:1 NAT; an Address of
	// 0.0.0.0 needs one); "" = Address, or sip_advertise when Address is
	// unspecified.
	Address           string `yaml:"address"`
	AdvertisedAddress string `yaml:"advertised_address"`
	// PortRange is the UDP ports relay pairs come from, "min-max" (even
	// RTP, odd RTCP).
	PortRange string `yaml:"port_range"`
	// Timeout ends an answered relayed call whose party sent no RTP for
	// this long (Asterisk's rtptimeout); HoldTimeout the same while the
	// call is on hold (rtpholdtimeout). 0 turns either off.
	Timeout     time.Duration `yaml:"timeout"`
	HoldTimeout time.Duration `yaml:"hold_timeout"`
	// RecordingsDir is where the relay writes call recordings (record
	// groups: <customer>/<directory>/<Call-ID>.wav, private to sipswitch's
	// user) and calls/recording reads them; "" records nothing.
	RecordingsDir string `yaml:"recordings_dir"`
	// MusicDir holds the hold music classes: its files are the class
	// "default", each subdirectory music-N the class of lines with music
	// N (the layout of Asterisk's moh directory); "" plays none. A reload
	// reads it again.
	MusicDir string `yaml:"music_dir" reload:"live"`
	// SDESWithoutTLS lets SDES keys (SRTP master keys in the SDP's
	// a=crypto) travel over UDP and TCP. Off: they are taken and sent
	// over TLS only. UNSAFE when on: whoever reads the signalling on its
	// way has the keys and the media (sip.WithSDESWithoutTLS).
	SDESWithoutTLS bool `yaml:"sdes_without_tls"`
}

// RenderConfig drives re-rendering of Asterisk configuration on change.
// Every key applies on reload: the renderer restarts with it.
type RenderConfig struct {
	Dir         string        `yaml:"dir" reload:"live"`
	ReloadCmd   string        `yaml:"reload_cmd" reload:"live"`
	PhoneDriver string        `yaml:"phone_driver" reload:"live"`
	Debounce    time.Duration `yaml:"debounce" reload:"live"`
	// TLSCert and TLSKey are PEM files on the Asterisk host for its TLS
	// listeners (pjsip transport-tls, chan_sip tlsenable).
	TLSCert string `yaml:"tls_cert" reload:"live"`
	TLSKey  string `yaml:"tls_key" reload:"live"`
	// Group is the group the rendered files are given to, readable by it
	// (0640; a new render dir 0750): the group Asterisk runs as. ""
	// leaves them to sipswitch's user alone (0600, 0700).
	Group string `yaml:"group" reload:"live"`
	// Realm is the digest realm Asterisk challenges phones in; the
	// passwords it only checks are rendered as digests for it
	// (render.WithRealm). It must differ from the SIP core's realm.
	Realm string `yaml:"realm" reload:"live"`
}

// CallsConfig holds SIP timers and call limits.
type CallsConfig struct {
	T1 time.Duration `yaml:"t1"`
	T2 time.Duration `yaml:"t2"`
	T4 time.Duration `yaml:"t4"`
	// TransactionLinger is how long finished transactions absorb
	// retransmitted requests (RFC 3261 Timer J; 64*T1 = 32 s there); Timer
	// D, L and M take at most 2*T1 of it (sip.TransactionTimers).
	TransactionLinger time.Duration `yaml:"transaction_linger"`
	// MaxCalls and MaxCPS cap concurrent calls and new calls per second
	// (503 over them); 0 means no limit.
	MaxCalls int `yaml:"max_calls" reload:"live"`
	MaxCPS   int `yaml:"max_cps" reload:"live"`
	// OverloadDelay sheds load past the host's capacity, whatever it is:
	// the share of new INVITEs that keeps their wait for a core (arrival
	// to handler) at this target gets 503 with Retry-After before the
	// digest round; in-dialog requests, retransmissions, INVITEs with
	// credentials and emergency calls never do (sip.WithOverloadDelay).
	// 0 turns it off.
	OverloadDelay   time.Duration `yaml:"overload_delay"`
	NoAnswerTimeout time.Duration `yaml:"no_answer_timeout"`
	MaxDuration     time.Duration `yaml:"max_duration"`
	DrainTimeout    time.Duration `yaml:"drain_timeout" reload:"live"`
	MinExpires      time.Duration `yaml:"min_expires"`
	MaxExpires      time.Duration `yaml:"max_expires"`
	DefaultExpires  time.Duration `yaml:"default_expires"`
	// SessionExpires and MinSE are the session timers (RFC 4028) kept on
	// both legs of every call, so that a leg that vanished without a BYE
	// ends the call; SessionExpires 0 turns them off.
	SessionExpires time.Duration `yaml:"session_expires"`
	MinSE          time.Duration `yaml:"min_se"`
	// PingInterval and PingTimeout: OPTIONS to the contacts of lines with
	// ping=1, and how long an answer may take.
	PingInterval time.Duration `yaml:"ping_interval"`
	PingTimeout  time.Duration `yaml:"ping_timeout"`
	// FloodLimit is the messages per second one untrusted source address
	// may send before it is blocked for FloodBlock (a trickle of one a
	// second per port still passes); peers and sources a line has
	// authenticated from are exempt. Default sip.DefaultFloodLimit; 0: off.
	FloodLimit int           `yaml:"flood_limit"`
	FloodBlock time.Duration `yaml:"flood_block"`
	// PeerMatch is how an INVITE without credentials is known to come
	// from a peer: "exact" (UDP from a destination's address and port) or
	// "address" (any port and transport; see the risk in the example
	// configuration).
	PeerMatch string `yaml:"peer_match"`
	// VoicemailServer (host[:port]) takes the calls lines send to
	// voicemail (btype/dtype/utype voicemail): the Asterisk hosting the
	// rendered voicemail context. "" ends such calls instead. Its
	// message-summary NOTIFYs, from exactly this address, are relayed to
	// the lines showing the box (sip/mwi.go).
	VoicemailServer string `yaml:"voicemail_server"`
}

// RuntimeConfig tunes Go's garbage collector for the call path. GOGC and
// GOMEMLIMIT in the environment win over it (they are for experiments).
type RuntimeConfig struct {
	// GCPercent is GOGC: heap growth over the live heap before a
	// collection. 200 (not Go's 100): collecting half as often cut CPU per
	// call 6-8% and the p99 of post-dial delay at 1,800 calls/s; 400 and
	// 800 gained nothing more (README, Load test).
	GCPercent int `yaml:"gc_percent" reload:"live"`
	// MemoryLimit is GOMEMLIMIT ("900MiB", "2GiB"; "" = none): the heap
	// size at which the collector works harder instead of growing. Set it
	// under the memory the host gives the switch.
	MemoryLimit string `yaml:"memory_limit" reload:"live"`
	// Procs is GOMAXPROCS: 0 (the default) sizes it to the load, from one
	// processor up to the host's cores (internal/procs: a processor idle
	// is one the runtime wakes for every goroutine made ready, a fifth of
	// the CPU per call at 1,500 calls a second on two cores); a number
	// fixes it. GOMAXPROCS in the environment wins.
	Procs int `yaml:"procs" reload:"live"`
}

// MemoryLimitBytes reads MemoryLimit (B, KiB, MiB, GiB or TiB, as
// GOMEMLIMIT); 0 when it is empty.
func (r RuntimeConfig) MemoryLimitBytes() (int64, error) {
	if r.MemoryLimit == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(r.MemoryLimit, u.suffix); ok {
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil || n <= 0 || n > (1<<62)/u.mult {
				break
			}
			return n * u.mult, nil
		}
	}
	return 0, fmt.Errorf("must be a size such as 900MiB or 2GiB, got %q", r.MemoryLimit)
}

// LogConfig selects log level and format.
type LogConfig struct {
	Level  string `yaml:"level" reload:"live"` // debug, info, warn, error
	Format string `yaml:"format"`              // text, json, or auto (json under systemd); restart to change
}

// Default is the configuration with no file and no flags.
func Default() Config {
	return Config{
		Database:    "./sipswitch.db",
		HTTP:        "127.0.0.1:8080",
		SIP:         []string{"udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"},
		Realm:       "sipswitch",
		CallRecords: true,
		// MD5 alone, as Asterisk and Kamailio: see sip.WithDigestAlgorithms
		// for the phones a SHA-256 challenge locks out.
		DigestAlgorithms: []string{"MD5"},
		Render:           RenderConfig{PhoneDriver: "pjsip", Debounce: 500 * time.Millisecond, Realm: render.DefaultRealm},
		Cluster:          ClusterConfig{Lease: 6 * time.Second, RedisTimeout: 500 * time.Millisecond, KeyPrefix: "sipswitch"},
		Calls: CallsConfig{
			T1: 500 * time.Millisecond, T2: 4 * time.Second, T4: 5 * time.Second, TransactionLinger: 5 * time.Second,
			NoAnswerTimeout: 8 * time.Second, MaxDuration: 4 * time.Hour, DrainTimeout: 30 * time.Second,
			MinExpires: 60 * time.Second, MaxExpires: time.Hour, DefaultExpires: 10 * time.Minute,
			SessionExpires: 1800 * time.Second, MinSE: 90 * time.Second, PingInterval: time.Minute, PingTimeout: 3 * time.Second,
			FloodLimit: sip.DefaultFloodLimit, FloodBlock: sip.DefaultFloodBlock, PeerMatch: "exact",
			OverloadDelay: sip.DefaultOverloadDelay,
		},
		Media:   MediaConfig{Relay: "auto", PortRange: "30000-40000", Timeout: 60 * time.Second, HoldTimeout: time.Hour, RecordingsDir: "./recordings"},
		Runtime: RuntimeConfig{GCPercent: 200},
		Audit:   AuditConfig{RetentionDays: 365},
		TLS:     TLSConfig{HTTP: "auto", HSTS: 365 * 24 * time.Hour},
		Capture: CaptureConfig{Queue: capture.DefaultQueue, Flush: capture.DefaultFlush},
		Events:  EventsConfig{Flush: engine.DefaultLiveFlush},
		Log:     LogConfig{Level: "info", Format: "auto"},
	}
}

// Error is one problem in a configuration file.
type Error struct {
	File, Key string
	Line      int
	Message   string
}

func (e Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Message)
	}
	return fmt.Sprintf("%s: %s: %s", e.File, e.Key, e.Message)
}

func (e Error) Unwrap() error { return ErrInvalid }

// LoadFile reads a configuration file over the defaults.
func LoadFile(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return Load(f, path)
}

// Load reads a configuration over the defaults. Unknown keys are errors: a
// misspelt key silently ignored is how a switch ends up on the defaults.
func Load(r io.Reader, name string) (Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", name, err)
	}
	cfg := Default()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Config{}, Error{File: name, Key: "file", Message: err.Error()}
	}
	if doc.Kind == 0 {
		return cfg, cfg.Validate(name, nil)
	}
	lines := map[string]int{}
	if err := checkKeys(doc.Content[0], "", lines, name, knownKeys()); err != nil {
		return Config{}, err
	}
	if err := doc.Content[0].Decode(&cfg); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			return Config{}, typeError(name, te.Errors[0], lines)
		}
		return Config{}, Error{File: name, Key: "file", Message: err.Error()}
	}
	return cfg, cfg.Validate(name, lines)
}

// typeError turns yaml's "line 3: cannot unmarshal !!str `soon` into
// time.Duration" into an error naming the key on that line.
func typeError(file, msg string, lines map[string]int) Error {
	var line int
	fmt.Sscanf(msg, "line %d:", &line)
	key := "file"
	for k, l := range lines {
		if l == line && len(k) > len(key) || l == line && key == "file" {
			key = k
		}
	}
	text := msg
	if _, after, ok := strings.Cut(msg, ": "); ok {
		text = after
	}
	if strings.Contains(text, "time.Duration") {
		text = "must be a duration such as 500ms, 30s or 1h"
	}
	return Error{File: file, Key: key, Line: line, Message: text}
}

// keyFields calls visit with the dotted path of every key of the file
// format t describes (yaml tags), sections and their keys alike, and the
// field's index path.
func keyFields(t reflect.Type, prefix string, index []int, visit func(path string, index []int, f reflect.StructField)) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		idx := append(slices.Clone(index), i)
		visit(prefix+name, idx, f)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
			keyFields(f.Type, prefix+name+".", idx, visit)
		}
	}
}

// knownKeys are the keys a file may hold, by dotted path, true for a
// section.
func knownKeys() map[string]bool {
	known := map[string]bool{}
	keyFields(reflect.TypeFor[Config](), "", nil, func(path string, _ []int, f reflect.StructField) {
		known[path] = f.Type.Kind() == reflect.Struct
	})
	return known
}

// RestartOnlyChanges lists the keys whose value differs between running
// and next and that only a restart applies (no reload:"live" tag).
func RestartOnlyChanges(running, next Config) []string {
	var keys []string
	a, b := reflect.ValueOf(running), reflect.ValueOf(next)
	keyFields(reflect.TypeFor[Config](), "", nil, func(path string, index []int, f reflect.StructField) {
		if f.Type.Kind() == reflect.Struct || f.Tag.Get("reload") == "live" {
			return
		}
		if !reflect.DeepEqual(a.FieldByIndex(index).Interface(), b.FieldByIndex(index).Interface()) {
			keys = append(keys, path)
		}
	})
	return keys
}

// ApplyLive copies the reload:"live" keys of next into running.
func ApplyLive(running *Config, next Config) {
	dst, src := reflect.ValueOf(running).Elem(), reflect.ValueOf(next)
	keyFields(reflect.TypeFor[Config](), "", nil, func(_ string, index []int, f reflect.StructField) {
		if f.Tag.Get("reload") == "live" {
			dst.FieldByIndex(index).Set(src.FieldByIndex(index))
		}
	})
}

func checkKeys(n *yaml.Node, prefix string, lines map[string]int, file string, known map[string]bool) error {
	if n.Kind != yaml.MappingNode {
		key := strings.TrimSuffix(prefix, ".")
		if key == "" {
			key = "file"
		}
		return Error{File: file, Key: key, Line: n.Line, Message: "must be a mapping of keys"}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		path := prefix + k.Value
		section, ok := known[path]
		if !ok {
			return Error{File: file, Key: path, Line: k.Line, Message: "unknown key"}
		}
		lines[path] = k.Line
		if v.Kind == yaml.MappingNode || section {
			if err := checkKeys(v, path+".", lines, file, known); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkListenAddr checks a host:port to listen on: the port a number
// from 0 (any free one) to 65535. Checked with the rest of the
// configuration so that a typo stops the daemon before it creates a store
// and prints the first admin's password.
func checkListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("not host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// Validate checks values; lines gives each key's line for messages.
func (c Config) Validate(file string, lines map[string]int) error {
	fail := func(key, msg string) error { return Error{File: file, Key: key, Line: lines[key], Message: msg} }
	if c.Database == "" {
		return fail("database", "must name a database file or a postgres:// URL")
	}
	if err := checkListenAddr(c.HTTP); err != nil {
		return fail("http", fmt.Sprintf("must be host:port, got %q: %v", c.HTTP, err))
	}
	if c.Metrics != "" {
		if err := checkListenAddr(c.Metrics); err != nil {
			return fail("metrics", fmt.Sprintf("must be host:port or empty, got %q: %v", c.Metrics, err))
		}
	}
	if len(c.SIP) == 0 {
		return fail("sip", "must list at least one listen URI such as udp://127.0.0.1:5060")
	}
	for _, s := range c.SIP {
		network, addr, err := sip.ParseListenURI(s)
		if err != nil {
			return fail("sip", err.Error())
		}
		if err := checkListenAddr(addr); err != nil {
			return fail("sip", fmt.Sprintf("%q: %v", s, err))
		}
		if (network == "tls" || network == "wss") && c.TLS.CertFile == "" {
			return fail("sip", fmt.Sprintf("%q needs a certificate: tls.cert_file and tls.key_file", s))
		}
		if host, _, _ := net.SplitHostPort(addr); c.SIPAdvertise == "" && (host == "" || net.ParseIP(host).IsUnspecified()) {
			return fail("sip_advertise", fmt.Sprintf("must name this host's address (for Contact and Via) when sip listens on %s", s))
		}
	}
	if strings.ContainsAny(c.SIPAdvertise, " \t\r\n;,<>\"") {
		return fail("sip_advertise", "must be a host name or IP address")
	}
	for _, o := range c.SIPWebSocketOrigins {
		if _, err := sip.ParseWebSocketOrigin(o); err != nil {
			return fail("sip_ws_origins", err.Error())
		}
	}
	if _, err := c.Location(); err != nil {
		return fail("time_zone", err.Error())
	}
	if c.Capture.Address != "" {
		hostPort := strings.TrimPrefix(strings.TrimPrefix(c.Capture.Address, "udp://"), "tcp://")
		if _, err := routing.ParseHostPort(hostPort); err != nil || !strings.Contains(hostPort, ":") {
			return fail("capture.address", fmt.Sprintf("must be host:port (UDP), udp://host:port or tcp://host:port of a HEP capture server, got %q", c.Capture.Address))
		}
	}
	if c.Capture.Queue < 1 {
		return fail("capture.queue", "must be a positive number of messages")
	}
	if c.Capture.Flush < time.Millisecond || c.Capture.Flush > time.Second {
		return fail("capture.flush", "must be between 1ms and 1s")
	}
	if c.Events.Flush < time.Millisecond || c.Events.Flush > 5*time.Second {
		return fail("events.flush", "must be between 1ms and 5s")
	}
	if key, msg := c.TLS.validate(); key != "" {
		return fail(key, msg)
	}
	if c.Audit.RetentionDays < 0 {
		return fail("audit.retention_days", "must be 0 (keep every row) or more")
	}
	if c.Realm == "" || strings.ContainsAny(c.Realm, "\"\\\r\n") {
		return fail("realm", "must be a non-empty name without quotes or backslashes")
	}
	if len(c.DigestAlgorithms) == 0 {
		return fail("digest_algorithms", "must list MD5, SHA-256 or both")
	}
	for _, a := range c.DigestAlgorithms {
		if a != "MD5" && a != "SHA-256" {
			return fail("digest_algorithms", fmt.Sprintf("%q is not MD5 or SHA-256", a))
		}
	}
	if c.Render.PhoneDriver != "pjsip" && c.Render.PhoneDriver != "sip" {
		return fail("render.phone_driver", "must be pjsip or sip")
	}
	if c.Render.ReloadCmd != "" && c.Render.Dir == "" {
		return fail("render.reload_cmd", "needs render.dir: there is nothing to reload without rendering")
	}
	if c.Render.Debounce < 0 || c.Render.Debounce > time.Minute {
		return fail("render.debounce", "must be between 0s and 1m")
	}
	if c.Render.Group != "" {
		if c.Render.Dir == "" {
			return fail("render.group", "needs render.dir: there are no files to give to the group without rendering")
		}
		if _, err := render.LookupGroup(c.Render.Group); errors.Is(err, render.ErrNoSuchGroup) {
			return fail("render.group", fmt.Sprintf("no group %q on this host: name the group Asterisk runs as", c.Render.Group))
		} else if err != nil {
			return fail("render.group", err.Error())
		}
	}
	if err := render.CheckRealm(c.Render.Realm); err != nil {
		return fail("render.realm", "must be a realm name: "+strings.TrimPrefix(err.Error(), render.ErrInvalidValue.Error()+": "))
	}
	if c.Render.Dir != "" && c.Render.Realm == c.Realm {
		return fail("render.realm", fmt.Sprintf("must differ from realm (%q): a digest in the rendered files would log in to the SIP core too", c.Realm))
	}
	positive := []struct {
		key string
		d   time.Duration
	}{
		{"calls.t1", c.Calls.T1}, {"calls.t2", c.Calls.T2}, {"calls.t4", c.Calls.T4}, {"calls.transaction_linger", c.Calls.TransactionLinger},
		{"calls.no_answer_timeout", c.Calls.NoAnswerTimeout}, {"calls.max_duration", c.Calls.MaxDuration},
		{"calls.min_expires", c.Calls.MinExpires}, {"calls.max_expires", c.Calls.MaxExpires},
		{"calls.default_expires", c.Calls.DefaultExpires},
		{"calls.ping_interval", c.Calls.PingInterval}, {"calls.ping_timeout", c.Calls.PingTimeout}, {"calls.flood_block", c.Calls.FloodBlock},
	}
	for _, p := range positive {
		if p.d <= 0 {
			return fail(p.key, "must be a positive duration such as 500ms or 30s")
		}
	}
	if c.Calls.VoicemailServer != "" {
		if _, err := routing.ParseHostPort(c.Calls.VoicemailServer); err != nil {
			return fail("calls.voicemail_server", "must be host[:port]: "+err.Error())
		}
	}
	if err := c.Cluster.validate(fail); err != nil {
		return err
	}
	if c.Calls.PeerMatch != "exact" && c.Calls.PeerMatch != "address" {
		return fail("calls.peer_match", "must be exact or address")
	}
	if c.Calls.MaxCalls < 0 {
		return fail("calls.max_calls", "must be 0 (no limit) or a positive number of calls")
	}
	if c.Calls.MaxCPS < 0 {
		return fail("calls.max_cps", "must be 0 (no limit) or a positive number of calls per second")
	}
	if c.Calls.OverloadDelay < 0 {
		return fail("calls.overload_delay", "must be 0s (off) or a positive duration such as 50ms")
	}
	if c.Calls.DrainTimeout < 0 {
		return fail("calls.drain_timeout", "must not be negative")
	}
	if c.Calls.T2 < c.Calls.T1 {
		return fail("calls.t2", "must not be shorter than calls.t1")
	}
	if c.Calls.MinExpires > c.Calls.MaxExpires {
		return fail("calls.min_expires", "must not exceed calls.max_expires")
	}
	if c.Calls.DefaultExpires < c.Calls.MinExpires || c.Calls.DefaultExpires > c.Calls.MaxExpires {
		return fail("calls.default_expires", "must lie between calls.min_expires and calls.max_expires")
	}
	if c.Calls.MinSE < 90*time.Second || c.Calls.MinSE%time.Second != 0 {
		return fail("calls.min_se", "must be whole seconds and at least 90s (RFC 4028)")
	}
	if c.Calls.SessionExpires != 0 && (c.Calls.SessionExpires < c.Calls.MinSE || c.Calls.SessionExpires%time.Second != 0) {
		return fail("calls.session_expires", "must be 0 (session timers off) or whole seconds not shorter than calls.min_se")
	}
	if c.Calls.FloodLimit < 0 {
		return fail("calls.flood_limit", "must be 0 (off) or a positive number of messages per second")
	}
	if c.Calls.PingTimeout >= c.Calls.PingInterval {
		return fail("calls.ping_timeout", "must be shorter than calls.ping_interval")
	}
	if key, msg := c.validateMedia(); key != "" {
		return fail(key, msg)
	}
	if c.Runtime.GCPercent < 10 && c.Runtime.GCPercent != -1 {
		return fail("runtime.gc_percent", "must be at least 10, or -1 (collect only at runtime.memory_limit)")
	}
	if c.Runtime.Procs < 0 {
		return fail("runtime.procs", "must be 0 (sized to the load) or a number of processors")
	}
	if _, err := c.Runtime.MemoryLimitBytes(); err != nil {
		return fail("runtime.memory_limit", err.Error())
	}
	if c.Runtime.GCPercent == -1 && c.Runtime.MemoryLimit == "" {
		return fail("runtime.gc_percent", "-1 needs runtime.memory_limit: without it the heap grows without bound")
	}
	if _, err := c.Log.SlogLevel(); err != nil {
		return fail("log.level", err.Error())
	}
	switch c.Log.Format {
	case "text", "json", "auto":
	default:
		return fail("log.format", "must be text, json or auto")
	}
	return nil
}

// SlogLevel is the configured log level.
func (l LogConfig) SlogLevel() (slog.Level, error) {
	switch l.Level {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("must be debug, info, warn or error, got %q", l.Level)
}

// Location is the switch's time zone (time_zone; the host's when empty).
func (c Config) Location() (*time.Location, error) {
	if c.TimeZone == "" {
		return time.Local, nil
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("must be an IANA time zone such as Europe/London, got %q", c.TimeZone)
	}
	return loc, nil
}

func (c ClusterConfig) validate(fail func(key, msg string) error) error {
	if strings.ContainsAny(c.Host, " \t\r\n:{}") {
		return fail("cluster.host", "must be a name without spaces, colons or braces")
	}
	if c.Redis != "" {
		u, err := url.Parse(c.Redis)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return fail("cluster.redis", "must be a redis://host:port[/db] URL (rediss:// for TLS)")
		}
	}
	if c.Lease < time.Second || c.Lease > 5*time.Minute {
		return fail("cluster.lease", "must be between 1s and 5m")
	}
	if c.RedisTimeout <= 0 || c.RedisTimeout > c.Lease/3 {
		return fail("cluster.redis_timeout", "must be positive and at most a third of cluster.lease")
	}
	if c.KeyPrefix == "" || strings.ContainsAny(c.KeyPrefix, " \t\r\n{}") {
		return fail("cluster.key_prefix", "must be a non-empty name without spaces or braces")
	}
	return nil
}

// validateMedia checks the media section; it returns the bad key and why.
func (c Config) validateMedia() (key, msg string) {
	m := c.Media
	if _, err := media.ParseMode(m.Relay); err != nil || m.Relay == "" {
		return "media.relay", "must be auto, always or never"
	}
	if _, _, err := m.Ports(); err != nil {
		return "media.port_range", err.Error()
	}
	if m.Timeout < 0 {
		return "media.timeout", "must be 0 (off) or a positive duration such as 60s"
	}
	if m.HoldTimeout < 0 {
		return "media.hold_timeout", "must be 0 (off) or a positive duration such as 1h"
	}
	if _, _, key, err := c.MediaAddresses(); err != nil {
		return key, err.Error()
	}
	return "", ""
}

// Ports is media.port_range as numbers.
func (m MediaConfig) Ports() (lo, hi int, err error) {
	a, b, ok := strings.Cut(m.PortRange, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || lo < 1024 || hi > 65535 || hi-lo < 1 {
		return 0, 0, fmt.Errorf("must be min-max within 1024-65535 holding at least one even/odd pair, such as 30000-40000; got %q", m.PortRange)
	}
	return lo, hi, nil
}

// MediaAddresses are the relay's bind address and the address it writes
// into SDP, with the defaults filled in (see MediaConfig). key names the
// setting at fault when err is not nil.
func (c Config) MediaAddresses() (bind, advertised netip.Addr, key string, err error) {
	m := c.Media
	if m.Address != "" {
		if bind, err = netip.ParseAddr(m.Address); err != nil {
			return bind, advertised, "media.address", fmt.Errorf("must be an IP address, got %q", m.Address)
		}
	} else {
		if len(c.SIP) == 0 {
			return bind, advertised, "media.address", errors.New("must be set when no sip listen URI names an address")
		}
		_, addr, perr := sip.ParseListenURI(c.SIP[0])
		host, _, _ := net.SplitHostPort(addr)
		if bind, err = netip.ParseAddr(host); perr != nil || err != nil {
			return bind, advertised, "media.address", fmt.Errorf("must be set: the first sip listen URI %q names no IP address", c.SIP[0])
		}
	}
	bind = bind.Unmap()
	switch {
	case m.AdvertisedAddress != "":
		advertised, err = netip.ParseAddr(m.AdvertisedAddress)
		if err != nil || advertised.IsUnspecified() {
			return bind, advertised, "media.advertised_address", fmt.Errorf("must be an IP address parties can send to, got %q", m.AdvertisedAddress)
		}
	case !bind.IsUnspecified():
		advertised = bind
	default:
		advertised, err = netip.ParseAddr(c.SIPAdvertise)
		if err != nil || advertised.IsUnspecified() {
			return bind, advertised, "media.advertised_address", fmt.Errorf("must name the address parties send media to when the relay binds %s (sip_advertise %q is no IP address)", bind, c.SIPAdvertise)
		}
	}
	return bind, advertised.Unmap(), "", nil
}

func (t TLSConfig) validate() (key, msg string) {
	switch {
	case (t.CertFile == "") != (t.KeyFile == ""):
		return "tls.key_file", "tls.cert_file and tls.key_file name a pair: give both or neither"
	case (t.HTTPCertFile == "") != (t.HTTPKeyFile == ""):
		return "tls.http_key_file", "tls.http_cert_file and tls.http_key_file name a pair: give both or neither"
	case t.HTTP != "auto" && t.HTTP != "https" && t.HTTP != "plain":
		return "tls.http", fmt.Sprintf(`must be "auto", "https" or "plain", got %q`, t.HTTP)
	case t.HSTS < 0:
		return "tls.hsts", "must be 0 (none) or a duration such as 8760h"
	case t.VerifyClients != "" && t.VerifyClients != "none" && t.VerifyClients != "optional" && t.VerifyClients != "required":
		return "tls.verify_clients", fmt.Sprintf(`must be "none", "optional" or "required", got %q`, t.VerifyClients)
	case (t.VerifyClients == "optional" || t.VerifyClients == "required") && t.ClientCAFile == "":
		return "tls.client_ca_file", "tls.verify_clients " + t.VerifyClients + " needs the CAs client certificates chain to"
	}
	for _, h := range t.InsecurePeers {
		if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil || h == "" {
			return "tls.insecure_peers", fmt.Sprintf("%q: only host names can be exempt from verification (an IP destination sends no name the check could match); give the lab carrier a name", h)
		}
	}
	if on, cert, _ := t.HTTPS(); on && cert == "" {
		return "tls.http", "https needs a certificate: tls.cert_file and tls.key_file (or tls.http_cert_file and tls.http_key_file)"
	}
	return "", ""
}
