package console

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sipswitch/sipswitch/api"
	"github.com/sipswitch/sipswitch/engine"
)

// recordColumns are the call record's columns the page and the CSV show,
// in order (records.Call's JSON names).
var recordColumns = []string{"id", "start", "answer", "end", "direction", "line", "customer", "caller", "called", "called_sent",
	"route", "peers_tried", "peer", "cause", "hangup", "reason", "duration", "billsec", "cost", "host"}

type recordsData struct {
	Filters map[string]string
	Columns []string
	Rows    []map[string]any
	Pager   pager
	CSV     string
}

// recordParams reads the page's filters into calls/list parameters; dates
// (YYYY-MM-DD, UTC) become the list's since/until in unix seconds.
func recordParams(r *http.Request) (map[string]string, engine.Values, string) {
	q := r.URL.Query()
	f := map[string]string{}
	params := engine.Values{"sort": "start", "descending": "1"}
	for _, k := range []string{"line", "peer", "direction", "host"} {
		if v := q.Get(k); v != "" {
			f[k], params[k] = v, v
		}
	}
	for _, k := range []string{"since", "until"} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		f[k] = v
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return f, nil, k + " must be a date, YYYY-MM-DD"
		}
		if k == "until" {
			t = t.Add(24 * time.Hour)
		}
		params[k] = strconv.FormatInt(t.Unix(), 10)
	}
	return f, params, ""
}

func (c *Console) records(w http.ResponseWriter, r *http.Request, s *api.Session, csv bool) {
	filters, params, bad := recordParams(r)
	if csv {
		if bad != "" {
			http.Error(w, bad, http.StatusBadRequest)
			return
		}
		c.recordsCSV(w, r, s, params)
		return
	}
	p := c.newPage(r, s, "Call records")
	d := &recordsData{Filters: filters, Columns: recordColumns, CSV: "/records.csv?" + r.URL.Query().Encode()}
	if bad != "" {
		p.Error = bad
	} else {
		d.Rows, d.Pager, p.Error = c.paged(r, s, "calls/list", params)
	}
	p.Data = d
	c.render(w, r, "records", p)
}

// recordsCSV streams the filtered records as CSV through the engine's
// export (the same role scope as calls/list, cells neutralised for
// spreadsheets), oldest first.
func (c *Console) recordsCSV(w http.ResponseWriter, r *http.Request, s *api.Session, params engine.Values) {
	delete(params, "sort")
	delete(params, "descending")
	if !s.Actor.Can(c.svc.Kinds()["calls"].ListPriv...) {
		http.Error(w, "Your role does not allow this.", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="calls.csv"`)
	if _, err := c.svc.ExportCalls(r.Context(), s.Actor, params, w); err != nil {
		// The header is sent: the client sees a cut file; the log says why.
		c.log.Warn("console CSV export", "error", err)
	}
}
