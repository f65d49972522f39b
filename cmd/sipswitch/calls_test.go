package main

import (
	"context"
	"encoding/csv"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/storage"
)

// Numbers dialled as spreadsheet formulas are exported as text (issue 23,
// finding 8: a call to =1+2 came out of `sipswitch calls export` as the
// cell =1+2, which billing staff's spreadsheet evaluates); dialled
// numbers and negative figures stay as they are.
func TestCallsExportNeutralisesFormulas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	ctx := context.Background()
	db, err := storage.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// The recorder is what the SIP core hands every ended call to.
	rec := engine.NewCallRecorder(db)
	for i, called := range []string{"=1+2", "@SUM(1)", "-1+2", "\t=1", "+442071234567", "-1"} {
		rec.Record(engine.CallRecord{CallID: "c" + string(rune('a'+i)), Start: int64(100 + i), End: int64(101 + i),
			Direction: engine.CallOutbound, Line: "2001", Customer: 1, Caller: "=cmd|' /C calc'!A0", Called: called, Cause: 404})
	}
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()

	code, stdout, stderr := runCLI(t, "calls", "export", "--db", path)
	if code != exitOK {
		t.Fatalf("calls export: exit %d: %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(rows) != 7 {
		t.Fatalf("export is not 7 CSV records (%v):\n%s", err, stdout)
	}
	called := slices.Index(rows[0], "called")
	caller := slices.Index(rows[0], "caller")
	var got []string
	for _, row := range rows[1:] {
		got = append(got, row[called])
		if row[caller] != "'=cmd|' /C calc'!A0" {
			t.Errorf("caller cell %q, want it neutralised", row[caller])
		}
	}
	want := []string{"'=1+2", "'@SUM(1)", "'-1+2", "'\t=1", "+442071234567", "-1"}
	if !slices.Equal(got, want) {
		t.Fatalf("called cells %q, want %q", got, want)
	}
	// Quoted, so a spreadsheet splitting on ';' keeps each cell whole.
	if !strings.Contains(stdout, `"'=1+2"`) {
		t.Errorf("cells are not quoted:\n%s", stdout)
	}
}
