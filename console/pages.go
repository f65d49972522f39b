package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
)

// pageSize is how many rows a list page asks the API for.
const pageSize = 50

// kindPage is a list/create/edit page over one kind of the API.
type kindPage struct {
	path, module, title, key string
	columns                  []string
	search, searchLabel      string   // the list's prefix filter
	main                     []string // the form's first fields; the rest under "All parameters"
	parent                   string   // a filter the list requires (routes: plan)
	parentModule             string   // the module whose objects the parent names
}

var kindPages = []*kindPage{
	{path: "/peers", module: "peers", title: "Peers", key: "id", columns: []string{"id", "name", "type", "destination", "description"},
		search: "name", searchLabel: "Name starts with", main: []string{"name", "type", "destination", "description", "outmaximum", "customer"}},
	{path: "/phones", module: "phones", title: "Phones", key: "name", columns: []string{"name", "description", "customer", "owner", "plan"},
		search: "name", searchLabel: "Name starts with", main: []string{"name", "password", "description", "plan", "customer", "owner", "totalmaximum", "call_maximum"}},
	{path: "/plans", module: "plans", title: "Plans", key: "id", columns: []string{"id", "name", "description", "customer"},
		search: "name", searchLabel: "Name starts with", main: []string{"name", "description", "customer"}},
	{path: "/routes", module: "plans/routes", title: "Routes", key: "id", columns: []string{"id", "plan", "called_prefix", "caller_prefix", "allow", "media", "peer1", "peer2", "peer3"},
		search: "called_prefix", searchLabel: "Called prefix", parent: "plan", parentModule: "plans", main: []string{"plan", "called_prefix", "caller_prefix", "allow", "peer1", "peer2", "peer3", "media"}},
	{path: "/costs", module: "peers/costs", title: "Cost decks", key: "id", columns: []string{"id", "peer", "called_prefix", "media", "cost", "connectfee", "increment", "start", "end"},
		search: "called_prefix", searchLabel: "Called prefix", parent: "peer", parentModule: "peers", main: []string{"peer", "called_prefix", "media", "cost", "connectfee", "increment"}},
	{path: "/timegroups", module: "timegroups", title: "Time groups", key: "id", columns: []string{"id", "name", "description", "customer"},
		search: "name", searchLabel: "Name starts with", main: []string{"name", "description", "customer"}},
	{path: "/timeperiods", module: "timegroups/periods", title: "Time periods", key: "id", columns: []string{"id", "timegroup", "days", "starthour", "startminute", "endhour", "endminute", "startdate", "enddate", "timezone"},
		parent: "timegroup", parentModule: "timegroups", main: []string{"timegroup", "days", "starthour", "startminute", "endhour", "endminute"}},
	{path: "/cos", module: "cos", title: "Classes of service", key: "id", columns: []string{"id", "name", "description", "customer"},
		search: "name", searchLabel: "Name starts with", main: []string{"name", "description", "customer", "otherwise"}},
	{path: "/recordgroups", module: "recordgroups", title: "Record groups", key: "id", columns: []string{"id", "name", "calls", "retention", "directory", "customer"},
		search: "name", searchLabel: "Name starts with", main: []string{"name", "calls", "retention", "directory", "customer"}},
	{path: "/cosrules", module: "cos/rules", title: "Class of service rules", key: "id", columns: []string{"id", "cos", "position", "prefix", "allow", "timegroup", "description"},
		search: "prefix", searchLabel: "Prefix", parent: "cos", parentModule: "cos", main: []string{"cos", "position", "prefix", "allow"}},
}

func (c *Console) route(w http.ResponseWriter, r *http.Request, s *api.Session) {
	path := r.URL.Path
	switch path {
	case "/":
		c.dashboard(w, r, s)
		return
	case "/events":
		if c.events == nil {
			http.Error(w, "This server carries no calls.", http.StatusServiceUnavailable)
			return
		}
		c.events.ServeHTTP(w, r)
		return
	case "/simulate":
		c.simulate(w, r, s)
		return
	case "/records", "/records.csv":
		c.records(w, r, s, path == "/records.csv")
		return
	case "/calls":
		c.liveCalls(w, r, s)
		return
	case "/calls/hangup":
		c.hangup(w, r, s)
		return
	case "/registrations":
		c.registrations(w, r, s)
		return
	case "/registrations/delete":
		c.unregister(w, r, s)
		return
	}
	for _, k := range kindPages {
		switch path {
		case k.path:
			c.list(w, r, s, k)
			return
		case k.path + "/new", k.path + "/edit":
			c.form(w, r, s, k, path == k.path+"/edit")
			return
		case k.path + "/delete":
			c.remove(w, r, s, k)
			return
		}
	}
	http.NotFound(w, r)
}

