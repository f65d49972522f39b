package engine

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sipswitch/sipswitch/storage"
)

// The audit log (audit/list): who changed what, from where, through
// which function, and every failed login.
//
//   - Every write of the Enswitch API, the gateway API and the command
//     line that goes through the service (create, update, delete of every
//     kind, sip_endpoint.save and .delete, settings/update, cost imports,
//     user add, an import's objects) inserts one row per object in the
//     write's own transaction: the row exists exactly when the write
//     committed (a refused write and validation=1 leave none). Once
//     committed, each row is also logged (INFO "audit").
//   - Parameters are recorded with their canonical values, on create those
//     the request gave, on update those whose value changed. A secret
//     (secretParams) is recorded as "(changed)", never its value.
//   - Every failed login through Service.Login is a row (result "failed",
//     or "blocked" for the failure that starts a block) and a WARN line,
//     written as run-time state: it does not move the store revision, so
//     it wakes no renderer. A login refused because its address or
//     username is blocked is not written again: such refusals cost an
//     attacker nothing (no password is checked), so writing each would let
//     a flood fill the store; the row of the failure that started the
//     block stands for them. Failed logins are written at most as fast as
//     bcrypt checks passwords.
//   - audit/list and audit/get show the system owner every row and any
//     other user allowed to read them (commerce, administrator or
//     wholesale privilege, as calls/list) the rows of the users of its
//     customer tree; failed logins (customer 0) are the system owner's.
//   - Growth is bounded by the daemon's audit.retention_days (INFERRED
//     default 365; 0 keeps every row): rows older than that are deleted
//     at start and every hour (Service.PruneAudit).

// secretParams are the parameters whose values are credentials, of every
// kind: the audit log records that they changed, never what they are, and
// the OpenAPI description marks them as passwords.
var secretParams = map[string]bool{
	"password": true, "secret": true, "remotesecret": true, "auth": true,
	"md5secret": true, "md5_cred": true, "auth_password": true, "password_hash": true,
}

// secretChanged is what the audit log records for a secret.
const secretChanged = "(changed)"

// Origin is where a request came from, for the audit log. The front ends
// put it on the request's context (WithOrigin); a write without one came
// from the host's shell.
type Origin struct {
	// Addr is the client's address (the zero Addr for the shell).
	Addr netip.Addr
	// Via is the front end: ViaAPI, ViaGateway (ViaCLI when empty).
	Via string
	// Function is the API function or gateway method called; empty, the
	// service names the write by module and action ("phones/create").
	Function string
}

// The front ends an audit row names.
const (
	ViaAPI     = "api"
	ViaGateway = "gateway"
	ViaConsole = "console" // the web console (console package)
	ViaCLI     = "cli"
)

type originKey struct{}

// WithOrigin returns ctx carrying o.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

func originOf(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	if o.Via == "" {
		o.Via = ViaCLI
	}
	return o
}

// Audit results.
const (
	AuditOK      = "ok"
	AuditFailed  = "failed"  // a login with a wrong username or password
	AuditBlocked = "blocked" // a failed login that started a block
)

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID       int64  `json:"id"`
	Time     int64  `json:"time"` // unix seconds
	Username string `json:"username"`
	Customer int    `json:"customer"` // the acting user's; 0 for a failed login
	Address  string `json:"address"`
	Via      string `json:"via"`
	Function string `json:"function"`
	Object   string `json:"object"` // "phones/2001", "peers/3", "settings"
	// Changes are the parameters written, secrets as "(changed)".
	Changes map[string]string `json:"changes"`
	Result  string            `json:"result"`
}

// auditJournal gathers the rows a write transaction inserted, to log
// them once it commits.
type auditJournal struct{ entries []AuditEntry }

type journalKey struct{}

// writeAudited runs fn in a write transaction whose audit rows (audit)
// are logged once it commits.
func (s *Service) writeAudited(ctx context.Context, fn func(ctx context.Context, tx *storage.Tx) error) error {
	j := &auditJournal{}
	ctx = context.WithValue(ctx, journalKey{}, j)
	_, err := s.db.Write(ctx, func(tx *storage.Tx) error {
		j.entries = j.entries[:0]
		return fn(ctx, tx)
	})
	if err == nil {
		for _, e := range j.entries {
			s.log.Info("audit", "username", e.Username, "address", e.Address, "via", e.Via, "function", e.Function,
				"object", e.Object, "changes", e.Changes)
		}
	}
	return err
}

// audit records a write by a in tx: function names the action when the
// request's origin does not, object what was written.
func (s *Service) audit(ctx context.Context, tx *storage.Tx, a *Actor, function, object string, changes map[string]string) error {
	if s.noAudit {
		return nil
	}
	o := originOf(ctx)
	if o.Function != "" {
		function = o.Function
	}
	e := AuditEntry{Time: time.Now().Unix(), Via: o.Via, Function: function, Object: object, Changes: redactSecrets(changes), Result: AuditOK}
	if o.Addr.IsValid() {
		e.Address = o.Addr.String()
	}
	if a != nil {
		e.Username, e.Customer = a.User.Username, a.User.Customer
	}
	if _, err := tx.Insert(ctx, "audit", e.record()); err != nil {
		return err
	}
	if j, ok := ctx.Value(journalKey{}).(*auditJournal); ok {
		j.entries = append(j.entries, e)
	}
	return nil
}

