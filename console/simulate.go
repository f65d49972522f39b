package console

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
)

// simulateParams are the route simulator's inputs (routes/simulate's).
var simulateParams = []string{"called", "caller", "phone", "plan", "media", "time", "source", "user_agent"}

type simulateData struct {
	Values map[string]string
	Errors map[string]string
	Params []string
	Result map[string]string
	Tables []simTable
}

// simTable is a list in the decision (the peers, in order, each with its
// reason), shown as a table.
type simTable struct {
	Name    string
	Columns []string
	Rows    []map[string]string
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
			d.Result, d.Tables = flattenDecision(objectOf(env))
		}
	}
	p.Data = d
	c.render(w, r, "simulate", p)
}

// flattenDecision shows a decision: lists of objects as tables, objects as
// "key: value" text, the rest as they are.
func flattenDecision(obj map[string]any) (map[string]string, []simTable) {
	out := map[string]string{}
	var tables []simTable
	for k, v := range obj {
		switch x := v.(type) {
		case []any:
			t := simTable{Name: k}
			for _, item := range x {
				m, ok := item.(map[string]any)
				if !ok {
					continue
				}
				row := map[string]string{}
				for ck, cv := range m {
					row[ck] = text(cv)
					if !contains(t.Columns, ck) {
						t.Columns = append(t.Columns, ck)
					}
				}
				t.Rows = append(t.Rows, row)
			}
			sort.Strings(t.Columns)
			if len(t.Rows) > 0 {
				tables = append(tables, t)
			} else {
				out[k] = "none"
			}
		default:
			out[k] = text(v)
		}
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].Name < tables[j].Name })
	return out, tables
}

// text is a value as a line of text; an object's keys in order.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			if s := text(x[k]); s != "" && s != "0" {
				parts = append(parts, k+": "+s)
			}
		}
		return strings.Join(parts, ", ")
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, text(e))
		}
		return strings.Join(parts, "; ")
	}
	return fmt.Sprint(v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