// rowsOf turns an envelope's data into plain JSON values (numbers as
// float64 printed as integers where they are).
func rowsOf(env api.Envelope) []map[string]any {
	b, _ := json.Marshal(env.Data)
	var rows []map[string]any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	_ = d.Decode(&rows)
	return rows
}

func objectOf(env api.Envelope) map[string]any {
	b, _ := json.Marshal(env.Data)
	var obj map[string]any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	_ = d.Decode(&obj)
	return obj
}

// pager is a list's paging: the page shown and how many there are.
type pager struct {
	Page, Pages, Total int
	Prev, Next         string // URLs; "" at either end
}

// pageNumber reads ?page= (1-based).
func pageNumber(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// paged asks fn for one page of rows with params, and for how many rows
// match (count=1): the API pages, the page never holds more.
func (c *Console) paged(r *http.Request, s *api.Session, fn string, params engine.Values) ([]map[string]any, pager, string) {
	n := pageNumber(r)
	counted := engine.Values{"count": "1"}
	for k, v := range params {
		counted[k] = v
	}
	env := c.call(r, s, fn, counted)
	if bad, msg := failed(env); bad {
		return nil, pager{}, msg
	}
	total := 0
	if m := objectOf(env); m != nil {
		total, _ = strconv.Atoi(fmt.Sprint(m["count"]))
	}
	params["limit"] = strconv.Itoa(pageSize)
	params["offset"] = strconv.Itoa((n - 1) * pageSize)
	env = c.call(r, s, fn, params)
	if bad, msg := failed(env); bad {
		return nil, pager{}, msg
	}
	pg := pager{Page: n, Total: total, Pages: max(1, (total+pageSize-1)/pageSize)}
	at := func(p int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		return r.URL.Path + "?" + q.Encode()
	}
	if n > 1 {
		pg.Prev = at(n - 1)
	}
	if n < pg.Pages {
		pg.Next = at(n + 1)
	}
	return rowsOf(env), pg, ""
}

type listData struct {
	Kind        *kindPage
	Title, Path string
	Columns     []string
	Key         string
	Rows        []map[string]any
	Pager       pager
	Search      string
	SearchName  string
	SearchLabel string
	Parent      string
	ParentValue string
	Parents     []map[string]any
	CanCreate   bool
	CanEdit     bool
	CanDelete   bool
}

func (c *Console) list(w http.ResponseWriter, r *http.Request, s *api.Session, k *kindPage) {
	p := c.newPage(r, s, k.title)
	q := r.URL.Query()
	d := &listData{Kind: k, Title: k.title, Path: k.path, Columns: k.columns, Key: k.key, SearchName: k.search, SearchLabel: k.searchLabel,
		Search: q.Get(k.search), Parent: k.parent}
	kind := c.svc.Kinds()[k.module]
	d.CanCreate, d.CanEdit, d.CanDelete = s.Actor.Can(kind.CreatePriv...), s.Actor.Can(kind.UpdatePriv...), s.Actor.Can(kind.DeletePriv...)
	params := engine.Values{}
	if d.Search != "" {
		params[k.search] = d.Search
	}
	if k.parent != "" {
		// Routes (cost rows, periods, rules) are listed one plan (peer,
		// time group, class) at a time, as the API requires: the first the
		// user may see unless one is chosen.
		d.Parents = rowsOf(c.call(r, s, k.parentModule+"/list", engine.Values{"limit": "200"}))
		d.ParentValue = q.Get(k.parent)
		if d.ParentValue == "" && len(d.Parents) > 0 {
			d.ParentValue = fmt.Sprint(d.Parents[0]["id"])
		}
		if d.ParentValue == "" {
			p.Error = "Create a " + k.parent + " first."
			p.Data = d
			c.render(w, r, "list", p)
			return
		}
		params[k.parent] = d.ParentValue
	}
	var msg string
	d.Rows, d.Pager, msg = c.paged(r, s, k.module+"/list", params)
	p.Error = msg
	p.Data = d
	c.render(w, r, "list", p)
}

// formField is one input of a create/edit form.
type formField struct {
	Name, Value, Error, Type, Doc string
	Options                       []string
	Required                      bool
}

type formData struct {
	Kind    *kindPage
	Back    string // the list
	Edit    bool
	KeyVal  string
	Main    []formField
	More    []formField
	FormErr string
	Action  string
}

// fieldsOf lays out a kind's parameters: k.main first, then the rest.
func (c *Console) fieldsOf(k *kindPage, values map[string]string, errs map[string]string, edit bool) (main, more []formField) {
	kind := c.svc.Kinds()[k.module]
	byName := map[string]engine.Param{}
	for _, prm := range kind.Spec.Params {
		byName[prm.Name] = prm
	}
	mk := func(prm engine.Param) formField {
		f := formField{Name: prm.Name, Value: values[prm.Name], Error: errs[prm.Name], Type: "text", Options: prm.Enum, Required: prm.Required && !edit}
		switch {
		case strings.Contains(prm.Name, "password") || strings.Contains(prm.Name, "secret"):
			f.Type = "password"
		case prm.Type == engine.Integer:
			f.Type = "number"
		}
		if prm.Default != "" {
			f.Doc = "default " + prm.Default
		}
		return f
	}
	seen := map[string]bool{}
	for _, n := range k.main {
		if prm, ok := byName[n]; ok && prm.Refused == "" {
			main = append(main, mk(prm))
			seen[n] = true
		}
	}
	for _, prm := range kind.Spec.Params {
		if seen[prm.Name] || prm.Refused != "" || prm.NotStored || (edit && prm.Name == k.key) {
			continue
		}
		more = append(more, mk(prm))
	}
	return main, more
}

func stringValues(obj map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range obj {
		if v != nil {
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

func (c *Console) form(w http.ResponseWriter, r *http.Request, s *api.Session, k *kindPage, edit bool) {
	key := r.FormValue(k.key)
	title := "New " + strings.TrimSuffix(strings.ToLower(k.title), "s")
	var current map[string]string
	if edit {
		title = "Edit " + strings.TrimSuffix(strings.ToLower(k.title), "s") + " " + key
		env := c.call(r, s, k.module+"/get", engine.Values{k.key: key})
		if bad, msg := failed(env); bad {
			p := c.newPage(r, s, title)
			p.Error = msg
			c.render(w, r, "message", p)
			return
		}
		current = stringValues(objectOf(env))
		delete(current, "password_hash")
	}
	values := map[string]string{}
	for n, v := range current {
		values[n] = v
	}
	if !edit && k.parent != "" {
		values[k.parent] = r.URL.Query().Get(k.parent)
	}
	errs := map[string]string{}
	if r.Method == http.MethodPost {
		params := engine.Values{}
		for n, vs := range r.PostForm {
			if n == "csrf" || len(vs) == 0 {
				continue
			}
			v := strings.TrimSpace(vs[0])
			values[n] = v
			// Only what was given (create) or changed (edit) is sent, so
			// defaults apply and an owner's update names only what it
			// may change.
			if edit {
				if old, had := current[n]; (had && old == v) || (!had && v == "") {
					continue
				}
			} else if v == "" {
				continue
			}
			params[n] = v
		}
		fn := k.module + "/create"
		if edit {
			fn = k.module + "/update"
			params[k.key] = key
		}
		env := c.call(r, s, fn, params)
		if bad, _ := failed(env); !bad {
			http.Redirect(w, r, k.path+"?notice="+url.QueryEscape("Saved."), http.StatusSeeOther)
			return
		}
		errs = fieldErrors(env)
	}
	p := c.newPage(r, s, title)
	d := &formData{Kind: k, Back: k.path, Edit: edit, KeyVal: key, FormErr: errs[""], Action: r.URL.Path}
	d.Main, d.More = c.fieldsOf(k, values, errs, edit)
	// An error naming a field the form does not show is shown on top.
	shown := map[string]bool{"": true}
	for _, f := range append(append([]formField{}, d.Main...), d.More...) {
		shown[f.Name] = true
	}
	for key, msg := range errs {
		if !shown[key] {
			d.FormErr = strings.TrimSpace(d.FormErr + " " + msg)
		}
	}
	if edit {
		d.Action = k.path + "/edit?" + url.Values{k.key: {key}}.Encode()
	} else if k.parent != "" {
		d.Action = k.path + "/new"
	}
	p.Data = d
	c.render(w, r, "form", p)
}

func (c *Console) remove(w http.ResponseWriter, r *http.Request, s *api.Session, k *kindPage) {
	if r.Method != http.MethodPost {
		http.Redirect(w, r, k.path, http.StatusSeeOther)
		return
	}
	env := c.call(r, s, k.module+"/delete", engine.Values{k.key: r.PostForm.Get(k.key)})
	notice := "Deleted."
	if bad, msg := failed(env); bad {
		notice = "Not deleted: " + msg
	}
	http.Redirect(w, r, k.path+"?notice="+url.QueryEscape(notice), http.StatusSeeOther)
}
