package importer

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteReport prints what the import did (or, with dryRun, would do):
// every object with its outcome, then every finding, findings of the same
// line and message for several objects (an option a template lends to
// many lines) grouped into one, then a summary line counting objects and
// the finding lines printed.
func (r *Result) WriteReport(w io.Writer, dryRun bool) error {
	ew := &errWriter{w: w}
	objs := append([]*Object(nil), r.Objects...)
	sort.SliceStable(objs, func(i, j int) bool { return objs[i].Outcome < objs[j].Outcome })
	for _, o := range objs {
		switch o.Outcome {
		case OutcomeCreated:
			verb := "created"
			if dryRun {
				verb = "would create"
			}
			ew.printf("%s %s (%s)\n", verb, o.What(), o.Pos)
		case OutcomeUnchanged:
			ew.printf("skipped %s (%s): exists, unchanged\n", o.What(), o.Pos)
		case OutcomeDiffers:
			ew.printf("skipped %s (%s): exists, differs: not updated (%s)\n", o.What(), o.Pos, strings.Join(o.Differs, ", "))
		case OutcomeNameTaken:
			ew.printf("skipped %s (%s): the name is used by another kind of object\n", o.What(), o.Pos)
		}
	}
	type group struct {
		f       Finding
		objects []string
	}
	var groups []*group
	index := map[string]*group{}
	for _, f := range r.Findings {
		key := fmt.Sprintf("%s\x00%s\x00%s\x00%t", f.Pos, f.Option, f.Message, f.Refused)
		if g, ok := index[key]; ok {
			if f.Object != "" && !contains(g.objects, f.Object) {
				g.objects = append(g.objects, f.Object)
			}
			continue
		}
		g := &group{f: f}
		if f.Object != "" {
			g.objects = []string{f.Object}
		}
		index[key] = g
		groups = append(groups, g)
	}
	for _, g := range groups {
		f := g.f
		f.Object = objectsText(g.objects)
		ew.printf("%s\n", f)
	}
	c := r.Count()
	created := "created"
	if dryRun {
		created = "would create"
	}
	ew.printf("%s %d, unchanged %d, differs (not updated) %d, name taken %d, not imported %d; %d findings\n",
		created, c.Created, c.Unchanged, c.Differs, c.NameTaken, c.Refused, len(groups))
	return ew.err
}

func objectsText(objs []string) string {
	const show = 3
	if len(objs) <= show {
		return strings.Join(objs, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(objs[:show], ", "), len(objs)-show)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}
