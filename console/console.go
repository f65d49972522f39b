package console

import (
	"crypto/subtle"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Cookie names.
const (
	SessionCookie = "sipswitch_console"
	loginCookie   = "sipswitch_console_login" // the login form's double-submit token
)

// Counters are the switch-wide figures the dashboard charts (the SIP
// core's, as /metrics shows them); only a system login sees them.
type Counters struct {
	ActiveCalls    int64
	Registrations  int64
	CallsAttempted int64
	CallsAnswered  int64
	// CallsCompleted counts answered calls that have ended, TalkMillis
	// their time from answer to end (the average call duration).
	CallsCompleted int64
	TalkMillis     int64
	// Failures counts calls that failed, by cause ("no_route", "busy"...).
	Failures map[string]int64
}

// Usage is what the dashboard charts against limits: each peer's calls in
// progress against its outmaximum (-1: none), and the day's spend of the
// lines with a call_maximum.
type Usage struct {
	Peers []PeerUsage
	Lines []LineSpend
}

// PeerUsage is one peer's calls in progress against its outmaximum.
type PeerUsage struct {
	Name        string
	Active, Max int
}

// LineSpend is one limited line's spend today against its call_maximum.
type LineSpend struct {
	Name         string
	Spent, Limit float64
}

// Console serves the web console.
type Console struct {
	svc      *engine.Service
	api      *api.Handler
	log      *slog.Logger
	sessions *api.Sessions
	events   http.Handler
	counters func() Counters
	usage    func() Usage
	samples  *sampler
	pages    map[string]*template.Template
	static   http.Handler
}

// Option configures New.
type Option func(*Console)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(c *Console) { c.log = l } }

// WithLiveState serves the event stream of live (the live pages update
// themselves from it).
func WithLiveState(live engine.LiveState, opts ...api.EventsOption) Option {
	return func(c *Console) {
		opts = append([]api.EventsOption{api.WithEventSession(c.actor), api.WithEventLogger(c.log)}, opts...)
		c.events = api.NewEventsHandler(c.svc, live, opts...)
	}
}

// WithCounters gives the dashboard the switch's counters.
func WithCounters(f func() Counters) Option { return func(c *Console) { c.counters = f } }

// WithUsage gives the dashboard peers' and lines' usage against their
// limits.
func WithUsage(f func() Usage) Option { return func(c *Console) { c.usage = f } }

// WithSessions replaces the session table (tests: short timeouts).
func WithSessions(s *api.Sessions) Option { return func(c *Console) { c.sessions = s } }

// New builds the console over the API handler h (whose functions every
// page calls) and the service (logins).
func New(svc *engine.Service, h *api.Handler, opts ...Option) (*Console, error) {
	c := &Console{
		svc: svc, api: h, log: slog.Default(),
		sessions: api.NewSessions(30*time.Minute, 12*time.Hour, 10, nil),
		samples:  newSampler(5*time.Second, time.Hour),
	}
	for _, o := range opts {
		o(c)
	}
	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	c.static = http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return c, nil
}

// ServeHTTP answers the console's paths; mount it at "/".
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	if strings.HasPrefix(r.URL.Path, "/static/") {
		h.Set("Cache-Control", "no-cache")
		c.static.ServeHTTP(w, r)
		return
	}
	h.Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case "/favicon.ico":
		http.NotFound(w, r)
		return
	case "/login":
		c.login(w, r)
		return
	case "/logout":
		c.logout(w, r)
		return
	}
	s := c.session(r)
	if s == nil {
		if r.Method == http.MethodGet && r.Header.Get("X-Fragment") == "" && r.URL.Path != "/events" {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		http.Error(w, "Log in first.", http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodPost && !c.csrfOK(r, s) {
		http.Error(w, "The form has expired or did not come from this console; reload the page and try again.", http.StatusForbidden)
		return
	}
	ctx := engine.WithOrigin(r.Context(), engine.Origin{Addr: remoteAddr(r), Via: engine.ViaConsole})
	r = r.WithContext(ctx)
	c.route(w, r, s)
}

// session is the request's console session, or nil.
func (c *Console) session(r *http.Request) *api.Session {
	ck, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil
	}
	return c.sessions.Get(ck.Value)
}

// actor authenticates the event stream by the console's cookie.
func (c *Console) actor(r *http.Request) *engine.Actor {
	if s := c.session(r); s != nil {
		return s.Actor
	}
	return nil
}

// sameOrigin: a browser's Origin, when sent, must name this host. INFERRED
// defence in depth beside the token (and SameSite=Strict).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (c *Console) csrfOK(r *http.Request, s *api.Session) bool {
	if !sameOrigin(r) {
		return false
	}
	if err := r.ParseForm(); err != nil {
		return false
	}
	tok := r.PostForm.Get("csrf")
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.CSRF)) == 1
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	next := r.FormValue("next")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		next = "/"
	}
	data := map[string]any{"Next": next}
	if r.Method == http.MethodPost {
		ck, err := r.Cookie(loginCookie)
		if err != nil || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
			data["Error"] = "The login form expired; try again."
		} else {
			ctx := engine.WithOrigin(r.Context(), engine.Origin{Addr: remoteAddr(r), Via: engine.ViaConsole, Function: "login"})
			actor, err := c.svc.Login(ctx, remoteAddr(r), r.PostFormValue("username"), r.PostFormValue("password"))
			switch {
			case err == nil:
				token, _, err := c.sessions.Start(actor)
				if err != nil {
					c.log.Error("console session", "error", err)
					http.Error(w, "The session could not be started.", http.StatusInternalServerError)
					return
				}
				setCookie(w, r, SessionCookie, token, 0)
				setCookie(w, r, loginCookie, "", -1)
				http.Redirect(w, r, next, http.StatusSeeOther)
				return
			case isBlocked(err):
				data["Error"] = "Too many failed logins; try again later."
			default:
				data["Error"] = "The user name or password is incorrect."
			}
			data["Username"] = r.PostFormValue("username")
		}
	}
	// One token per browser: another tab's (or a favicon's) visit to the
	// login page must not void the form already shown.
	var tok string
	if ck, err := r.Cookie(loginCookie); err == nil && len(ck.Value) == 43 {
		tok = ck.Value
	} else if tok, err = api.Token(); err != nil {
		http.Error(w, "The login form could not be made.", http.StatusInternalServerError)
		return
	}
	setCookie(w, r, loginCookie, tok, 600)
	data["CSRF"] = tok
	c.render(w, r, "login", &page{Title: "Log in", Data: data})
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if s := c.session(r); s != nil && c.csrfOK(r, s) {
		ck, _ := r.Cookie(SessionCookie)
		c.sessions.End(ck.Value)
	}
	setCookie(w, r, SessionCookie, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}