func (e *AuditEntry) record() storage.Record {
	changes, _ := json.Marshal(e.Changes)
	if e.Changes == nil {
		changes = []byte("{}")
	}
	return storage.Record{"time": e.Time, "username": e.Username, "customer": int64(e.Customer), "address": e.Address,
		"via": e.Via, "function": e.Function, "object": e.Object, "changes": string(changes), "result": e.Result}
}

var auditColumns = []string{"time", "username", "customer", "address", "via", "function", "object", "changes", "result"}

func redactSecrets(changes map[string]string) map[string]string {
	for k := range changes {
		if secretParams[k] {
			changes[k] = secretChanged
		}
	}
	return changes
}

// createChanges are the parameters a create's input gave, with the
// values stored; a steering parameter (copy_password) as given, but for
// validation, which a committed write always had off.
func createChanges(spec *Spec, input, vals Values) map[string]string {
	out := map[string]string{}
	for _, p := range spec.Params {
		v, given := input[p.Name]
		switch {
		case !given || p.Name == "validation":
		case p.NotStored:
			out[p.Name] = v
		default:
			out[p.Name] = vals[p.Name]
		}
	}
	return out
}

// updateChanges are the stored parameters whose value an update changed.
func updateChanges(spec *Spec, old, vals Values) map[string]string {
	out := map[string]string{}
	for _, p := range spec.Params {
		if !p.NotStored && vals[p.Name] != old[p.Name] {
			out[p.Name] = vals[p.Name]
		}
	}
	return out
}

// kindModules names each kind by its API module, for audit rows of
// writes that carry no function name (the command line).
var kindModules = sync.OnceValue(func() map[*Kind]string {
	m := map[*Kind]string{kindSIPEndpoint: "sip_endpoints"}
	for module, k := range (&Service{}).Kinds() {
		m[k] = module
	}
	return m
})

// auditObject names one object of k: its module and key.
func auditObject(k *Kind, key string) string {
	return kindModules()[k] + "/" + key
}

// auditFunction names an action on k: "phones/create".
func auditFunction(k *Kind, action string) string {
	return kindModules()[k] + "/" + action
}

// loginFailed records a failed login from addr as username, outside any
// write transaction (run-time state); an error is logged, not returned:
// the login has failed either way.
func (s *Service) loginFailed(ctx context.Context, addr netip.Addr, username string, blocked bool) {
	o := originOf(ctx)
	e := AuditEntry{Time: time.Now().Unix(), Username: auditText(username), Via: o.Via, Function: "login", Result: AuditFailed}
	if o.Function != "" {
		e.Object = o.Function
	}
	if blocked {
		e.Result = AuditBlocked
	}
	if addr.IsValid() {
		e.Address = addr.String()
	}
	s.log.Warn("login failed", "username", e.Username, "address", e.Address, "via", e.Via, "result", e.Result)
	rec := e.record()
	row := make([]any, len(auditColumns))
	for i, c := range auditColumns {
		row[i] = rec[c]
	}
	if err := s.db.AppendState(context.WithoutCancel(ctx), "audit", auditColumns, [][]any{row}); err != nil {
		s.log.Error("audit: failed login not recorded", "error", err)
	}
}

// auditText makes a name the client chose storable as it was sent, as
// far as it can be: at most 64 bytes (no username is longer), valid UTF-8
// without NULs (PostgreSQL's text refuses both).
func auditText(s string) string {
	if len(s) > maxUsernameKey {
		s = s[:maxUsernameKey]
	}
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	return strings.ReplaceAll(s, "\x00", "")
}

// auditSpec are the parameters of audit/list and audit/get.
var auditSpec = newSpec(
	id("customer", false),
	str("username", "", nil),
	str("via", "", nil),
	str("function", "", nil),
	str("object", "", nil),
	str("result", "", nil),
	Param{Name: "since", Type: Integer, NotStored: true},
	Param{Name: "until", Type: Integer, NotStored: true},
)

// kindAudit is audit/list and audit/get: rows are the service's own,
// never written through the API. INFERRED privileges: those of calls/list.
var kindAudit = &Kind{
	Name: "audit entry", Table: "audit", Key: "id", Spec: auditSpec,
	GetPriv:   []Privilege{PrivCommerce, PrivAdministrator, PrivWholesale},
	ListPriv:  []Privilege{PrivCommerce, PrivAdministrator, PrivWholesale},
	Sorts:     []string{"id", "time", "username", "function", "object"},
	Filters:   map[string]string{"customer": "=", "username": "=", "via": "=", "function": "=", "object": "=", "result": "="},
	Ranges:    map[string]Range{"since": {Col: "time", Op: ">="}, "until": {Col: "time", Op: "<"}},
	visible:   ownsCustomer,
	listScope: customerScope,
	redact: func(_ *Actor, obj map[string]any, _ ListOptions) {
		// changes is stored as JSON text; it is answered as the object
		// it is.
		changes := map[string]string{}
		if text, ok := obj["changes"].(string); ok {
			_ = json.Unmarshal([]byte(text), &changes)
		}
		obj["changes"] = changes
	},
}

// PruneAudit deletes the audit rows older than before; it returns how
// many went.
func (s *Service) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	return s.db.PruneState(ctx, "audit", "time", before.Unix())
}
