package console

import (
	"net/http"
	"net/url"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
)

type liveData struct {
	Rows   []map[string]any
	Pager  pager
	Line   string
	State  string
	Events string // the event stream URL the table reloads on
}

func (c *Console) liveCalls(w http.ResponseWriter, r *http.Request, s *api.Session) {
	p := c.newPage(r, s, "Live calls")
	q := r.URL.Query()
	d := &liveData{Line: q.Get("line"), State: q.Get("state"), Events: "/events"}
	params := engine.Values{}
	if d.Line != "" {
		params["line"] = d.Line
		d.Events += "?" + url.Values{"line": {d.Line}}.Encode()
	}
	if d.State != "" {
		params["state"] = d.State
	}
	d.Rows, d.Pager, p.Error = c.paged(r, s, "calls/active", params)
	p.Data = d
	c.render(w, r, "calls", p)
}

func (c *Console) hangup(w http.ResponseWriter, r *http.Request, s *api.Session) {
	if r.Method != http.MethodPost {
		http.Redirect(w, r, "/calls", http.StatusSeeOther)
		return
	}
	env := c.call(r, s, "calls/hangup", engine.Values{"id": r.PostForm.Get("id")})
	notice := "Hung up."
	if bad, msg := failed(env); bad {
		notice = "Not hung up: " + msg
	}
	http.Redirect(w, r, "/calls?notice="+url.QueryEscape(notice), http.StatusSeeOther)
}

func (c *Console) registrations(w http.ResponseWriter, r *http.Request, s *api.Session) {
	p := c.newPage(r, s, "Registrations")
	q := r.URL.Query()
	d := &liveData{Line: q.Get("line"), Events: "/events"}
	params := engine.Values{}
	if d.Line != "" {
		params["line"] = d.Line
		d.Events += "?" + url.Values{"line": {d.Line}}.Encode()
	}
	d.Rows, d.Pager, p.Error = c.paged(r, s, "registrations/list", params)
	p.Data = d
	c.render(w, r, "registrations", p)
}

func (c *Console) unregister(w http.ResponseWriter, r *http.Request, s *api.Session) {
	if r.Method != http.MethodPost {
		http.Redirect(w, r, "/registrations", http.StatusSeeOther)
		return
	}
	env := c.call(r, s, "registrations/delete", engine.Values{"line": r.PostForm.Get("line"), "contact": r.PostForm.Get("contact")})
	notice := "Unregistered."
	if bad, msg := failed(env); bad {
		notice = "Not unregistered: " + msg
	}
	http.Redirect(w, r, "/registrations?notice="+url.QueryEscape(notice), http.StatusSeeOther)
}
