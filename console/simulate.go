package console

import (
	"net/http"
	"sort"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
)

// simulateParams are the route simulator's inputs (routes/simulate's).
var simulateParams = []string{"called", "caller", "phone", "plan", "media", "time", "source", "user_agent"}

type simulateData struct {
	Values   map[string]string
	Errors   map[string]string
	Params   []string
	Result   map[string]any
	Attempts []map[string]any
	Columns  []string
}

func (c *Console) simulate(w http.ResponseWriter, r *http.Request, s *api.Session) {
	p := c.newPage(r, s, "Route simulator")
	d := &simulateData{Values: map[string]string{}, Errors: map[string]string{}, Params: simulateParams}
	if r.Method == http.MethodPost {
		params := engine.Values{}
		for _, k := range simulateParams {
			if v := r.PostForm.Get(k); v != "" {
				params[k], d.Values[k] = v, v
			}
		}
		env := c.call(r, s, "routes/simulate", params)
		if bad, _ := failed(env); bad {
			d.Errors = fieldErrors(env)
			p.Error = d.Errors[""]
		} else {
			d.Result = objectOf(env)
			if list, ok := d.Result["attempts"].([]any); ok {
				for _, a := range list {
					if m, ok := a.(map[string]any); ok {
						d.Attempts = append(d.Attempts, m)
						for k := range m {
							if !contains(d.Columns, k) {
								d.Columns = append(d.Columns, k)
							}
						}
					}
				}
			}
			sort.Strings(d.Columns)
			delete(d.Result, "attempts")
		}
	}
	p.Data = d
	c.render(w, r, "simulate", p)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
