package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
)

// page is what every template gets.
type page struct {
	Title  string
	Path   string
	User   *engine.Actor
	CSRF   string
	Nav    []navItem
	Notice string
	Error  string
	Data   any
}

type navItem struct {
	Path, Label string
	Current     bool
}

func isBlocked(err error) bool { return errors.Is(err, engine.ErrLoginBlocked) }

var funcs = template.FuncMap{
	"unix": func(v any) string {
		n, _ := strconv.ParseInt(fmt.Sprint(v), 10, 64)
		if n <= 0 {
			return ""
		}
		return time.Unix(n, 0).UTC().Format("2006-01-02 15:04:05")
	},
	"str": func(v any) string {
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	},
	"add": func(a, b int) int { return a + b },
	"field": func(row map[string]any, key string) string {
		if v, ok := row[key]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	},
}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, e := range names {
		name := strings.TrimSuffix(e.Name(), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// render writes a page; a script asking for a fragment (X-Fragment) gets
// the same page, from which it takes the element it reloads.
func (c *Console) render(w http.ResponseWriter, r *http.Request, name string, p *page) {
	t := c.pages[name]
	if t == nil {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	p.Path = r.URL.Path
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		c.log.Error("console page", "page", name, "error", err)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

// newPage starts a page for the session's user, with the navigation its
// role may use.
func (c *Console) newPage(r *http.Request, s *api.Session, title string) *page {
	p := &page{Title: title, User: s.Actor, CSRF: s.CSRF}
	a := s.Actor
	kinds := c.svc.Kinds()
	items := []struct {
		path, label string
		may         bool
	}{
		{"/", "Dashboard", true},
		{"/calls", "Live calls", a.Can(engine.LivePrivileges...)},
		{"/registrations", "Registrations", a.Can(engine.LivePrivileges...)},
		{"/peers", "Peers", a.Can(kinds["peers"].ListPriv...)},
		{"/phones", "Phones", a.Can(kinds["phones"].ListPriv...)},
		{"/plans", "Plans", a.Can(kinds["plans"].ListPriv...)},
		{"/routes", "Routes", a.Can(kinds["plans/routes"].ListPriv...)},
		{"/costs", "Cost decks", a.Can(kinds["peers/costs"].ListPriv...)},
		{"/timegroups", "Time groups", a.Can(kinds["timegroups"].ListPriv...)},
		{"/timeperiods", "Time periods", a.Can(kinds["timegroups/periods"].ListPriv...)},
		{"/cos", "Classes of service", a.Can(kinds["cos"].ListPriv...)},
		{"/cosrules", "COS rules", a.Can(kinds["cos/rules"].ListPriv...)},
		{"/recordgroups", "Record groups", a.Can(kinds["recordgroups"].ListPriv...)},
		{"/simulate", "Simulate", a.Can(engine.PrivCommerce)},
		{"/records", "Call records", a.Can(kinds["calls"].ListPriv...)},
	}
	for _, it := range items {
		if it.may {
			cur := r.URL.Path == it.path || (it.path != "/" && strings.HasPrefix(r.URL.Path, it.path+"/"))
			p.Nav = append(p.Nav, navItem{Path: it.path, Label: it.label, Current: cur})
		}
	}
	p.Notice = r.URL.Query().Get("notice")
	return p
}

// call runs an API function as the session's user.
func (c *Console) call(r *http.Request, s *api.Session, fn string, params engine.Values) api.Envelope {
	return c.api.Invoke(r.Context(), s.Actor, fn, params)
}

// failed reports whether an envelope is a refusal, and its messages.
func failed(env api.Envelope) (bool, string) {
	if len(env.Responses) == 0 {
		return true, "No answer."
	}
	switch env.Responses[0].Code {
	case api.CodeOK, api.CodeNoContent, api.CodeValidated:
		return false, ""
	}
	var msgs []string
	for _, r := range env.Responses {
		msgs = append(msgs, r.Message)
	}
	return true, strings.Join(msgs, " ")
}

// fieldErrors maps the API's refusals to the fields they name ("" for
// the form as a whole).
func fieldErrors(env api.Envelope) map[string]string {
	out := map[string]string{}
	for _, r := range env.Responses {
		if out[r.Key] != "" {
			out[r.Key] += " "
		}
		out[r.Key] += r.Message
	}
	return out
}
